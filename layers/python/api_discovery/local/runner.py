"""The workflow run locally, in the shape of the state machine: plan; Map rounds of account scans on a bounded
thread pool, each written as the Map's ResultWriter writes it and gathered by finalize; then the publishing
batches and the announcement."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from api_discovery.blobs import BlobStore
from api_discovery.events.notify import Ledger, MemoryLedger, PublishItem, TableLedger
from api_discovery.events.publisher import Publisher
from api_discovery.inventory.results import AccountResult, RunSummary, TargetResult
from api_discovery.steps.finalize import FinalizeResult, finalize, read_target_file
from api_discovery.steps.plan import PlanResult, PlanSettings, ScanRequest, plan, read_manifest
from api_discovery.steps.publish import announce_run, publish
from api_discovery.steps.scan import scan_account
from api_discovery.steps.target_scan import ScanOptions, SessionFactory, TimeLeft
from api_discovery.store.outbox import Outbox
from api_discovery.store.registry import RegisteredAccount
from api_discovery.store.state import StateStore
from api_discovery.targets import AccountTarget

Progress = Callable[[TargetResult], None]
MAP_RESULTS_PREFIX = "results/"


@dataclass
class LocalRun:
    plan: PlanResult
    results: list[TargetResult]
    summary: RunSummary
    finalized: FinalizeResult


def run_local(
    request: ScanRequest,
    *,
    registered: Sequence[RegisteredAccount],
    settings: PlanSettings,
    blobs: BlobStore,
    state: StateStore | None,
    session_factory: SessionFactory,
    max_workers: int = 8,
    options: ScanOptions | None = None,
    on_plan: Callable[[PlanResult], None] | None = None,
    on_result: Progress | None = None,
    events: Any = None,
    bus_name: str | None = None,
    time_left: TimeLeft | None = None,
) -> LocalRun:
    planned = plan(request, registered=registered, settings=settings, blobs=blobs)
    if on_plan:
        on_plan(planned)
    external_ids = {a.account_id: a.external_id for a in registered}
    outbox = Outbox(state.client, state.table) if state else None
    current: PlanResult | FinalizeResult = planned
    while isinstance(current, PlanResult):
        items = read_manifest(blobs, current.manifest.key) if current.manifest else []
        results: list[AccountResult] = []
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="scan") as pool:
            futures = {
                pool.submit(
                    scan_account,
                    item,
                    blobs=blobs,
                    state=state,
                    session_factory=session_factory,
                    external_id=external_ids.get(item.account_id),
                    options=options,
                    time_left=time_left,
                ): item
                for item in items
            }
            for future in as_completed(futures):
                result = _result(future, futures[future])
                results.append(result)
                if on_result:
                    for target in result.finished():
                        on_result(target)
        key = write_map_results(blobs, current.run_id, current.round, results)
        # Local runs go one at a time: an earlier run left in the outbox is not publishing any more.
        current = finalize(current, key, blobs=blobs, state=state, outbox=outbox, abandoned_after=0)
    done = current
    publisher = Publisher(events, bus_name) if events is not None and bus_name else None
    ledger: Ledger = TableLedger(state.client, state.table) if state else MemoryLedger()
    sent: Counter[str] = Counter()
    if publisher and done.publish.manifest:
        batches = [PublishItem.model_validate(i) for i in json.loads(blobs.get(done.publish.manifest.key))]
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="publish") as pool:
            for counts in pool.map(lambda b: publish(b, blobs=blobs, publisher=publisher, ledger=ledger), batches):
                sent.update(counts)
    summary = announce_run(done.announce, blobs=blobs, publisher=publisher, ledger=ledger, outbox=outbox)
    summary = summary.model_copy(update={"events": dict(sorted((sent + Counter(summary.events)).items()))})
    scanned = [t for key in _round_files(blobs, done.run_id) for t in read_target_file(blobs, key)]
    return LocalRun(
        plan=planned,
        results=sorted(scanned, key=lambda r: (r.account_id, r.region)),
        summary=summary,
        finalized=done,
    )


def _round_files(blobs: BlobStore, run_id: str) -> list[str]:
    record = json.loads(blobs.get(f"runs/run={run_id}.json"))
    return list(record["target_files"])


def write_map_results(blobs: BlobStore, run_id: str, round_number: int, results: Sequence[AccountResult]) -> str:
    """What the Map's ResultWriter writes with JSONL + COMPACT: a manifest naming one file of output lines."""
    prefix = f"{MAP_RESULTS_PREFIX}local-{run_id}-{round_number}/"
    lines = b"".join(r.model_dump_json().encode() + b"\n" for r in results)
    blobs.put(f"{prefix}SUCCEEDED_0.jsonl", lines, content_type="application/jsonl")
    manifest = {"ResultFiles": {"SUCCEEDED": [{"Key": f"{prefix}SUCCEEDED_0.jsonl", "Size": len(lines)}]}}
    blobs.put(f"{prefix}manifest.json", json.dumps(manifest).encode())
    return f"{prefix}manifest.json"


def _result(future: Future[AccountResult], item: AccountTarget) -> AccountResult:
    """As the workflow's Map catches a crashed scan: the account failed with its error, the run goes on."""
    try:
        return future.result()
    except Exception as exc:
        return AccountResult(
            run_id=item.run_id,
            account_id=item.account_id,
            regions=item.regions,
            status="failed",
            reason=f"{type(exc).__name__}: {exc}",
        )
