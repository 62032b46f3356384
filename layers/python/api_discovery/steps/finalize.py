"""Finalize: gather every target's summary, record the run, publish its events."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from api_discovery.blobs import BlobStore
from api_discovery.events.notify import Ledger, MemoryLedger, TableLedger, emit_run
from api_discovery.events.publisher import Publisher
from api_discovery.inventory.results import RunSummary, TargetResult
from api_discovery.steps.plan import PlanResult
from api_discovery.steps.target_scan import utc_now
from api_discovery.store.state import StateStore
from api_discovery.targets import Target

RUNS_PREFIX = "runs/"


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
