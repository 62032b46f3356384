"""A scan stopped by its time limit resumes where it stopped: nothing lost, nothing read twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import boto3
import pytest

from api_discovery.blobs import S3BlobStore
from api_discovery.inventory.results import TargetResult
from api_discovery.inventory.snapshots import read_snapshot
from api_discovery.local.emulator import Emulator
from api_discovery.steps.scan import scan
from api_discovery.store.state import StateStore, create_table
from api_discovery.targets import Target
from tests.integration.builders import Builder, options

ACCOUNT, REGION = "510987654321", "ap-southeast-2"


def _deadline(checks_with_time: int) -> Callable[[], float]:
    """Plenty of time for the first checks, then none: the Lambda is about to time out."""
    calls = {"n": 0}

    def time_left() -> float:
        calls["n"] += 1
        return 900.0 if calls["n"] <= checks_with_time else 0.0

    return time_left


@pytest.fixture
def vendor(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> tuple[S3BlobStore, StateStore]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    for i in range(7):
        api = b.rest_api(f"rest-{i}")
        b.resource(api, "/items")
        b.method(api, "/items", "GET", integration={"type": "MOCK"})
        b.v1.create_deployment(restApiId=api.id, stageName="prod")
        http = b.http_api(f"http-{i}")
        b.route(http, "GET /items")
    session = boto3.Session(region_name="us-east-1")
    session.client("s3").create_bucket(Bucket="vendor")
    create_table(session.client("dynamodb"), "vendor")
    return S3BlobStore(session.client("s3"), "vendor"), StateStore(session.client("dynamodb"), "vendor")


def _target(run_id: str) -> Target:
    return Target(run_id=run_id, account_id=ACCOUNT, region=REGION, role_arn=f"arn:aws:iam::{ACCOUNT}:role/r")


def test_a_time_limit_mid_target_continues_to_the_same_snapshot(vendor: tuple[S3BlobStore, StateStore]) -> None:
    blobs, state = vendor
    one_at_a_time = replace(options(), workers=1)  # a window of 4 APIs: the limit hits mid-target

    whole = scan(_target("whole"), blobs=blobs, state=None, session_factory=boto3.Session, options=one_at_a_time)
    assert whole.status == "complete"

    invocations: list[TargetResult] = []
    result = scan(
        _target("resumed"),
        blobs=blobs,
        state=state,
        session_factory=boto3.Session,
        options=one_at_a_time,
        time_left=_deadline(1),
    )
    invocations.append(result)
    while result.continuation:
        assert result.status == "in_progress" and state.target(ACCOUNT, REGION) is None  # nothing current yet
        result = scan(
            _target("resumed"),
            blobs=blobs,
            state=state,
            session_factory=boto3.Session,
            options=one_at_a_time,
            time_left=_deadline(1),
            continuation=result.continuation,
        )
        invocations.append(result)

    assert len(invocations) >= 3, [r.reason for r in invocations]
    assert result.status == "complete" and result.api_count == 14
    assert result.content_hash == whole.content_hash
    assert whole.snapshot_key is not None and result.snapshot_key is not None
    uninterrupted, resumed = read_snapshot(blobs, whole.snapshot_key), read_snapshot(blobs, result.snapshot_key)
    assert resumed.apis == uninterrupted.apis and resumed.domains == uninterrupted.domains
    assert resumed.api_calls == uninterrupted.api_calls  # no call repeated across invocations
    current = state.target(ACCOUNT, REGION)
    assert current is not None and current["status"] == "complete" and current["api_count"] == 14
