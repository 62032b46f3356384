"""Finalize: after each Map round, gather the round's results; once every account is done, record the run and
split its events into batches for the publishing Map.

Memory and time grow with what changed, not with the fleet: the Map's results are read as a stream of JSON
lines, each region's result goes straight into the run's target file, and only counters, the first failures
and the keys of change sets that have changes are kept. No change set is read here.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from api_discovery.blobs import BlobStore
from api_discovery.events.notify import FailedTarget, PublishItem
from api_discovery.inventory.results import MAX_FAILED_LISTED, RunSummary, TargetResult
from api_discovery.observability import logger
from api_discovery.steps.map_results import UnreadableResult, read_map_results
from api_discovery.steps.plan import MANIFEST_PREFIX, ManifestRef, PlanResult, json_array, read_manifest
from api_discovery.steps.target_scan import utc_now
from api_discovery.store.outbox import Outbox
from api_discovery.store.state import StateStore
from api_discovery.targets import AccountTarget

RUNS_PREFIX = "runs/"
DEFAULT_MAX_ROUNDS = 8
# Events per publishing batch: one Lambda sends them in seconds, and a first sweep's ~2 million events
# spread over about a thousand batches that the publishing Map sends in parallel. The item counts keep a
# batch far below a Map item's 256 KB (a key is ~120 bytes, a failure at most ~600).
BATCH_EVENTS = 2000
CHANGE_SETS_PER_BATCH = 500
DEFAULT_ABANDONED_AFTER = 7200  # seconds: the workflow's own time limit
FAILED_PER_BATCH = 100


class PublishPlan(BaseModel):
    count: int = Field(description="Batches in the publish manifest; 0: nothing but `Scan Completed`")
    manifest: ManifestRef | None = None


class Announcement(BaseModel):
    run_id: str
    source: str = Field(default="request", description="What started the run: a sweep is `schedule`")
    runs: list[str] = Field(description="Runs whose publishing this run finishes: itself and any left unfinished")


class FinalizeResult(BaseModel):
    done: Literal[True] = True
    run_id: str
    started_at: str
    summary: dict[str, object] = Field(description="The run's counts (the run record has the failures)")
    publish: PublishPlan
    announce: Announcement


def run_record_key(run_id: str) -> str:
    return f"{RUNS_PREFIX}run={run_id}.json"


def finalize(
    planned: PlanResult,
    results_key: str | None,
    *,
    blobs: BlobStore,
    state: StateStore | None = None,
    outbox: Outbox | None = None,
    bucket: str | None = None,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    on_failed: Callable[[int], None] | None = None,
    abandoned_after: int = DEFAULT_ABANDONED_AFTER,
) -> PlanResult | FinalizeResult:
    """Gather one Map round. Accounts that stopped at their time limit go into the next round's manifest;
    once none is left (or the rounds are used up), record the run and plan its publishing. `on_failed` hears
    how many regions this round fails itself (no result, out of rounds): no scan reported those."""
    items = {i.account_id: i for i in read_manifest(blobs, planned.manifest.key)} if planned.manifest else {}
    lines = _TargetFile()
    seen: set[str] = set()
    unreadable: dict[str, str] = {}  # account -> why its result could not be read, unless a readable one comes
    continuing: list[AccountTarget] = []
    last_round = planned.round + 1 >= max_rounds
    for result in read_map_results(blobs, results_key) if results_key else ():
        if isinstance(result, UnreadableResult):
            if result.account_id in items:
                unreadable.setdefault(result.account_id, result.reason)
            continue
        item = items.get(result.account_id)
        if item is None or result.account_id in seen or result.run_id != planned.run_id:
            logger.warning(
                "map result ignored: unknown, repeated or of another run", extra={"account": result.account_id}
            )
            continue
        seen.add(result.account_id)
        finished = _own(result.finished(), item)
        # A result of the Map's catch (the scan raised) carried no metric from the scan: count it here.
        lines.extend(finished, here=result.status == "failed")
        settled = {t.region for t in finished}
        left = [r for r in item.regions if r not in settled]
        if result.status == "in_progress" and result.continuation and left and not last_round:
            continuing.append(item.model_copy(update={"regions": left, "continuation": result.continuation}))
        elif left:
            # Out of rounds, or a region the result does not account for: failed, never silently dropped.
            reason = f"not finished within {max_rounds} invocations" if result.status == "in_progress" else None
            lines.extend(_failed(item, left, reason or "the scan returned no result for this region"), here=True)
    for account, item in items.items():
        if account not in seen:
            reason = "the scan of this account returned no result"
            if account in unreadable:
                reason = f"the scan's result for this account could not be read: {unreadable[account]}"
            lines.extend(_failed(item, item.regions, reason), here=True)
    if on_failed and lines.failed_here:
        on_failed(lines.failed_here)
    round_key = f"{RUNS_PREFIX}run={planned.run_id}/round={planned.round}.jsonl.gz"
    blobs.put(round_key, lines.close(), content_type="application/gzip")
    rounds = [*planned.rounds, round_key]
    if continuing:
        key = f"{MANIFEST_PREFIX}run={planned.run_id}/round={planned.round + 1}.json"
        blobs.put(key, json_array(continuing))
        return planned.model_copy(
            update={
                "round": planned.round + 1,
                "rounds": rounds,
                "count": len(continuing),
                "manifest": ManifestRef(bucket=bucket, key=key),
            }
        )
    return _record(
        planned, rounds, blobs=blobs, state=state, outbox=outbox, bucket=bucket, abandoned_after=abandoned_after
    )


def _own(results: Iterable[TargetResult], item: AccountTarget) -> list[TargetResult]:
    """Each region of the item a result settles, once: a region repeated, not given to this item, or of another
    account or run is dropped, so that it is neither counted twice nor stored under the wrong target."""
    kept: dict[str, TargetResult] = {}
    for result in results:
        ours = (result.run_id, result.account_id) == (item.run_id, item.account_id) and result.region in item.regions
        if ours and result.region not in kept:
            kept[result.region] = result
        else:
            logger.warning(
                "target result ignored: repeated, or not one of the item's regions",
                extra={"account": item.account_id, "region": result.region[:40]},
            )
    return list(kept.values())


def _failed(item: AccountTarget, regions: Iterable[str], reason: str) -> list[TargetResult]:
    return [
        TargetResult(run_id=item.run_id, account_id=item.account_id, region=r, status="failed", reason=reason)
        for r in regions
    ]


class _TargetFile:
    """The run's target results as gzip JSON lines, written as they are read."""

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._gzip = gzip.GzipFile(fileobj=self._buffer, mode="wb", mtime=0)
        self.failed_here = 0

    def extend(self, results: Iterable[TargetResult], *, here: bool = False) -> None:
        for result in results:
            self._gzip.write(result.model_dump_json(exclude_defaults=True).encode() + b"\n")
            self.failed_here += here

    def close(self) -> bytes:
        self._gzip.close()
        return self._buffer.getvalue()


