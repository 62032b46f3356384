"""Scan one target completely, read-only, in the fewest calls, and return its snapshot.

Calls run on two lanes of threads inside the target's call budget: GetResources, whose own quota is the
tightest, on a small lane of its own, everything else on the main lane, so one huge REST API never stalls
the rest. A scan given a time limit stops starting new APIs when the limit nears and returns its progress,
which a later invocation resumes without repeating a call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from api_discovery.analysis import completeness, exposure
from api_discovery.analysis.entry_exposure import assess_entry_point
from api_discovery.collect import appsync, cloudfront, function_urls, load_balancers, rest, v2
from api_discovery.collect import domains as domain_calls
from api_discovery.collect.budget import (
    PROCESS_BUDGETS,
    BudgetPool,
    CallBudget,
    Rates,
    Scope,
    budget_key,
    lambda_budget_key,
    service_budget_key,
)
from api_discovery.collect.context import MAX_PAGE_SIZE, ScanContext
from api_discovery.collect.exports import ExportStore, export_stages
from api_discovery.collect.session import (
    CLIENT_CONFIG,
    ENTRY_SERVICES,
    AccountCredentials,
    CallCounter,
    assume_customer_session,
    counting,
    hooked,
    own_session,
)
from api_discovery.errors import TargetUnavailableError
from api_discovery.inventory import normalise
from api_discovery.inventory.model import (
    AccessAssociation,
    Api,
    Domain,
    EntryPoint,
    FunctionUrl,
    ScanError,
    Snapshot,
    Stage,
    essential,
)
from api_discovery.steps.progress import Progress, RegionWide
from api_discovery.targets import Target, known_regions

SessionFactory = Callable[[], boto3.Session]
TimeLeft = Callable[[], float]


@dataclass(frozen=True)
class ScanOptions:
    page_size: int = MAX_PAGE_SIZE
    workers: int = 8  # calls in flight inside one target
    rates: Rates = field(default_factory=Rates.of_quota)
    scope: Scope = "account"
    reserve_seconds: float = 60.0  # stop starting new APIs when less time than this is left
    exports: bool = False  # also store each deployment's OpenAPI export (needs an ExportStore)
    function_urls: bool = True  # also inventory the region's Lambda function URLs
    entry_points: bool = True  # also inventory AppSync, load balancers and (global region) CloudFront
    budgets: BudgetPool = field(default=PROCESS_BUDGETS, compare=False)  # where the scope's budget lives

    def budget(self, account_id: str, region: str) -> CallBudget:
        """The budget a scan of this account and region spends from."""
        return self.budgets.get(budget_key(self.scope, account_id, region), self.rates)

    def lambda_budget(self, account_id: str, region: str) -> CallBudget:
        return self.budgets.get(lambda_budget_key(account_id, region), self.rates.for_lambda())

    def service_budget(self, service: str, account_id: str, region: str) -> CallBudget:
        return self.budgets.get(service_budget_key(service, account_id, region), self.rates.for_service(service))


def utc_now() -> str:
    return normalise.iso(datetime.now(UTC)) or ""


def scan_target(
    target: Target,
    *,
    session_factory: SessionFactory = boto3.Session,
    options: ScanOptions | None = None,
    scanned_at: str | None = None,
) -> Snapshot:
    """Scan to the end. Never raises for what the customer's account does: a target that cannot be read is
    `failed` with its reason, one read in part is `partial`, and both keep what they could see."""
    outcome = scan_until(target, session_factory=session_factory, options=options, scanned_at=scanned_at)
    assert isinstance(outcome, Snapshot)  # without a time limit a scan always finishes
    return outcome


def scan_until(
    target: Target,
    *,
    session_factory: SessionFactory = boto3.Session,
    options: ScanOptions | None = None,
    time_left: TimeLeft | None = None,
    resume: Progress | None = None,
    scanned_at: str | None = None,
    exports: ExportStore | None = None,
    credentials: AccountCredentials | None = None,
) -> Snapshot | Progress:
    """Scan until done, or until `time_left()` nears `reserve_seconds`: then return the progress to resume.
    With `credentials` (the account already reached once for all its regions) no role is assumed here."""
    opts = options or ScanOptions()
    counter = CallCounter()
    started = resume.scanned_at if resume else (scanned_at or utc_now())
    progress = resume or Progress(
        run_id=target.run_id, account_id=target.account_id, region=target.region, scanned_at=started
    )
    try:
        reach = credentials or session_factory
        with (
            scan_context(
                target, reach, counter, opts, with_lambda=opts.function_urls, with_entries=opts.entry_points
            ) as ctx,
            _Lanes(opts.workers) as lanes,
        ):
            ctx.exports = exports if opts.exports else None
            ctx.errors.extend(progress.errors)
            # Read once, with the lists: a resumed scan carries them in its progress.
            reading = ctx.lambda_client is not None and not progress.listed
            urls = lanes.lambdas.submit(region_function_urls, ctx) if reading else None
            entries = (
                lanes.entries.submit(region_entry_points, ctx) if ctx.entry_clients and not progress.listed else None
            )
            if not progress.listed:
                progress = _list(ctx, lanes, progress)
            progress = collect_apis(ctx, lanes, progress, time_left, opts.reserve_seconds)
            if progress.region_wide is not None and (urls is not None or entries is not None):
                update: dict[str, Any] = {}
                if urls is not None:
                    update["function_urls"] = urls.result()
                if entries is not None:
                    update["entry_points"] = entries.result()
                wide = progress.region_wide.model_copy(update=update)
                progress = progress.model_copy(update={"region_wide": wide})
    except TargetUnavailableError as exc:
        return failed_snapshot(
            target,
            exc,
            started,
            api_calls=progress.add_calls(counter.snapshot()),
            api_retries=progress.add_retries(counter.retries_snapshot()),
        )
    progress = progress.model_copy(
        update={
            "errors": ctx.errors,
            "api_calls": progress.add_calls(counter.snapshot()),
            "api_retries": progress.add_retries(counter.retries_snapshot()),
        }
    )
    if progress.rest_pending or progress.v2_pending:
        return progress
    return _snapshot(progress)


def failed_snapshot(
    target: Target,
    exc: TargetUnavailableError,
    scanned_at: str,
    *,
    api_calls: dict[str, int] | None = None,
    api_retries: dict[str, int] | None = None,
) -> Snapshot:
    """A target that could not be read: `failed`, with the reason, and nothing claimed about its content."""
    return Snapshot(
        run_id=target.run_id,
        account_id=target.account_id,
        region=target.region,
        scanned_at=scanned_at,
        status="failed",
        api_calls=api_calls or {},
        api_retries=api_retries or {},
        errors=[ScanError(kind=exc.kind, operation="*", resource=target.label, code=exc.kind, message=str(exc))],
    )


@contextmanager
def scan_context(
    target: Target,
    reach: AccountCredentials | SessionFactory,
    counter: CallCounter,
    opts: ScanOptions,
    *,
    with_lambda: bool = False,
    with_entries: bool = False,
) -> Iterator[ScanContext]:
    if target.region not in known_regions():
        raise TargetUnavailableError("region", f"unknown region {target.region!r}")
    # One budget per account in this process: every region an invocation scans draws on the same buckets.
    budget = opts.budget(target.account_id, target.region)
    pacing: list[tuple[str, Callable[..., Any]]] = [
        ("before-send", budget.before_send),
        ("response-received", budget.on_response),
    ]
    lambda_client: Any = None
    services = [s for s in ENTRY_SERVICES if s != "cloudfront" or target.global_services] if with_entries else []
    if isinstance(reach, AccountCredentials):
        # The account's pooled clients: this scan's counter and pacing are attached for its length only.
        apigateway, apigatewayv2 = reach.api_gateway_clients(target.region)
        lambda_client = reach.lambda_client(target.region) if with_lambda else None
        entry_clients = {s: reach.client(s, target.region) for s in services}
        counted = counting(counter)
    else:
        session = _session(target, reach, counter)
        apigateway = session.client("apigateway", region_name=target.region, config=CLIENT_CONFIG)
        apigatewayv2 = session.client("apigatewayv2", region_name=target.region, config=CLIENT_CONFIG)
        # The session is instrumented: its clients are guarded and counted already.
        if with_lambda:
            lambda_client = session.client("lambda", region_name=target.region, config=CLIENT_CONFIG)
        entry_clients = {s: _client(session, s, target.region) for s in services}
        counted = []
    # Lambda's quota is its own, per account and region: its calls pace from a budget of their own.
    lambda_budget = opts.lambda_budget(target.account_id, target.region)
    lambda_pacing: list[tuple[str, Callable[..., Any]]] = [
        ("before-send", lambda_budget.before_send),
        ("response-received", lambda_budget.on_response),
    ]
    with ExitStack() as hooks:
        hooks.enter_context(hooked((apigateway, apigatewayv2), [*counted, *pacing]))
        hooks.enter_context(hooked([lambda_client] if lambda_client else [], [*counted, *lambda_pacing]))
        for service, client in entry_clients.items():
            own = opts.service_budget(service, target.account_id, target.region)
            paced: list[tuple[str, Callable[..., Any]]] = [
                ("before-send", own.before_send),
                ("response-received", own.on_response),
            ]
            hooks.enter_context(hooked([client], [*counted, *paced]))
        yield ScanContext(
            apigateway=apigateway,
            apigatewayv2=apigatewayv2,
            region=target.region,
            page_size=opts.page_size,
            lambda_client=lambda_client,
            entry_clients=entry_clients,
        )


def _client(session: boto3.Session, service: str, region: str) -> Any:
    # boto3's stubs type `client` per service name: a name chosen at run time is any of them.
    make: Callable[..., Any] = session.client
    return make(service, region_name=region, config=CLIENT_CONFIG)


def _session(target: Target, reach: SessionFactory, counter: CallCounter) -> boto3.Session:
    if target.role_arn:
        return assume_customer_session(
            reach(),
            role=target.role_arn,
            external_id=target.external_id,
            region=target.region,
            run_id=target.run_id,
            counter=counter,
        )
    return own_session(reach(), region=target.region, counter=counter)


def scan_lanes(opts: ScanOptions) -> _Lanes:
    return _Lanes(opts.workers)


class _Lanes:
    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.main = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="calls")
        # Enough GetResources calls waiting that its own quota, not the shared one, sets their pace.
        self.resources = ThreadPoolExecutor(max_workers=max(2, workers // 2), thread_name_prefix="get-resources")
        # Lambda's calls pace on a quota of their own, one after another: at 9 per second one thread keeps up
        # (each call waits for its token longer than it takes), and it never holds a thread API Gateway needs.
        self.lambdas = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda")
        # AppSync, ELB and CloudFront: a few calls each, on quotas of their own, one after another.
        self.entries = ThreadPoolExecutor(max_workers=1, thread_name_prefix="entry-points")

    def __enter__(self) -> _Lanes:
        return self

    def __exit__(self, *_: object) -> None:
        self.main.shutdown(wait=True, cancel_futures=True)
        self.resources.shutdown(wait=True, cancel_futures=True)
        self.lambdas.shutdown(wait=True, cancel_futures=True)
        self.entries.shutdown(wait=True, cancel_futures=True)


def _list(ctx: ScanContext, lanes: _Lanes, progress: Progress) -> Progress:
    """The API lists and everything region-wide: small, read once, kept in the progress."""
    rest_list = lanes.main.submit(rest.list_rest_apis, ctx)
    v2_list = lanes.main.submit(v2.list_v2_apis, ctx)
    plans = lanes.main.submit(rest.usage_plans, ctx)
    links = lanes.main.submit(rest.vpc_links, ctx)
    # In this thread: it waits on calls of the same lane.
    domains = region_domains(ctx, lanes.main, has_apis=lambda: bool(rest_list.result() or v2_list.result()))
    rest_apis, v2_apis = rest_list.result(), v2_list.result()
    # The account's settings and client certificates matter only to stages: a region without APIs skips both.
    any_apis = bool(rest_apis or v2_apis)
    certificates = lanes.main.submit(rest.client_certificates, ctx) if any_apis else None
    settings = lanes.main.submit(rest.account_settings, ctx) if any_apis else None
    return progress.model_copy(
        update={
            "listed": True,
            "lists_complete": rest_apis is not None and v2_apis is not None,
            "rest_pending": [plain_entry(a) for a in rest_apis or []],
            "v2_pending": [plain_entry(a) for a in v2_apis or []],
            "region_wide": RegionWide(
                domains=domains,
                usage_plans=plans.result(),
                vpc_links=links.result(),
                client_certificates=certificates.result() if certificates else [],
                account_settings=settings.result() if settings else None,
            ),
        }
    )


def region_domains(
    ctx: ScanContext,
    lane: ThreadPoolExecutor,
    only: Callable[[str], bool] | None = None,
    has_apis: Callable[[], bool] = lambda: False,
) -> list[Domain]:
    """Every custom domain of the region, with its mappings and routing rules, and for private domains the VPC
    endpoints associated with them. `only` picks the domains by name, for a targeted rescan. Runs in the
    caller's thread: it waits on calls sent to `lane`.

    The association lists are read where they can hold something: OTHER_ACCOUNTS (other accounts' endpoints
    reaching this account's domains) where the region owns a private domain, SELF (this account's endpoints)
    there and wherever the region has APIs. A region with neither reads none of them."""
    rest_listed = lane.submit(domain_calls.list_rest_domains, ctx)
    v2_listed = lane.submit(domain_calls.list_v2_domains, ctx)
    rest_raw = [d for d in rest_listed.result() if only is None or only(d["domainName"])]
    v2_raw = [d for d in v2_listed.result() if only is None or only(d["DomainName"])]

    def rules(name: str, mode: Any, domain_id: str | None = None) -> Future[list[dict[str, Any]]] | None:
        if normalise.routing_mode(mode) == "API_MAPPING_ONLY":
            return None
        return lane.submit(domain_calls.routing_rules, ctx, name, domain_id)

    rest_parts = [
        (
            d,
            lane.submit(domain_calls.base_path_mappings, ctx, d["domainName"], d.get("domainNameId")),
            rules(d["domainName"], d.get("routingMode"), d.get("domainNameId")),
        )
        for d in rest_raw
    ]
    # A private domain is not in the v2 list; every other one is in both, and its rules are read once.
    in_v1 = {d["domainName"] for d in rest_raw}
    v2_parts = [
        (
            d,
            lane.submit(domain_calls.api_mappings, ctx, d["DomainName"]),
            None if d["DomainName"] in in_v1 else rules(d["DomainName"], d.get("RoutingMode")),
        )
        for d in v2_raw
    ]
    private = any(normalise.is_private_domain(d) for d in rest_raw)
    by_domain = _associations(ctx, lane, others=private) if private or has_apis() else {}
    found = [
        normalise.rest_domain(
            raw,
            maps.result(),
            rules=rule_list.result() if rule_list else (),
            associations=by_domain.get(raw.get("domainNameArn") or "", []),
        )
        for raw, maps, rule_list in rest_parts
    ]
    found += [
        normalise.v2_domain(raw, maps.result(), rules=rule_list.result() if rule_list else ())
        for raw, maps, rule_list in v2_parts
    ]
    # This account's endpoints associated with another account's private domain: that domain, as shared.
    foreign = set(by_domain) - {d.arn for d in found if d.arn}
    if foreign:
        for raw in domain_calls.shared_domains(ctx):
            if raw.get("domainNameArn") in foreign:
                arn = str(raw["domainNameArn"])
                owner = arn.split(":")[4] if arn.count(":") >= 5 else None
                shared = normalise.rest_domain(raw, [], associations=by_domain[arn])
                found.append(shared.model_copy(update={"owner_account": owner}))
    return normalise.merge_domains(found)


def _associations(ctx: ScanContext, lane: ThreadPoolExecutor, *, others: bool) -> dict[str, list[AccessAssociation]]:
    """The VPC endpoints associated with private domains, by domain ARN: this account's own (SELF) and, with
    `others`, other accounts' with this account's domains (OTHER_ACCOUNTS), each with the account its ARN
    names."""
    own = lane.submit(domain_calls.access_associations, ctx, "SELF")
    theirs = lane.submit(domain_calls.access_associations, ctx, "OTHER_ACCOUNTS") if others else None
    by_domain: dict[str, list[AccessAssociation]] = {}
    for raw in [*(own.result() or []), *((theirs.result() if theirs else None) or [])]:
        arn = str(raw.get("domainNameAccessAssociationArn", ""))
        account = arn.split(":")[4] if arn.count(":") >= 5 else None
        by_domain.setdefault(str(raw.get("domainNameArn", "")), []).append(
            normalise.access_association(raw, account or None)
        )
    return by_domain


def region_function_urls(ctx: ScanContext) -> list[FunctionUrl]:
    """Every function URL of the region, with its exposure. A read that was refused leaves its error in the
    context: the URLs are then unknown, and none is reported gone."""
    functions = function_urls.list_functions(ctx) or []
    found = [url for function in functions for url in function_urls.urls_of(ctx, function)]
    return sorted((exposure.assess_function_url(u) for u in found), key=lambda u: u.key)


def region_entry_points(ctx: ScanContext) -> list[EntryPoint]:
    """The region's AppSync APIs and domains, its load balancers and, in the account's global region, its
    CloudFront distributions, each with its exposure. A refused read leaves its error in the context: those
    entry points are then unknown, and none of them is reported gone."""
    found: list[EntryPoint] = []
    if "appsync" in ctx.entry_clients:
        found += appsync.graphql_apis(ctx) + appsync.event_apis(ctx) + appsync.domains(ctx)
    if "elbv2" in ctx.entry_clients:
        found += load_balancers.load_balancers(ctx)
    if "cloudfront" in ctx.entry_clients:
        found += cloudfront.distributions(ctx)
    return sorted((assess_entry_point(e) for e in found), key=lambda e: e.key)


def plain_entry(raw: dict[str, Any]) -> dict[str, Any]:
    """A list entry as JSON can keep it in the progress (timestamps as strings)."""
    return {k: normalise.iso(v) if isinstance(v, datetime) else v for k, v in raw.items() if k != "ResponseMetadata"}


Part = tuple[ThreadPoolExecutor, Callable[..., Any], tuple[Any, ...]]


@dataclass
class _Job:
    """One API's calls in flight, and how to assemble the API once they are all back."""

    raw: dict[str, Any]
    rest: bool
    specs: list[Part]
    build: Callable[[list[Any]], Api]
    parts: list[Future[Any]] = field(default_factory=list)

    def start(self) -> _Job:
        self.parts = [lane.submit(fn, *args) for lane, fn, args in self.specs]
        return self

    def withdraw(self) -> bool:
        """Cancel what has not started. True when nothing had: the API can go back to the pending list. Parts
        cancelled beside a started one are sent again, so the API still completes and no call is lost."""
        cancelled = [part.cancel() for part in self.parts]
        if all(cancelled):
            return True
        for i, was_cancelled in enumerate(cancelled):
            if was_cancelled:
                lane, fn, args = self.specs[i]
                self.parts[i] = lane.submit(fn, *args)
        return False


