"""A parameterised API Gateway estate, the same for a given seed, seeded into the emulator.

Two seeders build the same estate: `Boto3Seeder` through the emulator's HTTP API, as any AWS client would, and
`BackendSeeder` straight into moto's in-process backends (the server in this process serves from the same
objects), which is orders of magnitude faster for the large scenarios. The backend seeder passes each
parameter as moto's own request handlers pass it after parsing the wire format; a test scans an estate seeded
both ways and compares. Seeding is set-up, never measured: only the scan goes over HTTP.
"""

from __future__ import annotations

import base64
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import boto3

from api_discovery.local.demo_functions import FUNCTION_TRUST, function_code, function_role

VERBS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
STAGE_NAMES = ("prod", "staging", "dev", "test", "qa", "perf", "canary", "sandbox")
V2_STAGE_NAMES = ("$default", *STAGE_NAMES)
SeedMethod = Literal["backend", "boto3"]


@dataclass(frozen=True)
class EstateSpec:
    """The shape of one (account, region). Every API of a kind has the same shape; details vary by seed."""

    rest_apis: int = 0
    resources_per_api: int = 0  # besides the root resource "/"
    methods_per_resource: int = 0
    stages_per_api: int = 1
    authorizers_per_api: int = 1
    http_apis: int = 0
    routes_per_http_api: int = 0
    websocket_apis: int = 0
    routes_per_websocket_api: int = 3
    domains: int = 0
    mappings_per_domain: int = 0
    functions: int = 0  # Lambda functions
    function_urls: int = 0  # the first this many have a URL: alternately AuthType NONE (public) and AWS_IAM
    appsync_apis: int = 0  # GraphQL APIs: alternately API key only and IAM
    load_balancers: int = 0  # application load balancers: HTTP 80 redirecting, HTTP 8080 forwarding to a function
    distributions: int = 0  # CloudFront distributions (read by the account's global region), each with one origin
    seed: int = 20_240_601

    def __post_init__(self) -> None:
        if any(v < 0 for v in asdict(self).values()):
            raise ValueError(f"estate parameters cannot be negative: {self}")
        if self.methods_per_resource > len(VERBS):
            raise ValueError(f"at most {len(VERBS)} methods per resource")
        if self.stages_per_api > len(STAGE_NAMES):
            raise ValueError(f"at most {len(STAGE_NAMES)} stages per API")
        if self.rest_apis and self.stages_per_api and not (self.resources_per_api and self.methods_per_resource):
            # AWS (and moto) refuse to deploy a REST API without methods, and a stage needs a deployment.
            raise ValueError("REST stages need at least one resource with a method")
        if self.mappings_per_domain and not (self.stages_per_api and self.rest_apis + self.v2_apis):
            raise ValueError("domain mappings need APIs with stages")
        if self.function_urls > self.functions:
            raise ValueError("function URLs need as many functions")
        if self.load_balancers and not self.functions:
            raise ValueError("load balancers forward to a function: they need one")

    @property
    def entry_points(self) -> int:
        """AppSync APIs, load balancers and distributions: what a scan of the global region must find."""
        return self.appsync_apis + self.load_balancers + self.distributions

    @property
    def v2_apis(self) -> int:
        return self.http_apis + self.websocket_apis

    @property
    def open_function_urls(self) -> int:
        """URLs with AuthType NONE: the even-numbered ones."""
        return math.ceil(self.function_urls / 2)

    @property
    def rest_mappings_per_domain(self) -> int:
        """Base path mappings (REST) on each domain; the rest of its mappings are API mappings (v2)."""
        if not self.rest_apis:
            return 0
        return math.ceil(self.mappings_per_domain / 2) if self.v2_apis else self.mappings_per_domain

    @property
    def v2_mappings_per_domain(self) -> int:
        return self.mappings_per_domain - self.rest_mappings_per_domain


@dataclass(frozen=True)
class SeededEstate:
    """What was created in one (account, region): what a complete scan must find."""

    account_id: str
    region: str
    rest_apis: int
    v2_apis: int
    rest_methods: int
    v2_routes: int
    stages: int
    domains: int
    mappings: int
    seconds: float
    function_urls: int = 0
    entry_points: int = 0

    @property
    def apis(self) -> int:
        return self.rest_apis + self.v2_apis

    @property
    def routes(self) -> int:
        return self.rest_methods + self.v2_routes


