"""The scan step against what goes wrong over time: a corrupt snapshot in a target's history, and an
invocation that makes no progress."""

from __future__ import annotations

import boto3
import pytest

from api_discovery.blobs import S3BlobStore
from api_discovery.inventory.results import AccountResult
from api_discovery.local.emulator import Emulator
from api_discovery.steps.scan import scan_account
from api_discovery.store.state import StateStore, create_table
from api_discovery.store.tracking import read_change_set
from api_discovery.targets import AccountTarget
from tests.integration.builders import Builder, RestApi, options

ACCOUNT, REGION = "530000000001", "eu-west-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ApiDiscoveryReadOnly"
Vendor = tuple[S3BlobStore, StateStore]


@pytest.fixture
def builder(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Builder:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    return Builder(fresh_emulator.url, ACCOUNT, REGION)


@pytest.fixture
def vendor(builder: Builder) -> Vendor:
    session = boto3.Session(region_name="us-east-1")
    session.client("s3").create_bucket(Bucket="vendor")
    create_table(session.client("dynamodb"), "vendor")
    return S3BlobStore(session.client("s3"), "vendor"), StateStore(session.client("dynamodb"), "vendor")


def _orders(b: Builder) -> RestApi:
    api = b.rest_api("orders")
    b.resource(api, "/orders")
    b.method(api, "/orders", "GET", integration={"type": "MOCK"})
    b.v1.create_deployment(restApiId=api.id, stageName="prod")
    return api


def _scan(vendor: Vendor, item: AccountTarget, time_left: float | None = None) -> AccountResult:
    blobs, state = vendor
    return scan_account(
        item,
        blobs=blobs,
        state=state,
        session_factory=boto3.Session,
        external_id="ext-530",
        options=options(),
        time_left=(lambda: time_left) if time_left is not None else None,
    )


def _item(run_id: str) -> AccountTarget:
    return AccountTarget(run_id=run_id, account_id=ACCOUNT, regions=[REGION], role_arn=ROLE)


def test_a_corrupt_snapshot_in_history_does_not_fail_the_later_scans(builder: Builder, vendor: Vendor) -> None:
    blobs, state = vendor
    orders = _orders(builder)
    (first,) = _scan(vendor, _item("20260101T000000Z-aaaa")).finished()
    assert first.status == "complete" and first.snapshot_key
    blobs.put(first.snapshot_key, blobs.get(first.snapshot_key)[:-8])  # truncated in storage

    builder.resource(orders, "/refunds")
    builder.method(orders, "/refunds", "POST", integration={"type": "MOCK"})
    (second,) = _scan(vendor, _item("20260102T000000Z-bbbb")).finished()
    assert second.status == "complete", second.reason
    assert second.changes_key and read_change_set(blobs, second.changes_key).baseline == "unreadable"
    target = state.target(ACCOUNT, REGION)
    assert target is not None and target["complete_snapshot_key"] == second.snapshot_key  # the pointer moved on

    builder.resource(orders, "/returns")
    builder.method(orders, "/returns", "GET", integration={"type": "MOCK"})
    (third,) = _scan(vendor, _item("20260103T000000Z-cccc")).finished()
    assert third.status == "complete" and third.changes_key
    diffed = read_change_set(blobs, third.changes_key)
    assert (diffed.baseline, diffed.previous_snapshot_key) == ("previous-complete", second.snapshot_key)
    assert [(c.type, c.subject) for c in diffed.changes if c.type.startswith("route")] == [
        ("route_added", "GET /returns")
    ]


def test_an_invocation_that_makes_no_progress_fails_the_target_with_the_reason(
    builder: Builder, vendor: Vendor
) -> None:
    blobs, state = vendor
    _orders(builder)
    (earlier,) = _scan(vendor, _item("20260101T000000Z-aaaa")).finished()
    # Less time than a scan keeps in reserve, at every invocation: each would stop before reading an API.
    item = _item("20260102T000000Z-bbbb")
    first = _scan(vendor, item, time_left=0.0)
    assert first.status == "in_progress" and first.continuation  # it listed the APIs: that is progress
    resumed = _scan(vendor, item.model_copy(update={"continuation": first.continuation}), time_left=0.0)
    assert resumed.status == "done" and resumed.continuation is None
    (stuck,) = resumed.finished()
    assert stuck.status == "failed" and stuck.reason and stuck.reason.startswith("no progress: invocation 2")
    target = state.target(ACCOUNT, REGION)
    assert target is not None and target["complete_snapshot_key"] == earlier.snapshot_key  # still the truth
    assert stuck.snapshot_key and blobs.keys(stuck.snapshot_key)
