"""Scan: one account of the manifest. Its role is assumed once, its regions are scanned at once under one call
budget for the account, and each region writes only what changed; a small result per region goes back.

Write order, for each region, so that a fault at any point loses nothing: the snapshot, then the change set,
then the current state (which moves the target's pointer to the new snapshot). A write that fails leaves the
pointer where it was, and the next scan diffs against the same previous snapshot and reports the change then.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api_discovery.blobs import BlobStore
from api_discovery.collect.budget import budget_key
from api_discovery.collect.exports import ExportStore
from api_discovery.collect.session import AccountCredentials, assume_account, own_credentials
from api_discovery.errors import InvalidScanRequestError, SnapshotFormatError, TargetUnavailableError, parse_input
from api_discovery.inventory.model import Snapshot
from api_discovery.inventory.results import AccountResult, TargetResult
from api_discovery.inventory.snapshots import (
    SnapshotRef,
    content_hash,
    findings_hash,
    read_snapshot,
    write_snapshot,
)
from api_discovery.observability import logger
from api_discovery.steps.progress import PROGRESS_PREFIX, Progress, advanced, load_progress, save_progress
from api_discovery.steps.rescan import full_scan_at, merge, newer_reads, read_resources, without
from api_discovery.steps.shared_quota import shared_quota
from api_discovery.steps.target_scan import (
    ScanOptions,
    SessionFactory,
    TimeLeft,
    failed_snapshot,
    scan_until,
    utc_now,
)
from api_discovery.store.state import StateStore
from api_discovery.store.tracking import (
    ChangeSet,
    as_drift,
    change_set_key,
    compute_change_set,
    previous_complete_key,
    read_change_set,
    store_change_set,
    track,
)
from api_discovery.targets import AccountTarget, Resource, Target

# Calls in flight for the whole account: the budget (10 per second) sets the pace, not the threads, so many
# regions share what one large region would use alone.
ACCOUNT_WORKERS = 16
MIN_REGION_WORKERS = 4
# Scans of one target that overtake each other while this one stores: each retry diffs from where the last
# one left the pointer. Past this, the pointer stays and the next scan reports the changes.
MAX_REBASES = 3


class AccountProgress(BaseModel):
    """Where an account stopped by its time limit stands: each unfinished region's own progress, if any."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    account_id: str
    invocation: int = Field(default=1, ge=1, description="Which invocation of the account stored it")
    pending: dict[str, str | None]


def parse_scan_event(event: object) -> AccountTarget:
    """A Map item: one account, its regions, and on a later round the progress to resume from."""
    return parse_input(AccountTarget, event, "scan item", InvalidScanRequestError)