def _rest_job(ctx: ScanContext, lanes: _Lanes, raw: dict[str, Any]) -> _Job:
    api_id = raw["id"]
    specs: list[Part] = [
        (lanes.resources, rest.rest_routes_and_validators, (ctx, api_id)),
        (lanes.main, _exported, (ctx, "REST", api_id, rest.rest_stages, ctx, api_id)),
        (lanes.main, rest.rest_authorizers, (ctx, api_id)),
    ]
    return _Job(
        raw,
        True,
        specs,
        lambda r: normalise.rest_api(raw, routes=r[0][0], validators=r[0][1], stages=r[1], authorizers=r[2]),
    ).start()


def _v2_job(ctx: ScanContext, lanes: _Lanes, raw: dict[str, Any]) -> _Job:
    api_id = raw["ApiId"]
    kind = "WEBSOCKET" if raw.get("ProtocolType") == "WEBSOCKET" else "HTTP"
    specs: list[Part] = [
        (lanes.main, v2.v2_list, (ctx, "get_routes", api_id)),
        (lanes.main, v2.v2_list, (ctx, "get_integrations", api_id)),
        (lanes.main, v2.v2_authorizers, (ctx, api_id)),
        (lanes.main, _exported, (ctx, kind, api_id, v2.v2_stages, ctx, api_id, raw.get("ApiEndpoint"))),
    ]
    return _Job(
        raw,
        False,
        specs,
        lambda r: normalise.v2_api(raw, routes=normalise.v2_routes(r[0], r[1]), authorizers=r[2], stages=r[3]),
    ).start()


