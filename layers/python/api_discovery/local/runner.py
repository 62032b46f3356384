"""The workflow run locally: plan, then scan every target on a bounded thread pool (the Map), then finalize."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from api_discovery.blobs import BlobStore
from api_discovery.inventory.results import RunSummary, TargetResult
from api_discovery.steps.finalize import finalize
from api_discovery.steps.plan import PlanResult, PlanSettings, ScanRequest, plan, read_manifest
from api_discovery.steps.scan import scan
from api_discovery.steps.target_scan import ScanOptions, SessionFactory
from api_discovery.store.registry import RegisteredAccount
from api_discovery.store.state import StateStore
from api_discovery.targets import Target

Progress = Callable[[TargetResult], None]


@dataclass
class LocalRun:
    plan: PlanResult
    results: list[TargetResult]
    summary: RunSummary


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
) -> LocalRun:
    planned = plan(request, registered=registered, settings=settings, blobs=blobs)
    if on_plan:
        on_plan(planned)
    targets = read_manifest(blobs, planned.manifest.key) if planned.manifest else []
    results: list[TargetResult] = []
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="scan") as pool:
        futures = {
            pool.submit(scan, t, blobs=blobs, state=state, session_factory=session_factory, options=options): t
            for t in targets
        }
        for future in as_completed(futures):
            result = _result(future, futures[future])
            results.append(result)
            if on_result:
                on_result(result)
    summary = finalize(planned, results, blobs=blobs, state=state, manifest=targets, events=events, bus_name=bus_name)
    return LocalRun(plan=planned, results=sorted(results, key=lambda r: (r.account_id, r.region)), summary=summary)


def _result(future: Future[TargetResult], target: Target) -> TargetResult:
    """As the workflow's Map catches a crashed scan: the target failed with its error, the run goes on."""
    try:
        return future.result()
    except Exception as exc:
        return TargetResult(
            run_id=target.run_id,
            account_id=target.account_id,
            region=target.region,
            status="failed",
            reason=f"{type(exc).__name__}: {exc}",
        )
