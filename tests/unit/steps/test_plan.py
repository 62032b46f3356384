"""The plan step: targets resolved from the registry or the request; a bad request writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from api_discovery.blobs import LocalBlobStore
from api_discovery.errors import InvalidScanRequestError
from api_discovery.steps.plan import (
    PlanResult,
    PlanSettings,
    ScanRequest,
    new_run_id,
    parse_request,
    plan,
    read_manifest,
)
from api_discovery.store.registry import RegisteredAccount
from api_discovery.store.state import create_table
from api_discovery.store.sweep_lease import SweepLease
from api_discovery.targets import AccountTarget

REGISTERED = [
    RegisteredAccount(
        account_id="111111111111",
        role_name="ApiDiscoveryReadOnly",
        external_id="ext-111",
        regions=["eu-west-1", "us-east-1"],
    ),
    RegisteredAccount(account_id="222222222222", role_name="ApiDiscoveryReadOnly", external_id="ext-222"),
    RegisteredAccount(account_id="333333333333", role_name="ApiDiscoveryReadOnly", enabled=False),
]
SETTINGS = PlanSettings(default_regions=["us-east-1"], max_targets=10)


def _key(result: PlanResult) -> str:
    assert result.manifest is not None
    return result.manifest.key


def _items(store: LocalBlobStore, result: PlanResult) -> list[AccountTarget]:
    return read_manifest(store, _key(result))


def test_schedule_scans_every_enabled_account_in_its_regions_one_item_per_account(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    result = plan(ScanRequest(source="schedule"), registered=REGISTERED, settings=SETTINGS, blobs=store)
    items = _items(store, result)
    assert (result.count, result.targets) == (2, 3)
    # The account with the most regions first: the longest scans start early.
    assert [(i.account_id, i.regions) for i in items] == [
        ("111111111111", ["eu-west-1", "us-east-1"]),
        ("222222222222", ["us-east-1"]),
    ]
    assert items[0].role_arn == "arn:aws:iam::111111111111:role/ApiDiscoveryReadOnly"
    assert {i.run_id for i in items} == {result.run_id}
    assert result.max_concurrency == SETTINGS.max_concurrency


def test_the_manifest_carries_no_external_id(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    result = plan(ScanRequest(source="schedule"), registered=REGISTERED, settings=SETTINGS, blobs=store)
    text = store.get(_key(result)).decode()
    assert "ext-111" not in text
    assert "ext-222" not in text
    assert "external_id" not in text


def test_request_narrows_accounts_and_regions(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    request = parse_request({"source": "request", "accounts": ["222222222222"], "regions": ["ap-southeast-2"]})
    result = plan(request, registered=REGISTERED, settings=SETTINGS, blobs=store)
    manifest = json.loads(store.get(_key(result)))
    assert [(i["account_id"], i["regions"]) for i in manifest] == [("222222222222", ["ap-southeast-2"])]


def test_change_events_use_their_own_small_concurrency(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    settings = SETTINGS.model_copy(update={"max_concurrency": 800, "change_max_concurrency": 10})
    request = parse_request({"source": "change", "accounts": ["222222222222"]})
    assert plan(request, registered=REGISTERED, settings=settings, blobs=store).max_concurrency == 10
    sweep = plan(ScanRequest(source="schedule"), registered=REGISTERED, settings=settings, blobs=store)
    assert sweep.max_concurrency == 800


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"accounts": ["12345"]}, "malformed account id"),
        ({"accounts": ["555555555555"]}, "not registered or disabled: 555555555555"),
        ({"accounts": ["333333333333"]}, "not registered or disabled: 333333333333"),
        ({"accounts": ["111111111111"], "regions": ["mars-north-1"]}, "unknown region"),
        ({"accounts": []}, "accounts: must name at least one"),
        ({"regions": ["us-east-1"] * 1, "accounts": ["111111111111"], "run_id": "bad id!"}, "run_id"),
    ],
)
def test_bad_requests_name_the_problem_and_write_nothing(
    tmp_path: Path, payload: dict[str, object], message: str
) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(InvalidScanRequestError, match=message):
        plan(parse_request(payload), registered=REGISTERED, settings=SETTINGS, blobs=store)
    assert store.keys("") == []


def test_too_many_targets_are_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    many = [
        RegisteredAccount(
            account_id=f"{i:012d}", role_name="r", external_id="ext-x", regions=["us-east-1", "eu-west-1"]
        )
        for i in range(6)
    ]
    with pytest.raises(InvalidScanRequestError, match="12 targets exceed the limit of 10"):
        plan(ScanRequest(), registered=many, settings=SETTINGS, blobs=store)
    assert store.keys("") == []


def test_nothing_registered_is_an_error_not_an_empty_run(tmp_path: Path) -> None:
    with pytest.raises(InvalidScanRequestError, match="no target"):
        plan(ScanRequest(), registered=[], settings=SETTINGS, blobs=LocalBlobStore(tmp_path))


@pytest.fixture
def lease() -> Iterator[SweepLease]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "t")
        yield SweepLease(client, "t", seconds=3600)


def test_a_sweep_does_not_start_while_the_previous_one_runs(tmp_path: Path, lease: SweepLease) -> None:
    store = LocalBlobStore(tmp_path)
    first = plan(ScanRequest(source="schedule"), registered=REGISTERED, settings=SETTINGS, blobs=store, lease=lease)
    second = plan(ScanRequest(source="schedule"), registered=REGISTERED, settings=SETTINGS, blobs=store, lease=lease)
    assert first.count == 2
    assert second.count == 0
    assert second.manifest is None
    assert second.reason == f"the previous sweep {first.run_id} is still running"
    # A request names what it wants scanned now: it takes no lease and is never held back.
    request = plan(ScanRequest(source="request"), registered=REGISTERED, settings=SETTINGS, blobs=store, lease=lease)
    assert request.count == 2
    lease.release(second.run_id)  # only the holder can give it back
    held = plan(ScanRequest(source="schedule"), registered=REGISTERED, settings=SETTINGS, blobs=store, lease=lease)
    assert held.count == 0
    lease.release(first.run_id)
    again = plan(ScanRequest(source="schedule"), registered=REGISTERED, settings=SETTINGS, blobs=store, lease=lease)
    assert again.count == 2


def test_an_account_registered_without_an_external_id_is_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    without = [*REGISTERED, RegisteredAccount(account_id="444444444444", role_name="ApiDiscoveryReadOnly")]
    with pytest.raises(InvalidScanRequestError, match="registered without an ExternalId: 444444444444"):
        plan(ScanRequest(source="schedule"), registered=without, settings=SETTINGS, blobs=store)
    assert store.keys("") == []


def test_a_lease_left_by_a_sweep_that_died_lapses(lease: SweepLease) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    assert lease.take("dead-sweep", start) == "dead-sweep"
    assert lease.take("next", start + timedelta(minutes=59)) == "dead-sweep"
    assert lease.take("later", start + timedelta(minutes=61)) == "later"


def test_run_ids_sort_in_the_order_their_runs_started_even_within_one_second() -> None:
    second = datetime(2026, 12, 2, 1, 2, 3, tzinfo=UTC)
    for step in range(1, 200):
        earlier = new_run_id(second + timedelta(microseconds=step))
        later = new_run_id(second + timedelta(microseconds=step + 1))
        assert earlier < later, (earlier, later)
    assert new_run_id(second).startswith("20261202T010203.000000Z-")


FORWARDING = [
    RegisteredAccount(
        account_id=f"6{i:011d}", role_name="ApiDiscoveryReadOnly", external_id=f"ext-6{i}", forwards_events=True
    )
    for i in range(40)
]
QUIET = RegisteredAccount(account_id="700000000000", role_name="ApiDiscoveryReadOnly", external_id="ext-700")
EVERY_4 = SETTINGS.model_copy(
    update={"max_targets": 1000, "forwarding_sweep_every": 4, "sweep_interval_seconds": 21600}
)
MIDNIGHT = datetime(2026, 12, 2, tzinfo=UTC)


def _swept(tmp_path: Path, at: datetime) -> dict[str, AccountTarget]:
    store = LocalBlobStore(tmp_path / at.isoformat())
    result = plan(
        ScanRequest(source="schedule"), registered=[*FORWARDING, QUIET], settings=EVERY_4, blobs=store, now=at
    )
    return {item.account_id: item for item in _items(store, result)}


def test_an_account_that_forwards_its_events_is_swept_once_every_n_sweeps_the_others_every_time(tmp_path: Path) -> None:
    sweeps = [_swept(tmp_path, MIDNIGHT + timedelta(hours=6 * i)) for i in range(8)]
    for account in FORWARDING:
        visits = [i for i, swept in enumerate(sweeps) if account.account_id in swept]
        assert len(visits) == 2 and visits[1] - visits[0] == 4, account.account_id
    assert all(QUIET.account_id in swept for swept in sweeps)
    # Spread over the four turns, not all in one sweep.
    assert max(len(swept) - 1 for swept in sweeps[:4]) < len(FORWARDING) // 2


def test_a_sweep_watches_forwarding_accounts_for_drift_and_a_request_does_not(tmp_path: Path) -> None:
    sweeps = [_swept(tmp_path, MIDNIGHT + timedelta(hours=6 * i)) for i in range(4)]
    flags = {a: item.drift for swept in sweeps for a, item in swept.items()}
    assert flags[QUIET.account_id] is False
    assert {flags[a.account_id] for a in FORWARDING} == {True}
    store = LocalBlobStore(tmp_path / "request")
    request = parse_request({"accounts": [FORWARDING[0].account_id]})
    (item,) = _items(store, plan(request, registered=FORWARDING, settings=EVERY_4, blobs=store))
    assert item.drift is False


def test_a_sweep_with_no_account_on_turn_plans_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    turns = [
        plan(
            ScanRequest(source="schedule"),
            registered=FORWARDING[:1],
            settings=EVERY_4,
            blobs=store,
            now=MIDNIGHT + timedelta(hours=6 * i),
        )
        for i in range(4)
    ]
    assert sorted(t.count for t in turns) == [0, 0, 0, 1]
    assert {t.reason for t in turns if not t.count} == {
        "every account forwards its change events, and none has its turn in this sweep"
    }
