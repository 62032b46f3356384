"""The three workflow steps, as the Lambdas and the local runner both call them: plan, scan, finalize."""

from __future__ import annotations

import io
import json
import secrets
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from api_discovery.blobs import BlobStore
from api_discovery.dedupe import ChangeWindows
from api_discovery.errors import InvalidScanRequestError
from api_discovery.exports import ExportStore
from api_discovery.model import Snapshot
from api_discovery.notify import Ledger, MemoryLedger, TableLedger, emit_run
from api_discovery.progress import Progress, load_progress, save_progress
from api_discovery.publisher import Publisher
from api_discovery.registry import RegisteredAccount
from api_discovery.scanner import ScanOptions, SessionFactory, TimeLeft, scan_until, utc_now
from api_discovery.session import role_arn
from api_discovery.snapshots import SnapshotRef, write_snapshot
from api_discovery.state import StateStore, StateWrite
from api_discovery.targets import ACCOUNT_ID, Target, known_regions
from api_discovery.tracking import ChangeSet, changes_key, previous_complete_key, track

MANIFEST_PREFIX = "manifests/"
RUNS_PREFIX = "runs/"


class ScanRequest(BaseModel):
    """What starts a run: the schedule (everything registered), a request, or an API change event."""

    model_config = ConfigDict(extra="ignore")

    source: Literal["schedule", "request", "change", "cli"] = "request"
    accounts: list[str] | None = Field(default=None, description="None: every enabled registered account")
    regions: list[str] | None = Field(default=None, description="None: each account's regions")
    run_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    requested_at: datetime | None = Field(default=None, description="When the change event happened")

    @field_validator("accounts", "regions")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("must name at least one, or be left out")
        return value


class PlanSettings(BaseModel):
    default_regions: list[str]
    max_targets: int = Field(default=200_000, ge=1)
    max_concurrency: int = Field(default=40, ge=1, description="Targets the Map scans at once")
    split_budget: bool = Field(
        default=True,
        description="Each target scans in a process of its own (Lambda): give it its share of the account's "
        "call budget. Off for the local runner, whose threads share one budget per account.",
    )


class ManifestRef(BaseModel):
    bucket: str | None = None
    key: str


class PlanResult(BaseModel):
    run_id: str
    count: int
    manifest: ManifestRef | None = Field(description="None when there is nothing to scan")
    started_at: str


class TargetResult(BaseModel):
    """What one scan returns to the workflow: small (well under 4 KB), the detail is in the snapshot."""

    run_id: str
    account_id: str
    region: str
    status: Literal["complete", "partial", "failed", "in_progress"]
    reason: str | None = None
    api_count: int = 0
    route_count: int = 0
    error_count: int = 0
    api_calls: int = 0
    retries: int = 0
    snapshot_key: str | None = None
    content_hash: str | None = None
    stale: bool = False
    continuation: str | None = Field(default=None, description="Progress key: call scan again with it")
    previous_snapshot_key: str | None = Field(default=None, description="Last complete snapshot before this scan")
    changes_key: str | None = Field(default=None, description="This scan's change set (api_discovery.tracking)")
    change_count: int = 0

    @field_validator("reason")
    @classmethod
    def _short(cls, value: str | None) -> str | None:
        # A crashed Lambda's Cause can be long; the summary must stay small.
        return value[:1000] if value else value


class RunSummary(BaseModel):
    run_id: str
    started_at: str
    finished_at: str
    targets: int
    by_status: dict[str, int]
    apis: int
    routes: int
    api_calls: int
    failed: list[TargetResult]
    changes: int = 0
    events: dict[str, int] = Field(default_factory=dict, description="Events this finalize sent, per detail-type")


def new_run_id(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{moment}-{secrets.token_hex(4)}"


def parse_request(payload: object) -> ScanRequest:
    try:
        return ScanRequest.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors())
        raise InvalidScanRequestError(f"invalid scan request: {problems}") from exc


