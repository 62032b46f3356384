"""A burst of change events for one (account, region) starts one scan per window; a bad one still fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from api_discovery.blobs import LocalBlobStore
from api_discovery.errors import InvalidScanRequestError
from api_discovery.steps.plan import PlanSettings, parse_request, plan
from api_discovery.store.change_windows import ChangeWindows
from api_discovery.store.registry import RegisteredAccount
from api_discovery.store.state import create_table

REGISTERED = [
    RegisteredAccount(account_id="111111111111", role_name="r", external_id="ext-1", regions=["eu-west-1", "us-east-1"])
]
SETTINGS = PlanSettings(default_regions=["us-east-1"])
T0 = datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC)


@pytest.fixture
def windows() -> Iterator[ChangeWindows]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "state")
        yield ChangeWindows(client, "state", window_seconds=300)


def _change(region: str, at: datetime) -> dict[str, object]:
    return {"source": "change", "accounts": ["111111111111"], "regions": [region], "requested_at": at.isoformat()}


def test_a_burst_in_one_window_plans_one_scan(windows: ChangeWindows, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    counts = [
        plan(
            parse_request(_change("eu-west-1", T0 + timedelta(seconds=s))),
            registered=REGISTERED,
            settings=SETTINGS,
            blobs=store,
            windows=windows,
        ).count
        for s in (0, 5, 30, 200)
    ]
    assert counts == [1, 0, 0, 0]
    assert len(store.keys("manifests/")) == 1  # the collapsed events wrote nothing


def test_other_targets_and_later_windows_still_scan(windows: ChangeWindows, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)

    def count(region: str, at: datetime) -> int:
        return plan(
            parse_request(_change(region, at)), registered=REGISTERED, settings=SETTINGS, blobs=store, windows=windows
        ).count

    assert count("eu-west-1", T0) == 1
    assert count("us-east-1", T0) == 1
    assert count("eu-west-1", T0 + timedelta(minutes=5)) == 1


def test_schedules_and_requests_are_never_collapsed(windows: ChangeWindows, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    for _ in range(2):
        result = plan(
            parse_request({"source": "schedule"}),
            registered=REGISTERED,
            settings=SETTINGS,
            blobs=store,
            windows=windows,
        )
        assert result.targets == 2


def test_a_change_event_for_an_unregistered_account_is_refused(windows: ChangeWindows, tmp_path: Path) -> None:
    request = parse_request({"source": "change", "accounts": ["999999999999"], "regions": ["eu-west-1"]})
    with pytest.raises(InvalidScanRequestError, match="not registered"):
        plan(request, registered=REGISTERED, settings=SETTINGS, blobs=LocalBlobStore(tmp_path), windows=windows)


class _FailingStore(LocalBlobStore):
    def put(self, key: str, data: bytes, content_type: str = "application/json") -> str:
        raise OSError("the bucket refused the manifest")


def test_a_window_is_given_back_when_its_manifest_cannot_be_written(windows: ChangeWindows, tmp_path: Path) -> None:
    with pytest.raises(OSError, match="refused"):
        plan(
            parse_request(_change("eu-west-1", T0)),
            registered=REGISTERED,
            settings=SETTINGS,
            blobs=_FailingStore(tmp_path),
            windows=windows,
        )
    retried = plan(
        parse_request(_change("eu-west-1", T0)),
        registered=REGISTERED,
        settings=SETTINGS,
        blobs=LocalBlobStore(tmp_path),
        windows=windows,
    )
    assert retried.count == 1
