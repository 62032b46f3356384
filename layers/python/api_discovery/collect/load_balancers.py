"""Application and network load balancers (ELB API version 2): DescribeLoadBalancers, then per load balancer
DescribeListeners, per application load balancer listener DescribeRules, and DescribeTargetGroups once for
the region; DescribeTargetHealth only for a target group of Lambda functions, the one way to learn which
function it invokes. Every list in pages of 400, the most ELB returns.

An authenticate-oidc action holds the identity provider's client secret: the client drops it as
DescribeListeners and DescribeRules answer (`drop_client_secrets`), before anything here sees it.
"""

from __future__ import annotations

from typing import Any

from api_discovery.collect.context import ScanContext
from api_discovery.inventory.model import AUTHENTICATE_ACTIONS, SELF_ANSWERING, EntryPoint, Listener

ELB_PAGE_SIZE = 400


def drop_client_secrets(parsed: dict[str, Any] | None = None, **_: Any) -> None:
    """botocore `after-call.elastic-load-balancing-v2` hook (DescribeListeners, DescribeRules): every action
    loses its OIDC client secret in place."""
    for item in [*((parsed or {}).get("Listeners") or []), *((parsed or {}).get("Rules") or [])]:
        for action in (item.get("DefaultActions") or []) + (item.get("Actions") or []):
            (action.get("AuthenticateOidcConfig") or {}).pop("ClientSecret", None)


def _pages(ctx: ScanContext, operation: str, key: str, resource: str, **params: Any) -> list[dict[str, Any]] | None:
    items: list[dict[str, Any]] | None = None
    name = "".join(part.title() for part in operation.split("_"))
    with ctx.part(f"elbv2:{name}", resource):
        paginator = ctx.client("elbv2").get_paginator(operation)
        pages = paginator.paginate(**params, PaginationConfig={"PageSize": ELB_PAGE_SIZE})
        items = [item for page in pages for item in page.get(key, [])]
    return items


def load_balancers(ctx: ScanContext) -> list[EntryPoint]:
    balancers = _pages(ctx, "describe_load_balancers", "LoadBalancers", "loadbalancers")
    if not balancers:
        return []
    groups = _pages(ctx, "describe_target_groups", "TargetGroups", "targetgroups") or []
    functions = {g["TargetGroupArn"]: _lambda_targets(ctx, g) for g in groups if g.get("TargetType") == "lambda"}
    by_balancer: dict[str, set[str]] = {}
    for group in groups:
        for arn in group.get("LoadBalancerArns") or []:
            by_balancer.setdefault(arn, set()).update(functions.get(group["TargetGroupArn"], []))
    return [_entry(ctx, raw, sorted(by_balancer.get(raw["LoadBalancerArn"], set()))) for raw in balancers]


def _lambda_targets(ctx: ScanContext, group: dict[str, Any]) -> list[str]:
    found: list[str] = []
    with ctx.part("elbv2:DescribeTargetHealth", f"targetgroups/{group.get('TargetGroupName')}"):
        health = ctx.client("elbv2").describe_target_health(TargetGroupArn=group["TargetGroupArn"])
        found = [str(d["Target"]["Id"]) for d in health.get("TargetHealthDescriptions", []) if d.get("Target")]
    return found


def _entry(ctx: ScanContext, raw: dict[str, Any], functions: list[str]) -> EntryPoint:
    arn = str(raw["LoadBalancerArn"])
    kind = str(raw.get("Type") or "application")
    listeners = []
    for listener in (
        _pages(ctx, "describe_listeners", "Listeners", f"loadbalancers/{raw['LoadBalancerName']}", LoadBalancerArn=arn)
        or []
    ):
        rules = None
        if kind == "application":
            rules = _pages(
                ctx,
                "describe_rules",
                "Rules",
                f"listeners/{listener['ListenerArn']}",
                ListenerArn=listener["ListenerArn"],
            )
        listeners.append(listener_of(listener, rules or []))
    authenticated = sorted({a for listener in listeners for a in listener.default_actions if a in AUTHENTICATE_ACTIONS})
    return EntryPoint(
        kind="LOAD_BALANCER",
        id=str(raw["LoadBalancerName"]),
        name=str(raw["LoadBalancerName"]),
        arn=arn,
        hosts=[str(raw["DNSName"]).lower()] if raw.get("DNSName") else [],
        scheme=raw.get("Scheme"),
        authentication=authenticated,
        subtype=kind,
        listeners=sorted(listeners, key=lambda item: (item.port or 0, item.arn)),
        behind=functions,
    )


def listener_of(raw: dict[str, Any], rules: list[dict[str, Any]]) -> Listener:
    defaults = sorted(raw.get("DefaultActions") or [], key=lambda a: a.get("Order") or 0)
    redirect = next((a.get("RedirectConfig") or {} for a in defaults if a.get("Type") == "redirect"), {})
    others = [r for r in rules if not r.get("IsDefault")]
    return Listener(
        arn=str(raw["ListenerArn"]),
        port=raw.get("Port"),
        protocol=raw.get("Protocol"),
        ssl_policy=raw.get("SslPolicy"),
        default_actions=[str(a.get("Type")) for a in defaults],
        redirect_protocol=redirect.get("Protocol"),
        rules=len(others),
        unauthenticated_rules=sum(1 for r in others if not _authenticated(r.get("Actions") or [])),
    )


def _authenticated(actions: list[dict[str, Any]]) -> bool:
    """A rule that answers by itself or authenticates before it forwards lets no anonymous request through."""
    types = [str(a.get("Type")) for a in sorted(actions, key=lambda a: a.get("Order") or 0)]
    return all(t in SELF_ANSWERING for t in types) or bool(types and types[0] in AUTHENTICATE_ACTIONS)
