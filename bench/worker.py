"""One measured task in a process of its own: `python -m bench.worker` reads a JSON request on stdin and writes a
JSON result on stdout.

The emulator (moto and its estate) stays in the parent process; the scanner runs here, as it would in its own
Lambda, reaching the emulator over HTTP. So the peak resident memory of this process is what the scan needs
(interpreter and libraries included, as Lambda counts it), and client and server do not share one GIL.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api_discovery.steps.target_scan import ScanOptions

# Each task imports only what it runs (a scan needs no workflow module), so that the idle memory measured
# before it starts is the interpreter with those modules loaded, and the rest is the task's own.
TASK_MODULES = {
    "scan": ("boto3", "api_discovery.steps.target_scan", "api_discovery.inventory.snapshots"),
    "account_scan": ("boto3", "api_discovery.steps.scan", "api_discovery.store.state", "api_discovery.blobs"),
    "naive": ("boto3", "api_discovery.local.demo_estate", "bench.naive"),
    "run_local": ("boto3", "api_discovery.local.runner", "api_discovery.steps.plan"),
    "plan": ("api_discovery.steps.plan", "api_discovery.blobs", "api_discovery.store.registry"),
    "synth": ("bench.fleet",),
    "freshness": ("boto3", "api_discovery.local.runner", "bench.freshness"),
}
Task = Callable[[dict[str, Any]], dict[str, Any]]
ROLE_NAME = "ApiDiscoveryReadOnly"


def peak_rss_mb() -> float:
    """This process's peak resident memory. On Linux, VmHWM: ru_maxrss would also count the parent's memory,
    which the kernel carries over into a child's high-water mark through fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def scan_options(rates: dict[str, float], scope: str, page_size: int) -> ScanOptions:
    """The scanner's own call budget for the quotas the emulator enforces (AWS's, or the same scaled), as the
    product sets it for AWS's."""
    from api_discovery.collect.budget import Rates  # noqa: PLC0415 - see TASK_MODULES
    from api_discovery.local.quota_emulator import QuotaRates  # noqa: PLC0415
    from api_discovery.steps.target_scan import ScanOptions  # noqa: PLC0415

    if scope not in ("account", "account-region"):
        raise ValueError(f"unknown quota scope {scope!r}")
    quota = QuotaRates(**rates)
    budget = Rates.within(quota.rate, quota.burst, quota.get_resources_rate, quota.get_resources_burst)
    return ScanOptions(page_size=page_size, rates=budget, scope="account" if scope == "account" else "account-region")


def scan(request: dict[str, Any]) -> dict[str, Any]:
    import boto3  # noqa: PLC0415 - see TASK_MODULES

    from api_discovery.inventory import snapshots  # noqa: PLC0415
    from api_discovery.steps.target_scan import scan_target  # noqa: PLC0415
    from api_discovery.targets import Target  # noqa: PLC0415

    account = request["account"]
    target = Target(
        run_id="bench",
        account_id=account,
        region=request["region"],
        role_arn=f"arn:aws:iam::{account}:role/{ROLE_NAME}",
        external_id=f"bench-{account}",
        global_services=request.get("global_services", True),  # one region: the account's global one
    )
    options = scan_options(request["rates"], request["scope"], request["page_size"])
    started = time.perf_counter()
    snapshot = scan_target(target, session_factory=boto3.Session, options=options)
    seconds = time.perf_counter() - started
    scan_rss = peak_rss_mb()
    # What the scan Lambda does next: the snapshot as the gzip JSON it stores.
    encoded = snapshots.encode(snapshot)
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": scan_rss,
        "peak_rss_with_snapshot_mb": peak_rss_mb(),
        "snapshot_gz_mb": round(len(encoded) / 2**20, 2),
        "status": snapshot.status,
        "errors": [f"{e.operation} {e.resource}: {e.code}: {e.message}"[:300] for e in snapshot.errors[:10]],
        "error_count": len(snapshot.errors),
        "api_calls": snapshot.api_calls,
        "apis": len(snapshot.apis),
        "routes": sum(len(a.routes) for a in snapshot.apis),
        "stages": sum(len(a.stages) for a in snapshot.apis),
        "domains": len(snapshot.domains),
        "mappings": sum(len(d.mappings) for d in snapshot.domains),
        "function_urls": len(snapshot.function_urls),
        "entry_points": len(snapshot.entry_points),
        "content_hash": snapshots.content_hash(snapshot),
    }


def account_scan(request: dict[str, Any]) -> dict[str, Any]:
    """One account's region as the scan Lambda scans it: the product's budget (`quota_share` of AWS's quota),
    shared through the quota lease in the vendor's table with any other execution scanning the account."""
    import boto3  # noqa: PLC0415 - see TASK_MODULES

    from api_discovery.blobs import LocalBlobStore  # noqa: PLC0415
    from api_discovery.collect.budget import Rates  # noqa: PLC0415
    from api_discovery.steps.scan import scan_account  # noqa: PLC0415
    from api_discovery.steps.target_scan import ScanOptions  # noqa: PLC0415
    from api_discovery.store.state import StateStore  # noqa: PLC0415
    from api_discovery.targets import AccountTarget  # noqa: PLC0415

    account, region = request["account"], request["region"]
    options = ScanOptions(page_size=request["page_size"], rates=Rates.of_quota(request["quota_share"]))
    budget = options.budget(account, region)
    shares: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            shares.append(budget.share_factor)

    item = AccountTarget(
        run_id=request["run_id"],
        account_id=account,
        regions=[region],
        role_arn=f"arn:aws:iam::{account}:role/{ROLE_NAME}",
    )
    state = StateStore(boto3.client("dynamodb", region_name="us-east-1"), request["table"])
    sampler = threading.Thread(target=sample, daemon=True)
    with tempfile.TemporaryDirectory(prefix="bench-account-") as tmp:
        sampler.start()
        started_at, started = time.time(), time.perf_counter()
        result = scan_account(
            item,
            blobs=LocalBlobStore(Path(tmp)),
            state=state,
            session_factory=boto3.Session,
            external_id=f"bench-{account}",
            options=options,
        )
        seconds, ended_at = time.perf_counter() - started, time.time()
        done.set()
        sampler.join()
    targets = result.finished()
    return {
        "seconds": round(seconds, 3),
        "started_at": started_at,
        "ended_at": ended_at,
        "status": targets[0].status if len(targets) == 1 else "missing",
        "apis": sum(t.api_count for t in targets),
        "routes": sum(t.route_count for t in targets),
        "api_calls": sum(t.api_calls for t in targets),
        "retries": sum(t.retries for t in targets),
        "slowdowns": budget.slowdowns,
        "share_factor_min": min(shares, default=budget.share_factor),
    }


