"""A failure is 'unknown', never 'empty': permission gaps, refused roles, bad regions."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from api_discovery.blobs import LocalBlobStore, S3BlobStore
from api_discovery.local.emulator import Emulator
from api_discovery.local.runner import run_local
from api_discovery.steps.plan import PlanSettings, ScanRequest
from api_discovery.steps.target_scan import scan_target
from api_discovery.store.registry import RegisteredAccount
from api_discovery.store.state import StateStore, create_table
from api_discovery.targets import Target
from tests.integration.builders import Builder, options, scan_region

ACCOUNT, REGION = "410987654321", "eu-central-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ApiDiscoveryReadOnly"


def _target(run_id: str = "run-1", region: str = REGION) -> Target:
    return Target(run_id=run_id, account_id=ACCOUNT, region=region, role_arn=ROLE, external_id="ext-4")


@pytest.fixture
def estate(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    rest = b.rest_api("orders")
    b.resource(rest, "/orders")
    b.method(rest, "/orders", "GET", integration={"type": "MOCK"})
    b.v1.create_deployment(restApiId=rest.id, stageName="prod")
    http = b.http_api("shop")
    b.route(http, "GET /items")
    return {"rest": rest.id, "http": http}


def test_access_denied_on_one_operation_is_a_recorded_gap(estate: dict[str, str], fresh_emulator: Emulator) -> None:
    fresh_emulator.deny_operation(ACCOUNT, "apigateway:GetStages")
    snapshot = scan_target(_target(), session_factory=boto3.Session, options=options())
    assert snapshot.status == "partial"
    (gap,) = snapshot.errors
    assert (gap.kind, gap.operation, gap.resource) == (
        "permission",
        "apigateway:GetStages",
        f"restapis/{estate['rest']}",
    )
    assert gap.code == "AccessDeniedException"
    rest = next(a for a in snapshot.apis if a.id == estate["rest"])
    assert [r.path for r in rest.routes] == ["/orders"] and rest.stages == []
    assert {a.id for a in snapshot.apis} == set(estate.values())


def test_a_denied_api_list_is_not_an_empty_one(estate: dict[str, str], fresh_emulator: Emulator) -> None:
    fresh_emulator.deny_operation(ACCOUNT, "apigateway:GetRestApis")
    snapshot = scan_target(_target(), session_factory=boto3.Session, options=options())
    assert snapshot.status == "partial"
    assert [e.operation for e in snapshot.errors] == ["apigateway:GetRestApis"]
    assert [a.id for a in snapshot.apis] == [estate["http"]]


def test_unknown_region_fails_without_a_call(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    snapshot = scan_target(_target(region="zz-north-9"), session_factory=boto3.Session, options=options())
    assert snapshot.status == "failed" and snapshot.apis == []
    assert snapshot.errors[0].kind == "region" and "unknown region 'zz-north-9'" in snapshot.errors[0].message
    assert fresh_emulator.requests.entries() == []


def test_denied_role_fails_the_target_and_keeps_earlier_state(estate: dict[str, str], fresh_emulator: Emulator) -> None:
    vendor = boto3.Session(region_name="us-east-1")
    s3, dynamodb = vendor.client("s3"), vendor.client("dynamodb")
    s3.create_bucket(Bucket="vendor")
    create_table(dynamodb, "vendor")
    blobs, state = S3BlobStore(s3, "vendor"), StateStore(dynamodb, "vendor")

    first = scan_region(_target("run-1"), blobs=blobs, state=state, session_factory=boto3.Session, options=options())
    assert first.status == "complete" and first.api_count == 2

    fresh_emulator.deny_assume_role(ROLE)
    second = scan_region(_target("run-2"), blobs=blobs, state=state, session_factory=boto3.Session, options=options())
    assert second.status == "failed" and second.api_count == 0
    assert second.reason is not None and "cannot assume" in second.reason and "AccessDenied" in second.reason

    current = {i["api_id"]: i for i in state.apis(ACCOUNT, REGION)}
    assert set(current) == set(estate.values())
    assert all(i["state"] == "present" and i["run_id"] == "run-1" for i in current.values())
    target = state.target(ACCOUNT, REGION)
    assert target is not None
    assert (target["status"], target["complete_run_id"]) == ("failed", "run-1")
    assert "cannot assume" in target["reason"]


def test_the_local_runner_records_a_crashed_target_and_finishes_the_run(
    estate: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def crash(**_: object) -> boto3.Session:
        raise RuntimeError("simulated crash")

    run = run_local(
        ScanRequest(source="cli"),
        registered=[
            RegisteredAccount(
                account_id=ACCOUNT, role_name="ApiDiscoveryReadOnly", external_id="ext-4", regions=[REGION]
            )
        ],
        settings=PlanSettings(default_regions=[REGION], split_budget=False),
        blobs=LocalBlobStore(tmp_path),
        state=None,
        session_factory=crash,
        options=options(),
    )
    (result,) = run.results
    assert (result.status, result.reason) == ("failed", "RuntimeError: simulated crash")
    assert run.summary.by_status == {"failed": 1} and LocalBlobStore(tmp_path).keys("runs/")
