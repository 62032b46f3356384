"""Small snapshots for the exposure, findings, diff and report tests: safe defaults, override what a test is about."""

from __future__ import annotations

from typing import Any

from api_discovery.analysis import exposure, findings
from api_discovery.analysis.entry_exposure import assess_entry_point
from api_discovery.inventory.model import (
    Api,
    Domain,
    DomainMapping,
    EntryPoint,
    FunctionUrl,
    Integration,
    Listener,
    Route,
    ScanError,
    Snapshot,
    Stage,
    Throttle,
    UsagePlan,
    UsagePlanStage,
)

ACCOUNT, REGION = "111111111111", "eu-west-1"
WAF = "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/main/1"
LOGS = "arn:aws:logs:eu-west-1:111111111111:log-group:access"
VPCE_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": "execute-api:/*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}},
        }
    ],
}
OPEN_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}
    ],
}


def route(method: str = "GET", path: str = "/items", auth: str = "AWS_IAM", **extra: Any) -> Route:
    extra.setdefault("integration", Integration(type="AWS_PROXY", target="arn:aws:lambda:fn"))
    if method == "*":
        extra.setdefault("route_key", path)
    return Route(method=method, path=path, authorization_type=auth, **extra)


def stage(name: str = "prod", **extra: Any) -> Stage:
    """A stage with every safeguard on: findings tests switch one off."""
    settings: dict[str, Any] = {
        "web_acl_arn": WAF,
        "access_log_destination": LOGS,
        "execution_logging_level": "ERROR",
        "tracing_enabled": True,
        "throttling": Throttle(burst_limit=100, rate_limit=50.0),
    }
    return Stage(name=name, **(settings | extra))


def api(
    api_id: str = "r1",
    kind: str = "REST",
    *,
    routes: list[Route] | None = None,
    stages: list[Stage] | None = None,
    endpoint: str = "REGIONAL",
    default_endpoint: bool = True,
    policy: dict[str, Any] | None = None,
    name: str | None = None,
    **extra: Any,
) -> Api:
    return Api(
        kind=kind,
        id=api_id,
        name=name or f"api-{api_id}",
        endpoint_type=endpoint,
        default_endpoint_enabled=default_endpoint,
        resource_policy=policy,
        routes=routes if routes is not None else [route()],
        stages=stages if stages is not None else [stage()],
        **extra,
    )


def domain(name: str = "api.example.com", *mappings: tuple[str, str, str], **extra: Any) -> Domain:
    extra.setdefault("security_policy", "TLS_1_2")
    return Domain(
        name=name,
        endpoint_type=extra.pop("endpoint_type", "REGIONAL"),
        mappings=[DomainMapping(base_path=b, api_id=a, stage=s) for b, a, s in mappings],
        **extra,
    )


def usage_plan(plan_id: str, api_id: str, stage_name: str, throttle: Throttle | None) -> UsagePlan:
    return UsagePlan(
        id=plan_id, name=plan_id, stages=[UsagePlanStage(api_id=api_id, stage=stage_name)], throttle=throttle
    )


def snapshot(
    apis: list[Api],
    *,
    domains: list[Domain] | None = None,
    usage_plans: list[UsagePlan] | None = None,
    status: str = "complete",
    run: str = "20260101T000000Z-aaaa",
    at: str = "2026-01-01T00:00:00.000000Z",
    errors: list[ScanError] | None = None,
    region: str = REGION,
    **extra: Any,
) -> Snapshot:
    """A snapshot as the scanner finishes it: exposure on every route, findings evaluated."""
    assessed = [exposure.assess_api(api, domains or []) for api in apis]
    raw = Snapshot(
        run_id=run,
        account_id=ACCOUNT,
        region=region,
        scanned_at=at,
        status=status,
        errors=errors or [],
        apis=assessed,
        domains=domains or [],
        usage_plans=usage_plans or [],
        **extra,
    )
    return raw.model_copy(update={"findings": findings.evaluate(raw)})


def error(resource: str, operation: str = "apigateway:GetStages") -> ScanError:
    return ScanError(kind="permission", operation=operation, resource=resource, code="AccessDenied", message="denied")


def function_url(
    name: str = "hooks", auth: str = "NONE", policy: dict[str, Any] | None = None, **extra: Any
) -> FunctionUrl:
    """A function URL as the scanner finishes it: its exposure set."""
    raw = FunctionUrl(
        function_name=name,
        function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        url=extra.pop("url", f"https://{name}0123456789.lambda-url.{REGION}.on.aws/"),
        auth_type=auth,
        resource_policy=policy,
        policy_read=extra.pop("policy_read", auth == "NONE"),
        **extra,
    )
    return exposure.assess_function_url(raw)


def entry_point(kind: str, name: str = "e1", **extra: Any) -> EntryPoint:
    """An AppSync API or domain, a load balancer or a distribution as the scanner finishes it: its exposure set."""
    return assess_entry_point(EntryPoint(kind=kind, id=extra.pop("id", name), name=name, **extra))


def listener(port: int, protocol: str, *actions: str, **extra: Any) -> Listener:
    return Listener(
        arn=f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/lb/1/{port}",
        port=port,
        protocol=protocol,
        default_actions=list(actions),
        **extra,
    )
