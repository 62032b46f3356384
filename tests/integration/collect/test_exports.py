"""Optional OpenAPI exports: stored once per deployment, fetched again only when a deployment changes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

from api_discovery.blobs import LocalBlobStore
from api_discovery.inventory.snapshots import read_snapshot
from api_discovery.local.emulator import Emulator
from api_discovery.targets import Target
from tests.integration.builders import Builder, options, scan_region

ACCOUNT, REGION = "610987654321", "eu-north-1"
EXPORTING = replace(options(), exports=True)


@pytest.fixture
def builder(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Builder:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    return Builder(fresh_emulator.url, ACCOUNT, REGION)


def _scan(store: LocalBlobStore, run_id: str) -> tuple[dict[str, int], dict[str, str | None]]:
    target = Target(run_id=run_id, account_id=ACCOUNT, region=REGION, role_arn=f"arn:aws:iam::{ACCOUNT}:role/r")
    result = scan_region(target, blobs=store, state=None, session_factory=boto3.Session, options=EXPORTING)
    assert result.status == "complete" and result.snapshot_key is not None, result.reason
    snapshot = read_snapshot(store, result.snapshot_key)
    keys = {f"{a.id}/{s.name}": s.export_key for a in snapshot.apis for s in a.stages}
    return snapshot.api_calls, keys


def test_exports_are_stored_once_per_deployment(builder: Builder, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    rest = builder.rest_api("orders")
    builder.method(rest, "/", "GET", integration={"type": "MOCK"})
    builder.v1.create_deployment(restApiId=rest.id, stageName="prod")
    builder.v1.create_deployment(restApiId=rest.id, stageName="dev")
    http = builder.http_api("shop")
    builder.route(http, "GET /items")
    builder.v2.create_stage(ApiId=http, StageName="live", DeploymentId="d-shop-1")  # moto has no CreateDeployment
    ws = builder.http_api("chat", "WEBSOCKET")
    builder.v2.create_stage(ApiId=ws, StageName="live", DeploymentId="d-chat-1")

    calls, keys = _scan(store, "first")
    assert (calls.get("apigateway:GetExport"), calls.get("apigatewayv2:ExportApi")) == (2, 1)
    assert keys[f"{ws}/live"] is None  # AWS has no export for WebSocket APIs
    shop = keys[f"{http}/live"]
    assert shop is not None and json.loads(store.get(shop))["paths"] == {"/items": {"get": {}}}
    assert all(keys[f"{rest.id}/{stage}"] for stage in ("prod", "dev"))

    calls, unchanged = _scan(store, "second")
    assert "apigateway:GetExport" not in calls and "apigatewayv2:ExportApi" not in calls
    assert unchanged == keys

    builder.v1.create_deployment(restApiId=rest.id, stageName="prod")  # only prod changes
    calls, redeployed = _scan(store, "third")
    assert calls.get("apigateway:GetExport") == 1 and "apigatewayv2:ExportApi" not in calls
    assert redeployed[f"{rest.id}/prod"] != keys[f"{rest.id}/prod"]
    assert redeployed[f"{rest.id}/dev"] == keys[f"{rest.id}/dev"]


def test_exports_stay_off_unless_asked_for(builder: Builder, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    rest = builder.rest_api("orders")
    builder.method(rest, "/", "GET", integration={"type": "MOCK"})
    builder.v1.create_deployment(restApiId=rest.id, stageName="prod")
    target = Target(run_id="r", account_id=ACCOUNT, region=REGION, role_arn=f"arn:aws:iam::{ACCOUNT}:role/r")
    result = scan_region(target, blobs=store, state=None, session_factory=boto3.Session, options=options())
    assert result.snapshot_key is not None
    assert "apigateway:GetExport" not in read_snapshot(store, result.snapshot_key).api_calls
    assert store.keys("exports/") == []