def scan_account(
    item: AccountTarget,
    *,
    blobs: BlobStore,
    state: StateStore | None,
    session_factory: SessionFactory,
    external_id: str | None,
    options: ScanOptions | None = None,
    time_left: TimeLeft | None = None,
    sts_region: str | None = None,
) -> AccountResult:
    """Scan the account's regions concurrently; out of time, store what is unfinished and return its key.
    The role is assumed once, through the STS endpoint of `sts_region` (the Lambda's own region: its tokens
    are valid in every region, and no customer region's outage or opt-in decides the whole account)."""
    opts = options or ScanOptions()
    pending, invocation = _pending(blobs, item)
    started = utc_now()
    try:
        credentials = _reach(item, session_factory(), external_id, sts_region or next(iter(pending)))
    except TargetUnavailableError as exc:
        # The account cannot be reached: every region fails with the reason, and nothing else is claimed.
        failed = [failed_snapshot(item.target(r, None), exc, started) for r in pending]
        return AccountResult(
            run_id=item.run_id,
            account_id=item.account_id,
            status="done",
            regions=item.regions,
            targets=[_settle(s, blobs=blobs, state=state) for s in failed],
        )
    region_opts = replace(opts, workers=min(opts.workers, max(MIN_REGION_WORKERS, ACCOUNT_WORKERS // len(pending))))

    def one(region: str) -> TargetResult | str:
        target = item.target(region, external_id)
        if item.resources and state is not None:
            targeted = _rescan(target, item.resources, state, blobs, session_factory, region_opts, credentials)
            if targeted is not None:
                return targeted
            # Unsure what the change touched, or no complete view to merge into: the whole region, as a sweep.
        resume = load_progress(blobs, key) if (key := pending[region]) else None
        outcome = scan_until(
            target,
            session_factory=session_factory,
            options=region_opts,
            time_left=time_left,
            resume=resume,
            exports=ExportStore(blobs, item.account_id, region) if opts.exports else None,
            credentials=credentials,
        )
        if isinstance(outcome, Progress):
            if resume is not None and not advanced(resume, outcome):
                # Another invocation would start where this one did: end the loop here, with the reason.
                return _settle(_stuck(target, outcome, invocation), blobs=blobs, state=state)
            return save_progress(blobs, target, outcome)
        return _settle(outcome, blobs=blobs, state=state, drift=item.drift)

    # Other executions scanning this account at once take their part of its budget while these regions scan.
    budgets = {budget_key(opts.scope, item.account_id, r): opts.budget(item.account_id, r) for r in pending}
    try:
        with (
            shared_quota(state, budgets),
            ThreadPoolExecutor(max_workers=len(pending), thread_name_prefix="region") as pool,
        ):
            outcomes = dict(zip(pending, pool.map(lambda r: _guarded(one, item, r), pending), strict=True))
    finally:
        credentials.release()  # every region is done with the account's clients
    done = [o for o in outcomes.values() if isinstance(o, TargetResult)]
    unfinished = {r: o for r, o in outcomes.items() if isinstance(o, str)}
    if not unfinished:
        return AccountResult(
            run_id=item.run_id, account_id=item.account_id, status="done", regions=item.regions, targets=done
        )
    key = _save_account_progress(
        blobs,
        AccountProgress(run_id=item.run_id, account_id=item.account_id, invocation=invocation, pending=unfinished),
    )
    return AccountResult(
        run_id=item.run_id,
        account_id=item.account_id,
        status="in_progress",
        regions=item.regions,
        targets=done,
        continuation=key,
    )


def _stuck(target: Target, progress: Progress, invocation: int) -> Snapshot:
    """A resumed region that read no API in this invocation: failed, and its earlier state stays the truth."""
    left = len(progress.rest_pending) + len(progress.v2_pending)
    reason = f"no progress: invocation {invocation} read none of the {left} APIs left before its time limit"
    return failed_snapshot(
        target,
        TargetUnavailableError("timeout", reason),
        progress.scanned_at,
        api_calls=progress.api_calls,
        api_retries=progress.api_retries,
    )


def _guarded(one: Callable[[str], TargetResult | str], item: AccountTarget, region: str) -> TargetResult | str:
    """A fault in one region (a store write, a bug) fails that region only, with the reason; its writes are
    ordered, so the next scan finds the pointer where it was and reports the change then."""
    try:
        result: TargetResult | str = one(region)
    except Exception as exc:
        logger.exception("region scan failed", extra={"account_id": item.account_id, "region": region})
        return TargetResult(
            run_id=item.run_id,
            account_id=item.account_id,
            region=region,
            status="failed",
            reason=f"{type(exc).__name__}: {exc}",
        )
    return result


def _reach(item: AccountTarget, base: Any, external_id: str | None, region: str) -> AccountCredentials:
    """One AssumeRole for the whole account, through one regional STS endpoint."""
    if item.role_arn:
        return assume_account(base, role=item.role_arn, external_id=external_id, region=region, run_id=item.run_id)
    return own_credentials(base)


def _pending(blobs: BlobStore, item: AccountTarget) -> tuple[dict[str, str | None], int]:
    """The regions to scan, each with its own progress, and which invocation of the account this is. Each
    invocation stores its progress under a key of its own: a retried invocation reads the same progress
    as its first attempt did, never one that attempt already moved on."""
    if not item.continuation:
        return dict.fromkeys(item.regions), 1
    # Exactly the key this run stored for this account: a prefix alone would let `../` reach another object.
    own = re.escape(account_progress_prefix(item.run_id, item.account_id)) + r"invocation=[1-9][0-9]{0,5}\.json\.gz"
    if not re.fullmatch(own, item.continuation):
        raise InvalidScanRequestError(
            f"continuation {item.continuation[:200]!r} does not belong to {item.account_id} in run {item.run_id}"
        )
    progress = AccountProgress.model_validate(json.loads(gzip.decompress(blobs.get(item.continuation))))
    if (progress.run_id, progress.account_id) != (item.run_id, item.account_id):
        raise InvalidScanRequestError(f"continuation {item.continuation!r} belongs to another run or account")
    pending = {r: progress.pending[r] for r in item.regions if r in progress.pending}
    if not pending:
        raise InvalidScanRequestError(f"continuation {item.continuation!r} has none of the regions {item.regions}")
    return pending, progress.invocation + 1


def account_progress_prefix(run_id: str, account_id: str) -> str:
    return f"{PROGRESS_PREFIX}run={run_id}/account={account_id}/"


def _save_account_progress(blobs: BlobStore, progress: AccountProgress) -> str:
    key = f"{account_progress_prefix(progress.run_id, progress.account_id)}invocation={progress.invocation}.json.gz"
    blobs.put(key, gzip.compress(progress.model_dump_json().encode(), mtime=0), content_type="application/gzip")
    return key


def _settle(snapshot: Snapshot, *, blobs: BlobStore, state: StateStore | None, drift: bool = False) -> TargetResult:
    """Store one region's scan, writing only what changed, in the order that loses nothing."""
    item = state.target(snapshot.account_id, snapshot.region) if state else None
    if state is not None and item and item.get("complete_snapshot_key") and snapshot.status == "complete":
        digest, findings = content_hash(snapshot), findings_hash(snapshot)
        if (item.get("content_hash"), item.get("findings_hash")) == (digest, findings):
            stored = SnapshotRef(
                key=str(item["complete_snapshot_key"]),
                uri=blobs.uri(str(item["complete_snapshot_key"])),
                content_hash=digest,
                size=0,
            )
            if item.get("complete_run_id") == snapshot.run_id:
                # A retry of this run, whose first attempt stored the scan and then died: report what it stored.
                stored_at = str(item.get("complete_scanned_at") or snapshot.scanned_at)
                return summarize(snapshot, stored, changes=_stored_changes(blobs, snapshot, stored_at))
            state.mark_seen(snapshot, findings)
            return summarize(snapshot, stored, unchanged=True)
    # Read before this scan's state is applied, which moves the pointer to this very snapshot.
    previous = previous_complete_key(state, blobs, snapshot, item or {}) if snapshot.status != "failed" else None
    ref = write_snapshot(blobs, snapshot)
    changes = track(blobs, snapshot, ref, previous, drift=drift)  # stored before the state moves the pointer
    if state is None:
        return summarize(snapshot, ref, changes=changes)
    pointer = (item or {}).get("complete_snapshot_key")
    written = state.apply(snapshot, ref, read_complete=str(pointer) if pointer else None)
    for _ in range(MAX_REBASES):
        if not written.rebase:
            break
        # A scan of this target that started earlier finished first: its changes are its own to announce,
        # and this one's are only those since its snapshot.
        changes = compute_change_set(blobs, snapshot, ref, written.moved_to)
        changes = as_drift(changes) if drift else changes
        if changes is not None:
            store_change_set(blobs, changes)  # replaces the one diffed from the older baseline
        written = state.apply(snapshot, ref, read_complete=written.moved_to)  # all its writes are redoable
    # A scan overtaken by a newer one read the same previous snapshot: its changes would be stale news.
    kept = None if written.behind or written.rebase else changes
    return summarize(snapshot, ref, stale=bool(written.stale and not written.written), changes=kept)


def _rescan(
    target: Target,
    resources: list[Resource],
    state: StateStore,
    blobs: BlobStore,
    session_factory: SessionFactory,
    options: ScanOptions,
    credentials: AccountCredentials,
) -> TargetResult | None:
    """A change event's targeted rescan, merged into the region's last complete snapshot and stored as a full
    scan's would be. None when unsure: no complete snapshot to merge into, or a part that could not be read."""
    current = state.target(target.account_id, target.region, consistent=True) or {}
    if not current.get("complete_snapshot_key"):
        return None
    fresh = read_resources(target, resources, session_factory=session_factory, options=options, credentials=credentials)
    if fresh.gaps:
        logger.info("targeted rescan unsure: scanning the region", extra={"target": target.label, "gaps": fresh.gaps})
        return None
    only = _written(resources)
    for _ in range(MAX_REBASES + 1):
        base_key = str(current["complete_snapshot_key"])
        try:
            base = read_snapshot(blobs, base_key)
        except SnapshotFormatError:
            return None
        # Old news: a full scan that began after this read, or later rescans of the very same parts.
        newer = newer_reads(base, fresh)
        if full_scan_at(base) > fresh.scanned_at or newer == set(fresh.read):
            return summarize(merge(base, base_key, without(fresh, newer), target.run_id), None, stale=True)
        snapshot = merge(base, base_key, without(fresh, newer), target.run_id)
        digests = (content_hash(snapshot), findings_hash(snapshot))
        if digests == (current.get("content_hash"), current.get("findings_hash")) or (
            current.get("complete_run_id") == target.run_id
        ):
            return _settle(snapshot, blobs=blobs, state=state)  # the same view (or this run's retry): as a sweep's
        ref = write_snapshot(blobs, snapshot)
        changes = track(blobs, snapshot, ref, base_key)
        written = state.apply(snapshot, ref, read_complete=base_key, only=only)
        if not (written.rebase or written.behind):
            return summarize(snapshot, ref, changes=changes)
        # Another scan moved the pointer meanwhile (a targeted one, of other parts, may be "newer" than this
        # read and still lack it): merge this read into where it left it.
        current = state.target(target.account_id, target.region, consistent=True) or {}
        if not current.get("complete_snapshot_key"):
            return None
    return None


def _written(resources: list[Resource]) -> set[tuple[str, str]] | None:
    """The APIs whose state a targeted rescan writes; None (all) when a domain's mappings can move any API."""
    if any(r.kind == "domain" for r in resources):
        return None
    kinds = {"rest_api": ("REST",), "v2_api": ("HTTP", "WEBSOCKET")}
    return {(kind, r.id) for r in resources for kind in kinds.get(r.kind, ())}


def _stored_changes(blobs: BlobStore, snapshot: Snapshot, stored_at: str) -> ChangeSet | None:
    # Keyed by the date of the attempt that stored it, which a retry after midnight does not share.
    key = change_set_key(snapshot.account_id, snapshot.region, stored_at, snapshot.run_id)
    return read_change_set(blobs, key) if key in blobs.keys(key) else None


def summarize(
    snapshot: Snapshot,
    ref: SnapshotRef | None,
    *,
    stale: bool = False,
    changes: ChangeSet | None = None,
    unchanged: bool = False,
) -> TargetResult:
    listed = changes if changes is not None and changes.changes else None
    types = Counter(change.type for change in (listed.changes if listed else []))
    return TargetResult(
        run_id=snapshot.run_id,
        account_id=snapshot.account_id,
        region=snapshot.region,
        status=snapshot.status,
        reason="; ".join(e.message for e in snapshot.errors)[:500] or None,
        api_count=len(snapshot.apis),
        function_url_count=len(snapshot.function_urls),
        entry_point_count=len(snapshot.entry_points),
        route_count=sum(len(a.routes) for a in snapshot.apis),
        error_count=len(snapshot.errors),
        api_calls=sum(snapshot.api_calls.values()),
        retries=sum(snapshot.api_retries.values()),
        snapshot_key=ref.key if ref else None,
        content_hash=ref.content_hash if ref else None,
        unchanged=unchanged,
        stale=stale,
        previous_snapshot_key=changes.previous_snapshot_key if changes else None,
        changes_key=change_set_key(listed.account_id, listed.region, listed.scanned_at, listed.run_id)
        if listed
        else None,
        change_count=len(listed.changes) if listed else 0,
        change_types=dict(sorted(types.items())),
        drift_count=sum(1 for change in (listed.changes if listed else []) if change.drift),
    )