class Seeder(Protocol):
    """The create calls the generator needs, in AWS's request shapes (camelCase as on the wire)."""

    def rest_api(self, name: str, endpoint_type: str, tags: dict[str, str]) -> tuple[str, str]:
        """Create a REST API; return (its id, its root resource id)."""
        ...

    def resource(self, api_id: str, parent_id: str, path_part: str) -> str: ...

    def rest_authorizer(self, api_id: str, body: dict[str, Any]) -> str: ...

    def method(self, api_id: str, resource_id: str, verb: str, body: dict[str, Any]) -> None: ...

    def integration(self, api_id: str, resource_id: str, verb: str, body: dict[str, Any]) -> None: ...

    def deployment(self, api_id: str, stage_name: str) -> str: ...

    def rest_stage(self, api_id: str, body: dict[str, Any]) -> None: ...

    def v2_api(self, body: dict[str, Any]) -> str: ...

    def v2_authorizer(self, api_id: str, body: dict[str, Any]) -> str: ...

    def v2_integration(self, api_id: str, body: dict[str, Any]) -> str: ...

    def v2_route(self, api_id: str, body: dict[str, Any]) -> None: ...

    def v2_stage(self, api_id: str, body: dict[str, Any]) -> None: ...

    def domain(self, name: str, certificate_arn: str, tags: dict[str, str]) -> None:
        """The same custom domain in both API Gateway lists, as AWS shows one domain through both APIs."""
        ...

    def base_path_mapping(self, domain: str, api_id: str, base_path: str, stage: str) -> None: ...

    def api_mapping(self, domain: str, api_id: str, key: str, stage: str) -> None: ...

    def function(self, name: str, url_auth: str | None) -> None:
        """A Lambda function; with `url_auth`, a URL of that AuthType (NONE: with the permission that opens it)."""
        ...

    def appsync_api(self, name: str, auth: str) -> None: ...

    def load_balancer(self, name: str, function: str) -> None:
        """An internet-facing application load balancer: HTTP 80 redirects to HTTPS, HTTP 8080 forwards to a
        target group of the function."""
        ...

    def distribution(self, name: str, origin: str) -> None: ...


# --------------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------------


class _Names:
    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region

    def lambda_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    def invoke_uri(self, name: str) -> str:
        return f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{self.lambda_arn(name)}/invocations"

    def certificate(self, name: str) -> str:
        return f"arn:aws:acm:{self.region}:{self.account}:certificate/{name}"


_TEAMS = ("payments", "orders", "identity", "catalog", "search", "platform")


def seed_estate(
    spec: EstateSpec, account: str, region: str, *, method: SeedMethod = "backend", endpoint_url: str | None = None
) -> SeededEstate:
    """Create `spec` in one (account, region) of the emulator. `boto3` needs the emulator's `endpoint_url`."""
    started = time.perf_counter()
    seeder: Seeder
    if method == "backend":
        seeder = BackendSeeder(account, region)
    else:
        if endpoint_url is None:
            raise ValueError("seeding through boto3 needs the emulator's endpoint_url")
        seeder = Boto3Seeder(endpoint_url, account, region)
    # The same estate in every account, region, process and Python run (an int seed does not depend on hashing).
    rng = random.Random(spec.seed)
    names = _Names(account, region)
    rest = [_rest_api(seeder, spec, rng, names, i) for i in range(spec.rest_apis)]
    v2 = [_v2_api(seeder, spec, rng, names, i, "HTTP") for i in range(spec.http_apis)]
    v2 += [_v2_api(seeder, spec, rng, names, i, "WEBSOCKET") for i in range(spec.websocket_apis)]
    mappings = _domains(seeder, spec, rng, names, rest, v2)
    functions = [f"fn-{i:04d}-{rng.choice(_TEAMS)}" for i in range(spec.functions)]
    for i, name in enumerate(functions):
        seeder.function(name, ("NONE" if i % 2 == 0 else "AWS_IAM") if i < spec.function_urls else None)
    for i in range(spec.appsync_apis):
        seeder.appsync_api(f"graph-{i:03d}-{rng.choice(_TEAMS)}", "API_KEY" if i % 2 == 0 else "AWS_IAM")
    for i in range(spec.load_balancers):
        seeder.load_balancer(f"alb-{i:03d}", functions[i % len(functions)])
    for i in range(spec.distributions):
        seeder.distribution(f"edge-{i:03d}", f"origin-{i}.{names.region}.bench.example.com")
    stages = (spec.rest_apis + spec.v2_apis) * spec.stages_per_api
    return SeededEstate(
        account_id=account,
        region=region,
        rest_apis=spec.rest_apis,
        v2_apis=spec.v2_apis,
        rest_methods=spec.rest_apis * spec.resources_per_api * spec.methods_per_resource,
        v2_routes=spec.http_apis * spec.routes_per_http_api + spec.websocket_apis * spec.routes_per_websocket_api,
        stages=stages,
        domains=spec.domains,
        mappings=mappings,
        seconds=time.perf_counter() - started,
        function_urls=spec.function_urls,
        entry_points=spec.entry_points,
    )


