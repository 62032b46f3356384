"""Change tracking in the scan step: find the target's previous complete snapshot, diff, store the change set.

Why in the scan step: the scan already holds the new snapshot, and reads the target's current state (the
pointer to its last complete snapshot) just before moving it, so there is no window in which the pointer
already names the new snapshot. The diffs run in parallel across the Map; finalize reads no change set, it
only batches the keys of those that have changes for the publishing Map (api_discovery.events.notify).

Out-of-order runs: a snapshot older than the last complete one is not diffed at all (baseline
`out-of-order`): comparing it would report as changes what the newer scan already superseded.

An unreadable previous snapshot (corrupt, truncated, of an unknown schema) is no baseline (baseline
`unreadable`): the scan diffs against nothing, as a first scan does, rather than fail now and at every later
scan of the target, whose pointer would never move past it.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from api_discovery.analysis.diff import Change, api_summary, compute_changes, function_url_summary
from api_discovery.analysis.entry_diff import entry_summary
from api_discovery.blobs import BlobStore
from api_discovery.errors import SnapshotFormatError
from api_discovery.inventory.model import Snapshot
from api_discovery.inventory.snapshots import SNAPSHOT_PREFIX, SnapshotRef, read_snapshot
from api_discovery.observability import logger
from api_discovery.store.state import StateStore

CHANGES_PREFIX = "changes/"
# Bounds the fallback search through a target's snapshot history when state has no usable pointer.
MAX_HISTORY_READS = 50

Baseline = Literal["first-scan", "previous-complete", "out-of-order", "unreadable"]


class ChangeSet(BaseModel):
    """One target's changes in one run, stored beside its snapshot for finalize, reports and Athena."""

    account_id: str
    region: str
    run_id: str
    scanned_at: str
    status: str
    snapshot_key: str
    snapshot_uri: str
    previous_run_id: str | None = None
    previous_snapshot_key: str | None = None
    baseline: Baseline
    changes: list[Change]
    apis: list[dict[str, Any]] = Field(default_factory=list, description="Summaries of the APIs the changes name")

    @property
    def key(self) -> str:
        return change_set_key(self.account_id, self.region, self.scanned_at, self.run_id)


def previous_complete_key(
    state: StateStore | None, blobs: BlobStore, snapshot: Snapshot, item: dict[str, Any] | None = None
) -> str | None:
    """The target's last complete snapshot before this run. Read it before this run's state is applied;
    `item` is the target's state item when the caller has already read it.

    With a table, its pointer is the truth: a target it does not know is a first scan (no history search,
    which would cost a first sweep one S3 LIST per region), and a snapshot written by a scan whose state
    write then failed is not a baseline, so the next scan reports that scan's changes again rather than
    never. Only a retry of this same run, whose first attempt already moved the pointer, searches history."""
    if state is not None:
        item = item if item is not None else (state.target(snapshot.account_id, snapshot.region) or {})
        key = item.get("complete_snapshot_key")
        if not key:
            return None
        if item.get("complete_run_id") != snapshot.run_id:
            return str(key)
    return _from_history(blobs, snapshot)


def _from_history(blobs: BlobStore, snapshot: Snapshot) -> str | None:
    prefix = f"{SNAPSHOT_PREFIX}account={snapshot.account_id}/region={snapshot.region}/"
    # Keys sort by date, then run id (time-ordered ids): newest first.
    for key in sorted(blobs.keys(prefix), reverse=True)[:MAX_HISTORY_READS]:
        if key.endswith(f"/run={snapshot.run_id}.json.gz"):
            continue
        try:
            candidate = read_snapshot(blobs, key)
        except SnapshotFormatError:
            continue
        if candidate.status == "complete":
            return key
    return None


def track(
    blobs: BlobStore, snapshot: Snapshot, ref: SnapshotRef, previous_key: str | None, *, drift: bool = False
) -> ChangeSet | None:
    """Diff the new snapshot with the previous complete one and store the change set, if it has changes.
    `drift`: a sweep of an account whose change events should have announced every change already."""
    change_set = compute_change_set(blobs, snapshot, ref, previous_key)
    if drift:
        change_set = as_drift(change_set)
    if change_set is not None and change_set.changes:
        store_change_set(blobs, change_set)
    return change_set


def as_drift(change_set: ChangeSet | None) -> ChangeSet | None:
    if change_set is None or not change_set.changes:
        return change_set
    return change_set.model_copy(update={"changes": [c.model_copy(update={"drift": True}) for c in change_set.changes]})


def store_change_set(blobs: BlobStore, change_set: ChangeSet) -> str:
    blobs.put(change_set.key, change_set.model_dump_json().encode())
    return change_set.key


def compute_change_set(
    blobs: BlobStore, snapshot: Snapshot, ref: SnapshotRef, previous_key: str | None
) -> ChangeSet | None:
    """The new snapshot diffed with the previous complete one (none for a failed scan); nothing is written."""
    if snapshot.status == "failed":
        return None
    previous, unreadable = _previous(blobs, snapshot, previous_key)
    baseline: Baseline = "previous-complete" if previous else "unreadable" if unreadable else "first-scan"
    changes: list[Change] = []
    if previous is not None and previous.scanned_at >= snapshot.scanned_at:
        baseline = "out-of-order"
    else:
        changes = compute_changes(previous, snapshot)
    named = {c.api_id for c in changes} | {api_id for c in changes for api_id in c.domain_api_ids}
    change_set = ChangeSet(
        account_id=snapshot.account_id,
        region=snapshot.region,
        run_id=snapshot.run_id,
        scanned_at=snapshot.scanned_at,
        status=snapshot.status,
        snapshot_key=ref.key,
        snapshot_uri=ref.uri,
        previous_run_id=previous.run_id if previous else None,
        previous_snapshot_key=previous_key,
        baseline=baseline,
        changes=changes,
        apis=[api_summary(a) for a in snapshot.apis if a.id in named]
        + [function_url_summary(u) for u in snapshot.function_urls if u.key in named]
        + [entry_summary(e) for e in snapshot.entry_points if e.id in named],
    )
    return change_set


def _previous(blobs: BlobStore, snapshot: Snapshot, key: str | None) -> tuple[Snapshot | None, bool]:
    """The previous complete snapshot, and whether one was named but could not be read."""
    if not key:
        return None, False
    try:
        return read_snapshot(blobs, key), False
    except SnapshotFormatError as exc:
        logger.warning(
            "previous snapshot unreadable: diffing against nothing",
            extra={"account_id": snapshot.account_id, "region": snapshot.region, "key": key, "error": str(exc)[:300]},
        )
        return None, True


def changes_key(snapshot: Snapshot) -> str:
    return change_set_key(snapshot.account_id, snapshot.region, snapshot.scanned_at, snapshot.run_id)


def change_set_key(account_id: str, region: str, scanned_at: str, run_id: str) -> str:
    return f"{CHANGES_PREFIX}account={account_id}/region={region}/date={scanned_at[:10]}/run={run_id}.json"


def read_change_set(blobs: BlobStore, key: str) -> ChangeSet:
    return ChangeSet.model_validate(json.loads(blobs.get(key)))
