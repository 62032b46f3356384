"""Pure functions from API Gateway responses (as botocore parses them) to the snapshot model."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from api_discovery.inventory.model import (
    MAX_NESTING,
    Api,
    Authorizer,
    Domain,
    DomainMapping,
    Integration,
    Quota,
    Route,
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


def _throttle(burst: Any, rate: Any) -> Throttle | None:
    if burst is None and rate is None:
        return None
    return Throttle(
        burst_limit=int(burst) if burst is not None else None,
        rate_limit=float(rate) if rate is not None else None,
    )


# --- REST (apigateway) -------------------------------------------------------------------------------


def rest_api(raw: Raw, *, stages: list[Stage], routes: list[Route], authorizers: list[Authorizer]) -> Api:
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
    )


def rest_routes(resources: Iterable[Raw]) -> list[Route]:
    """Every resource method, with its integration, from GetResources(embed=['methods'])."""
    routes = []
    for resource in resources:
        for method, spec in (resource.get("resourceMethods") or {}).items():
            integration = spec.get("methodIntegration")
            routes.append(
                Route(
                    method=method,
                    path=resource.get("path", "/"),
                    authorization_type=spec.get("authorizationType") or "NONE",
                    authorizer_id=spec.get("authorizerId"),
                    authorization_scopes=sorted(spec.get("authorizationScopes") or []),
                    api_key_required=bool(spec.get("apiKeyRequired", False)),
                    request_validator_id=spec.get("requestValidatorId"),
                    integration=_rest_integration(integration) if integration else None,
                )
            )
    return sorted(routes, key=_route_order)


def _rest_integration(raw: Raw) -> Integration:
    # Only the URI is kept: requestParameters (static values such as 'secret'), requestTemplates and
    # credentials are never read into the model, so they cannot reach a snapshot or an event.
    return Integration(
        type=raw.get("type"),
        target=redact_uri(raw.get("uri")),
        connection_type=raw.get("connectionType"),
        connection_id=raw.get("connectionId"),
    )


def _route_order(route: Route) -> tuple[str, int, str]:
    rank = HTTP_METHODS_ORDER.index(route.method) if route.method in HTTP_METHODS_ORDER else 99
    return (route.path, rank, route.method)


def rest_stage(raw: Raw, *, api_id: str, region: str) -> Stage:
    settings = (raw.get("methodSettings") or {}).get("*/*") or {}
    name = raw["stageName"]
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
        last_updated=iso(raw.get("lastUpdatedDate")),
    )


def rest_authorizer(raw: Raw) -> Authorizer:
    source = raw.get("identitySource")
    return Authorizer(
        id=raw["id"],
        name=raw.get("name", ""),
        type=raw.get("type", ""),
        identity_source=[s.strip() for s in source.split(",")] if source else [],
        provider_arns=sorted(raw.get("providerARNs") or []),
        authorizer_uri=redact_uri(raw.get("authorizerUri")),
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
    )


def rest_domain(raw: Raw, mappings: Iterable[Raw]) -> Domain:
    endpoint = raw.get("endpointConfiguration") or {}
    types = endpoint.get("types") or ["EDGE"]
    mtls = raw.get("mutualTlsAuthentication") or {}
    return Domain(
        name=raw["domainName"],
        endpoint_type=types[0],
        security_policy=raw.get("securityPolicy"),
        mutual_tls_truststore_uri=redact_uri(mtls.get("truststoreUri")),
        mutual_tls_truststore_version=mtls.get("truststoreVersion"),
        target_domain_name=raw.get("distributionDomainName") or raw.get("regionalDomainName"),
        mappings=sorted(
            (
                DomainMapping(base_path=_base_path(m.get("basePath")), api_id=m["restApiId"], stage=m.get("stage", ""))
                for m in mappings
            ),
            key=_mapping_order,
        ),
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
                method=method,
                path=path,
                route_key=raw["RouteKey"],
                authorization_type=raw.get("AuthorizationType") or "NONE",
                authorizer_id=raw.get("AuthorizerId"),
                authorization_scopes=sorted(raw.get("AuthorizationScopes") or []),
                api_key_required=bool(raw.get("ApiKeyRequired", False)),
                # As for REST: RequestParameters and RequestTemplates are never read into the model.
                integration=Integration(
                    type=integration.get("IntegrationType"),
                    target=redact_uri(integration.get("IntegrationUri")),
                    connection_type=integration.get("ConnectionType"),
                    connection_id=integration.get("ConnectionId"),
                )
                if integration
                else None,
            )
        )
    return sorted(result, key=_route_order)


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
        last_updated=iso(raw.get("LastUpdatedDate")),
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
    )


def v2_vpc_link(raw: Raw) -> VpcLink:
    return VpcLink(
        id=raw["VpcLinkId"],
        name=raw.get("Name", ""),
        kind="V2",
        status=raw.get("VpcLinkStatus"),
        subnet_ids=sorted(raw.get("SubnetIds") or []),
    )


def v2_domain(raw: Raw, mappings: Iterable[Raw]) -> Domain:
    config = (raw.get("DomainNameConfigurations") or [{}])[0]
    mtls = raw.get("MutualTlsAuthentication") or {}
    return Domain(
        name=raw["DomainName"],
        endpoint_type=config.get("EndpointType") or "REGIONAL",
        security_policy=config.get("SecurityPolicy"),
        mutual_tls_truststore_uri=redact_uri(mtls.get("TruststoreUri")),
        mutual_tls_truststore_version=mtls.get("TruststoreVersion"),
        target_domain_name=config.get("ApiGatewayDomainName"),
        mappings=sorted(
            (
                DomainMapping(base_path=_base_path(m.get("ApiMappingKey")), api_id=m["ApiId"], stage=m.get("Stage", ""))
                for m in mappings
            ),
            key=_mapping_order,
        ),
    )


def merge_domains(domains: Iterable[Domain]) -> list[Domain]:
    """v1 and v2 both list a regional domain: keep one, with the union of their mappings."""
    merged: dict[str, Domain] = {}
    for domain in domains:
        seen = merged.get(domain.name)
        if seen is None:
            merged[domain.name] = domain
            continue
        mappings = sorted(set(seen.mappings) | set(domain.mappings), key=_mapping_order)
        merged[domain.name] = seen.model_copy(update={"mappings": mappings})
    return [merged[name] for name in sorted(merged)]


# --- URLs ---------------------------------------------------------------------------------------------


def with_urls(api: Api, domains: Iterable[Domain], region: str) -> Api:
    """Every concrete public URL of each route: per stage on execute-api (unless disabled), per domain mapping."""
    bases: list[str] = []
    for stage in api.stages:
        if api.default_endpoint_enabled:
            bases.append(_execute_api_base(api, stage.name, region))
    for domain in domains:
        scheme = "wss" if api.kind == "WEBSOCKET" else "https"
        for mapping in domain.mappings:
            if mapping.api_id == api.id:
                suffix = f"/{mapping.base_path}" if mapping.base_path else ""
                bases.append(f"{scheme}://{domain.name}{suffix}")
    routes = [route.model_copy(update={"urls": sorted({_join(b, api, route) for b in bases})}) for route in api.routes]
    return api.model_copy(update={"routes": routes})


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
