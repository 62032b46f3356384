"""The demo estate: three customer accounts, two regions, every kind of API Gateway API, seeded into an emulator.

Resources are created in a customer account the way an organisation's administrator would: by assuming
`OrganizationAccountAccessRole` there (moto files what those credentials create under that account). The
third account exists and holds APIs, but its read-only role refuses the scanner (see deny_demo_account).

What moto 5.2.1 cannot store, and how the estate copes:
- v1 custom domains keep no `mutualTlsAuthentication`. AWS keeps one domain namespace for v1 and v2, while
  moto keeps two, so the REGIONAL domain is created through both APIs: the v2 record carries the mTLS
  truststore and the HTTP API mapping, the v1 record the base path mapping of the REST API.
- v2 API mappings can only target v2 APIs, so REST APIs are mapped through v1 base path mappings only.
- REST stages keep no client certificate (moto has no client certificates), so none is set.
- `CreateApi` ignores quick-create `Target`/`RouteKey`: the bulk HTTP APIs have no routes or stages.
- The customer role gets its inline `apigateway:GET` policy but not the managed `SecurityAudit`: moto loads
  AWS managed policies only when MOTO_IAM_LOAD_MANAGED_POLICIES is set, which would slow every start.
- moto drops a v1 integration's `connectionId` and has no v2 `GetAuthorizers`; the emulator's moto
  extensions (api_discovery.local.emulator.install_moto_extensions) supply both.
- The WAF web ACL reaches the REST stage through wafv2 `AssociateWebACL`, as in AWS (moto then reports
  `webAclArn` on the stage).
- What API Gateway gained in 2024-2026 (private domains, routing rules, REST JWT authorizers, client
  certificates ...) is seeded by api_discovery.local.demo_surface, into the emulator's overlay where moto lacks
  it; only when seeding an emulator by its URL.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import boto3

from api_discovery.local import demo_entry_points, demo_functions, demo_surface
from api_discovery.local.overlay import OverlayClient

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_apigateway.type_defs import PatchOperationTypeDef
    from mypy_boto3_apigatewayv2 import ApiGatewayV2Client

    from api_discovery.local.emulator import Emulator

ACCOUNTS = ["111111111111", "222222222222", "333333333333"]
REGIONS = ["us-east-1", "eu-west-1"]
DENIED_ACCOUNT = "333333333333"
ROLE_NAME = "ApiDiscoveryReadOnly"
SEED_ROLE_NAME = "OrganizationAccountAccessRole"
# The account moto assigns to the demo's own dummy credentials: the vendor running the scanner.
VENDOR_ACCOUNT = "123456789012"
DUMMY_ACCESS_KEY = DUMMY_SECRET_KEY = "testing"
_BRANDS = {"111111111111": "acme", "222222222222": "globex", "333333333333": "initech"}


@dataclass(frozen=True)
class TargetCounts:
    """What one (account, region) holds, as a complete discovery must report it."""

    rest_apis: int = 0
    http_apis: int = 0
    websocket_apis: int = 0
    rest_methods: int = 0  # (resource path, HTTP method) pairs over all REST APIs
    v2_routes: int = 0  # routes over all HTTP and WebSocket APIs
    stages: int = 0  # REST and v2 stages
    authorizers: int = 0  # REST and v2 authorizers
    domains: int = 0  # distinct custom domain names (one namespace for v1 and v2, as in AWS)
    mappings: int = 0  # base path mappings and API mappings
    function_urls: int = 0  # Lambda function URLs
    entry_points: int = 0  # AppSync APIs and domains, load balancers, CloudFront distributions (global region)

    @property
    def apis(self) -> int:
        return self.rest_apis + self.http_apis + self.websocket_apis


@dataclass(frozen=True)
class DemoEstate:
    """The seeded estate. `expected` covers every (account, region), the denied account's included: it is what
    exists there, which a scan of that account must not claim to have seen (nor to be empty)."""

    accounts: list[str]
    regions: list[str]
    denied_account: str
    role_name: str
    external_ids: dict[str, str]
    expected: dict[tuple[str, str], TargetCounts]

    def role_arn(self, account_id: str) -> str:
        return f"arn:aws:iam::{account_id}:role/{self.role_name}"

    @property
    def scannable_accounts(self) -> list[str]:
        return [a for a in self.accounts if a != self.denied_account]


@dataclass(frozen=True)
class _Profile:
    """What one (account, region) holds; targets differ so that their inventories differ."""

    orders: bool = False  # REGIONAL REST API: every authorization and integration style, rich stage
    catalog: bool = False  # EDGE REST API with a resource policy open to "*"
    catalog_default_endpoint: bool = True
    ledger: bool = False  # PRIVATE REST API restricted to a VPC endpoint
    payments: bool = False  # HTTP API: CORS, JWT and Lambda authorizers, $default route and stage
    payments_vpc_link: bool = False  # a v2 VPC link behind one payments integration
    chat: bool = False  # WebSocket API
    chat_connect_authorized: bool = True
    domains: bool = False  # EDGE (TLS 1.0) and REGIONAL (TLS 1.2, mutual TLS) custom domains
    waf: bool = False
    bulk_http_apis: int = 0  # bare HTTP APIs, so that GetApis needs more than one page
    surface: bool = False  # orders' CORS preflight and JWT authorizer, the partners API and its routing rule
    private_domain_peer: str | None = None  # a private domain for the ledger, reached from this account too
    cloudwatch_role: bool = False  # the account's CloudWatch role for API Gateway is set
    functions: demo_functions.FunctionSet | None = None  # Lambda functions, some with URLs
    entry_points: bool = False  # AppSync, load balancers and CloudFront (demo_entry_points), global region only
    unreachable_origin: bool = False  # a distribution in front of the catalog's disabled default endpoint


_PROFILES: dict[tuple[str, str], _Profile] = {
    ("111111111111", "us-east-1"): _Profile(
        orders=True,
        catalog=True,
        payments=True,
        chat=True,
        domains=True,
        waf=True,
        bulk_http_apis=24,
        surface=True,
        functions=demo_functions.WEBHOOKS,
        entry_points=True,
    ),
    ("111111111111", "eu-west-1"): _Profile(orders=True, ledger=True, chat=True, chat_connect_authorized=False),
    ("222222222222", "us-east-1"): _Profile(
        catalog=True,
        catalog_default_endpoint=False,
        payments=True,
        functions=demo_functions.LEGACY,
        unreachable_origin=True,
    ),
    ("222222222222", "eu-west-1"): _Profile(
        orders=True,
        ledger=True,
        payments=True,
        payments_vpc_link=True,
        chat=True,
        domains=True,
        waf=True,
        private_domain_peer="111111111111",
        cloudwatch_role=True,
    ),
    ("333333333333", "us-east-1"): _Profile(ledger=True, payments=True),
    ("333333333333", "eu-west-1"): _Profile(),
}


@dataclass
class _Target:
    """Clients for one (account, region) and a tally of what was created there."""

    account: str
    region: str
    session: boto3.Session
    endpoint_url: str | None
    counts: Counter[str] = field(default_factory=Counter)
    domain_names: set[str] = field(default_factory=set)

    @property
    def surface(self) -> demo_surface.SurfaceTarget | None:
        """Where the overlay is reachable: only an emulator seeded by its URL has one."""
        if self.endpoint_url is None:
            return None
        return demo_surface.SurfaceTarget(self.account, self.region, self.brand, OverlayClient(self.endpoint_url))

    @property
    def apigateway(self) -> APIGatewayClient:
        return self.session.client("apigateway", region_name=self.region, endpoint_url=self.endpoint_url)

    @property
    def apigatewayv2(self) -> ApiGatewayV2Client:
        return self.session.client("apigatewayv2", region_name=self.region, endpoint_url=self.endpoint_url)

    def lambda_arn(self, function: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{function}"

    def lambda_invoke_uri(self, function: str) -> str:
        return (
            f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{self.lambda_arn(function)}/invocations"
        )

    def log_group_arn(self, name: str) -> str:
        return f"arn:aws:logs:{self.region}:{self.account}:log-group:{name}"

    def certificate_arn(self, region: str, name: str) -> str:
        return f"arn:aws:acm:{region}:{self.account}:certificate/{name}"

    @property
    def brand(self) -> str:
        return _BRANDS[self.account]

    def tags(self, **extra: str) -> dict[str, str]:
        return {"owner": f"{self.brand}-platform", "environment": "production", **extra}

    def to_counts(self) -> TargetCounts:
        counts = {f.name: self.counts[f.name] for f in fields(TargetCounts)}
        counts["domains"] = len(self.domain_names)
        return TargetCounts(**counts)


# ------------------------------------------------------------------------------------------------------
# REST APIs (apigateway)
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Method:
    path: str
    http_method: str
    integration: dict[str, Any]
    authorization: str = "NONE"
    authorizer: str | None = None  # a key into the API's authorizer ids
    api_key_required: bool = False
    validated: bool = False
    scopes: tuple[str, ...] = ()


def _lambda_proxy(t: _Target, function: str) -> dict[str, Any]:
    return {"type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": t.lambda_invoke_uri(function)}


def _http_proxy(uri: str, method: str = "ANY") -> dict[str, Any]:
    return {"type": "HTTP_PROXY", "integrationHttpMethod": method, "uri": uri}


def _mock() -> dict[str, Any]:
    return {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'}}


def _vpc_link(link_id: str, uri: str) -> dict[str, Any]:
    return {**_http_proxy(uri, "GET"), "connectionType": "VPC_LINK", "connectionId": link_id}


def _resources(ag: APIGatewayClient, api_id: str, root_id: str, paths: list[str]) -> dict[str, str]:
    """Create nested resources (parents listed before children); returns path → resource id."""
    ids = {"": root_id}
    for path in paths:
        parent, _, part = path.rpartition("/")
        ids[path] = ag.create_resource(restApiId=api_id, parentId=ids[parent], pathPart=part)["id"]
    return ids


def _methods(
    t: _Target, ag: APIGatewayClient, api_id: str, ids: dict[str, str], methods: list[_Method], **refs: str
) -> None:
    for m in methods:
        params: dict[str, Any] = {
            "restApiId": api_id,
            "resourceId": ids[m.path],
            "httpMethod": m.http_method,
            "authorizationType": m.authorization,
            "apiKeyRequired": m.api_key_required,
        }
        if m.authorizer:
            params["authorizerId"] = refs[m.authorizer]
        if m.validated:
            params["requestValidatorId"] = refs["validator"]
        if m.scopes:
            params["authorizationScopes"] = list(m.scopes)
        if "{proxy+}" in m.path:
            params["requestParameters"] = {"method.request.path.proxy": True}
        ag.put_method(**params)
        ag.put_integration(restApiId=api_id, resourceId=ids[m.path], httpMethod=m.http_method, **m.integration)
        t.counts["rest_methods"] += 1


def _deploy(t: _Target, ag: APIGatewayClient, api_id: str, stages: list[str], variables: dict[str, str]) -> str:
    """Deploy once to the first stage, then point the other stages at the same deployment."""
    deployment = ag.create_deployment(restApiId=api_id, stageName=stages[0])["id"]
    for stage in stages[1:]:
        ag.create_stage(restApiId=api_id, stageName=stage, deploymentId=deployment, variables=variables)
    t.counts["stages"] += len(stages)
    return deployment


def _orders_api(t: _Target, ag: APIGatewayClient, vpc_link_id: str, surface: bool = False) -> str:
    created = ag.create_rest_api(
        name="orders",
        description="Order management",
        endpointConfiguration={"types": ["REGIONAL"]},
        tags=t.tags(service="orders"),
    )
    api_id, root = created["id"], created["rootResourceId"]
    refs = {
        "validator": ag.create_request_validator(
            restApiId=api_id, name="body-and-params", validateRequestBody=True, validateRequestParameters=True
        )["id"],
        "token": ag.create_authorizer(
            restApiId=api_id,
            name="orders-token",
            type="TOKEN",
            authorizerUri=t.lambda_invoke_uri("orders-authorizer"),
            identitySource="method.request.header.Authorization",
            authorizerResultTtlInSeconds=300,
        )["id"],
        "cognito": ag.create_authorizer(
            restApiId=api_id,
            name="orders-cognito",
            type="COGNITO_USER_POOLS",
            providerARNs=[f"arn:aws:cognito-idp:{t.region}:{t.account}:userpool/{t.region}_Orders01"],
            identitySource="method.request.header.Authorization",
        )["id"],
    }
    t.counts["authorizers"] += 2
    ids = _resources(
        ag,
        api_id,
        root,
        [
            "orders",
            "orders/{orderId}",
            "orders/{orderId}/items",
            "orders/{orderId}/items/{itemId}",
            "health",
            "admin",
            "legacy",
            "legacy/{proxy+}",
        ],
    )
    handler = _lambda_proxy(t, "orders-handler")
    _methods(
        t,
        ag,
        api_id,
        ids,
        [
            _Method("orders", "GET", handler, "COGNITO_USER_POOLS", "cognito", scopes=("orders/read",)),
            _Method("orders", "POST", handler, "CUSTOM", "token", api_key_required=True, validated=True),
            _Method("orders/{orderId}", "GET", handler, "CUSTOM", "token"),
            _Method(
                "orders/{orderId}/items",
                "GET",
                _vpc_link(vpc_link_id, "http://items.internal/items"),
                api_key_required=True,
            ),
            _Method("orders/{orderId}/items/{itemId}", "DELETE", handler, "AWS_IAM", validated=True),
            _Method("health", "GET", _mock()),
            _Method("admin", "POST", _mock(), "AWS_IAM"),
            _Method("legacy/{proxy+}", "ANY", _http_proxy("https://legacy.example.com/{proxy}")),
        ],
        **refs,
    )
    overlay = t.surface if surface else None
    if overlay:
        demo_surface.cors_preflight(ag, api_id, ids["orders"])
        demo_surface.cors_preflight(ag, api_id, ids["orders/{orderId}"], credentials=False)
        demo_surface.jwt_authorizer(overlay, ag, api_id, ids["orders"])
        t.counts["rest_methods"] += 3
        t.counts["authorizers"] += 1
    _deploy(t, ag, api_id, ["prod", "dev"], {"backendHost": "dev.orders.internal"})
    settings = {
        "logging/loglevel": "INFO",
        "logging/dataTrace": "false",
        "metrics/enabled": "true",
        "throttling/rateLimit": "100",
        "throttling/burstLimit": "200",
        "caching/enabled": "true",
        "caching/dataEncrypted": "true",
        "caching/ttlInSeconds": "60",
    }
    method_settings: list[PatchOperationTypeDef] = [
        {"op": "replace", "path": f"/*/*/{key}", "value": value} for key, value in settings.items()
    ]
    ag.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[
            {
                "op": "replace",
                "path": "/accessLogSettings/destinationArn",
                "value": t.log_group_arn("/aws/apigateway/orders-access"),
            },
            {
                "op": "replace",
                "path": "/accessLogSettings/format",
                "value": '{"requestId":"$context.requestId","status":"$context.status"}',
            },
            {"op": "replace", "path": "/tracingEnabled", "value": "true"},
            {"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
            {"op": "replace", "path": "/cacheClusterSize", "value": "0.5"},
            {"op": "replace", "path": "/variables/backendHost", "value": "orders.internal"},
            {"op": "replace", "path": "/variables/featureFlags", "value": "fast-checkout"},
            *method_settings,
        ],
    )
    return api_id


_OPEN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}],
}


def _catalog_api(t: _Target, ag: APIGatewayClient, default_endpoint: bool) -> str:
    api = ag.create_rest_api(
        name="catalog",
        description="Public product catalog",
        endpointConfiguration={"types": ["EDGE"]},
        policy=json.dumps(_OPEN_POLICY),
        disableExecuteApiEndpoint=not default_endpoint,
        tags=t.tags(service="catalog", exposure="public"),
    )
    ids = _resources(ag, api["id"], api["rootResourceId"], ["products", "products/{productId}"])
    _methods(
        t,
        ag,
        api["id"],
        ids,
        [
            _Method("products", "GET", _http_proxy("https://catalog.example.com/products", "GET")),
            _Method(
                "products/{productId}",
                "GET",
                {"type": "HTTP", "integrationHttpMethod": "GET", "uri": "https://catalog.example.com/item"},
            ),
        ],
    )
    _deploy(t, ag, api["id"], ["prod"], {})
    return str(api["id"])


def _ledger_api(t: _Target, ag: APIGatewayClient) -> str:
    vpce = f"vpce-0{t.account[:4]}{'a' if t.region == 'us-east-1' else 'b'}1234567890"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
                "Condition": {"StringEquals": {"aws:SourceVpce": vpce}},
            }
        ],
    }
    api = ag.create_rest_api(
        name="ledger",
        description="Internal ledger, reachable from one VPC endpoint",
        endpointConfiguration={"types": ["PRIVATE"], "vpcEndpointIds": [vpce]},
        policy=json.dumps(policy),
        tags=t.tags(service="ledger", exposure="private"),
    )
    ids = _resources(ag, api["id"], api["rootResourceId"], ["entries", "entries/{entryId}"])
    handler = _lambda_proxy(t, "ledger-handler")
    _methods(
        t,
        ag,
        api["id"],
        ids,
        [
            _Method("entries", "GET", handler, "AWS_IAM"),
            _Method("entries", "POST", handler, "AWS_IAM"),
            _Method("entries/{entryId}", "GET", handler, "AWS_IAM"),
        ],
    )
    _deploy(t, ag, api["id"], ["prod"], {})
    return str(api["id"])


def _usage_plan(ag: APIGatewayClient, orders_id: str) -> None:
    plan = ag.create_usage_plan(
        name="partners",
        description="Partner access to orders",
        apiStages=[{"apiId": orders_id, "stage": "prod"}],
        throttle={"rateLimit": 50.0, "burstLimit": 100},
        quota={"limit": 100000, "period": "MONTH"},
    )
    key = ag.create_api_key(name="partner-one", enabled=True)
    ag.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")


def _web_acl(t: _Target, rest_api_id: str) -> None:
    waf = t.session.client("wafv2", region_name=t.region, endpoint_url=t.endpoint_url)
    acl = waf.create_web_acl(
        Name=f"{t.brand}-api-protection",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": f"{t.brand}-api-protection",
        },
        Rules=[],
    )["Summary"]
    waf.associate_web_acl(
        WebACLArn=acl["ARN"], ResourceArn=f"arn:aws:apigateway:{t.region}::/restapis/{rest_api_id}/stages/prod"
    )


# ------------------------------------------------------------------------------------------------------
# HTTP and WebSocket APIs (apigatewayv2)
# ------------------------------------------------------------------------------------------------------


def _payments_api(t: _Target, v2: ApiGatewayV2Client, vpc_link: bool) -> str:
    api_id: str = v2.create_api(
        Name="payments",
        ProtocolType="HTTP",
        Description="Payments for the web shop",
        CorsConfiguration={
            "AllowOrigins": [f"https://shop.{t.brand}.example.com"],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["authorization", "content-type"],
            "AllowCredentials": True,
            "MaxAge": 3600,
        },
        Tags=t.tags(service="payments"),
    )["ApiId"]
    jwt = v2.create_authorizer(
        ApiId=api_id,
        Name="cognito-jwt",
        AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={
            "Issuer": f"https://cognito-idp.{t.region}.amazonaws.com/{t.region}_Payments01",
            "Audience": ["payments-web"],
        },
    )["AuthorizerId"]
    lam = v2.create_authorizer(
        ApiId=api_id,
        Name="token-lambda",
        AuthorizerType="REQUEST",
        AuthorizerUri=t.lambda_invoke_uri("payments-authorizer"),
        AuthorizerPayloadFormatVersion="2.0",
        EnableSimpleResponses=True,
        IdentitySource=["$request.header.x-api-token"],
        AuthorizerResultTtlInSeconds=300,
    )["AuthorizerId"]
    t.counts["authorizers"] += 2
    handler = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=t.lambda_arn("payments-handler"),
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    if vpc_link:
        link = v2.create_vpc_link(
            Name="payments-private", SubnetIds=["subnet-0a1b2c3d"], SecurityGroupIds=["sg-0a1b2c3d"]
        )["VpcLinkId"]
        fallback = v2.create_integration(
            ApiId=api_id,
            IntegrationType="HTTP_PROXY",
            IntegrationMethod="ANY",
            ConnectionType="VPC_LINK",
            ConnectionId=link,
            IntegrationUri=f"arn:aws:elasticloadbalancing:{t.region}:{t.account}:listener/app/legacy/1/2",
            PayloadFormatVersion="1.0",
        )["IntegrationId"]
    else:
        fallback = v2.create_integration(
            ApiId=api_id,
            IntegrationType="HTTP_PROXY",
            IntegrationMethod="ANY",
            IntegrationUri="https://legacy-payments.example.com",
            PayloadFormatVersion="1.0",
        )["IntegrationId"]
    routes: list[dict[str, Any]] = [
        {
            "RouteKey": "GET /payments",
            "AuthorizationType": "JWT",
            "AuthorizerId": jwt,
            "AuthorizationScopes": ["payments/read"],
            "Target": f"integrations/{handler}",
        },
        {
            "RouteKey": "POST /payments",
            "AuthorizationType": "CUSTOM",
            "AuthorizerId": lam,
            "Target": f"integrations/{handler}",
        },
        {"RouteKey": "GET /health", "AuthorizationType": "NONE", "Target": f"integrations/{handler}"},
        {"RouteKey": "$default", "AuthorizationType": "NONE", "Target": f"integrations/{fallback}"},
    ]
    for route in routes:
        v2.create_route(ApiId=api_id, **route)
    t.counts["v2_routes"] += len(routes)
    v2.create_stage(
        ApiId=api_id,
        StageName="$default",
        AutoDeploy=True,
        AccessLogSettings={
            "DestinationArn": t.log_group_arn("/aws/apigateway/payments-access"),
            "Format": '{"requestId":"$context.requestId","status":"$context.status"}',
        },
        DefaultRouteSettings={"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50.0},
        StageVariables={"ledgerUrl": "https://ledger.internal"},
    )
    t.counts["stages"] += 1
    return api_id


def _chat_api(t: _Target, v2: ApiGatewayV2Client, connect_authorized: bool) -> str:
    api_id: str = v2.create_api(
        Name="chat",
        ProtocolType="WEBSOCKET",
        RouteSelectionExpression="$request.body.action",
        Tags=t.tags(service="chat"),
    )["ApiId"]
    handler = v2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=t.lambda_invoke_uri("chat-handler")
    )["IntegrationId"]
    connect: dict[str, Any] = {"AuthorizationType": "NONE"}
    if connect_authorized:
        authorizer = v2.create_authorizer(
            ApiId=api_id,
            Name="connect-lambda",
            AuthorizerType="REQUEST",
            AuthorizerUri=t.lambda_invoke_uri("chat-authorizer"),
            IdentitySource=["route.request.header.Auth"],
        )["AuthorizerId"]
        t.counts["authorizers"] += 1
        connect = {"AuthorizationType": "CUSTOM", "AuthorizerId": authorizer}
    routes: list[dict[str, Any]] = [
        {"RouteKey": "$connect", **connect},
        {"RouteKey": "$disconnect", "AuthorizationType": "NONE"},
        {"RouteKey": "sendMessage", "AuthorizationType": "NONE", "ApiKeyRequired": not connect_authorized},
    ]
    for route in routes:
        v2.create_route(ApiId=api_id, Target=f"integrations/{handler}", **route)
    t.counts["v2_routes"] += len(routes)
    v2.create_stage(
        ApiId=api_id,
        StageName="production",
        DefaultRouteSettings={"LoggingLevel": "INFO", "DataTraceEnabled": False, "DetailedMetricsEnabled": True},
    )
    t.counts["stages"] += 1
    return api_id


# ------------------------------------------------------------------------------------------------------
# Custom domain names
# ------------------------------------------------------------------------------------------------------


def _domains(t: _Target, ag: APIGatewayClient, v2: ApiGatewayV2Client, apis: dict[str, str]) -> None:
    prefix = "" if t.region == "us-east-1" else f"{t.region}."
    edge = f"{prefix}www-api.{t.brand}.example.com"
    ag.create_domain_name(
        domainName=edge,
        certificateArn=t.certificate_arn("us-east-1", "edge-cert"),  # EDGE certificates live in us-east-1
        endpointConfiguration={"types": ["EDGE"]},
        securityPolicy="TLS_1_0",
        tags=t.tags(),
    )
    t.domain_names.add(edge)
    for base_path, api in (("", "catalog"), ("orders", "orders")):
        if api in apis:
            mapping = {"basePath": base_path} if base_path else {}
            ag.create_base_path_mapping(domainName=edge, restApiId=apis[api], stage="prod", **mapping)
            t.counts["mappings"] += 1

    regional = f"{prefix}mtls.{t.brand}.example.com"
    certificate = t.certificate_arn(t.region, "regional-cert")
    truststore = f"s3://{t.brand}-truststores/partners.pem"
    ag.create_domain_name(
        domainName=regional,
        regionalCertificateArn=certificate,
        endpointConfiguration={"types": ["REGIONAL"]},
        securityPolicy="TLS_1_2",
        mutualTlsAuthentication={"truststoreUri": truststore, "truststoreVersion": "1"},
        tags=t.tags(),
    )
    # moto's separate v2 store: the same domain, as AWS would also list it through apigatewayv2.
    v2.create_domain_name(
        DomainName=regional,
        DomainNameConfigurations=[
            {"CertificateArn": certificate, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
        ],
        MutualTlsAuthentication={"TruststoreUri": truststore, "TruststoreVersion": "1"},
        Tags=t.tags(),
    )
    t.domain_names.add(regional)
    if "orders" in apis:
        ag.create_base_path_mapping(domainName=regional, restApiId=apis["orders"], stage="prod", basePath="v1")
        t.counts["mappings"] += 1
    if "payments" in apis:
        v2.create_api_mapping(DomainName=regional, ApiId=apis["payments"], Stage="$default", ApiMappingKey="pay")
        t.counts["mappings"] += 1


# ------------------------------------------------------------------------------------------------------
# Seeding
# ------------------------------------------------------------------------------------------------------


def _seed_target(t: _Target, profile: _Profile) -> None:
    ag, v2 = t.apigateway, t.apigatewayv2
    apis: dict[str, str] = {}
    if profile.orders:
        vpc_link = ag.create_vpc_link(
            name="orders-items-nlb",
            targetArns=[f"arn:aws:elasticloadbalancing:{t.region}:{t.account}:loadbalancer/net/items/0a1b2c3d"],
        )["id"]
        apis["orders"] = _orders_api(t, ag, vpc_link, profile.surface)
        _usage_plan(ag, apis["orders"])
        if profile.waf:
            _web_acl(t, apis["orders"])
    if profile.catalog:
        apis["catalog"] = _catalog_api(t, ag, profile.catalog_default_endpoint)
    if profile.ledger:
        apis["ledger"] = _ledger_api(t, ag)
    t.counts["rest_apis"] += sum(1 for name in ("orders", "catalog", "ledger") if name in apis)
    if profile.payments:
        apis["payments"] = _payments_api(t, v2, profile.payments_vpc_link)
        t.counts["http_apis"] += 1
    if profile.chat:
        apis["chat"] = _chat_api(t, v2, profile.chat_connect_authorized)
        t.counts["websocket_apis"] += 1
    for i in range(profile.bulk_http_apis):
        v2.create_api(Name=f"microservice-{i:02d}", ProtocolType="HTTP", Tags=t.tags(tier="bulk"))
    t.counts["http_apis"] += profile.bulk_http_apis
    if profile.domains:
        _domains(t, ag, v2, apis)
    _seed_surface(t, ag, profile, apis)
    if profile.functions:
        demo_functions.seed_functions(t.session, t.endpoint_url, t.region, profile.functions)
        t.counts["function_urls"] += profile.functions.urls
    if profile.entry_points:
        seeded = demo_entry_points.seed_entry_points(t.session, t.endpoint_url, t.account, t.region, t.brand, apis)
        t.counts["entry_points"] += seeded.count
    if profile.unreachable_origin:
        seeded = demo_entry_points.seed_unreachable_origin(t.session, t.endpoint_url, t.region, apis["catalog"])
        t.counts["entry_points"] += seeded.count


def _seed_surface(t: _Target, ag: APIGatewayClient, profile: _Profile, apis: dict[str, str]) -> None:
    if profile.cloudwatch_role:
        role = f"arn:aws:iam::{t.account}:role/apigateway-cloudwatch-logs"
        ag.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role}])
    overlay = t.surface
    if overlay is None:
        return
    if profile.surface:
        partners = demo_surface.partners_api(overlay, ag)
        t.counts["rest_apis"] += 1
        t.counts["rest_methods"] += 1
        t.counts["stages"] += 1
        demo_surface.draft_http_api(t.apigatewayv2)
        t.counts["http_apis"] += 1
        t.counts["v2_routes"] += 1
        if profile.domains:
            prefix = "" if t.region == "us-east-1" else f"{t.region}."
            demo_surface.routing_rule(overlay, f"{prefix}mtls.{t.brand}.example.com", partners)
        # The catalog's default endpoint still negotiates TLS 1.0.
        if "catalog" in apis:
            overlay.overlay.fields(
                t.account, t.region, "apigateway:GetRestApis", apis["catalog"], securityPolicy="TLS_1_0"
            )
    if profile.private_domain_peer and "ledger" in apis:
        t.domain_names.add(demo_surface.private_domain(overlay, apis["ledger"], profile.private_domain_peer))
        t.counts["mappings"] += 1


def external_id(account_id: str) -> str:
    return f"api-discovery-demo-{_BRANDS.get(account_id, account_id)}"


def _read_only_role(session: boto3.Session, endpoint_url: str | None, account_id: str) -> None:
    """The customer's role as the product asks them to deploy it: SecurityAudit, apigateway:GET, ExternalId."""
    iam = session.client("iam", region_name="us-east-1", endpoint_url=endpoint_url)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{VENDOR_ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id(account_id)}},
            }
        ],
    }
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=3600)
    iam.put_role_policy(
        RoleName=ROLE_NAME,
        PolicyName="ApiGatewayRead",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "apigateway:GET", "Resource": "*"}]}
        ),
    )