def resolve_targets(
    request: ScanRequest, registered: Sequence[RegisteredAccount], settings: PlanSettings, run_id: str
) -> tuple[int, Iterator[Target]]:
    """How many (account, region) the request asks for and, lazily, each of them; or a clear error naming
    what is wrong. Lazily, because 10,000 accounts x 17 regions must fit a small Lambda."""
    by_id = {a.account_id: a for a in registered if a.enabled}
    if request.accounts is None:
        chosen = list(by_id.values())
    else:
        malformed = [a for a in request.accounts if not ACCOUNT_ID.match(a)]
        if malformed:
            raise InvalidScanRequestError(f"malformed account id(s): {', '.join(malformed)}")
        unknown = [a for a in request.accounts if a not in by_id]
        if unknown:
            raise InvalidScanRequestError(f"account(s) not registered or disabled: {', '.join(unknown)}")
        chosen = [by_id[a] for a in dict.fromkeys(request.accounts)]
    # The customer role trusts the scanner only with its ExternalId (the confused-deputy guard).
    no_external_id = [a.account_id for a in chosen if a.role_name and not a.external_id]
    if no_external_id:
        raise InvalidScanRequestError(f"account(s) registered without an ExternalId: {', '.join(no_external_id)}")
    bad_regions = sorted(set(request.regions or []) - known_regions())
    if bad_regions:
        raise InvalidScanRequestError(f"unknown region(s): {', '.join(bad_regions)}")
    per_account = [
        (account, list(dict.fromkeys(request.regions or account.regions or settings.default_regions)))
        for account in chosen
    ]
    total = sum(len(regions) for _, regions in per_account)
    if total > settings.max_targets:
        raise InvalidScanRequestError(f"{total} targets exceed the limit of {settings.max_targets}")
    if not total:
        raise InvalidScanRequestError("the request resolves to no target: no enabled account is registered")
    return total, _round_robin(per_account, run_id, settings)


def _round_robin(
    per_account: list[tuple[RegisteredAccount, list[str]]], run_id: str, settings: PlanSettings
) -> Iterator[Target]:
    """Accounts interleaved, so that the targets the Map runs at once belong to different accounts."""
    for rank in range(max(len(regions) for _, regions in per_account)):
        for account, regions in per_account:
            if rank < len(regions):
                yield _target(account, regions[rank], len(regions), run_id, settings)


def _target(account: RegisteredAccount, region: str, regions: int, run_id: str, settings: PlanSettings) -> Target:
    # However the Map schedules them, at most this many of the account's targets run at once: each takes
    # that fraction of the account's rates, so together they never exceed them. (Each keeps a burst of at
    # least one call, so many regions starting at once may burst a few calls over; botocore retries those.)
    at_once = min(regions, settings.max_concurrency)
    return Target(
        run_id=run_id,
        account_id=account.account_id,
        region=region,
        role_arn=role_arn(account.account_id, account.role_name) if account.role_name else None,
        external_id=account.external_id,
        budget_share=1 / at_once if settings.split_budget else 1.0,
    )


def plan(
    request: ScanRequest,
    *,
    registered: Sequence[RegisteredAccount],
    settings: PlanSettings,
    blobs: BlobStore,
    bucket: str | None = None,
    now: datetime | None = None,
    windows: ChangeWindows | None = None,
) -> PlanResult:
    """Validate, resolve targets, write the manifest. Nothing is written for a bad request. A change event
    whose targets were all claimed by an earlier event of the same window plans nothing."""
    run_id = request.run_id or new_run_id(now)
    started = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    count, targets = resolve_targets(request, registered, settings, run_id)
    claimed: list[Target] = []
    if windows and request.source == "change":
        claimed = windows.claim(list(targets), request.requested_at)  # a change names one account: small
        if not claimed:
            return PlanResult(run_id=run_id, count=0, manifest=None, started_at=started)
        count, targets = len(claimed), iter(claimed)
    key = f"{MANIFEST_PREFIX}run={run_id}.json"
    try:
        blobs.put(key, _json_array(targets))
    except Exception:
        if windows and claimed:
            windows.release(claimed, request.requested_at)  # a retry, or the next event, may claim it again
        raise
    return PlanResult(run_id=run_id, count=count, manifest=ManifestRef(bucket=bucket, key=key), started_at=started)


def _json_array(targets: Iterator[Target]) -> bytes:
    """The manifest written one item at a time: only its bytes are ever held, never every Target at once."""
    out = io.BytesIO()
    out.write(b"[")
    for i, target in enumerate(targets):
        if i:
            out.write(b",")
        out.write(target.model_dump_json().encode())
    out.write(b"]")
    return out.getvalue()


def read_manifest(blobs: BlobStore, key: str) -> list[Target]:
    return [Target.model_validate(item) for item in json.loads(blobs.get(key))]


def parse_scan_event(event: dict[str, Any]) -> tuple[Target, str | None]:
    """A Map item: the manifest's target, and on a follow-up invocation the progress to resume from."""
    fields = {k: v for k, v in event.items() if k not in ("continuation", "scan")}
    try:
        return Target.model_validate(fields), event.get("continuation")
    except ValidationError as exc:
        raise InvalidScanRequestError(f"invalid scan target: {exc}") from exc


