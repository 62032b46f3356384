"""Scan: one target of the manifest, its snapshot, current state and change set, and a small summary."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from api_discovery.blobs import BlobStore
from api_discovery.collect.exports import ExportStore
from api_discovery.errors import InvalidScanRequestError
from api_discovery.inventory.model import Snapshot
from api_discovery.inventory.results import TargetResult
from api_discovery.inventory.snapshots import SnapshotRef, write_snapshot
from api_discovery.steps.progress import Progress, load_progress, save_progress
from api_discovery.steps.target_scan import ScanOptions, SessionFactory, TimeLeft, scan_until
from api_discovery.store.state import StateStore, StateWrite
from api_discovery.store.tracking import ChangeSet, changes_key, previous_complete_key, track
from api_discovery.targets import Target


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
