"""The checks behind the catalogue: each reads a snapshot and yields the findings of one rule."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from api_discovery.analysis.exposure import PUBLIC, VERDICTS
from api_discovery.analysis.findings.catalogue import CATALOGUE
from api_discovery.analysis.policy import function_url_access, route_access
from api_discovery.inventory.model import Api, Finding, Route, Snapshot, Stage

Check = Callable[[Snapshot], Iterator[Finding]]
CHECKS: dict[str, Check] = {}
# Security policies that still accept TLS 1.0 or 1.1: the legacy TLS_1_0 and the enhanced policies named
# after their oldest version (e.g. SecurityPolicy_TLS13_1_0_…, SecurityPolicy_TLS12_1_1_…).
_LEGACY_TLS = ("TLS_1_0", "TLS_1_1", "TLS1_0", "TLS1_1", "TLS10", "TLS11", "_1_0_", "_1_1_")


def check(rule_id: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[rule_id] = fn
        return fn

    return register


def finding(rule_id: str, resource: str, api: Api | None, **evidence: Any) -> Finding:
    rule = CATALOGUE[rule_id]
    assert set(evidence) == set(rule.evidence), f"{rule_id}: evidence {sorted(evidence)} != {rule.evidence}"
    return Finding(
        rule_id=rule.id,
        severity=rule.severity,
        title=rule.title,
        resource=resource,
        api_id=api.id if api else None,
        evidence=evidence,
    )


def api_resource(api: Api) -> str:
    return f"{api.kind.lower()}/{api.id}"


def stage_resource(api: Api, stage: Stage) -> str:
    return f"{api_resource(api)}/{stage.name}"


def route_resource(api: Api, route: Route) -> str:
    # WebSocket routes and the $default route have a key, not a method and a path.
    subject = route.path if route.method == "*" else f"{route.method} {route.path}"
    return f"{api_resource(api)} {subject}"


def _verdict(route: Route) -> str | None:
    return route.exposure.verdict if route.exposure else None


def _public_routes(api: Api) -> list[Route]:
    return [r for r in api.routes if r.exposure and r.exposure.verdict in PUBLIC]


def _preflight(route: Route) -> bool:
    return bool(route.integration and route.integration.cors_preflight)


@check("public-route-unauthenticated")
def _unauthenticated(snapshot: Snapshot) -> Iterator[Finding]:
    # A CORS preflight answers headers, never data: judged by the CORS rules. A WebSocket API's routes share
    # $connect's verdict: one finding for the API (websocket-connect-unauthorized), not one per route.
    for api in snapshot.apis:
        if api.kind == "WEBSOCKET":
            continue
        for route in api.routes:
            if route.exposure and route.exposure.verdict == "public-unauthenticated" and not _preflight(route):
                yield finding(
                    "public-route-unauthenticated",
                    route_resource(api, route),
                    api,
                    verdict=route.exposure.verdict,
                    authorization_type=route.authorization_type,
                    api_key_required=route.api_key_required,
                    urls=route.urls[:10],
                    reasons=route.exposure.reasons,
                )


@check("public-route-api-key-only")
def _api_key_only(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        for route in api.routes:
            if _verdict(route) == "public-api-key-only":
                yield finding(
                    "public-route-api-key-only",
                    route_resource(api, route),
                    api,
                    verdict="public-api-key-only",
                    authorization_type=route.authorization_type,
                    api_key_required=route.api_key_required,
                    urls=route.urls[:10],
                )


@check("public-api-without-waf")
def _no_waf(snapshot: Snapshot) -> Iterator[Finding]:
    # Only REST stages take a web ACL; HTTP and WebSocket APIs cannot be given one.
    for api in snapshot.apis:
        public = len(_public_routes(api))
        if api.kind != "REST" or not public:
            continue
        for stage in api.stages:
            if not stage.web_acl_arn:
                yield finding(
                    "public-api-without-waf",
                    stage_resource(api, stage),
                    api,
                    stage=stage.name,
                    web_acl_arn=None,
                    public_routes=public,
                )


def _stage_rule(rule_id: str, kinds: tuple[str, ...], broken: Callable[[Stage], dict[str, Any] | None]) -> Check:
    def run(snapshot: Snapshot) -> Iterator[Finding]:
        for api in snapshot.apis:
            if api.kind not in kinds:
                continue
            for stage in api.stages:
                evidence = broken(stage)
                if evidence is not None:
                    yield finding(rule_id, stage_resource(api, stage), api, stage=stage.name, **evidence)

    CHECKS[rule_id] = run
    return run


_stage_rule(
    "stage-access-logging-off",
    ("REST", "HTTP", "WEBSOCKET"),
    lambda s: None if s.access_log_destination else {"access_log_destination": None},
)
# HTTP APIs have no execution logs, data tracing or X-Ray; only REST stages have X-Ray and a cache.
_stage_rule(
    "stage-execution-logging-off",
    ("REST", "WEBSOCKET"),
    lambda s: (
        {"execution_logging_level": s.execution_logging_level}
        if (s.execution_logging_level or "OFF") == "OFF"
        else None
    ),
)
_stage_rule(
    "stage-data-trace-on",
    ("REST", "WEBSOCKET"),
    lambda s: {"data_trace_enabled": True} if s.data_trace_enabled else None,
)
_stage_rule("stage-tracing-off", ("REST",), lambda s: None if s.tracing_enabled else {"tracing_enabled": False})
_stage_rule(
    "stage-cache-unencrypted",
    ("REST",),
    lambda s: {"cache_enabled": True, "cache_encrypted": False} if s.cache_enabled and not s.cache_encrypted else None,
)
_stage_rule(
    "stage-without-throttling",
    ("REST", "HTTP", "WEBSOCKET"),
    lambda s: (
        {"throttling": s.throttling.model_dump() if s.throttling else None}
        if s.throttling is None or (s.throttling.rate_limit is None and s.throttling.burst_limit is None)
        else None
    ),
)


@check("domain-legacy-tls")
def _legacy_tls(snapshot: Snapshot) -> Iterator[Finding]:
    for domain in snapshot.domains:
        policy = (domain.security_policy or "").upper()
        if policy and _legacy(policy):
            yield finding("domain-legacy-tls", f"domain/{domain.key}", None, domain=domain.name, security_policy=policy)


@check("default-endpoint-beside-custom-domain")
def _default_endpoint(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        mapped = sorted({d.name for d in snapshot.domains for m in d.mappings if m.api_id == api.id})
        if mapped and api.default_endpoint_enabled:
            yield finding(
                "default-endpoint-beside-custom-domain",
                api_resource(api),
                api,
                domains=mapped,
                default_endpoint_enabled=True,
            )


@check("private-api-without-policy")
def _private_without_policy(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        if api.kind == "REST" and api.endpoint_type == "PRIVATE" and not api.resource_policy:
            yield finding(
                "private-api-without-policy", api_resource(api), api, endpoint_type="PRIVATE", resource_policy=None
            )


@check("resource-policy-open")
def _open_policy(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        if api.kind != "REST" or not api.resource_policy:
            continue
        stages = [s.name for s in api.stages]
        targets = [(r.method, r.path) for r in api.routes] or [("*", "*")]
        open_routes, statements = 0, set[str]()
        for method, path in targets:
            access = route_access(api.resource_policy, api.id, stages, method, path)
            if access.anyone:
                open_routes += 1
                statements.update(access.open_statements)
        if open_routes:
            yield finding(
                "resource-policy-open",
                api_resource(api),
                api,
                statements=sorted(statements),
                endpoint_type=api.endpoint_type,
                open_routes=open_routes,
            )


@check("websocket-connect-unauthorized")
def _websocket_connect(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        if api.kind != "WEBSOCKET":
            continue
        connect = next((r for r in api.routes if r.path == "$connect"), None)
        authorization = connect.authorization_type if connect else "NONE"
        if authorization == "NONE":
            verdicts = {_verdict(r) for r in api.routes} - {None}
            yield finding(
                "websocket-connect-unauthorized",
                f"{api_resource(api)} $connect",
                api,
                connect_route=connect is not None,
                authorization_type=authorization,
                verdict=min(verdicts, key=VERDICTS.index) if verdicts else None,
                routes=sorted(r.path for r in api.routes)[:20],
                urls=sorted({u for r in api.routes for u in r.urls})[:10],
            )


@check("http-route-unauthorized")
def _http_route(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        if api.kind != "HTTP":
            continue
        for route in api.routes:
            # A public one is already public-route-unauthenticated: one finding per fact.
            if route.authorization_type == "NONE" and _verdict(route) != "public-unauthenticated":
                yield finding(
                    "http-route-unauthorized",
                    route_resource(api, route),
                    api,
                    authorization_type="NONE",
                    verdict=_verdict(route),
                )


@check("api-key-without-throttled-usage-plan")
def _api_key_plans(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        keyed = sum(r.api_key_required for r in api.routes)
        if not keyed:
            continue
        for stage in api.stages:
            plans = [p for p in snapshot.usage_plans if (api.id, stage.name) in {(s.api_id, s.stage) for s in p.stages}]
            throttled = [p for p in plans if p.throttle and (p.throttle.rate_limit or p.throttle.burst_limit)]
            if not throttled:
                yield finding(
                    "api-key-without-throttled-usage-plan",
                    stage_resource(api, stage),
                    api,
                    stage=stage.name,
                    api_key_routes=keyed,
                    usage_plans=sorted(p.id for p in plans),
                )


# --- CORS ----------------------------------------------------------------------------------------------------


def _authenticated_routes(api: Api) -> int:
    return sum(1 for r in api.routes if r.authorization_type not in ("NONE", "") and not _preflight(r))


# A preflight that maps the request's own Origin header into its answer allows every origin, as "*" does, and
# unlike "*" browsers then send credentials along.
_REFLECTED = "method.request.header.origin"


def _any_origin(origin: str | None) -> str | None:
    if origin == "*":
        return "*"
    if origin and origin.lower() == _REFLECTED:
        return "reflected Origin"
    return None


def _cors_sources(api: Api) -> Iterator[tuple[str, str, bool, list[str]]]:
    """(where, which origins, credentials allowed, routes) for each CORS answer of the API that allows every
    origin."""
    if api.cors:
        origins = [str(o) for o in api.cors.get("AllowOrigins") or []]
        if "*" in origins:
            yield "cors configuration", "*", bool(api.cors.get("AllowCredentials")), []
    grouped: dict[tuple[str, bool], list[Route]] = {}
    for r in api.routes:
        origin = _any_origin(r.integration.cors_allow_origin if r.integration else None)
        if origin and r.integration:
            grouped.setdefault((origin, bool(r.integration.cors_allow_credentials)), []).append(r)
    for (origin, credentials), routes in sorted(grouped.items()):
        yield "preflight", origin, credentials, sorted(route_resource(api, r) for r in routes)[:10]


@check("cors-wildcard-with-credentials")
def _cors_credentials(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        for source, origin, credentials, routes in _cors_sources(api):
            if credentials:
                yield finding(
                    "cors-wildcard-with-credentials",
                    api_resource(api),
                    api,
                    source=source,
                    allow_origin=origin,
                    allow_credentials=True,
                    routes=routes,
                )


@check("cors-wildcard-on-authenticated-api")
def _cors_authenticated(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        authenticated = _authenticated_routes(api)
        sources = [s for s in _cors_sources(api) if not s[2]]  # with credentials: the high rule says it
        if authenticated and sources:
            yield finding(
                "cors-wildcard-on-authenticated-api",
                api_resource(api),
                api,
                source=", ".join(sorted({s[0] for s in sources})),
                allow_origin=", ".join(sorted({s[1] for s in sources})),
                authenticated_routes=authenticated,
            )


# --- Stages, integrations, method settings ----------------------------------------------------------------------


@check("stage-variable-secret")
def _stage_secret(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        for stage in api.stages:
            for variable in stage.secret_variables:
                yield finding(
                    "stage-variable-secret",
                    f"{stage_resource(api, stage)} ${{stageVariables.{variable.name}}}",
                    api,
                    stage=stage.name,
                    variable=variable.name,
                    detector=variable.detector,
                )


@check("integration-tls-verification-off")
def _tls_skip(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        routes = [r for r in api.routes if r.integration and r.integration.tls_skip_verification]
        if routes:
            yield finding(
                "integration-tls-verification-off",
                api_resource(api),
                api,
                routes=sorted(route_resource(api, r) for r in routes)[:20],
                targets=sorted({r.integration.target or "" for r in routes if r.integration})[:10],
            )


@check("rest-endpoint-legacy-tls")
def _rest_legacy_tls(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        policy = (api.security_policy or "").upper()
        if api.kind == "REST" and api.default_endpoint_enabled and policy and _legacy(policy):
            yield finding(
                "rest-endpoint-legacy-tls",
                api_resource(api),
                api,
                security_policy=api.security_policy,
                default_endpoint_enabled=True,
            )


def _legacy(policy: str) -> bool:
    return any(marker in policy.upper() for marker in _LEGACY_TLS)


@check("method-logs-or-caches-data")
def _method_settings(snapshot: Snapshot) -> Iterator[Finding]:
    # '*/*' is the stage's own setting, judged by stage-data-trace-on and stage-cache-unencrypted.
    for api in snapshot.apis:
        if api.kind != "REST":
            continue
        for stage in api.stages:
            for setting in stage.method_settings:
                if setting.key != "*/*" and (setting.data_trace_enabled or setting.caching_enabled):
                    yield finding(
                        "method-logs-or-caches-data",
                        f"{stage_resource(api, stage)} {setting.key}",
                        api,
                        stage=stage.name,
                        method=setting.key,
                        data_trace_enabled=setting.data_trace_enabled,
                        caching_enabled=setting.caching_enabled,
                        cache_encrypted=setting.cache_encrypted,
                    )


def _logs(stage: Stage) -> bool:
    execution = (stage.execution_logging_level or "OFF") != "OFF"
    return execution or stage.data_trace_enabled or (stage.access_log_destination or "").startswith("arn:aws:logs:")


@check("logging-without-cloudwatch-role")
def _no_cloudwatch_role(snapshot: Snapshot) -> Iterator[Finding]:
    # Unread settings are unknown, not "no role": no finding then.
    if snapshot.account_settings is None or snapshot.account_settings.cloudwatch_role_arn:
        return
    logging = sorted(stage_resource(a, s) for a in snapshot.apis if a.kind != "HTTP" for s in a.stages if _logs(s))
    if logging:
        yield finding(
            "logging-without-cloudwatch-role",
            f"account/{snapshot.account_id}/{snapshot.region}",
            None,
            stages=logging[:20],
            cloudwatch_role_arn=None,
        )


# --- Networks, domains, certificates ----------------------------------------------------------------------------


def _source_ips(value: Any) -> Iterator[str]:
    """Every aws:SourceIp value in a policy document, wherever a condition holds one."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if str(key).lower() == "aws:sourceip":
                yield from ([str(v) for v in inner] if isinstance(inner, list) else [str(inner)])
            else:
                yield from _source_ips(inner)
    elif isinstance(value, list):
        for item in value:
            yield from _source_ips(item)


