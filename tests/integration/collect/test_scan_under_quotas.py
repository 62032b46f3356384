"""Scans against the emulator enforcing API Gateway's quotas: never failed or incomplete because of throttling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from api_discovery.blobs import LocalBlobStore
from api_discovery.inventory.snapshots import content_hash, read_snapshot
from api_discovery.local.emulator import Emulator
from api_discovery.local.quota_emulator import QuotaMiddleware, QuotaRates
from api_discovery.local.runner import run_local
from api_discovery.steps.plan import PlanSettings, ScanRequest
from api_discovery.steps.target_scan import ScanOptions, scan_target
from api_discovery.store.registry import RegisteredAccount
from api_discovery.targets import Target
from tests.integration.builders import Builder, options

ACCOUNT = "414141414141"
REGIONS = ["eu-west-1", "us-east-1", "ap-south-1"]
# Twice AWS's rate with a small burst, GetResources far tighter: a scan with no budget at all is refused even on
# a busy machine, where its own pace is slower than the quota's.
TIGHT = QuotaRates(rate=20.0, burst=5.0, get_resources_rate=5.0, get_resources_burst=2.0)


@pytest.fixture
def estate(fresh_emulator: Emulator) -> None:
    for region in REGIONS:
        b = Builder(fresh_emulator.url, ACCOUNT, region)
        for i in range(5):
            api = b.rest_api(f"rest-{i}")
            for path in ("/a", "/b"):
                b.resource(api, path)
                b.method(api, path, "GET", integration={"type": "MOCK"})
            b.v1.create_deployment(restApiId=api.id, stageName="prod")
            http = b.http_api(f"http-{i}")
            b.route(http, "GET /x")
    # Lambda's quota is its own (15 per second per account and region): enough functions to pass its burst.
    b = Builder(fresh_emulator.url, ACCOUNT, REGIONS[0])
    for i in range(40):
        b.function(f"fn-{i:02d}")
        if i < 8:
            b.function_url(f"fn-{i:02d}", "NONE" if i % 2 == 0 else "AWS_IAM", public=i % 2 == 0)


def _limited(rates: QuotaRates, monkeypatch: pytest.MonkeyPatch) -> Iterator[QuotaMiddleware]:
    quota = QuotaMiddleware(rates, scope="account")
    with Emulator(middlewares=[quota]) as running:  # the same moto estate, with quotas in front
        monkeypatch.setenv("AWS_ENDPOINT_URL", running.url)
        yield quota


@pytest.fixture
def tight(estate: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[QuotaMiddleware]:
    yield from _limited(TIGHT, monkeypatch)


@pytest.fixture
def aws(estate: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[QuotaMiddleware]:
    """API Gateway's own quotas: 10 per second, burst 40; GetResources 5 per 2 seconds."""
    yield from _limited(QuotaRates(), monkeypatch)


def _target(region: str, run_id: str = "r") -> Target:
    return Target(run_id=run_id, account_id=ACCOUNT, region=region, role_arn=f"arn:aws:iam::{ACCOUNT}:role/r")


def test_throttled_scan_completes_with_the_same_content_as_an_unthrottled_one(
    fresh_emulator: Emulator, tight: QuotaMiddleware, monkeypatch: pytest.MonkeyPatch
) -> None:
    quota = tight
    # No client budget at all: every call the quota refuses is answered 429 and retried by botocore.
    throttled = scan_target(_target("eu-west-1"), session_factory=boto3.Session, options=options())
    assert quota.quotas.throttled() > 0, "the quota never pushed back: the test proves nothing"
    assert throttled.status == "complete", throttled.errors
    assert sum(throttled.api_retries.values()) > 0

    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    unthrottled = scan_target(_target("eu-west-1"), session_factory=boto3.Session, options=options())
    assert throttled.apis == unthrottled.apis and content_hash(throttled) == content_hash(unthrottled)


def test_the_default_budget_keeps_a_scan_within_the_quota(aws: QuotaMiddleware) -> None:
    quota = aws
    snapshot = scan_target(_target("eu-west-1"), session_factory=boto3.Session, options=ScanOptions())
    assert snapshot.status == "complete", snapshot.errors
    assert quota.quotas.throttled() == 0 and snapshot.api_retries == {}
    assert quota.quotas.allowed() == sum(snapshot.api_calls.values())
    assert len(snapshot.function_urls) == 8 and snapshot.api_calls["lambda:ListFunctionUrlConfigs"] == 40


def test_one_invocation_scanning_an_accounts_regions_at_once_stays_within_its_quota(
    aws: QuotaMiddleware, tmp_path: Path
) -> None:
    quota = aws
    # As in the deployed workflow: one invocation per account, its regions at once under one budget.
    run = run_local(
        ScanRequest(source="schedule"),
        registered=[RegisteredAccount(account_id=ACCOUNT, role_name="r", external_id="ext-q", regions=REGIONS)],
        settings=PlanSettings(default_regions=REGIONS),
        blobs=LocalBlobStore(tmp_path),
        state=None,
        session_factory=boto3.Session,
        max_workers=3,
        options=ScanOptions(),
    )
    assert [r.status for r in run.results] == ["complete"] * 3
    assert run.plan.count == 1  # one Map item, so one process and one budget for the account
    # Zero 429s at AWS's real rates, with all three regions drawing on the account's quota at once.
    assert quota.quotas.throttled() == 0
    assert sum(r.retries for r in run.results) == 0
    assert quota.quotas.allowed() == sum(r.api_calls for r in run.results)
    store = LocalBlobStore(tmp_path)
    assert all(len(read_snapshot(store, r.snapshot_key or "").apis) == 10 for r in run.results)
