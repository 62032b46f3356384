"""One effective exposure verdict per route: who can reach it, and whether they must prove who they are.

Verdicts, from most to least exposed:

| verdict                  | meaning                                                                              |
|--------------------------|--------------------------------------------------------------------------------------|
| `public-unauthenticated` | anyone on the internet can call it, and nothing checks who they are                  |
| `public-api-key-only`    | reachable from the internet; only an API key is asked for (keys identify, they do not |
|                          | authenticate: they leak into clients and logs)                                       |
| `public-authenticated`   | reachable from the internet, but the caller must authenticate: IAM (SigV4), a Lambda, |
|                          | Cognito or JWT authorizer, a resource policy that names AWS principals, or mutual TLS |
|                          | on every way in                                                                       |
| `network-restricted`     | a public endpoint whose resource policy admits only listed source IPs, VPCs or VPC     |
|                          | endpoints                                                                             |
| `private`                | PRIVATE endpoint: reachable only through interface VPC endpoints                      |
| `unreachable`            | nobody can call it: no deployed stage, the default endpoint disabled with no custom   |
|                          | domain mapped, a private API without resource policy, or a policy that denies or     |
|                          | allows no one                                                                         |

What decides it: the endpoint type, whether the default execute-api endpoint is enabled, the custom domains that
reach the API through a live mapping or a routing rule (and their mutual TLS; a private domain counts only with a
VPC endpoint associated, and names the accounts those endpoints are in), the resource policy (REST only; see
api_discovery.analysis.policy), the route's authorization type and authorizer and its API key requirement. WebSocket
routes are reached through the connection, so every route of a WebSocket API takes `$connect`'s authorization. A WAF
web ACL filters requests but cannot prove who the caller is, and its rules are not read: it is named among the
reasons and judged by its own finding, but never changes the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import get_args

from api_discovery.analysis.policy import RouteAccess, function_url_access, route_access
from api_discovery.inventory.model import Api, Domain, FunctionUrl, Route, RouteExposure, Verdict
from api_discovery.inventory.normalise import live_mappings, shared

VERDICTS: tuple[Verdict, ...] = get_args(Verdict)  # most exposed first
PUBLIC: frozenset[Verdict] = frozenset({"public-unauthenticated", "public-api-key-only", "public-authenticated"})
CONNECT = "$connect"


@dataclass(frozen=True)
class _Entry:
    """One way in: the default execute-api endpoint, or a custom domain mapping."""

    name: str
    mutual_tls: bool
    note: str | None = None  # e.g. which VPC endpoints reach a private domain


def assess_api(api: Api, domains: Sequence[Domain]) -> Api:
    """The API with every route's exposure set."""
    entries = _entries(api, domains)
    connect = next((r for r in api.routes if r.path == CONNECT), None) if api.kind == "WEBSOCKET" else None
    routes = [r.model_copy(update={"exposure": assess_route(api, r, entries, connect)}) for r in api.routes]
    return api.model_copy(update={"routes": routes})


def assess_route(api: Api, route: Route, entries: Sequence[_Entry], connect: Route | None = None) -> RouteExposure:
    # A WebSocket client is authorized once, when it connects; no $connect route means no check at all.
    gate = route
    if api.kind == "WEBSOCKET":
        gate = connect or Route(method="*", path=CONNECT, authorization_type="NONE")
    if not api.stages:
        return _verdict("unreachable", "no stage: the API is not deployed")
    if not entries:
        return _verdict("unreachable", "default endpoint disabled and no custom domain maps the API")
    private = api.endpoint_type == "PRIVATE"
    access, blocked = _policy(api, route, gate)
    if blocked:
        return _verdict("unreachable", blocked)
    controls = _controls(api, gate, entries, access)
    if private:
        return _verdict("private", "PRIVATE endpoint: only through VPC endpoints", *controls)
    if access.network_limited:
        return _verdict("network-restricted", "the resource policy admits only listed networks", *controls)
    reach = "reachable from the internet via " + ", ".join(e.name for e in entries)
    if _authenticated(gate, entries, access):
        return _verdict("public-authenticated", reach, *controls)
    if gate.api_key_required:
        return _verdict("public-api-key-only", reach, *controls)
    return _verdict("public-unauthenticated", reach, *controls)


def _policy(api: Api, route: Route, gate: Route) -> tuple[RouteAccess, str | None]:
    """The resource policy's access to the route (REST only), and why it blocks every caller, if it does."""
    if api.kind != "REST":
        return RouteAccess(), None
    if not api.resource_policy:
        blocked = (
            "PRIVATE API without a resource policy: no one may invoke it" if api.endpoint_type == "PRIVATE" else None
        )
        return RouteAccess(), blocked
    access = route_access(api.resource_policy, api.id, [s.name for s in api.stages], route.method, route.path)
    if access.denied:
        return access, "the resource policy denies every caller"
    # Without an Allow, only IAM callers of the API's own account get through (their identity policy allows).
    if not access.allowed and gate.authorization_type != "AWS_IAM":
        return access, "the resource policy allows no caller"
    return access, None


