"""One exposure verdict per entry point beside API Gateway, in the routes' vocabulary (analysis.exposure).

- AppSync GraphQL and Event APIs: PRIVATE visibility is `private`. Otherwise a caller may pick any of the API's
  auth modes, so the weakest decides: API_KEY among them is `public-api-key-only`, and IAM, Cognito, OIDC or a
  Lambda authorizer alone is `public-authenticated`.
- An AppSync custom domain is `unknown`: which API it serves (GetApiAssociation) is outside SecurityAudit.
- A load balancer: `internal` is `private` (only its VPC and networks joined to it reach it). An internet-facing
  one takes its most exposed listener's verdict. A listener whose default action and rules only redirect or
  answer fixed responses reaches nothing (`unreachable`); one that authenticates (OIDC, Cognito, JWT
  validation) before every forward is `public-authenticated`; any other forward, and every network load
  balancer listener, is `public-unauthenticated`. Security groups are not read: they may narrow any of these.
- A CloudFront distribution that is disabled is `unreachable`; one whose every cache behaviour requires signed
  URLs is `public-authenticated`; any other is `public-unauthenticated`.

A WAF web ACL is named among the reasons and never changes the verdict: it filters, it does not authenticate.
"""

from __future__ import annotations

from api_discovery.inventory.model import (
    AUTHENTICATE_ACTIONS,
    SELF_ANSWERING,
    EntryPoint,
    Listener,
    RouteExposure,
    Verdict,
)

_RANK: tuple[Verdict, ...] = (
    "public-unauthenticated",
    "public-api-key-only",
    "public-authenticated",
    "network-restricted",
    "private",
    "unreachable",
    "unknown",
)


def assess_entry_point(entry: EntryPoint) -> EntryPoint:
    return entry.model_copy(update={"exposure": entry_exposure(entry)})


def entry_exposure(entry: EntryPoint) -> RouteExposure:
    waf = [f"AWS WAF web ACL {entry.web_acl}"] if entry.web_acl else []
    if entry.kind in ("APPSYNC_GRAPHQL", "APPSYNC_EVENTS"):
        return _appsync(entry, waf)
    if entry.kind == "APPSYNC_DOMAIN":
        return RouteExposure(
            verdict="unknown",
            reasons=["which API the domain serves (appsync:GetApiAssociation) is not readable with SecurityAudit"],
        )
    if entry.kind == "LOAD_BALANCER":
        return _load_balancer(entry)
    return _distribution(entry, waf)


def _appsync(entry: EntryPoint, waf: list[str]) -> RouteExposure:
    if entry.scheme == "PRIVATE":
        return RouteExposure(verdict="private", reasons=["PRIVATE visibility: only through interface VPC endpoints"])
    modes = entry.authentication
    if not modes:
        return RouteExposure(verdict="unknown", reasons=["no auth mode listed"])
    reach = f"reachable from the internet at {', '.join(entry.hosts) or entry.id}"
    if "API_KEY" in modes:
        return RouteExposure(
            verdict="public-api-key-only",
            reasons=[reach, f"auth modes {', '.join(modes)}: a caller with the API key may use it", *waf],
        )
    return RouteExposure(
        verdict="public-authenticated", reasons=[reach, f"every auth mode authenticates: {', '.join(modes)}", *waf]
    )


def listener_verdict(entry: EntryPoint, listener: Listener) -> tuple[Verdict, str]:
    where = f"{listener.protocol} {listener.port}"
    if entry.subtype != "application":
        return "public-unauthenticated", f"{where}: a {entry.subtype} load balancer does not authenticate requests"
    actions = listener.default_actions
    if actions and all(a in SELF_ANSWERING for a in actions) and listener.unauthenticated_rules == 0:
        return "unreachable", f"{where}: answers by itself ({', '.join(actions)}), forwards nowhere"
    if actions and actions[0] in AUTHENTICATE_ACTIONS and listener.unauthenticated_rules == 0:
        return "public-authenticated", f"{where}: {actions[0]} before every forward"
    if listener.unauthenticated_rules:
        return (
            "public-unauthenticated",
            f"{where}: {listener.unauthenticated_rules} rule(s) forward without authenticating",
        )
    return "public-unauthenticated", f"{where}: forwards without authenticating"


def _load_balancer(entry: EntryPoint) -> RouteExposure:
    if entry.scheme == "internal":
        return RouteExposure(verdict="private", reasons=["internal scheme: only its VPC and networks joined to it"])
    if not entry.listeners:
        return RouteExposure(verdict="unreachable", reasons=["no listener"])
    verdicts = sorted((listener_verdict(entry, li) for li in entry.listeners), key=lambda v: _RANK.index(v[0]))
    worst = verdicts[0][0]
    reasons = [reason for verdict, reason in verdicts if verdict == worst]
    return RouteExposure(verdict=worst, reasons=[*reasons, "security groups are not read: they may narrow it"])


def _distribution(entry: EntryPoint, waf: list[str]) -> RouteExposure:
    if not entry.enabled:
        return RouteExposure(verdict="unreachable", reasons=["the distribution is disabled"])
    reach = f"reachable from the internet at {', '.join(entry.hosts)}"
    if "signed-urls" in entry.authentication:
        return RouteExposure(
            verdict="public-authenticated", reasons=[reach, "every cache behaviour asks for signed URLs", *waf]
        )
    return RouteExposure(verdict="public-unauthenticated", reasons=[reach, "no signed URLs asked for", *waf])
