"""The scan step's change tracking: which previous snapshot it compares with, and what it stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from api_discovery.blobs import LocalBlobStore
from api_discovery.inventory.model import Snapshot
from api_discovery.inventory.snapshots import write_snapshot
from api_discovery.store.state import StateStore, create_table
from api_discovery.store.tracking import previous_complete_key, read_change_set, track
from tests.unit.estate_factory import api, route, snapshot


@pytest.fixture
def state() -> Iterator[StateStore]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "state")
        yield StateStore(client, "state")


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path)


def _snap(day: int, *, routes: int = 1, status: str = "complete") -> Snapshot:
    return snapshot(
        [api(routes=[route("GET", f"/r{i}") for i in range(routes)])],
        run=f"2026010{day}T000000Z-run{day}",
        at=f"2026-01-0{day}T00:00:00.000000Z",
        status=status,
    )


def _store(blobs: LocalBlobStore, s: Snapshot, state: StateStore | None = None) -> str:
    ref = write_snapshot(blobs, s)
    if state:
        state.apply(s, ref)
    return ref.key


def test_a_first_scan_is_compared_with_nothing_and_its_change_set_is_stored(blobs: LocalBlobStore) -> None:
    first = _snap(1)
    ref = write_snapshot(blobs, first)
    change_set = track(blobs, first, ref, None)
    assert change_set is not None and change_set.baseline == "first-scan"
    assert [c.type for c in change_set.changes] == ["api_added"]
    (key,) = blobs.keys("changes/")
    assert key == "changes/account=111111111111/region=eu-west-1/date=2026-01-01/run=20260101T000000Z-run1.json"
    assert read_change_set(blobs, key) == change_set
    assert change_set.apis and change_set.apis[0]["id"] == "r1"


def test_the_previous_complete_snapshot_comes_from_state_read_before_apply(
    blobs: LocalBlobStore, state: StateStore
) -> None:
    first_key = _store(blobs, _snap(1), state)
    second = _snap(2, routes=2)
    previous = previous_complete_key(state, blobs, second)
    assert previous == first_key
    change_set = track(blobs, second, write_snapshot(blobs, second), previous)
    assert change_set is not None and change_set.baseline == "previous-complete"
    assert change_set.previous_run_id == "20260101T000000Z-run1"
    assert [(c.type, c.subject) for c in change_set.changes] == [("route_added", "GET /r1")]


def test_a_partial_scan_is_never_the_baseline(blobs: LocalBlobStore, state: StateStore) -> None:
    first_key = _store(blobs, _snap(1), state)
    _store(blobs, _snap(2, status="partial"), state)
    assert previous_complete_key(state, blobs, _snap(3)) == first_key
    assert previous_complete_key(None, blobs, _snap(3)) == first_key


def test_a_retried_scan_finds_the_baseline_in_the_history(blobs: LocalBlobStore, state: StateStore) -> None:
    first_key = _store(blobs, _snap(1), state)
    second = _snap(2)
    _store(blobs, second, state)  # the first attempt already applied: state now names this run
    assert previous_complete_key(state, blobs, second) == first_key


def test_with_a_table_its_pointer_is_the_truth_and_history_is_not_searched(
    blobs: LocalBlobStore, state: StateStore
) -> None:
    # A snapshot whose scan's state write failed: written, but never the pointer. The next scan must diff
    # against the last recorded complete snapshot, so that the failed scan's changes are reported, not lost.
    recorded = _store(blobs, _snap(1), state)
    write_snapshot(blobs, _snap(2, routes=2))
    assert previous_complete_key(state, blobs, _snap(3)) == recorded
    # A target the table does not know is a first scan, even beside a snapshot of a table-less run.
    other = _snap(4).model_copy(update={"region": "us-east-1"})
    write_snapshot(blobs, other)
    assert previous_complete_key(state, blobs, _snap(5).model_copy(update={"region": "us-east-1"})) is None
    assert previous_complete_key(None, blobs, _snap(5).model_copy(update={"region": "us-east-1"})) is not None


def test_an_older_snapshot_than_the_baseline_is_not_diffed(blobs: LocalBlobStore) -> None:
    newer_key = _store(blobs, _snap(3, routes=3))
    late = _snap(2)
    change_set = track(blobs, late, write_snapshot(blobs, late), newer_key)
    assert change_set is not None and change_set.baseline == "out-of-order" and change_set.changes == []


def test_a_failed_scan_stores_no_change_set(blobs: LocalBlobStore) -> None:
    failed = _snap(2, status="failed")
    assert track(blobs, failed, write_snapshot(blobs, failed), None) is None
    assert blobs.keys("changes/") == []


def test_an_unreadable_previous_snapshot_is_no_baseline_and_the_change_set_says_so(
    blobs: LocalBlobStore, caplog: pytest.LogCaptureFixture
) -> None:
    previous_key = _store(blobs, _snap(1))
    blobs.put(previous_key, blobs.get(previous_key)[:-8])  # truncated in storage
    second = _snap(2, routes=2)
    change_set = track(blobs, second, write_snapshot(blobs, second), previous_key)
    # Diffed against nothing, as a first scan is: the scan stores its snapshot and moves on.
    assert change_set is not None and change_set.baseline == "unreadable"
    assert change_set.previous_snapshot_key == previous_key and change_set.previous_run_id is None
    assert [c.type for c in change_set.changes] == ["api_added"]
    assert read_change_set(blobs, change_set.key) == change_set
    assert "previous snapshot unreadable" in caplog.text