def account_session(endpoint_url: str | None, account_id: str, role_name: str = SEED_ROLE_NAME) -> boto3.Session:
    """A session acting in `account_id`, through the emulator's STS, from the dummy vendor credentials."""
    sts = boto3.Session(aws_access_key_id=DUMMY_ACCESS_KEY, aws_secret_access_key=DUMMY_SECRET_KEY).client(
        "sts", region_name="us-east-1", endpoint_url=endpoint_url
    )
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{role_name}", RoleSessionName="seed")[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def seed_demo_estate(endpoint_url: str | None, progress: Callable[[str], None] | None = None) -> DemoEstate:
    """Create the demo estate in the emulator at `endpoint_url` (about 400 calls) and describe it; None seeds
    wherever boto3 is pointed (e.g. moto's in-process mock)."""
    expected: dict[tuple[str, str], TargetCounts] = {}
    for account in ACCOUNTS:
        session = account_session(endpoint_url, account)
        _read_only_role(session, endpoint_url, account)
        for region in REGIONS:
            if progress:
                progress(f"seeding {account} {region}")
            target = _Target(account, region, session, endpoint_url)
            _seed_target(target, _PROFILES[(account, region)])
            expected[(account, region)] = target.to_counts()
    return DemoEstate(
        accounts=list(ACCOUNTS),
        regions=list(REGIONS),
        denied_account=DENIED_ACCOUNT,
        role_name=ROLE_NAME,
        external_ids={account: external_id(account) for account in ACCOUNTS},
        expected=expected,
    )


def deny_demo_account(emulator: Emulator, estate: DemoEstate) -> None:
    """The denied account's read-only role refuses the scanner, as a broken trust policy would."""
    emulator.deny_assume_role(estate.role_arn(estate.denied_account))
