"""A sweep's Map results at fleet scale, written as the Map leaves them for finalize: the round's manifest
(one item per account), the ResultWriter's JSONL + COMPACT file (one account result per line, each region's
result inside) and its manifest, and a change set for every region with changes.

Change sets are copies of ones the measured fleet's scans wrote (its accounts, regions and run renamed),
chosen by size: a first sweep's region of 40 APIs gets the change set of a measured region about as large.
Without any (a run of this scenario alone), each changed region gets a change set of one `api_added` per
API, built with the library's own models.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from api_discovery.analysis.diff import Change
from api_discovery.inventory.results import AccountResult, TargetResult
from api_discovery.store.tracking import ChangeSet, change_set_key
from api_discovery.targets import AccountTarget
from bench.fleet_estate import API_SHAPE, Fleet, RegionEstate

Put = Callable[[str, bytes], None]
SCANNED_AT = "2026-12-01T06:00:00.000Z"


@dataclass(frozen=True)
class ChangeTemplate:
    """A change set a scan stored, and what to rename in it."""

    body: str
    account: str
    region: str
    run_id: str
    scanned_at: str
    changes: int
    types: dict[str, int]
    apis: int  # APIs the change set names

    @classmethod
    def parse(cls, body: str) -> ChangeTemplate:
        data = json.loads(body)
        changes = data.get("changes", [])
        return cls(
            body=body,
            account=str(data["account_id"]),
            region=str(data["region"]),
            run_id=str(data["run_id"]),
            scanned_at=str(data["scanned_at"]),
            changes=len(changes),
            types=dict(Counter(str(c["type"]) for c in changes)),
            apis=len({c.get("api_id") for c in changes if c.get("api_id")}),
        )

    def renamed(self, account: str, region: str, run_id: str) -> str:
        return self.body.replace(self.run_id, run_id).replace(self.account, account).replace(self.region, region)


@dataclass
class SyntheticRound:
    event: dict[str, Any]  # finalize's input: the round state and the Map's results
    accounts: int
    targets: int
    changed_regions: int
    changes: int
    results_bytes: int
    change_set_bytes: int
    templates_used: int
    types: dict[str, int] = field(default_factory=dict)


def choose_changed(fleet: Fleet, *, first_sweep: bool, changed: Iterable[tuple[str, str]] = ()) -> set[int]:
    """Indexes of the regions with a change set: in a first sweep every region with an API (each is new), later
    the regions named."""
    if first_sweep:
        return {i for i, r in enumerate(fleet.regions) if r.apis}
    wanted = set(changed)
    return {i for i, r in enumerate(fleet.regions) if (r.account, r.region) in wanted}


class _Templates:
    def __init__(self, templates: Sequence[ChangeTemplate]) -> None:
        self.by_size = sorted(templates, key=lambda t: t.apis)
        self.sizes = [t.apis for t in self.by_size]
        self.used: set[int] = set()
        self._next = 0

    def __bool__(self) -> bool:
        return bool(self.by_size)

    def like(self, apis: int, by_size: bool) -> ChangeTemplate:
        if by_size:
            index = min(bisect.bisect_left(self.sizes, apis), len(self.by_size) - 1)
        else:
            index, self._next = self._next % len(self.by_size), self._next + 1
        self.used.add(index)
        return self.by_size[index]


def write_round(
    fleet: Fleet,
    *,
    run_id: str,
    bucket: str,
    put: Put,
    changed: set[int],
    first_sweep: bool,
    templates: Sequence[ChangeTemplate] = (),
    max_concurrency: int = 800,
) -> SyntheticRound:
    """Write one round of `fleet`'s results (every account done) and return finalize's input."""
    pool = _Templates(templates)
    grouped: dict[str, list[tuple[int, RegionEstate]]] = {}
    for index, region in enumerate(fleet.regions):
        grouped.setdefault(region.account, []).append((index, region))
    lines, manifest_items = [], []
    stats = Counter[str]()
    types: Counter[str] = Counter()
    for account, regions in grouped.items():
        targets = []
        for index, region in regions:
            result, body, key = _target(region, run_id, index in changed, first_sweep, pool)
            if body is not None and key is not None:
                put(key, body)
                stats.update(changed=1, changes=result.change_count, change_bytes=len(body))
                types.update(result.change_types)
            targets.append(result)
        names = [r.region for _, r in regions]
        manifest_items.append(
            AccountTarget(
                run_id=run_id, account_id=account, regions=names, role_arn=f"arn:aws:iam::{account}:role/Bench"
            )
        )
        line = AccountResult(run_id=run_id, account_id=account, status="done", regions=names, targets=targets)
        lines.append(line.model_dump_json(exclude_defaults=True).encode())
    manifest_key = f"manifests/run={run_id}.json"
    put(manifest_key, b"[" + b",".join(i.model_dump_json(exclude_none=True).encode() for i in manifest_items) + b"]")
    map_run = f"bench-{hashlib.sha256(run_id.encode()).hexdigest()[:12]}"
    results = b"\n".join(lines) + b"\n"
    results_key = f"results/{map_run}/SUCCEEDED_0.jsonl"
    put(results_key, results)
    writer_manifest = {
        "DestinationBucket": bucket,
        "MapRunArn": f"arn:aws:states:us-east-1:123456789012:mapRun:bench/ScanAccounts:{map_run}",
        "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": [{"Key": results_key, "Size": len(results)}]},
    }
    put(f"results/{map_run}/manifest.json", json.dumps(writer_manifest).encode())
    event = {
        "run_id": run_id,
        "started_at": SCANNED_AT,
        "source": "schedule",
        "count": len(grouped),
        "targets": len(fleet.regions),
        "manifest": {"bucket": bucket, "key": manifest_key},
        "max_concurrency": max_concurrency,
        "round": 0,
        "rounds": [],
        "done": False,
        "results": {
            "MapRunArn": writer_manifest["MapRunArn"],
            "ResultWriterDetails": {"Bucket": bucket, "Key": f"results/{map_run}/manifest.json"},
        },
    }
    return SyntheticRound(
        event=event,
        accounts=len(grouped),
        targets=len(fleet.regions),
        changed_regions=stats["changed"],
        changes=stats["changes"],
        results_bytes=len(results),
        change_set_bytes=stats["change_bytes"],
        templates_used=len(pool.used),
        types=dict(sorted(types.items())),
    )


def _target(
    region: RegionEstate, run_id: str, changed: bool, first_sweep: bool, pool: _Templates
) -> tuple[TargetResult, bytes | None, str | None]:
    calls = sum(region.minimum().values())
    routes = region.rest * API_SHAPE.resources_per_api * API_SHAPE.methods_per_resource
    routes += region.http * API_SHAPE.routes_per_http_api
    where = f"account={region.account}/region={region.region}"
    snapshot = f"snapshots/{where}/date={SCANNED_AT[:10]}/run={run_id}.json.gz"
    digest = hashlib.sha256(f"{region.account}/{region.region}/{region.apis}/{changed}".encode()).hexdigest()
    base = {
        "run_id": run_id,
        "account_id": region.account,
        "region": region.region,
        "status": "complete",
        "api_count": region.apis,
        "route_count": routes,
        "api_calls": calls + 1,  # and the account's AssumeRole, counted once per region by the scanner
        "content_hash": f"sha256:{digest}",
    }
    if not changed:
        if first_sweep:
            return TargetResult(**base, snapshot_key=snapshot), None, None
        return TargetResult(**base, unchanged=True), None, None
    key = change_set_key(region.account, region.region, SCANNED_AT, run_id)
    if pool:
        template = pool.like(region.apis, by_size=first_sweep)
        body = template.renamed(region.account, region.region, run_id).encode()
        count, types = template.changes, template.types
    else:
        body, count, types = _minimal_change_set(region, run_id, snapshot)
    result = TargetResult(**base, snapshot_key=snapshot, changes_key=key, change_count=count, change_types=types)
    return result, body, key


def _minimal_change_set(region: RegionEstate, run_id: str, snapshot: str) -> tuple[bytes, int, dict[str, int]]:
    changes = [
        Change(
            type="api_added", api_kind="REST" if n < region.rest else "HTTP", api_id=f"api{n:04d}", subject=f"api-{n}"
        )
        for n in range(max(1, region.apis))
    ]
    change_set = ChangeSet(
        account_id=region.account,
        region=region.region,
        run_id=run_id,
        scanned_at=SCANNED_AT,
        status="complete",
        snapshot_key=snapshot,
        snapshot_uri=f"s3://bench/{snapshot}",
        baseline="first-scan",
        changes=changes,
    )
    return change_set.model_dump_json().encode(), len(changes), {"api_added": len(changes)}