def _exported(ctx: ScanContext, kind: str, api_id: str, read: Callable[..., list[Stage]], *args: Any) -> list[Stage]:
    stages = read(*args)
    return export_stages(ctx, ctx.exports, kind, api_id, stages) if ctx.exports else stages


def collect_apis(
    ctx: ScanContext, lanes: _Lanes, progress: Progress, time_left: TimeLeft | None, reserve: float
) -> Progress:
    """A sliding window of APIs in flight: memory stays bounded, and a slow API holds one slot, not the others.
    Once the time limit nears, no API is started and those whose calls have not begun go back to pending,
    so only what is already under way must finish within the reserve."""
    window = 4 * lanes.workers
    rest_pending, v2_pending = list(progress.rest_pending), list(progress.v2_pending)
    domains = progress.region_wide.domains if progress.region_wide else []
    done = list(progress.apis)
    in_flight: list[_Job] = []
    take_rest = True
    withdrawn = False
    while True:
        out_of_time = time_left is not None and time_left() < reserve
        if out_of_time and not withdrawn:
            withdrawn = True
            kept = []
            for job in reversed(in_flight):  # back to the front of the lists, in their order
                if job.withdraw():
                    (rest_pending if job.rest else v2_pending).insert(0, job.raw)
                else:
                    kept.append(job)
            in_flight = kept[::-1]
        while not out_of_time and len(in_flight) < window and (rest_pending or v2_pending):
            # Alternate REST and v2 APIs: they draw on different lanes.
            if (take_rest and rest_pending) or not v2_pending:
                in_flight.append(_rest_job(ctx, lanes, rest_pending.pop(0)))
            else:
                in_flight.append(_v2_job(ctx, lanes, v2_pending.pop(0)))
            take_rest = not take_rest
        if not in_flight:
            break
        waiting = [f for job in in_flight for f in job.parts if not f.done()]
        if waiting:
            wait(waiting, return_when=FIRST_COMPLETED)
        finished = [job for job in in_flight if all(f.done() for f in job.parts)]
        in_flight = [job for job in in_flight if job not in finished]
        done += [finish_api(job.build([f.result() for f in job.parts]), domains, ctx.region) for job in finished]
    return progress.model_copy(update={"rest_pending": rest_pending, "v2_pending": v2_pending, "apis": done})


def finish_api(api: Api, domains: list[Domain], region: str) -> Api:
    """URLs and exposure as soon as an API is collected: one copy of it is ever kept, not one per step."""
    return exposure.assess_api(normalise.with_urls(api, domains, region), domains)


def _snapshot(progress: Progress) -> Snapshot:
    wide = progress.region_wide or RegionWide()
    apis = sorted(progress.apis, key=lambda a: (a.kind, a.id))
    complete = progress.lists_complete and not essential(progress.errors)
    snapshot = Snapshot(
        run_id=progress.run_id,
        account_id=progress.account_id,
        region=progress.region,
        scanned_at=progress.scanned_at,
        status="complete" if complete else "partial",
        errors=progress.errors,
        api_calls=progress.api_calls,
        api_retries=progress.api_retries,
        apis=apis,
        domains=wide.domains,
        usage_plans=wide.usage_plans,
        vpc_links=wide.vpc_links,
        client_certificates=wide.client_certificates,
        account_settings=wide.account_settings,
        function_urls=wide.function_urls,
        entry_points=wide.entry_points,
    )
    return completeness.assess(snapshot)