def scan(
    target: Target,
    *,
    blobs: BlobStore,
    state: StateStore | None,
    session_factory: SessionFactory,
    options: ScanOptions | None = None,
    time_left: TimeLeft | None = None,
    continuation: str | None = None,
) -> TargetResult:
    """Scan one target, store its snapshot, then its current state, and return a small summary. Out of time,
    store the progress instead and return its key as the continuation to call again with."""
    resume = load_progress(blobs, continuation) if continuation else None
    exports = ExportStore(blobs, target.account_id, target.region) if options and options.exports else None
    outcome = scan_until(
        target, session_factory=session_factory, options=options, time_left=time_left, resume=resume, exports=exports
    )
    if isinstance(outcome, Progress):
        key = save_progress(blobs, target, outcome)
        return TargetResult(
            run_id=target.run_id,
            account_id=target.account_id,
            region=target.region,
            status="in_progress",
            api_count=len(outcome.apis),
            api_calls=sum(outcome.api_calls.values()),
            continuation=key,
            reason=f"{len(outcome.rest_pending) + len(outcome.v2_pending)} APIs left",
        )
    snapshot = outcome
    # Read before this scan's state is applied, which moves the pointer to this very snapshot.
    previous = previous_complete_key(state, blobs, snapshot) if snapshot.status != "failed" else None
    ref = write_snapshot(blobs, snapshot)
    written = state.apply(snapshot, ref) if state else StateWrite()
    # A scan overtaken by a newer one read the same previous snapshot: its changes would be stale news.
    changes = None if written.behind else track(blobs, snapshot, ref, previous)
    return summarize(snapshot, ref, stale=bool(written.stale and not written.written), changes=changes)


def summarize(
    snapshot: Snapshot, ref: SnapshotRef | None, *, stale: bool = False, changes: ChangeSet | None = None
) -> TargetResult:
    return TargetResult(
        run_id=snapshot.run_id,
        account_id=snapshot.account_id,
        region=snapshot.region,
        status=snapshot.status,
        reason="; ".join(e.message for e in snapshot.errors)[:500] or None,
        api_count=len(snapshot.apis),
        route_count=sum(len(a.routes) for a in snapshot.apis),
        error_count=len(snapshot.errors),
        api_calls=sum(snapshot.api_calls.values()),
        retries=sum(snapshot.api_retries.values()),
        snapshot_key=ref.key if ref else None,
        content_hash=ref.content_hash if ref else None,
        stale=stale,
        previous_snapshot_key=changes.previous_snapshot_key if changes else None,
        changes_key=changes_key(snapshot) if changes else None,
        change_count=len(changes.changes) if changes else 0,
    )


def finalize(
    plan_result: PlanResult,
    results: Sequence[TargetResult],
    *,
    blobs: BlobStore,
    state: StateStore | None = None,
    manifest: Sequence[Target] | None = None,
    events: Any = None,
    bus_name: str | None = None,
    publisher: Publisher | None = None,
) -> RunSummary:
    """Record the run, then publish its events when an EventBridge client and bus are given (or a publisher).
    A manifest target with no result (its scan never returned) counts as failed."""
    seen = {(r.account_id, r.region) for r in results}
    missing = [
        TargetResult(
            run_id=t.run_id,
            account_id=t.account_id,
            region=t.region,
            status="failed",
            reason="the scan of this target returned no result",
        )
        for t in manifest or []
        if (t.account_id, t.region) not in seen
    ]
    every = sorted([*results, *missing], key=lambda r: (r.account_id, r.region))
    summary = RunSummary(
        run_id=plan_result.run_id,
        started_at=plan_result.started_at,
        finished_at=utc_now(),
        targets=len(every),
        by_status=dict(sorted(Counter(r.status for r in every).items())),
        apis=sum(r.api_count for r in every),
        routes=sum(r.route_count for r in every),
        api_calls=sum(r.api_calls for r in every),
        failed=[r for r in every if r.status == "failed"],
        changes=sum(r.change_count for r in every),
    )
    record = {"summary": summary.model_dump(), "targets": [r.model_dump() for r in every]}
    record_uri = blobs.put(f"{RUNS_PREFIX}run={plan_result.run_id}.json", json.dumps(record, sort_keys=True).encode())
    if state:
        state.record_run(summary.model_dump(exclude={"failed"}), [r.model_dump() for r in every])
    if publisher is None and events is not None and bus_name:
        publisher = Publisher(events, bus_name)
    if publisher is not None:
        ledger: Ledger = TableLedger(state.client, state.table) if state else MemoryLedger()
        sent = emit_run(summary, every, blobs=blobs, publisher=publisher, ledger=ledger, run_record_uri=record_uri)
        summary = summary.model_copy(update={"events": sent})
    return summary