def naive(request: dict[str, Any]) -> dict[str, Any]:
    from api_discovery.local.demo_estate import account_session  # noqa: PLC0415
    from bench.naive import naive_collect  # noqa: PLC0415

    session = account_session(request["endpoint_url"], request["account"])
    result = naive_collect(session, request["region"], page_size=request["page_size"], workers=request["workers"])
    return {
        "seconds": round(result.seconds, 3),
        "api_calls": result.calls,
        "apis": result.apis,
        "methods": result.methods,
    }


def local_run(request: dict[str, Any]) -> dict[str, Any]:
    import boto3  # noqa: PLC0415 - see TASK_MODULES

    from api_discovery.blobs import LocalBlobStore  # noqa: PLC0415
    from api_discovery.local.runner import run_local  # noqa: PLC0415
    from api_discovery.steps.plan import PlanSettings, ScanRequest  # noqa: PLC0415
    from api_discovery.store.registry import RegisteredAccount  # noqa: PLC0415

    registered = [
        RegisteredAccount(account_id=a, regions=request["regions"], role_name=ROLE_NAME, external_id=f"bench-{a}")
        for a in request["accounts"]
    ]
    settings = PlanSettings(default_regions=request["regions"])
    options = scan_options(request["rates"], request["scope"], request["page_size"])
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        started = time.perf_counter()
        run = run_local(
            ScanRequest(source="request", accounts=request["accounts"], run_id=request.get("run_id", "bench")),
            registered=registered,
            settings=settings,
            blobs=LocalBlobStore(Path(tmp)),
            state=None,
            session_factory=boto3.Session,
            max_workers=request["max_workers"],
            options=options,
        )
        seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "by_status": run.summary.by_status,
        "targets": [
            {
                "account": r.account_id,
                "region": r.region,
                "status": r.status,
                "reason": r.reason,
                "apis": r.api_count,
                "routes": r.route_count,
                "api_calls": r.api_calls,
            }
            for r in run.results
        ],
    }


def plan_manifest(request: dict[str, Any]) -> dict[str, Any]:
    from api_discovery.blobs import LocalBlobStore  # noqa: PLC0415 - see TASK_MODULES
    from api_discovery.steps.plan import PlanSettings, ScanRequest, plan  # noqa: PLC0415
    from api_discovery.store.registry import RegisteredAccount  # noqa: PLC0415

    regions: list[str] = request["regions"]
    registered = [
        RegisteredAccount(account_id=f"{n:012d}", role_name=ROLE_NAME, external_id=f"bench-{n:012d}")
        for n in range(1, request["accounts"] + 1)
    ]
    settings = PlanSettings(default_regions=regions, max_targets=max(200_000, len(registered) * len(regions)))
    input_rss = peak_rss_mb()
    traced = bool(request.get("tracemalloc"))
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        blobs = LocalBlobStore(Path(tmp))
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        planned = plan(
            ScanRequest(source="schedule", run_id="bench-plan"), registered=registered, settings=settings, blobs=blobs
        )
        seconds = time.perf_counter() - started
        plan_rss = peak_rss_mb()  # before anything below reads the manifest back
        traced_peak = tracemalloc.get_traced_memory()[1] if traced else None
        if traced:
            tracemalloc.stop()
        manifest_bytes = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": plan_rss,
        "targets": planned.targets,
        "accounts": planned.count,
        "manifest_mb": round(manifest_bytes / 2**20, 1),
        "input_rss_mb": input_rss,
        "traced_peak_mb": round(traced_peak / 2**20, 1) if traced_peak is not None else None,
    }


def synth(request: dict[str, Any]) -> dict[str, Any]:
    from bench.fleet import synth_deployment  # noqa: PLC0415 - see TASK_MODULES

    # What CDK and its bundling print goes to stderr: stdout carries this worker's one JSON result.
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        return synth_deployment()
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def freshness(request: dict[str, Any]) -> dict[str, Any]:
    from bench.freshness import run_timeline  # noqa: PLC0415 - see TASK_MODULES

    # The handlers log and print metrics to stdout, as in Lambda: here stdout carries the one JSON result.
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        return run_timeline(request)
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


TASKS: dict[str, Task] = {
    "scan": scan,
    "account_scan": account_scan,
    "naive": naive,
    "run_local": local_run,
    "plan": plan_manifest,
    "synth": synth,
    "freshness": freshness,
}


def main() -> None:
    request = json.load(sys.stdin)
    for module in TASK_MODULES[request["task"]]:
        importlib.import_module(module)
    baseline = peak_rss_mb()
    result = TASKS[request["task"]](request)
    json.dump({"baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb(), **result}, sys.stdout)


if __name__ == "__main__":
    main()
