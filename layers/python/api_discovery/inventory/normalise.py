"""Pure functions from API Gateway responses (as botocore parses them) to the snapshot model."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from api_discovery.inventory import secrets
from api_discovery.inventory.model import (
    MAX_NESTING,
    AccessAssociation,
    Api,
    Authorizer,
    Canary,
    ClientCertificate,
    Domain,
    DomainMapping,
    FunctionUrl,
    Integration,
    MethodSettings,
    Quota,
    RequestValidator,
    Route,
    RoutingMode,
    RoutingRule,
    Stage,
    Throttle,
    UsagePlan,
    UsagePlanStage,
    VpcLink,
    nesting,
)
from api_discovery.inventory.redact import redact_uri

Raw = Mapping[str, Any]
HTTP_METHODS_ORDER = ("ANY", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")


def iso(value: Any) -> str | None:
    """Timestamps as UTC ISO 8601 strings, so snapshots serialize deterministically."""
    if value is None:
        return None
    if isinstance(value, datetime):
        # One fixed width, so that ISO strings order as the times they name.
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def parse_policy(policy: str | None) -> dict[str, Any] | None:
    """REST API policies come back as JSON with escaped quotes; an unreadable one is kept as text."""
    if not policy:
        return None
    text = policy.replace('\\"', '"')
    try:
        parsed = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return {"unparsed": policy}
    # Nested deeper than any real policy: the snapshot could not be serialized, so keep it as text.
    return parsed if isinstance(parsed, dict) and nesting(parsed) <= MAX_NESTING else {"unparsed": policy}


def shared(value: Any) -> Any:
    """One copy of a string that thousands of routes repeat (a method, an authorization or integration type, a
    Lambda ARN): botocore's parser makes a new string for every value, and a large region's 33,000 routes would
    otherwise keep as many copies of each. A string no one holds any more leaves the table by itself."""
    return sys.intern(value) if isinstance(value, str) else value


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _tags(raw: Any) -> dict[str, str]:
    return dict(sorted((raw or {}).items()))


# An integration's credentials: a role ARN, or this ARN, which passes the caller's own IAM credentials on.
_CALLER_CREDENTIALS = "arn:aws:iam::*:user/*"


def _credentials(value: Any) -> str | None:
    if not value:
        return None
    return "caller" if str(value) == _CALLER_CREDENTIALS else str(value)


def _throttle(burst: Any, rate: Any) -> Throttle | None:
    if burst is None and rate is None:
        return None
    return Throttle(
        burst_limit=int(burst) if burst is not None else None,
        rate_limit=float(rate) if rate is not None else None,
    )


# --- REST (apigateway) -------------------------------------------------------------------------------


def rest_api(
    raw: Raw,
    *,
    stages: list[Stage],
    routes: list[Route],
    authorizers: list[Authorizer],
    validators: list[RequestValidator] | None = None,
) -> Api:
    endpoint = raw.get("endpointConfiguration") or {}
    types = endpoint.get("types") or ["EDGE"]
    return Api(
        kind="REST",
        id=raw["id"],
        name=raw.get("name", ""),
        endpoint_type=types[0],
        default_endpoint_enabled=not raw.get("disableExecuteApiEndpoint", False),
        resource_policy=parse_policy(raw.get("policy")),
        tags=dict(sorted((raw.get("tags") or {}).items())),
        api_key_source=raw.get("apiKeySource"),
        vpc_endpoint_ids=sorted(endpoint.get("vpcEndpointIds") or []),
        created_date=iso(raw.get("createdDate")),
        stages=stages,
        routes=routes,
        authorizers=authorizers,
        security_policy=raw.get("securityPolicy"),
        endpoint_access_mode=raw.get("endpointAccessMode"),
        api_status=raw.get("apiStatus"),
        ip_address_type=endpoint.get("ipAddressType"),
        request_validators=validators or [],
    )


def rest_routes(resources: Iterable[Raw]) -> list[Route]:
    """Every resource method, with its integration, from GetResources(embed=['methods'])."""
    routes = []
    for resource in resources:
        for method, spec in (resource.get("resourceMethods") or {}).items():
            integration = spec.get("methodIntegration")
            routes.append(
                Route(
                    method=shared(method),
                    path=resource.get("path", "/"),
                    authorization_type=shared(spec.get("authorizationType") or "NONE"),
                    authorizer_id=shared(spec.get("authorizerId")),
                    authorization_scopes=sorted(spec.get("authorizationScopes") or []),
                    api_key_required=bool(spec.get("apiKeyRequired", False)),
                    request_validator_id=spec.get("requestValidatorId"),
                    integration=_rest_integration(integration, method) if integration else None,
                )
            )
    return sorted(routes, key=_route_order)


_CORS_HEADER = "method.response.header.access-control-"


def _rest_integration(raw: Raw, method: str) -> Integration:
    # requestParameters (static values such as 'secret') and requestTemplates are never read into the model,
    # so they cannot reach a snapshot or an event; of the responses only a preflight's CORS headers are kept.
    tls = raw.get("tlsConfig") or {}
    skip = tls.get("insecureSkipVerification")
    headers = _preflight_headers(raw, method)
    origin = headers.get("allow-origin") if headers is not None else None
    return Integration(
        type=shared(raw.get("type")),
        target=shared(redact_uri(raw.get("uri"))),
        connection_type=shared(raw.get("connectionType")),
        connection_id=raw.get("connectionId"),
        integration_target=raw.get("integrationTarget"),
        credentials=_credentials(raw.get("credentials")),
        tls_skip_verification=bool(skip) if skip is not None else None,
        timeout_ms=_int(raw.get("timeoutInMillis")),
        response_transfer_mode=shared(raw.get("responseTransferMode")),
        cors_preflight=headers is not None,
        cors_allow_origin=origin,
        cors_allow_credentials=(headers.get("allow-credentials") == "true") if headers is not None else None,
    )


def _preflight_headers(raw: Raw, method: str) -> dict[str, str] | None:
    """The CORS headers of an OPTIONS method whose MOCK integration answers nothing else; None otherwise."""
    if method != "OPTIONS" or raw.get("type") != "MOCK":
        return None
    headers: dict[str, str] = {}
    for response in (raw.get("integrationResponses") or {}).values():
        for name, value in (response.get("responseParameters") or {}).items():
            lowered = str(name).lower()
            if not lowered.startswith(_CORS_HEADER):
                return None
            headers[lowered.removeprefix(_CORS_HEADER)] = str(value).strip().strip("'").strip()
    return headers if headers else None


def _route_order(route: Route) -> tuple[str, int, str]:
    rank = HTTP_METHODS_ORDER.index(route.method) if route.method in HTTP_METHODS_ORDER else 99
    return (route.path, rank, route.method)


def _method_settings(key: str, raw: Raw) -> MethodSettings:
    return MethodSettings(
        key=key,
        logging_level=raw.get("loggingLevel"),
        data_trace_enabled=bool(raw.get("dataTraceEnabled", False)),
        metrics_enabled=bool(raw.get("metricsEnabled", False)),
        caching_enabled=bool(raw.get("cachingEnabled", False)),
        cache_encrypted=bool(raw.get("cacheDataEncrypted", False)),
        cache_ttl_seconds=_int(raw.get("cacheTtlInSeconds")),
        throttling=_throttle(raw.get("throttlingBurstLimit"), raw.get("throttlingRateLimit")),
    )


def _v2_route_settings(key: str, raw: Raw) -> MethodSettings:
    return MethodSettings(
        key=key,
        logging_level=raw.get("LoggingLevel"),
        data_trace_enabled=bool(raw.get("DataTraceEnabled", False)),
        metrics_enabled=bool(raw.get("DetailedMetricsEnabled", False)),
        throttling=_throttle(raw.get("ThrottlingBurstLimit"), raw.get("ThrottlingRateLimit")),
    )


def _canary(raw: Raw | None) -> Canary | None:
    if not raw:
        return None
    percent = raw.get("percentTraffic")
    return Canary(
        percent_traffic=float(percent) if percent is not None else None,
        deployment_id=raw.get("deploymentId"),
        use_stage_cache=bool(raw.get("useStageCache", False)),
        variable_names=sorted(raw.get("stageVariableOverrides") or {}),
    )


def rest_stage(raw: Raw, *, api_id: str, region: str) -> Stage:
    every = raw.get("methodSettings") or {}
    settings = every.get("*/*") or {}
    name = raw["stageName"]
    canary = raw.get("canarySettings")
    # Judged here, in memory, each map on its own (an override must not hide the value it overrides): the
    # values go no further than this call.
    found = secrets.detect(raw.get("variables")) + secrets.detect((canary or {}).get("stageVariableOverrides"))
    suspects = sorted({(s.name, s.detector): s for s in found}.values(), key=lambda s: (s.name, s.detector))
    return Stage(
        name=name,
        deployment_id=raw.get("deploymentId"),
        invoke_url=f"https://{api_id}.execute-api.{region}.amazonaws.com/{name}",
        web_acl_arn=raw.get("webAclArn"),
        access_log_destination=(raw.get("accessLogSettings") or {}).get("destinationArn"),
        execution_logging_level=settings.get("loggingLevel") or "OFF",
        data_trace_enabled=bool(settings.get("dataTraceEnabled", False)),
        tracing_enabled=bool(raw.get("tracingEnabled", False)),
        client_certificate_id=raw.get("clientCertificateId"),
        throttling=_throttle(settings.get("throttlingBurstLimit"), settings.get("throttlingRateLimit")),
        cache_enabled=bool(raw.get("cacheClusterEnabled", False)),
        cache_encrypted=bool(settings.get("cacheDataEncrypted", False)),
        variable_names=sorted(raw.get("variables") or {}),
        secret_variables=suspects,
        last_updated=iso(raw.get("lastUpdatedDate")),
        access_log_format=(raw.get("accessLogSettings") or {}).get("format"),
        cache_cluster_size=raw.get("cacheClusterSize") if raw.get("cacheClusterEnabled") else None,
        method_settings=[_method_settings(k, v) for k, v in sorted(every.items())],
        canary=_canary(canary),
        tags=_tags(raw.get("tags")),
    )


def rest_authorizer(raw: Raw) -> Authorizer:
    source = raw.get("identitySource")
    # A REST JWT authorizer trusts several issuers, each with its own audiences.
    issuers = (raw.get("jwtConfiguration") or {}).get("issuers") or []
    return Authorizer(
        id=raw["id"],
        name=raw.get("name", ""),
        type=raw.get("type", ""),
        identity_source=[s.strip() for s in source.split(",")] if source else [],
        provider_arns=sorted(raw.get("providerARNs") or []),
        authorizer_uri=redact_uri(raw.get("authorizerUri")),
        jwt_issuer=", ".join(sorted(redact_uri(str(i.get("issuer", ""))) or "" for i in issuers)) or None,
        jwt_audience=sorted({str(a) for i in issuers for a in i.get("audiences") or []}),
        credentials=_credentials(raw.get("authorizerCredentials")),
        result_ttl_seconds=_int(raw.get("authorizerResultTtlInSeconds")),
        identity_validation=bool(raw.get("identityValidationExpression")),
    )


def request_validator(raw: Raw) -> RequestValidator:
    return RequestValidator(
        id=raw["id"],
        name=raw.get("name", ""),
        validate_body=bool(raw.get("validateRequestBody", False)),
        validate_parameters=bool(raw.get("validateRequestParameters", False)),
    )


def client_certificate(raw: Raw) -> ClientCertificate:
    # pemEncodedCertificate is public material, but large and of no use to an inventory: not kept.
    return ClientCertificate(
        id=raw["clientCertificateId"],
        created_date=iso(raw.get("createdDate")),
        expiration_date=iso(raw.get("expirationDate")),
    )


def usage_plan(raw: Raw) -> UsagePlan:
    throttle = raw.get("throttle") or {}
    quota = raw.get("quota")
    return UsagePlan(
        id=raw["id"],
        name=raw.get("name", ""),
        stages=[UsagePlanStage(api_id=s["apiId"], stage=s.get("stage", "")) for s in raw.get("apiStages") or []],
        throttle=_throttle(throttle.get("burstLimit"), throttle.get("rateLimit")),
        quota=Quota(limit=quota.get("limit"), period=quota.get("period")) if quota else None,
    )


def rest_vpc_link(raw: Raw) -> VpcLink:
    return VpcLink(
        id=raw["id"],
        name=raw.get("name", ""),
        kind="REST",
        status=raw.get("status"),
        target_arns=sorted(raw.get("targetArns") or []),
        tags=_tags(raw.get("tags")),
    )


_ROUTING_MODES: dict[str, RoutingMode] = {
    "BASE_PATH_MAPPING_ONLY": "API_MAPPING_ONLY",
    "API_MAPPING_ONLY": "API_MAPPING_ONLY",
    "ROUTING_RULE_ONLY": "ROUTING_RULE_ONLY",
    "ROUTING_RULE_THEN_BASE_PATH_MAPPING": "ROUTING_RULE_THEN_API_MAPPING",
    "ROUTING_RULE_THEN_API_MAPPING": "ROUTING_RULE_THEN_API_MAPPING",
}


def routing_mode(value: Any) -> RoutingMode:
    """v1 says base path mapping, v2 API mapping: one vocabulary. An unknown mode reads as rules first, so a
    rule is never missed."""
    if not value:
        return "API_MAPPING_ONLY"
    return _ROUTING_MODES.get(str(value), "ROUTING_RULE_THEN_API_MAPPING")


def is_private_domain(raw: Raw) -> bool:
    return bool(raw.get("domainNameId"))


def rest_domain(
    raw: Raw,
    mappings: Iterable[Raw],
    *,
    rules: Iterable[Raw] = (),
    associations: Iterable[AccessAssociation] = (),
) -> Domain:
    endpoint = raw.get("endpointConfiguration") or {}
    types = endpoint.get("types") or ["EDGE"]
    mtls = raw.get("mutualTlsAuthentication") or {}
    certificates = {raw.get("certificateArn"), raw.get("regionalCertificateArn")} - {None}
    return Domain(
        name=raw["domainName"],
        endpoint_type=types[0],
        security_policy=raw.get("securityPolicy"),
        mutual_tls_truststore_uri=redact_uri(mtls.get("truststoreUri")),
        mutual_tls_truststore_version=mtls.get("truststoreVersion"),
        mutual_tls_truststore_warnings=sorted(mtls.get("truststoreWarnings") or []),
        target_domain_name=raw.get("distributionDomainName") or raw.get("regionalDomainName"),
        mappings=sorted(
            (
                DomainMapping(base_path=_base_path(m.get("basePath")), api_id=m["restApiId"], stage=m.get("stage", ""))
                for m in mappings
            ),
            key=_mapping_order,
        ),
        arn=raw.get("domainNameArn"),
        domain_name_id=raw.get("domainNameId"),
        status=raw.get("domainNameStatus"),
        certificate_arns=sorted(str(c) for c in certificates),
        ip_address_type=endpoint.get("ipAddressType"),
        endpoint_access_mode=raw.get("endpointAccessMode"),
        routing_mode=routing_mode(raw.get("routingMode")),
        routing_rules=routing_rules(rules),
        policy=parse_policy(raw.get("policy")),
        management_policy=parse_policy(raw.get("managementPolicy")),
        access_associations=sorted(associations, key=lambda a: a.arn),
        tags=_tags(raw.get("tags")),
    )


def routing_rules(raw: Iterable[Raw]) -> list[RoutingRule]:
    rules = []
    for rule in raw:
        invoke = ((rule.get("Actions") or [{}])[0] or {}).get("InvokeApi") or {}
        base_paths: list[str] = []
        headers: list[str] = []
        for condition in rule.get("Conditions") or []:
            base_paths += [_base_path(p) for p in (condition.get("MatchBasePaths") or {}).get("AnyOf") or []]
            headers += [
                f"{h.get('Header', '')}: {h.get('ValueGlob', '')}"
                for h in (condition.get("MatchHeaders") or {}).get("AnyOf") or []
            ]
        rules.append(
            RoutingRule(
                id=rule.get("RoutingRuleId", ""),
                priority=_int(rule.get("Priority")) or 0,
                api_id=invoke.get("ApiId", ""),
                stage=invoke.get("Stage", ""),
                strip_base_path=bool(invoke.get("StripBasePath", False)),
                base_paths=sorted(base_paths),
                headers=sorted(headers),
            )
        )
    return sorted(rules, key=lambda r: (r.priority, r.id))


def access_association(raw: Raw, source_account: str | None) -> AccessAssociation:
    return AccessAssociation(
        arn=raw.get("domainNameAccessAssociationArn", ""),
        source=raw.get("accessAssociationSource", ""),
        source_type=raw.get("accessAssociationSourceType", ""),
        source_account=source_account,
    )


def _base_path(value: str | None) -> str:
    # AWS spells the root mapping "(none)" in v1 and "" or None in v2.
    return "" if value in (None, "", "(none)") else str(value).strip("/")


def _mapping_order(mapping: DomainMapping) -> tuple[str, str, str]:
    return (mapping.base_path, mapping.api_id, mapping.stage)


# --- HTTP and WebSocket (apigatewayv2) ----------------------------------------------------------------


def v2_api(raw: Raw, *, stages: list[Stage], routes: list[Route], authorizers: list[Authorizer]) -> Api:
    cors = raw.get("CorsConfiguration")
    return Api(
        kind="WEBSOCKET" if raw.get("ProtocolType") == "WEBSOCKET" else "HTTP",
        id=raw["ApiId"],
        name=raw.get("Name", ""),
        endpoint_type="REGIONAL",
        default_endpoint_enabled=not raw.get("DisableExecuteApiEndpoint", False),
        api_endpoint=raw.get("ApiEndpoint"),
        tags=dict(sorted((raw.get("Tags") or {}).items())),
        cors=dict(cors) if cors else None,
        api_key_source=raw.get("ApiKeySelectionExpression"),
        route_selection_expression=raw.get("RouteSelectionExpression"),
        created_date=iso(raw.get("CreatedDate")),
        stages=stages,
        routes=routes,
        authorizers=authorizers,
        ip_address_type=raw.get("IpAddressType"),
    )


def split_route_key(route_key: str) -> tuple[str, str]:
    """'GET /pets' -> ('GET', '/pets'); '$default' and WebSocket keys -> ('*', key)."""
    method, _, path = route_key.partition(" ")
    if path:
        return method, path
    return "*", route_key


def v2_routes(routes: Iterable[Raw], integrations: Iterable[Raw]) -> list[Route]:
    by_id = {i["IntegrationId"]: i for i in integrations}
    result = []
    for raw in routes:
        method, path = split_route_key(raw["RouteKey"])
        target = raw.get("Target") or ""
        integration = by_id.get(target.removeprefix("integrations/")) if target else None
        result.append(
            Route(
                method=shared(method),
                path=path,
                route_key=raw["RouteKey"],
                authorization_type=shared(raw.get("AuthorizationType") or "NONE"),
                authorizer_id=shared(raw.get("AuthorizerId")),
                authorization_scopes=sorted(raw.get("AuthorizationScopes") or []),
                api_key_required=bool(raw.get("ApiKeyRequired", False)),
                integration=_v2_integration(integration) if integration else None,
            )
        )
    return sorted(result, key=_route_order)


def _v2_integration(raw: Raw) -> Integration:
    # As for REST: RequestParameters and RequestTemplates are never read into the model.
    return Integration(
        type=shared(raw.get("IntegrationType")),
        target=shared(redact_uri(raw.get("IntegrationUri"))),
        connection_type=shared(raw.get("ConnectionType")),
        connection_id=raw.get("ConnectionId"),
        credentials=_credentials(raw.get("CredentialsArn")),
        tls_server_name=(raw.get("TlsConfig") or {}).get("ServerNameToVerify"),
        timeout_ms=_int(raw.get("TimeoutInMillis")),
    )


def v2_stage(raw: Raw, *, api_endpoint: str | None) -> Stage:
    defaults = raw.get("DefaultRouteSettings") or {}
    name = raw["StageName"]
    invoke = None
    if api_endpoint:
        invoke = api_endpoint if name == "$default" else f"{api_endpoint}/{name}"
    return Stage(
        name=name,
        deployment_id=raw.get("DeploymentId"),
        invoke_url=invoke,
        access_log_destination=(raw.get("AccessLogSettings") or {}).get("DestinationArn"),
        execution_logging_level=defaults.get("LoggingLevel"),
        data_trace_enabled=bool(defaults.get("DataTraceEnabled", False)),
        client_certificate_id=raw.get("ClientCertificateId"),
        throttling=_throttle(defaults.get("ThrottlingBurstLimit"), defaults.get("ThrottlingRateLimit")),
        auto_deploy=bool(raw.get("AutoDeploy", False)),
        variable_names=sorted(raw.get("StageVariables") or {}),
        secret_variables=secrets.detect(raw.get("StageVariables")),
        last_updated=iso(raw.get("LastUpdatedDate")),
        access_log_format=(raw.get("AccessLogSettings") or {}).get("Format"),
        method_settings=[_v2_route_settings(k, v) for k, v in sorted((raw.get("RouteSettings") or {}).items())],
        tags=_tags(raw.get("Tags")),
    )


def v2_authorizer(raw: Raw) -> Authorizer:
    jwt = raw.get("JwtConfiguration") or {}
    return Authorizer(
        id=raw["AuthorizerId"],
        name=raw.get("Name", ""),
        type=raw.get("AuthorizerType", ""),
        identity_source=list(raw.get("IdentitySource") or []),
        authorizer_uri=redact_uri(raw.get("AuthorizerUri")),
        jwt_issuer=redact_uri(jwt.get("Issuer")),
        jwt_audience=sorted(jwt.get("Audience") or []),
        credentials=_credentials(raw.get("AuthorizerCredentialsArn")),
        result_ttl_seconds=_int(raw.get("AuthorizerResultTtlInSeconds")),
        identity_validation=bool(raw.get("IdentityValidationExpression")),
    )


def v2_vpc_link(raw: Raw) -> VpcLink:
    return VpcLink(
        id=raw["VpcLinkId"],
        name=raw.get("Name", ""),
        kind="V2",
        status=raw.get("VpcLinkStatus"),
        subnet_ids=sorted(raw.get("SubnetIds") or []),
        security_group_ids=sorted(raw.get("SecurityGroupIds") or []),
        tags=_tags(raw.get("Tags")),
    )


def v2_domain(raw: Raw, mappings: Iterable[Raw], *, rules: Iterable[Raw] = ()) -> Domain:
    config = (raw.get("DomainNameConfigurations") or [{}])[0]
    mtls = raw.get("MutualTlsAuthentication") or {}
    return Domain(
        name=raw["DomainName"],
        endpoint_type=config.get("EndpointType") or "REGIONAL",
        security_policy=config.get("SecurityPolicy"),
        mutual_tls_truststore_uri=redact_uri(mtls.get("TruststoreUri")),
        mutual_tls_truststore_version=mtls.get("TruststoreVersion"),
        mutual_tls_truststore_warnings=sorted(mtls.get("TruststoreWarnings") or []),
        target_domain_name=config.get("ApiGatewayDomainName"),
        arn=raw.get("DomainNameArn"),
        status=config.get("DomainNameStatus"),
        certificate_arns=sorted(
            {str(c["CertificateArn"]) for c in raw.get("DomainNameConfigurations") or [] if c.get("CertificateArn")}
        ),
        ip_address_type=config.get("IpAddressType"),
        routing_mode=routing_mode(raw.get("RoutingMode")),
        routing_rules=routing_rules(rules),
        tags=_tags(raw.get("Tags")),
        mappings=sorted(
            (
                DomainMapping(base_path=_base_path(m.get("ApiMappingKey")), api_id=m["ApiId"], stage=m.get("Stage", ""))
                for m in mappings
            ),
            key=_mapping_order,
        ),
    )


def merge_domains(domains: Iterable[Domain]) -> list[Domain]:
    """v1 and v2 both list a regional domain: keep one, with the union of their mappings and what only one of
    the two reports (v1 the policies and access, v2 nothing v1 lacks but its own view of rules and tags)."""
    merged: dict[str, Domain] = {}
    for domain in domains:
        seen = merged.get(domain.key)
        if seen is None:
            merged[domain.key] = domain
            continue
        mappings = sorted(set(seen.mappings) | set(domain.mappings), key=_mapping_order)
        rules = {r.id: r for r in [*seen.routing_rules, *domain.routing_rules]}
        merged[domain.key] = seen.model_copy(
            update={
                "mappings": mappings,
                "routing_rules": sorted(rules.values(), key=lambda r: (r.priority, r.id)),
                "tags": seen.tags or domain.tags,
                "certificate_arns": sorted(set(seen.certificate_arns) | set(domain.certificate_arns)),
            }
        )
    return [merged[key] for key in sorted(merged)]


# --- URLs ---------------------------------------------------------------------------------------------


def with_urls(api: Api, domains: Iterable[Domain], region: str) -> Api:
    """Every concrete public URL of each route: per stage on execute-api (unless disabled), per domain mapping
    and per routing rule that reaches the API."""
    bases: list[tuple[str, str | None]] = []  # (base URL, the path prefix a route needs to answer there)
    for stage in api.stages:
        if api.default_endpoint_enabled:
            bases.append((_execute_api_base(api, stage.name, region), None))
    for domain in domains:
        scheme = "wss" if api.kind == "WEBSOCKET" else "https"
        for base_path, needs in domain_paths(domain, api.id):
            suffix = f"/{base_path}" if base_path else ""
            bases.append((f"{scheme}://{domain.name}{suffix}", needs))
    routes = [
        route.model_copy(update={"urls": sorted({_join(b, api, route) for b, needs in bases if _under(route, needs)})})
        for route in api.routes
    ]
    return api.model_copy(update={"routes": routes})


def _under(route: Route, prefix: str | None) -> bool:
    if prefix is None or route.path == "$default":
        return True
    return route.path == f"/{prefix}" or route.path.startswith(f"/{prefix}/")


def live_mappings(domain: Domain) -> list[DomainMapping]:
    """The mappings that route traffic: none when the domain routes by its rules only."""
    return [] if domain.routing_mode == "ROUTING_RULE_ONLY" else list(domain.mappings)


def domain_paths(domain: Domain, api_id: str) -> list[tuple[str, str | None]]:
    """Where the domain reaches the API: (base path of the URL, path prefix a route needs to be reached there).
    A live mapping reaches every route under its base path. A rule that strips its base path does the same; one
    that keeps it sends the request's own path on, so it reaches at the root only the routes under that base
    path; one that matches on headers alone reaches every route at the root."""
    paths: set[tuple[str, str | None]] = {(m.base_path, None) for m in live_mappings(domain) if m.api_id == api_id}
    if domain.routing_mode != "API_MAPPING_ONLY":
        for rule in domain.routing_rules:
            if rule.api_id != api_id:
                continue
            if not rule.base_paths:
                paths.add(("", None))
            for base_path in rule.base_paths:
                paths.add((base_path, None) if rule.strip_base_path else ("", base_path))
    return sorted(paths, key=lambda p: (p[0], p[1] or ""))


def _execute_api_base(api: Api, stage: str, region: str) -> str:
    if api.kind == "REST":
        return f"https://{api.id}.execute-api.{region}.amazonaws.com/{stage}"
    host = f"{api.id}.execute-api.{region}.amazonaws.com"
    if api.api_endpoint:
        host = api.api_endpoint.split("://", 1)[-1].rstrip("/")
    # WebSocket clients connect with wss:// whatever scheme the endpoint is reported with.
    endpoint = f"{'wss' if api.kind == 'WEBSOCKET' else 'https'}://{host}"
    return endpoint if stage == "$default" else f"{endpoint}/{stage}"


def _join(base: str, api: Api, route: Route) -> str:
    if api.kind == "WEBSOCKET":
        return base
    if route.path == "$default":
        return f"{base}/*"
    return base + (route.path if route.path != "/" else "/")


# --- Lambda function URLs -------------------------------------------------------------------------------------


def lambda_policy(policy: str | None) -> dict[str, Any] | None:
    """A function's resource policy is plain JSON; one that cannot be read is kept as text, never dropped."""
    if not policy:
        return None
    try:
        parsed = json.loads(policy)
    except (json.JSONDecodeError, RecursionError):
        return {"unparsed": policy}
    return parsed if isinstance(parsed, dict) and nesting(parsed) <= MAX_NESTING else {"unparsed": policy}


def function_qualifier(config_arn: str, function_name: str) -> str | None:
    """The alias of a URL whose FunctionArn names one (`…:function:name:alias`); None for $LATEST."""
    head, _, tail = config_arn.rpartition(f":function:{function_name}")
    if not head:
        return None
    qualifier = tail.removeprefix(":")
    return qualifier if qualifier and qualifier != "$LATEST" else None


def function_url(
    config: Raw, function: Raw, qualifier: str | None, policy: dict[str, Any] | None, *, policy_read: bool
) -> FunctionUrl:
    cors = config.get("Cors")
    return FunctionUrl(
        function_name=str(function["FunctionName"]),
        function_arn=str(config.get("FunctionArn") or function.get("FunctionArn") or ""),
        qualifier=qualifier,
        url=str(config.get("FunctionUrl") or ""),
        auth_type=str(config.get("AuthType") or "AWS_IAM"),
        invoke_mode=str(config["InvokeMode"]).upper() if config.get("InvokeMode") else None,
        cors={k: cors[k] for k in sorted(cors)} if isinstance(cors, Mapping) and cors else None,
        runtime=str(function["Runtime"]) if function.get("Runtime") else None,
        resource_policy=policy,
        policy_read=policy_read,
    )
