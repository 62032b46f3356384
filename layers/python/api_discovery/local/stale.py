"""A partial scan's unread parts, as readers show them: the last complete view of each, labelled stale with
the reason it was not read again and how much older it is (api_discovery.analysis.completeness decides what
a partial scan did not read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import ClientError

from api_discovery.analysis.completeness import gaps, withheld
from api_discovery.blobs import BlobStore
from api_discovery.errors import SnapshotFormatError
from api_discovery.inventory.model import Api, Finding, Snapshot
from api_discovery.inventory.snapshots import SNAPSHOT_PREFIX, read_snapshot

MAX_HISTORY_READS = 20
_LIST_KINDS = {"restapis": ("REST",), "v2/apis": ("HTTP", "WEBSOCKET")}


@dataclass(frozen=True)
class StaleApi:
    """An API as the target's last complete scan saw it, shown in place of what a partial scan could not read."""

    api: Api
    findings: list[Finding]
    view: Snapshot  # the complete snapshot it comes from
    reason: str
    age_seconds: int  # how much older than the partial scan

    def label(self) -> dict[str, object]:
        return {
            "reason": self.reason,
            "as_of": self.view.scanned_at,
            "as_of_run": self.view.run_id,
            "age_seconds": self.age_seconds,
            "age": age_text(self.age_seconds),
        }


def age_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} older"
    return f"{seconds} s older"


def stale_apis(blobs: BlobStore, snapshot: Snapshot, previous_key: str | None = None) -> dict[str, StaleApi]:
    """For a partial snapshot: every API it did not read completely (or could not list), by id, as the last
    complete snapshot before it saw it. Empty for a complete snapshot, or one with no complete one before it."""
    found = gaps(snapshot.errors)
    if snapshot.status != "partial" or not found:
        return {}
    previous = _last_complete(blobs, snapshot, previous_key)
    if previous is None:
        return {}
    before = {a.id: a for a in previous.apis}
    reasons: dict[str, str] = {a.id: why for a in snapshot.apis if (why := withheld(a, found))}
    listed = {a.id for a in snapshot.apis}
    for resource, reason in found.lists.items():
        for api in previous.apis:
            if api.kind in _LIST_KINDS.get(resource, ()) and api.id not in listed:
                reasons.setdefault(api.id, reason)
    age = max(0, int((_at(snapshot.scanned_at) - _at(previous.scanned_at)).total_seconds()))
    return {
        api_id: StaleApi(
            api=before[api_id],
            findings=[f for f in previous.findings if f.api_id == api_id],
            view=previous,
            reason=reason,
            age_seconds=age,
        )
        for api_id, reason in reasons.items()
        if api_id in before
    }


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _last_complete(blobs: BlobStore, snapshot: Snapshot, previous_key: str | None) -> Snapshot | None:
    keys = [previous_key] if previous_key else []
    prefix = f"{SNAPSHOT_PREFIX}account={snapshot.account_id}/region={snapshot.region}/"
    keys += sorted(blobs.keys(prefix), reverse=True)[:MAX_HISTORY_READS]  # newest first
    for key in keys:
        try:
            candidate = read_snapshot(blobs, key)
        except (SnapshotFormatError, ClientError, FileNotFoundError):  # unreadable or expired: look further back
            continue
        if candidate.status == "complete" and candidate.scanned_at < snapshot.scanned_at:
            return candidate
    return None