def read_target_file(blobs: BlobStore, key: str) -> Iterator[TargetResult]:
    with gzip.GzipFile(fileobj=blobs.open(key)) as lines:
        for line in lines:
            if line.strip():
                yield TargetResult.model_validate_json(line)


class _Batches:
    """Change sets with changes, and failed targets, cut into batches of about BATCH_EVENTS events."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.items: list[PublishItem] = []
        self._keys: list[str] = []
        self._events = 0
        self._failed: list[FailedTarget] = []

    def add(self, result: TargetResult) -> None:
        if result.changes_key and result.change_count:
            self._keys.append(result.changes_key)
            self._events += result.change_count
            if self._events >= BATCH_EVENTS or len(self._keys) >= CHANGE_SETS_PER_BATCH:
                self._cut()
        if result.status == "failed":
            reason = result.reason[:500] if result.reason else None
            self._failed.append(FailedTarget(account_id=result.account_id, region=result.region, reason=reason))
            if len(self._failed) >= FAILED_PER_BATCH:
                self._cut()

    def _cut(self) -> None:
        if self._keys or self._failed:
            item = PublishItem(run_id=self.run_id, batch=len(self.items), change_sets=self._keys, failed=self._failed)
            self.items.append(item)
        self._keys, self._events, self._failed = [], 0, []

    def done(self) -> list[PublishItem]:
        self._cut()
        return self.items


def _record(
    planned: PlanResult,
    rounds: Sequence[str],
    *,
    blobs: BlobStore,
    state: StateStore | None,
    outbox: Outbox | None,
    bucket: str | None,
    abandoned_after: int,
) -> FinalizeResult:
    by_status: Counter[str] = Counter()
    types: Counter[str] = Counter()
    totals = Counter[str]()
    failed: list[TargetResult] = []
    batches = _Batches(planned.run_id)
    for key in rounds:
        for result in read_target_file(blobs, key):
            by_status[result.status] += 1
            types.update(result.change_types)
            totals.update(
                apis=result.api_count,
                routes=result.route_count,
                calls=result.api_calls,
                changes=result.change_count,
                drift=result.drift_count,
                unchanged=int(result.unchanged),
            )
            if result.status == "failed" and len(failed) < MAX_FAILED_LISTED:
                failed.append(result)
            batches.add(result)
    summary = RunSummary(
        run_id=planned.run_id,
        started_at=planned.started_at,
        finished_at=utc_now(),
        targets=sum(by_status.values()),
        by_status=dict(sorted(by_status.items())),
        apis=totals["apis"],
        routes=totals["routes"],
        api_calls=totals["calls"],
        failed=failed,
        failed_count=by_status["failed"],
        changes=totals["changes"],
        change_types=dict(sorted(types.items())),
        drift=totals["drift"],
        unchanged=totals["unchanged"],
    )
    record = {"summary": summary.model_dump(), "target_files": list(rounds)}
    blobs.put(run_record_key(planned.run_id), json.dumps(record, sort_keys=True).encode())
    if state:
        state.record_run(summary.model_dump(exclude={"failed"}))
    items = batches.done()
    earlier = _unfinished(blobs, outbox, planned.run_id, abandoned_after)
    items += [item for _, run_items in earlier for item in run_items]
    plan = PublishPlan(count=0)
    if items:
        key = f"{MANIFEST_PREFIX}run={planned.run_id}/publish.json"
        blobs.put(key, json_array(items))
        if outbox:
            outbox.add(planned.run_id, key)  # before any event is sent: a crash mid-publish is redone
        plan = PublishPlan(count=len(items), manifest=ManifestRef(bucket=bucket, key=key))
    return FinalizeResult(
        run_id=planned.run_id,
        started_at=planned.started_at,
        summary=summary.model_dump(exclude={"failed", "events"}),
        publish=plan,
        announce=Announcement(
            run_id=planned.run_id, source=planned.source, runs=[planned.run_id, *(run for run, _ in earlier)]
        ),
    )


def _unfinished(
    blobs: BlobStore, outbox: Outbox | None, run_id: str, abandoned_after: int
) -> list[tuple[str, list[PublishItem]]]:
    """Earlier runs whose publishing never finished: their batches go out again with this run's. Only runs
    older than the workflow's time limit count, so a run still publishing is never published twice at once."""
    if outbox is None:
        return []
    found = []
    for run, key in sorted(outbox.pending(older_than=abandoned_after).items()):
        if run == run_id:
            continue
        if key not in blobs.keys(key):
            logger.warning(
                "an unfinished run's publish manifest is gone; its events cannot be sent", extra={"run": run}
            )
            outbox.close([run])
            continue
        items = [PublishItem.model_validate(i) for i in json.loads(blobs.get(key)) if i.get("run_id") == run]
        found.append((run, items))
    return found


def read_run_summary(blobs: BlobStore, run_id: str) -> RunSummary:
    record = json.loads(blobs.get(run_record_key(run_id)))
    return RunSummary.model_validate(record["summary"])
