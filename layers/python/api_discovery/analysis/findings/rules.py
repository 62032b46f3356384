"""The checks behind the catalogue: each reads a snapshot and yields the findings of one rule."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from api_discovery.analysis.exposure import PUBLIC
from api_discovery.analysis.findings.catalogue import CATALOGUE
from api_discovery.analysis.policy import route_access
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


@check("public-route-unauthenticated")
def _unauthenticated(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        for route in api.routes:
            if route.exposure and route.exposure.verdict == "public-unauthenticated":
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
        if policy and any(marker in policy for marker in _LEGACY_TLS):
            yield finding(
                "domain-legacy-tls", f"domain/{domain.name}", None, domain=domain.name, security_policy=policy
            )


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
            yield finding(
                "websocket-connect-unauthorized",
                f"{api_resource(api)} $connect",
                api,
                connect_route=connect is not None,
                authorization_type=authorization,
            )


@check("http-route-unauthorized")
def _http_route(snapshot: Snapshot) -> Iterator[Finding]:
    for api in snapshot.apis:
        if api.kind != "HTTP":
            continue
        for route in api.routes:
            if route.authorization_type == "NONE":
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
