"""Two executions scanning the same account at once, as a sweep and a change-event run do, share one budget
through the quota lease in the vendor's table: together they stay within the scan's share of the quota."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from api_discovery.blobs import S3BlobStore
from api_discovery.collect.budget import BudgetPool, CallBudget
from api_discovery.inventory.results import AccountResult
from api_discovery.local.emulator import Emulator
from api_discovery.local.quota_emulator import QuotaMiddleware
from api_discovery.steps.scan import scan_account
from api_discovery.steps.target_scan import ScanOptions
from api_discovery.store.quota_lease import QuotaLease, quota_key
from api_discovery.store.state import StateStore, create_table, from_item, to_item
from api_discovery.targets import AccountTarget
from tests.integration.builders import Builder

ACCOUNT = "530000000001"
REGION = "eu-west-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ApiDiscoveryReadOnly"


@pytest.fixture
def vendor(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[S3BlobStore, StateStore]]:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    for i in range(8):
        api = b.rest_api(f"rest-{i}")
        b.resource(api, "/items")
        b.method(api, "/items", "GET", integration={"type": "MOCK"})
        b.v1.create_deployment(restApiId=api.id, stageName="prod")
    for i in range(4):
        b.route(b.http_api(f"http-{i}"), "GET /items")
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    session = boto3.Session(region_name="us-east-1")
    session.client("s3").create_bucket(Bucket="vendor")
    create_table(session.client("dynamodb"), "vendor")
    yield S3BlobStore(session.client("s3"), "vendor"), StateStore(session.client("dynamodb"), "vendor")


@pytest.fixture
def quota(vendor: tuple[S3BlobStore, StateStore], monkeypatch: pytest.MonkeyPatch) -> Iterator[QuotaMiddleware]:
    """AWS's own quotas in front of the same estate: 10 per second, burst 40; GetResources 5 per 2 seconds."""
    middleware = QuotaMiddleware(scope="account", record_events=True)
    with Emulator(middlewares=[middleware]) as limited:
        monkeypatch.setenv("AWS_ENDPOINT_URL", limited.url)
        yield middleware


def test_two_executions_scanning_one_account_share_its_budget(
    vendor: tuple[S3BlobStore, StateStore], quota: QuotaMiddleware
) -> None:
    blobs, state = vendor
    # Each its own budget, as two Lambdas have: only the lease in the table ties them together.
    pools = [BudgetPool(), BudgetPool()]
    options = [ScanOptions(budgets=pool) for pool in pools]
    budgets: list[CallBudget] = [o.budget(ACCOUNT, REGION) for o in options]
    shares: list[tuple[float, float]] = []
    running = threading.Event()

    def sample() -> None:
        while not running.wait(0.1):
            shares.append((budgets[0].share_factor, budgets[1].share_factor))

    def scan(n: int) -> AccountResult:
        item = AccountTarget(run_id=f"20261202T00000{n}Z-run{n}", account_id=ACCOUNT, regions=[REGION], role_arn=ROLE)
        return scan_account(
            item,
            blobs=blobs,
            state=StateStore(boto3.Session(region_name="us-east-1").client("dynamodb"), state.table),
            session_factory=boto3.Session,
            external_id="ext-530",
            options=options[n],
        )

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(scan, range(2)))
    running.set()
    sampler.join()
    elapsed = time.monotonic() - started

    assert [t.status for r in results for t in r.finished()] == ["complete", "complete"]
    # Each alone would spend 60% of the quota: both at once, 120%, refused at once for their two bursts.
    assert quota.quotas.throttled() == 0, [c for c in quota.quotas.counts() if c.throttled]
    assert (0.5, 0.5) in shares  # while both ran, each spent half the share
    assert budgets[0].share_factor == budgets[1].share_factor == 1.0  # and each left its place at the end
    calls = quota.quotas.allowed()
    # Together no faster than one budget at 6 per second after its burst of 24 (two budgets: twice as fast).
    assert elapsed >= 0.85 * (calls - 24) / 6.0, (elapsed, calls)
    record = state.client.get_item(TableName=state.table, Key=to_item(quota_key(ACCOUNT)))["Item"]
    assert from_item(record)["holders"] == {}


def test_executions_joining_at_the_same_moment_each_count_the_other(vendor: tuple[S3BlobStore, StateStore]) -> None:
    # DynamoDB applies conditional updates of one item atomically; the emulator must too, or two scans
    # starting together would each find itself alone.
    _, state = vendor
    clients = [boto3.Session(region_name="us-east-1").client("dynamodb") for _ in range(2)]
    for attempt in range(30):
        together = threading.Barrier(2)

        def join(n: int, attempt: int = attempt, together: threading.Barrier = together) -> int:
            lease = QuotaLease(clients[n], state.table, f"{ACCOUNT}-{attempt}", holder=f"execution-{n}")
            together.wait()
            return lease.renew()

        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = sorted(pool.map(join, range(2)))
        assert counts == [1, 2], attempt
        record = state.client.get_item(TableName=state.table, Key=to_item(quota_key(f"{ACCOUNT}-{attempt}")))
        assert set(from_item(record["Item"])["holders"]) == {"execution-0", "execution-1"}
