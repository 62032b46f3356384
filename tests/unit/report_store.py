"""A folder holding two runs, as the demo or `scan` leave it, for the report and diff tests."""

from __future__ import annotations

from pathlib import Path

from api_discovery.blobs import LocalBlobStore
from api_discovery.inventory.model import Snapshot
from api_discovery.inventory.results import AccountResult
from api_discovery.inventory.snapshots import write_snapshot
from api_discovery.local.runner import write_map_results
from api_discovery.steps.finalize import finalize
from api_discovery.steps.plan import ManifestRef, PlanResult, json_array
from api_discovery.steps.scan import summarize
from api_discovery.store.tracking import track
from api_discovery.targets import AccountTarget
from tests.unit.estate_factory import VPCE_POLICY, api, domain, function_url, route, snapshot, stage

RUN1, RUN2 = "20260101T000000Z-aaaa", "20260102T000000Z-bbbb"
OTHER_ACCOUNT = "222222222222"
HOSTILE = '<img src=x onerror="document.title=1">'
# A function URL behind IAM, the same in both runs: an entry point, no finding, no change.
EXPORTS_URL = function_url("reports-export", "AWS_IAM")


def _other(s: Snapshot) -> Snapshot:
    return s.model_copy(update={"account_id": OTHER_ACCOUNT})


def build(root: Path) -> LocalBlobStore:
    """Run 1: two targets scanned. Run 2: the first changes (a route loses its authorizer, an API appears),
    the second fails and so is shown as of run 1."""
    blobs = LocalBlobStore(root)
    first = snapshot(
        [
            api(
                "r1",
                name="orders",
                routes=[route("GET", "/orders", auth="COGNITO_USER_POOLS"), route("POST", "/admin")],
            ),
            api("p1", name="ledger", endpoint="PRIVATE", policy=VPCE_POLICY),
        ],
        domains=[domain("api.example.com", ("", "r1", "prod"), security_policy="TLS_1_0")],
        function_urls=[EXPORTS_URL],
        run=RUN1,
    )
    other = _other(snapshot([api("h1", "HTTP", name="payments", routes=[route(auth="NONE")])], run=RUN1))
    _record(blobs, RUN1, [(first, None), (other, None)])
    second = snapshot(
        [
            api("r1", name="orders", routes=[route("GET", "/orders", auth="NONE"), route("POST", "/admin")]),
            api("p1", name="ledger", endpoint="PRIVATE", policy=VPCE_POLICY),
            api("w1", "WEBSOCKET", name=HOSTILE, routes=[route("*", "$connect", auth="NONE")], stages=[stage("live")]),
        ],
        domains=[domain("api.example.com", ("", "r1", "prod"), security_policy="TLS_1_0")],
        function_urls=[EXPORTS_URL],
        run=RUN2,
        at="2026-01-02T00:00:00.000000Z",
    )
    failed = _other(snapshot([], run=RUN2, at="2026-01-02T00:00:00.000000Z", status="failed"))
    _record(blobs, RUN2, [(second, first), (failed, other)])
    return blobs


def _record(blobs: LocalBlobStore, run: str, scans: list[tuple[Snapshot, Snapshot | None]]) -> None:
    results = []
    for new, previous in scans:
        ref = write_snapshot(blobs, new)
        change_set = track(blobs, new, ref, write_snapshot(blobs, previous).key if previous else None)
        results.append(summarize(new, ref, changes=change_set))
    started = f"{run[:4]}-{run[4:6]}-{run[6:8]}T00:00:00.000000Z"
    items = [AccountTarget(run_id=run, account_id=r.account_id, regions=[r.region]) for r in results]
    manifest = ManifestRef(key=f"manifests/run={run}.json")
    blobs.put(manifest.key, json_array(items))
    accounts = [
        AccountResult(run_id=run, account_id=r.account_id, status="done", regions=[r.region], targets=[r])
        for r in results
    ]
    plan = PlanResult(run_id=run, count=len(items), manifest=manifest, started_at=started)
    finalize(plan, write_map_results(blobs, run, 0, accounts), blobs=blobs)