def _rest_api(seeder: Seeder, spec: EstateSpec, rng: random.Random, names: _Names, i: int) -> tuple[str, list[str]]:
    endpoint = rng.choices(("REGIONAL", "EDGE", "PRIVATE"), weights=(6, 3, 1))[0]
    team = rng.choice(_TEAMS)
    api_id, root = seeder.rest_api(f"rest-{i:04d}-{team}", endpoint, {"team": team, "tier": "bench"})
    authorizers: list[tuple[str, str]] = []
    for a in range(spec.authorizers_per_api):
        body: dict[str, Any]
        if a % 2 == 0:
            body = {
                "name": f"token-{a}",
                "type": "TOKEN",
                "authorizerUri": names.invoke_uri(f"authorizer-{i}-{a}"),
                "identitySource": "method.request.header.Authorization",
            }
        else:
            body = {
                "name": f"users-{a}",
                "type": "COGNITO_USER_POOLS",
                "providerARNs": [f"arn:aws:cognito-idp:{names.region}:{names.account}:userpool/{names.region}_p{a}"],
                "identitySource": "method.request.header.Authorization",
            }
        authorizers.append((seeder.rest_authorizer(api_id, body), body["type"]))
    # A random tree: each resource hangs under the root or an earlier resource; some are path parameters.
    resources = [root]
    with_parameter: set[str] = set()  # AWS allows one path-parameter child per resource
    for r in range(spec.resources_per_api):
        parent = rng.choice([*resources[-8:], root])
        part = f"res{r}"
        if parent not in with_parameter and rng.random() < 0.2:
            part = f"{{id{r}}}"
            with_parameter.add(parent)
        resource = seeder.resource(api_id, parent, part)
        resources.append(resource)
        for verb in rng.sample(VERBS, spec.methods_per_resource):
            _rest_method(seeder, rng, names, api_id, resource, verb, authorizers, f"{i}-{r}")
    stages: list[str] = []
    if spec.stages_per_api:
        deployment = seeder.deployment(api_id, STAGE_NAMES[0])
        stages.append(STAGE_NAMES[0])
        for name in STAGE_NAMES[1 : spec.stages_per_api]:
            stage: dict[str, Any] = {
                "stageName": name,
                "deploymentId": deployment,
                "variables": {"backend": f"{name}.internal"},
                "tracingEnabled": rng.random() < 0.5,
            }
            seeder.rest_stage(api_id, stage)
            stages.append(name)
    return api_id, stages