def _authenticated(gate: Route, entries: Sequence[_Entry], access: RouteAccess) -> bool:
    if gate.authorization_type not in ("NONE", ""):
        return True
    # mutual TLS counts only when every way in asks for a client certificate.
    return access.principals_only or all(e.mutual_tls for e in entries)


def _controls(api: Api, gate: Route, entries: Sequence[_Entry], access: RouteAccess) -> list[str]:
    found = []
    if gate.authorization_type not in ("NONE", ""):
        by = f" (authorizer {gate.authorizer_id})" if gate.authorizer_id else ""
        via = f" on {CONNECT}" if gate.path == CONNECT and api.kind == "WEBSOCKET" else ""
        found.append(f"authorization {gate.authorization_type}{by}{via}")
    else:
        found.append("no authorization" + (f" on {CONNECT}" if api.kind == "WEBSOCKET" else ""))
    if gate.api_key_required:
        found.append("API key required")
    if access.principals_only:
        found.append("the resource policy allows only named AWS principals")
    if access.open_statements:
        found.append("resource policy open to everyone: " + ", ".join(access.open_statements))
    found += [e.note for e in entries if e.note]
    mtls = [e.name for e in entries if e.mutual_tls]
    if mtls:
        found.append("mutual TLS on " + ", ".join(mtls))
    wafs = [s.name for s in api.stages if s.web_acl_arn]
    if wafs:
        found.append("WAF web ACL on stage " + ", ".join(wafs))
    return found


def _entries(api: Api, domains: Sequence[Domain]) -> list[_Entry]:
    stages = {s.name for s in api.stages}
    found = [_Entry("the default execute-api endpoint", False)] if api.default_endpoint_enabled and stages else []
    for domain in domains:
        private = bool(domain.domain_name_id)
        if private and not domain.access_associations:
            continue  # no VPC endpoint is associated: nothing can send a request to it
        note = _private_note(domain) if private else None
        live = {(m.base_path, m.stage) for m in live_mappings(domain) if m.api_id == api.id}
        if domain.routing_mode != "API_MAPPING_ONLY":
            live |= {(p, r.stage) for r in domain.routing_rules if r.api_id == api.id for p in (r.base_paths or [""])}
        for path, stage in sorted(live):
            if stage in stages or not stage:
                suffix = f"/{path}" if path else ""
                found.append(_Entry(f"{domain.name}{suffix}", bool(domain.mutual_tls_truststore_uri), note))
    return found


def _private_note(domain: Domain) -> str:
    sources = sorted({a.source for a in domain.access_associations})
    accounts = sorted({a.source_account for a in domain.access_associations if a.source_account})
    within = f" in account {', '.join(accounts)}" if accounts else ""
    return f"private domain {domain.name} reached from VPC endpoint {', '.join(sources)}{within}"


@lru_cache(maxsize=4096)
def _verdict(verdict: Verdict, *reasons: str) -> RouteExposure:
    # Every route of an API mostly shares its verdict and reasons: one frozen copy serves them all, and a large
    # region keeps a few hundred instead of one per route (see normalise.shared).
    return RouteExposure(verdict=verdict, reasons=[shared(r) for r in reasons])


def assess_function_url(url: FunctionUrl) -> FunctionUrl:
    """The URL with its exposure set. A function URL is always on the internet; AuthType AWS_IAM asks callers to
    sign with IAM, and with AuthType NONE the function's resource policy alone decides who may call it."""
    return url.model_copy(update={"exposure": function_url_exposure(url)})


def function_url_exposure(url: FunctionUrl) -> RouteExposure:
    reach = f"reachable from the internet at {url.url}"
    if url.auth_type != "NONE":
        return _verdict("public-authenticated", reach, f"AuthType {url.auth_type}: callers sign with IAM")
    if not url.policy_read:
        return _verdict("unknown", "AuthType NONE and the resource policy was not read")
    if not url.resource_policy:
        return _verdict("unreachable", "AuthType NONE and no resource policy: Lambda refuses every call")
    access = function_url_access(url.resource_policy)
    if access.denied:
        return _verdict("unreachable", "the resource policy denies every caller")
    if not access.allowed:
        return _verdict("unreachable", "AuthType NONE and no policy statement allows lambda:InvokeFunctionUrl")
    if access.anyone:
        opened = "resource policy open to everyone: " + ", ".join(access.open_statements)
        return _verdict("public-unauthenticated", reach, "AuthType NONE: no authentication", opened)
    if access.network_limited:
        return _verdict("network-restricted", "the resource policy admits only listed networks", "AuthType NONE")
    # Unsigned calls have no principal: a statement that names principals admits none of them.
    return _verdict("unreachable", "AuthType NONE and the resource policy allows only named AWS principals")