def _is_ipv4(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).version == 4
    except ValueError:
        return False


@check("dualstack-policy-ipv4-only")
def _dualstack(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        if (api.ip_address_type or "").lower() != "dualstack" or not api.resource_policy:
            continue
        ranges = sorted(set(_source_ips(api.resource_policy)))
        if ranges and all(_is_ipv4(r) for r in ranges):
            yield finding(
                "dualstack-policy-ipv4-only",
                api_resource(api),
                api,
                ip_address_type=api.ip_address_type,
                ipv4_ranges=ranges[:20],
            )


@check("private-domain-cross-account-access")
def _cross_account_domain(snapshot: Snapshot) -> Iterator[Finding]:
    for domain in snapshot.domains:
        foreign = [
            a for a in domain.access_associations if a.source_account and a.source_account != snapshot.account_id
        ]
        if domain.domain_name_id and foreign:
            yield finding(
                "private-domain-cross-account-access",
                f"domain/{domain.key}",
                None,
                domain=domain.name,
                accounts=sorted({a.source_account or "" for a in foreign}),
                vpc_endpoints=sorted({a.source for a in foreign}),
            )


EXPIRY_WARNING_DAYS = 30


def _days_between(start: str, end: str) -> int | None:
    try:
        first = datetime.fromisoformat(start.replace("Z", "+00:00"))
        last = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (last.astimezone(UTC) - first.astimezone(UTC)).days


@check("client-certificate-expiring")
def _certificate_expiring(snapshot: Snapshot) -> Iterator[Finding]:
    # Against the scan's own time, so a stored snapshot always yields the same findings; no day count in the
    # evidence, which would change the findings of an unchanged region every day.
    for certificate in snapshot.client_certificates:
        if not certificate.expiration_date:
            continue
        days = _days_between(snapshot.scanned_at, certificate.expiration_date)
        if days is None or days > EXPIRY_WARNING_DAYS:
            continue
        stages = sorted(
            stage_resource(a, s) for a in snapshot.apis for s in a.stages if s.client_certificate_id == certificate.id
        )
        yield finding(
            "client-certificate-expiring",
            f"clientcertificate/{certificate.id}",
            None,
            certificate_id=certificate.id,
            expiration_date=certificate.expiration_date,
            expired=days < 0,
            stages=stages[:20],
        )


@check("function-url-public")
def _public_function_url(snapshot: Snapshot) -> Iterator[Finding]:
    for url in snapshot.function_urls:
        if url.exposure and url.exposure.verdict == "public-unauthenticated" and url.resource_policy:
            access = function_url_access(url.resource_policy)
            yield finding(
                "function-url-public",
                f"function/{url.key}",
                None,
                function=url.function_name,
                qualifier=url.qualifier,
                url=url.url,
                open_statements=list(access.open_statements),
                cors_origins=list((url.cors or {}).get("AllowOrigins") or []),
            )