def _rest_method(
    seeder: Seeder,
    rng: random.Random,
    names: _Names,
    api_id: str,
    resource: str,
    verb: str,
    authorizers: list[tuple[str, str]],
    label: str,
) -> None:
    auth = rng.choices(("NONE", "AWS_IAM", "AUTHORIZER"), weights=(4, 2, 4 if authorizers else 0))[0]
    method: dict[str, Any] = {"authorizationType": auth, "apiKeyRequired": rng.random() < 0.2}
    if auth == "AUTHORIZER":
        authorizer_id, kind = rng.choice(authorizers)
        method.update(authorizationType="CUSTOM" if kind == "TOKEN" else kind, authorizerId=authorizer_id)
    seeder.method(api_id, resource, verb, method)
    kind = rng.choices(("AWS_PROXY", "HTTP_PROXY", "MOCK"), weights=(6, 3, 1))[0]
    if kind == "AWS_PROXY":
        integration = {"type": kind, "integrationHttpMethod": "POST", "uri": names.invoke_uri(f"handler-{label}")}
    elif kind == "HTTP_PROXY":
        integration = {"type": kind, "integrationHttpMethod": verb, "uri": f"https://backend.example.com/{label}"}
    else:
        integration = {"type": kind}
    seeder.integration(api_id, resource, verb, integration)


def _v2_api(
    seeder: Seeder, spec: EstateSpec, rng: random.Random, names: _Names, i: int, protocol: str
) -> tuple[str, list[str]]:
    team = rng.choice(_TEAMS)
    prefix = "http" if protocol == "HTTP" else "ws"
    body: dict[str, Any] = {
        "name": f"{prefix}-{i:04d}-{team}",
        "protocolType": protocol,
        "tags": {"team": team, "tier": "bench"},
    }
    if protocol == "WEBSOCKET":
        body["routeSelectionExpression"] = "$request.body.action"
    api_id = seeder.v2_api(body)
    authorizers = [
        seeder.v2_authorizer(api_id, _v2_authorizer(protocol, names, i, a)) for a in range(spec.authorizers_per_api)
    ]
    if protocol == "HTTP":
        keys = [
            f"{rng.choice(VERBS)} /{team}/r{r}" + ("/{id}" if rng.random() < 0.3 else "")
            for r in range(spec.routes_per_http_api)
        ]
    else:
        builtin = ["$connect", "$disconnect", "$default"]
        keys = builtin[: spec.routes_per_websocket_api]
        keys += [f"action{r}" for r in range(spec.routes_per_websocket_api - len(keys))]
    for r, key in enumerate(keys):
        if protocol == "HTTP" and rng.random() < 0.3:
            integration = {
                "integrationType": "HTTP_PROXY",
                "integrationMethod": "ANY",
                "integrationUri": f"https://backend.example.com/{i}/{r}",
                "payloadFormatVersion": "1.0",
            }
        elif protocol == "HTTP":
            integration = {
                "integrationType": "AWS_PROXY",
                "integrationUri": names.lambda_arn(f"{prefix}-{i}-{r}"),
                "payloadFormatVersion": "2.0",
            }
        else:
            integration = {"integrationType": "AWS_PROXY", "integrationUri": names.invoke_uri(f"{prefix}-{i}-{r}")}
        target = seeder.v2_integration(api_id, integration)
        route: dict[str, Any] = {"routeKey": key, "target": f"integrations/{target}", "authorizationType": "NONE"}
        secured = authorizers and rng.random() < 0.5 and (protocol == "HTTP" or key == "$connect")
        if secured:
            route.update(
                authorizationType="JWT" if protocol == "HTTP" else "CUSTOM", authorizerId=rng.choice(authorizers)
            )
        elif rng.random() < 0.2:
            route["authorizationType"] = "AWS_IAM"
        seeder.v2_route(api_id, route)
    stage_names = list(V2_STAGE_NAMES if protocol == "HTTP" else STAGE_NAMES)[: spec.stages_per_api]
    for name in stage_names:
        stage: dict[str, Any] = {
            "stageName": name,
            "autoDeploy": protocol == "HTTP",
            "stageVariables": {"env": name.strip("$")},
        }
        seeder.v2_stage(api_id, stage)
    return api_id, stage_names


def _v2_authorizer(protocol: str, names: _Names, i: int, a: int) -> dict[str, Any]:
    if protocol == "HTTP":
        return {
            "name": f"jwt-{a}",
            "authorizerType": "JWT",
            "identitySource": ["$request.header.Authorization"],
            "jwtConfiguration": {
                "issuer": f"https://cognito-idp.{names.region}.amazonaws.com/{names.region}_p{a}",
                "audience": [f"client-{i}"],
            },
        }
    return {
        "name": f"connect-{a}",
        "authorizerType": "REQUEST",
        "authorizerUri": names.invoke_uri(f"ws-authorizer-{i}-{a}"),
        "identitySource": ["route.request.header.Auth"],
    }


