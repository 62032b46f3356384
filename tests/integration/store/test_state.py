"""Current state in DynamoDB: newest scan wins, failures keep the last truth, only complete scans remove."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from api_discovery.inventory.model import Api, ScanError, Snapshot
from api_discovery.inventory.snapshots import SnapshotRef
from api_discovery.store.state import StateStore, create_table

ACCOUNT, REGION = "111111111111", "eu-west-1"


@pytest.fixture
def store() -> Iterator[StateStore]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "state")
        yield StateStore(client, "state")


def _api(api_id: str, name: str = "n") -> Api:
    return Api(kind="REST", id=api_id, name=name, endpoint_type="REGIONAL", default_endpoint_enabled=True)


def _snapshot(run: str, at: str, apis: list[Api], status: str = "complete", errors: Any = ()) -> Snapshot:
    return Snapshot(
        run_id=run,
        account_id=ACCOUNT,
        region=REGION,
        scanned_at=at,
        status=status,
        apis=apis,
        errors=list(errors),
    )


def _ref(snapshot: Snapshot) -> SnapshotRef:
    return SnapshotRef(key=f"snapshots/{snapshot.run_id}", uri=f"s3://b/{snapshot.run_id}", content_hash="h", size=1)


def _apply(store: StateStore, snapshot: Snapshot) -> Any:
    return store.apply(snapshot, _ref(snapshot))


def _names(store: StateStore) -> dict[str, tuple[str, str]]:
    return {i["api_id"]: (i["name"], i["state"]) for i in store.apis(ACCOUNT, REGION)}


def test_first_scan_records_every_api_and_its_first_sighting(store: StateStore) -> None:
    written = _apply(store, _snapshot("r1", "2026-01-01T00:00:00.000000Z", [_api("a"), _api("b")]))
    assert written.written == 2
    items = {i["api_id"]: i for i in store.apis(ACCOUNT, REGION)}
    assert items["a"]["first_seen"] == "2026-01-01T00:00:00.000000Z"
    assert items["a"]["snapshot_key"] == "snapshots/r1"
    target = store.target(ACCOUNT, REGION)
    assert target is not None and target["status"] == "complete" and target["complete_run_id"] == "r1"


def test_an_older_run_finishing_late_never_overwrites_a_newer_state(store: StateStore) -> None:
    _apply(store, _snapshot("new", "2026-01-02T00:00:00.000000Z", [_api("a", "renamed")]))
    late = _apply(store, _snapshot("old", "2026-01-01T00:00:00.000000Z", [_api("a", "original"), _api("z")]))
    assert late.stale >= 1 and late.written == 0
    assert _names(store) == {"a": ("renamed", "present")}
    target = store.target(ACCOUNT, REGION)
    assert target is not None and target["run_id"] == "new"


def test_first_seen_survives_later_scans(store: StateStore) -> None:
    _apply(store, _snapshot("r1", "2026-01-01T00:00:00.000000Z", [_api("a")]))
    _apply(store, _snapshot("r2", "2026-01-05T00:00:00.000000Z", [_api("a")]))
    (item,) = store.apis(ACCOUNT, REGION)
    assert item["first_seen"] == "2026-01-01T00:00:00.000000Z"
    assert item["last_seen"] == "2026-01-05T00:00:00.000000Z"


def test_only_a_complete_scan_marks_an_api_removed(store: StateStore) -> None:
    _apply(store, _snapshot("r1", "2026-01-01T00:00:00.000000Z", [_api("a"), _api("b")]))
    gap = ScanError(
        kind="permission",
        operation="apigateway:GetRestApis",
        resource="restapis",
        code="AccessDenied",
        message="denied",
    )
    _apply(store, _snapshot("r2", "2026-01-02T00:00:00.000000Z", [_api("a")], status="partial", errors=[gap]))
    assert _names(store)["b"] == ("n", "present")
    removed = _apply(store, _snapshot("r3", "2026-01-03T00:00:00.000000Z", [_api("a")]))
    assert removed.removed == 1
    assert _names(store)["b"] == ("n", "removed")


def test_a_partial_scan_leaves_an_api_it_saw_only_in_part_as_it_was(store: StateStore) -> None:
    _apply(store, _snapshot("r1", "2026-01-01T00:00:00.000000Z", [_api("a", "full")]))
    gap = ScanError(
        kind="permission",
        operation="apigateway:GetResources",
        resource="restapis/a",
        code="AccessDeniedException",
        message="denied",
    )
    _apply(store, _snapshot("r2", "2026-01-02T00:00:00.000000Z", [_api("a", "seen in part")], "partial", [gap]))
    assert _names(store) == {"a": ("full", "present")}


def test_a_failed_scan_keeps_the_previous_truth(store: StateStore) -> None:
    _apply(store, _snapshot("r1", "2026-01-01T00:00:00.000000Z", [_api("a")]))
    error = ScanError(
        kind="assume_role",
        operation="*",
        resource=f"{ACCOUNT}/{REGION}",
        code="assume_role",
        message="cannot assume role",
    )
    _apply(store, _snapshot("r2", "2026-01-02T00:00:00.000000Z", [], status="failed", errors=[error]))
    assert _names(store) == {"a": ("n", "present")}
    target = store.target(ACCOUNT, REGION)
    assert target is not None
    assert (target["status"], target["reason"], target["complete_run_id"]) == ("failed", "cannot assume role", "r1")
    assert target["api_count"] == 1  # from the last scan that could see


def test_an_older_complete_scan_after_a_newer_failed_one_still_records_what_it_saw(store: StateStore) -> None:
    error = ScanError(kind="throttling", operation="*", resource=f"{ACCOUNT}/{REGION}", code="throttling", message="x")
    _apply(store, _snapshot("failed-later", "2026-01-02T00:00:00.000000Z", [], status="failed", errors=[error]))
    late = _apply(store, _snapshot("complete-earlier", "2026-01-01T00:00:00.000000Z", [_api("a")]))
    assert not late.behind and late.written == 1
    target = store.target(ACCOUNT, REGION)
    assert target is not None
    assert (target["status"], target["run_id"]) == ("failed", "failed-later")  # the latest scan's outcome
    assert target["complete_run_id"] == "complete-earlier"  # and the latest complete view
    assert _names(store) == {"a": ("n", "present")}


def test_a_scan_overtaken_by_a_newer_complete_one_is_behind(store: StateStore) -> None:
    assert not _apply(store, _snapshot("new", "2026-01-02T00:00:00.000000Z", [_api("a")])).behind
    assert _apply(store, _snapshot("old", "2026-01-01T00:00:00.000000Z", [_api("a")])).behind
    gap = ScanError(kind="permission", operation="apigateway:GetStages", resource="restapis/a", code="A", message="m")
    assert _apply(store, _snapshot("older", "2025-12-31T00:00:00.000000Z", [], "partial", [gap])).behind
