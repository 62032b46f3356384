"""Changes to the entry points beside API Gateway and function URLs (AppSync, load balancers, CloudFront), in
the contracts API changes use: an entry point is `api_added` / `api_removed` with its kind as `api_kind`, so
API Discovered / Changed / Removed carry it; `entry_point_changed` names the fields that changed, and a verdict
change is `route_exposure_changed`. Only a complete scan that read a kind's lists without error reports one of
that kind gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from api_discovery.inventory.model import ENTRY_READS, EntryPoint, Snapshot
from api_discovery.inventory.snapshots import canonical_json

# What a change is about; `exposure` is compared as a verdict of its own.
ENTRY_FIELDS = (
    "name",
    "hosts",
    "scheme",
    "authentication",
    "web_acl",
    "enabled",
    "subtype",
    "listeners",
    "origins",
    "viewer_protocols",
    "behind",
)


def entry_summary(entry: EntryPoint) -> dict[str, Any]:
    """An entry point in the shape of an API summary: the same events carry both."""
    verdict = entry.exposure.verdict if entry.exposure else "unknown"
    return {
        "kind": entry.kind,
        "id": entry.id,
        "name": entry.name,
        "endpoint_type": entry.kind,
        "stages": [],
        "route_count": 1,
        "exposure": {verdict: 1},
        "arn": entry.arn,
        "hosts": entry.hosts,
    }


def unread_kinds(snapshot: Snapshot) -> set[str]:
    """The kinds whose lists a read error left unknown."""
    failed = {e.operation for e in snapshot.errors}
    return {kind for kind, reads in ENTRY_READS.items() if reads & failed}


def read_kinds(snapshot: Snapshot) -> set[str]:
    """The kinds this scan listed: a scan outside the account's global region does not list CloudFront."""
    called = set(snapshot.api_calls)
    return {kind for kind, reads in ENTRY_READS.items() if reads & called}


def entry_point_changes(old: list[EntryPoint], current: Snapshot) -> Iterator[tuple[str, EntryPoint, Any, Any]]:
    """(change type, entry point, before, after) for every entry point added, changed or (by a complete scan
    that listed its kind) removed."""
    before = {e.key: e for e in old}
    after = {e.key: e for e in current.entry_points}
    for key, entry in after.items():
        if key not in before:
            yield "api_added", entry, None, entry_summary(entry)
            continue
        was = before[key].model_dump(mode="json", include=set(ENTRY_FIELDS))
        now = entry.model_dump(mode="json", include=set(ENTRY_FIELDS))
        changed = sorted(k for k in ENTRY_FIELDS if canonical_json(was.get(k)) != canonical_json(now.get(k)))
        if changed:
            yield "entry_point_changed", entry, {k: was[k] for k in changed}, {k: now[k] for k in changed}
        verdicts = (_verdict(before[key]), _verdict(entry))
        if verdicts[0] != verdicts[1] and "unknown" not in verdicts:
            yield "route_exposure_changed", entry, {"verdict": verdicts[0]}, {"verdict": verdicts[1]}
    if current.status != "complete":
        return
    settled = read_kinds(current) - unread_kinds(current)
    for key, entry in before.items():
        if key not in after and entry.kind in settled:
            yield "api_removed", entry, entry_summary(entry), None


def _verdict(entry: EntryPoint) -> str:
    return entry.exposure.verdict if entry.exposure else "unknown"