def _domains(
    seeder: Seeder,
    spec: EstateSpec,
    rng: random.Random,
    names: _Names,
    rest: list[tuple[str, list[str]]],
    v2: list[tuple[str, list[str]]],
) -> int:
    created = 0
    for d in range(spec.domains):
        domain = f"api{d}.{names.account}.{names.region}.bench.example.com"
        seeder.domain(domain, names.certificate(f"domain-{d}"), {"tier": "bench"})
        for m in range(spec.rest_mappings_per_domain):
            api_id, stages = rng.choice(rest)
            seeder.base_path_mapping(domain, api_id, f"r{m}", rng.choice(stages))
        for m in range(spec.v2_mappings_per_domain):
            api_id, stages = rng.choice(v2)
            seeder.api_mapping(domain, api_id, f"v{m}", rng.choice(stages))
        created += spec.mappings_per_domain
    return created


# --------------------------------------------------------------------------------------------------
# Seeding through the HTTP API
# --------------------------------------------------------------------------------------------------


FUNCTION_ROLE = "bench-function-role"
_PUBLIC_URL_PERMISSION = {
    "StatementId": "FunctionURLAllowPublicAccess",
    "Action": "lambda:InvokeFunctionUrl",
    "Principal": "*",
    "FunctionUrlAuthType": "NONE",
}


def _function_spec(name: str, role_arn: str) -> dict[str, Any]:
    # A secret in every function's environment: the scan must never keep, log or count it.
    environment = {"Variables": {"DB_PASSWORD": FUNCTION_SECRET, "STAGE": "bench"}}
    return {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": role_arn,
        "Handler": "h.h",
        "Environment": environment,
    }


FUNCTION_SECRET = "bench-only-Secr3t-value-7f1c"


def _listener_actions(group_arn: str) -> list[tuple[int, dict[str, Any]]]:
    redirect = {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
    return [(80, redirect), (8080, {"Type": "forward", "TargetGroupArn": group_arn})]


def _distribution_config(name: str, origin: str) -> dict[str, Any]:
    custom = {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}
    return {
        "CallerReference": name,
        "Comment": name,
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "origin", "DomainName": origin, "CustomOriginConfig": custom}]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "origin",
            "ViewerProtocolPolicy": "redirect-to-https",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        },
    }


def _pascal(body: dict[str, Any]) -> dict[str, Any]:
    """Wire names (camelCase) as boto3 spells apigatewayv2's parameters (PascalCase); maps of user keys stay."""
    return {
        k[0].upper() + k[1:]: _pascal(v) if isinstance(v, dict) and k not in _USER_MAPS else v for k, v in body.items()
    }


_USER_MAPS = frozenset({"tags", "stageVariables"})


