"""Scan one target completely, read-only, in the fewest calls, and return its snapshot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import boto3

from api_discovery import normalise
from api_discovery.collect.context import MAX_PAGE_SIZE, ScanContext
from api_discovery.collect.domains import collect_domains
from api_discovery.collect.rest import (
    collect_rest_api,
    collect_usage_plans,
    collect_vpc_links,
    list_rest_apis,
)
from api_discovery.collect.v2 import collect_v2_api, list_v2_apis
from api_discovery.errors import TargetUnavailableError
from api_discovery.model import Api, Domain, ScanError, Snapshot, UsagePlan, VpcLink
from api_discovery.session import CLIENT_CONFIG, CallCounter, assume_customer_session, own_session
from api_discovery.targets import Target, known_regions

SessionFactory = Callable[[], boto3.Session]


def utc_now() -> str:
    return normalise.iso(datetime.now(UTC)) or ""


def scan_target(
    target: Target,
    *,
    session_factory: SessionFactory = boto3.Session,
    page_size: int = MAX_PAGE_SIZE,
    scanned_at: str | None = None,
) -> Snapshot:
    """Never raises for what the customer's account does: a target that cannot be read is `failed` with
    its reason, one that was read in part is `partial`, and both keep what they could see."""
    counter = CallCounter()
    started = scanned_at or utc_now()
    try:
        ctx = _context(target, session_factory(), counter, page_size)
        apis, domains, plans, links, complete = _collect(ctx)
    except TargetUnavailableError as exc:
        return Snapshot(
            run_id=target.run_id,
            account_id=target.account_id,
            region=target.region,
            scanned_at=started,
            status="failed",
            errors=[ScanError(kind=exc.kind, operation="*", resource=target.label, code=exc.kind, message=str(exc))],
            api_calls=counter.snapshot(),
        )
    return Snapshot(
        run_id=target.run_id,
        account_id=target.account_id,
        region=target.region,
        scanned_at=started,
        status="complete" if complete and not ctx.errors else "partial",
        errors=ctx.errors,
        api_calls=counter.snapshot(),
        apis=apis,
        domains=domains,
        usage_plans=plans,
        vpc_links=links,
    )


def _context(target: Target, base: boto3.Session, counter: CallCounter, page_size: int) -> ScanContext:
    if target.region not in known_regions():
        raise TargetUnavailableError("region", f"unknown region {target.region!r}")
    if target.role_arn:
        session = assume_customer_session(
            base,
            role=target.role_arn,
            external_id=target.external_id,
            region=target.region,
            run_id=target.run_id,
            counter=counter,
        )
    else:
        session = own_session(base, region=target.region, counter=counter)
    return ScanContext(
        apigateway=session.client("apigateway", region_name=target.region, config=CLIENT_CONFIG),
        apigatewayv2=session.client("apigatewayv2", region_name=target.region, config=CLIENT_CONFIG),
        region=target.region,
        page_size=page_size,
    )


def _collect(ctx: ScanContext) -> tuple[list[Api], list[Domain], list[UsagePlan], list[VpcLink], bool]:
    rest = list_rest_apis(ctx)
    v2 = list_v2_apis(ctx)
    apis = [collect_rest_api(ctx, raw) for raw in rest or []]
    apis += [collect_v2_api(ctx, raw) for raw in v2 or []]
    domains = collect_domains(ctx)
    apis = sorted((normalise.with_urls(api, domains, ctx.region) for api in apis), key=lambda a: (a.kind, a.id))
    complete = rest is not None and v2 is not None
    return apis, domains, collect_usage_plans(ctx), collect_vpc_links(ctx), complete