class Boto3Seeder:
    def __init__(self, endpoint_url: str, account: str, region: str) -> None:
        from api_discovery.local.demo_estate import account_session  # noqa: PLC0415 - only this seeder needs it

        session: boto3.Session = account_session(endpoint_url, account)
        self.v1: Any = session.client("apigateway", endpoint_url=endpoint_url, region_name=region)
        self.v2: Any = session.client("apigatewayv2", endpoint_url=endpoint_url, region_name=region)
        self.lambda_: Any = session.client("lambda", endpoint_url=endpoint_url, region_name=region)
        self.session, self.endpoint_url, self.region = session, endpoint_url, region

    def rest_api(self, name: str, endpoint_type: str, tags: dict[str, str]) -> tuple[str, str]:
        api = self.v1.create_rest_api(name=name, endpointConfiguration={"types": [endpoint_type]}, tags=tags)
        return str(api["id"]), str(api["rootResourceId"])

    def resource(self, api_id: str, parent_id: str, path_part: str) -> str:
        return str(self.v1.create_resource(restApiId=api_id, parentId=parent_id, pathPart=path_part)["id"])

    def rest_authorizer(self, api_id: str, body: dict[str, Any]) -> str:
        return str(self.v1.create_authorizer(restApiId=api_id, **body)["id"])

    def method(self, api_id: str, resource_id: str, verb: str, body: dict[str, Any]) -> None:
        self.v1.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb, **body)

    def integration(self, api_id: str, resource_id: str, verb: str, body: dict[str, Any]) -> None:
        self.v1.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=verb, **body)

    def deployment(self, api_id: str, stage_name: str) -> str:
        return str(self.v1.create_deployment(restApiId=api_id, stageName=stage_name)["id"])

    def rest_stage(self, api_id: str, body: dict[str, Any]) -> None:
        self.v1.create_stage(restApiId=api_id, **body)

    def v2_api(self, body: dict[str, Any]) -> str:
        return str(self.v2.create_api(**_pascal(body))["ApiId"])

    def v2_authorizer(self, api_id: str, body: dict[str, Any]) -> str:
        return str(self.v2.create_authorizer(ApiId=api_id, **_pascal(body))["AuthorizerId"])

    def v2_integration(self, api_id: str, body: dict[str, Any]) -> str:
        return str(self.v2.create_integration(ApiId=api_id, **_pascal(body))["IntegrationId"])

    def v2_route(self, api_id: str, body: dict[str, Any]) -> None:
        self.v2.create_route(ApiId=api_id, **_pascal(body))

    def v2_stage(self, api_id: str, body: dict[str, Any]) -> None:
        self.v2.create_stage(ApiId=api_id, **_pascal(body))

    def domain(self, name: str, certificate_arn: str, tags: dict[str, str]) -> None:
        self.v1.create_domain_name(
            domainName=name,
            regionalCertificateArn=certificate_arn,
            endpointConfiguration={"types": ["REGIONAL"]},
            securityPolicy="TLS_1_2",
            tags=tags,
        )
        self.v2.create_domain_name(
            DomainName=name,
            DomainNameConfigurations=[
                {"CertificateArn": certificate_arn, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
            ],
            Tags=tags,
        )

    def base_path_mapping(self, domain: str, api_id: str, base_path: str, stage: str) -> None:
        self.v1.create_base_path_mapping(domainName=domain, restApiId=api_id, basePath=base_path, stage=stage)

    def api_mapping(self, domain: str, api_id: str, key: str, stage: str) -> None:
        self.v2.create_api_mapping(DomainName=domain, ApiId=api_id, ApiMappingKey=key, Stage=stage)

    def function(self, name: str, url_auth: str | None) -> None:
        role = function_role(self.session, self.endpoint_url)
        self.lambda_.create_function(**_function_spec(name, role), Code={"ZipFile": function_code()})
        if url_auth:
            self.lambda_.create_function_url_config(FunctionName=name, AuthType=url_auth)
            if url_auth == "NONE":
                self.lambda_.add_permission(FunctionName=name, **_PUBLIC_URL_PERMISSION)

    def _client(self, service: str) -> Any:
        make: Any = self.session.client
        return make(service, endpoint_url=self.endpoint_url, region_name=self.region)

    def appsync_api(self, name: str, auth: str) -> None:
        self._client("appsync").create_graphql_api(name=name, authenticationType=auth)

    def load_balancer(self, name: str, function: str) -> None:
        ec2, elb = self._client("ec2"), self._client("elbv2")
        vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{self.region}{z}")["Subnet"]
            for i, z in enumerate("ab", start=1)
        ]
        arn = self.lambda_.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
        group = elb.create_target_group(Name=f"{name}-fn", TargetType="lambda")["TargetGroups"][0]["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=group, Targets=[{"Id": arn}])
        created = elb.create_load_balancer(Name=name, Subnets=[s["SubnetId"] for s in subnets])["LoadBalancers"][0]
        for port, action in _listener_actions(group):
            elb.create_listener(
                LoadBalancerArn=created["LoadBalancerArn"], Protocol="HTTP", Port=port, DefaultActions=[action]
            )

    def distribution(self, name: str, origin: str) -> None:
        self._client("cloudfront").create_distribution(DistributionConfig=_distribution_config(name, origin))


# --------------------------------------------------------------------------------------------------
# Seeding straight into moto's backends, with the arguments moto's request handlers would pass
# --------------------------------------------------------------------------------------------------


class BackendSeeder:
    def __init__(self, account: str, region: str) -> None:
        from moto.apigateway.models import apigateway_backends  # noqa: PLC0415 - moto is heavy; load on use
        from moto.apigatewayv2.models import apigatewayv2_backends  # noqa: PLC0415
        from moto.awslambda.models import lambda_backends  # noqa: PLC0415

        from api_discovery.local.emulator import install_moto_extensions  # noqa: PLC0415

        install_moto_extensions()
        self.account, self.region = account, region
        self.v1: Any = apigateway_backends[account][region]
        self.v2: Any = apigatewayv2_backends[account][region]
        self.lambda_: Any = lambda_backends[account][region]

    def rest_api(self, name: str, endpoint_type: str, tags: dict[str, str]) -> tuple[str, str]:
        api = self.v1.create_rest_api(name, None, endpoint_configuration={"types": [endpoint_type]}, tags=tags)
        return str(api.id), str(api.root_resource_id)

    def resource(self, api_id: str, parent_id: str, path_part: str) -> str:
        return str(self.v1.create_resource(api_id, parent_id, path_part).id)

    def rest_authorizer(self, api_id: str, body: dict[str, Any]) -> str:
        authorizer = self.v1.create_authorizer(
            restapi_id=api_id,
            name=body["name"],
            authorizer_type=body["type"],
            provider_arns=body.get("providerARNs"),
            authorizer_uri=body.get("authorizerUri"),
            identity_source=body.get("identitySource"),
        )
        return str(authorizer.id)

    def method(self, api_id: str, resource_id: str, verb: str, body: dict[str, Any]) -> None:
        self.v1.put_method(
            api_id,
            resource_id,
            verb,
            body["authorizationType"],
            body.get("apiKeyRequired"),
            authorizer_id=body.get("authorizerId"),
        )

    def integration(self, api_id: str, resource_id: str, verb: str, body: dict[str, Any]) -> None:
        self.v1.put_integration(
            api_id,
            resource_id,
            verb,
            body["type"],
            body.get("uri"),
            integration_method=body.get("integrationHttpMethod"),
        )

    def deployment(self, api_id: str, stage_name: str) -> str:
        return str(self.v1.create_deployment(api_id, stage_name, "", {}).id)

    def rest_stage(self, api_id: str, body: dict[str, Any]) -> None:
        self.v1.create_stage(
            api_id,
            body["stageName"],
            body["deploymentId"],
            variables=body.get("variables", {}),
            description="",
            cacheClusterEnabled=False,
            tracing_enabled=body.get("tracingEnabled"),
        )

    def v2_api(self, body: dict[str, Any]) -> str:
        api = self.v2.create_api(
            api_key_selection_expression=None,
            cors_configuration=None,
            description=None,
            disable_schema_validation=None,
            disable_execute_api_endpoint=None,
            name=body["name"],
            protocol_type=body["protocolType"],
            route_selection_expression=body.get("routeSelectionExpression"),
            tags=body.get("tags"),
            version=None,
        )
        return str(api.api_id)

    def v2_authorizer(self, api_id: str, body: dict[str, Any]) -> str:
        authorizer = self.v2.create_authorizer(
            api_id,
            auth_creds_arn=None,
            auth_payload_format_version=body.get("authorizerPayloadFormatVersion"),
            auth_result_ttl=None,
            authorizer_uri=body.get("authorizerUri"),
            authorizer_type=body["authorizerType"],
            enable_simple_response=None,
            identity_source=body.get("identitySource"),
            identity_validation_expr=None,
            jwt_config=body.get("jwtConfiguration"),
            name=body["name"],
        )
        return str(authorizer.id)

    def v2_integration(self, api_id: str, body: dict[str, Any]) -> str:
        fields = dict.fromkeys(
            (
                "connection_id",
                "connection_type",
                "content_handling_strategy",
                "credentials_arn",
                "description",
                "integration_subtype",
                "passthrough_behavior",
                "request_parameters",
                "request_templates",
                "response_parameters",
                "template_selection_expression",
                "timeout_in_millis",
                "tls_config",
            )
        )
        integration = self.v2.create_integration(
            api_id=api_id,
            integration_method=body.get("integrationMethod"),
            integration_type=body["integrationType"],
            integration_uri=body.get("integrationUri"),
            payload_format_version=body.get("payloadFormatVersion"),
            **fields,
        )
        return str(integration.id)

    def v2_route(self, api_id: str, body: dict[str, Any]) -> None:
        self.v2.create_route(
            api_id=api_id,
            api_key_required=body.get("apiKeyRequired", False),
            authorization_scopes=None,
            authorization_type=body.get("authorizationType", "NONE"),
            authorizer_id=body.get("authorizerId"),
            model_selection_expression=None,
            operation_name=None,
            request_models=None,
            request_parameters=None,
            route_key=body["routeKey"],
            route_response_selection_expression=None,
            target=body.get("target"),
        )

    def v2_stage(self, api_id: str, body: dict[str, Any]) -> None:
        self.v2.create_stage(api_id, json.loads(json.dumps(body)))

    def domain(self, name: str, certificate_arn: str, tags: dict[str, str]) -> None:
        self.v1.create_domain_name(
            name,
            None,
            tags,
            None,
            None,
            None,
            None,
            None,
            certificate_arn,
            {"types": ["REGIONAL"]},
            "TLS_1_2",
        )
        self.v2.create_domain_name(
            domain_name=name,
            domain_name_configurations=[
                {"certificateArn": certificate_arn, "endpointType": "REGIONAL", "securityPolicy": "TLS_1_2"}
            ],
            mutual_tls_authentication={},
            tags=tags,
        )

    def base_path_mapping(self, domain: str, api_id: str, base_path: str, stage: str) -> None:
        self.v1.create_base_path_mapping(domain, api_id, base_path, stage)

    def api_mapping(self, domain: str, api_id: str, key: str, stage: str) -> None:
        self.v2.create_api_mapping(api_id=api_id, api_mapping_key=key, domain_name=domain, stage=stage)

    def function(self, name: str, url_auth: str | None) -> None:
        from moto.iam.exceptions import NotFoundException  # noqa: PLC0415
        from moto.iam.models import iam_backends  # noqa: PLC0415

        iam = iam_backends[self.account]["aws"]
        try:
            role = iam.get_role(FUNCTION_ROLE)
        except NotFoundException:
            role = iam.create_role(FUNCTION_ROLE, json.dumps(FUNCTION_TRUST), "/", None, "", [], None)
        code = {"ZipFile": base64.b64encode(function_code()).decode()}
        self.lambda_.create_function({**_function_spec(name, role.arn), "Code": code})
        if url_auth:
            self.lambda_.create_function_url_config(name, {"AuthType": url_auth})
            if url_auth == "NONE":
                self.lambda_.add_permission(name, None, json.dumps(_PUBLIC_URL_PERMISSION))

    def appsync_api(self, name: str, auth: str) -> None:
        from moto.appsync.models import appsync_backends  # noqa: PLC0415

        backend: Any = appsync_backends[self.account][self.region]  # moto's signature types its optional configs as str
        backend.create_graphql_api(name, None, auth, None, None, None, "false", None, {}, "GLOBAL")

    def load_balancer(self, name: str, function: str) -> None:
        from moto.ec2.models import ec2_backends  # noqa: PLC0415
        from moto.elbv2.models import elbv2_backends  # noqa: PLC0415

        ec2, elb = ec2_backends[self.account][self.region], elbv2_backends[self.account][self.region]
        vpc = ec2.create_vpc("10.30.0.0/16")
        subnets = [
            ec2.create_subnet(vpc.id, f"10.30.{i}.0/24", availability_zone=f"{self.region}{z}").id
            for i, z in enumerate("ab", start=1)
        ]
        group = elb.create_target_group(f"{name}-fn", vpc_id=None, protocol=None, port=None, target_type="lambda")
        elb.register_targets(group.arn, [{"Id": self.lambda_.get_function(function).function_arn}])
        created = elb.create_load_balancer(name, [], subnets)
        for port, action in _listener_actions(group.arn):
            elb.create_listener(created.arn, "HTTP", str(port), "", None, [action])

    def distribution(self, name: str, origin: str) -> None:
        from moto.cloudfront.models import cloudfront_backends  # noqa: PLC0415

        cloudfront_backends[self.account]["global"].create_distribution(_distribution_config(name, origin), [])
