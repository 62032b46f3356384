"""One invocation per account: the role assumed once, the regions scanned at once, only what changed written,
and an account too large for one invocation continued with nothing repeated or lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import boto3
import pytest

from api_discovery.analysis.diff import compute_changes
from api_discovery.blobs import S3BlobStore
from api_discovery.inventory.results import AccountResult, TargetResult
from api_discovery.inventory.snapshots import read_snapshot
from api_discovery.local.emulator import Emulator
from api_discovery.steps.scan import scan_account
from api_discovery.store.state import StateStore, create_table
from api_discovery.store.tracking import read_change_set
from api_discovery.targets import AccountTarget
from tests.integration.builders import Builder, options

ACCOUNT = "520000000001"
REGIONS = ["eu-west-1", "us-east-1", "ap-south-1"]
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ApiDiscoveryReadOnly"


@pytest.fixture
def vendor(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> tuple[S3BlobStore, StateStore]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    for region in REGIONS[:2]:  # the third region is empty, as most regions of a fleet are
        b = Builder(fresh_emulator.url, ACCOUNT, region)
        for i in range(3):
            api = b.rest_api(f"rest-{i}")
            b.resource(api, "/items")
            b.method(api, "/items", "GET", integration={"type": "MOCK"})
            b.v1.create_deployment(restApiId=api.id, stageName="prod")
            b.route(b.http_api(f"http-{i}"), "GET /items")
    session = boto3.Session(region_name="us-east-1")
    session.client("s3").create_bucket(Bucket="vendor")
    create_table(session.client("dynamodb"), "vendor")
    return S3BlobStore(session.client("s3"), "vendor"), StateStore(session.client("dynamodb"), "vendor")


def _item(run_id: str, **changes: Any) -> AccountTarget:
    return AccountTarget(run_id=run_id, account_id=ACCOUNT, regions=REGIONS, role_arn=ROLE).model_copy(update=changes)


def _scan(vendor: tuple[S3BlobStore, StateStore], item: AccountTarget, **kwargs: Any) -> AccountResult:
    blobs, state = vendor
    return scan_account(
        item,
        blobs=blobs,
        state=kwargs.pop("state", state),
        session_factory=boto3.Session,
        external_id="ext-520",
        options=kwargs.pop("options", options()),
        **kwargs,
    )


def _by_region(result: AccountResult) -> dict[str, TargetResult]:
    return {t.region: t for t in result.finished()}


def _keys(blobs: S3BlobStore, prefix: str) -> list[str]:
    return blobs.keys(prefix)


def test_one_invocation_assumes_the_role_once_and_scans_every_region(
    fresh_emulator: Emulator, vendor: tuple[S3BlobStore, StateStore]
) -> None:
    fresh_emulator.requests.clear()
    result = _scan(vendor, _item("run-1"))
    regions = _by_region(result)
    assert result.status == "done" and result.continuation is None
    assert sorted(regions) == sorted(REGIONS)
    assert {r: t.status for r, t in regions.items()} == dict.fromkeys(REGIONS, "complete")
    assert [regions[r].api_count for r in REGIONS] == [6, 6, 0]
    assert sum(1 for e in fresh_emulator.requests if e.operation == "sts:AssumeRole") == 1


def test_a_rerun_with_nothing_changed_writes_no_snapshot_and_no_change_set(
    fresh_emulator: Emulator, vendor: tuple[S3BlobStore, StateStore]
) -> None:
    blobs, state = vendor
    first = _by_region(_scan(vendor, _item("20260101T000000Z-aaaa")))
    snapshots, changes = _keys(blobs, "snapshots/"), _keys(blobs, "changes/")
    assert len(snapshots) == 3 and len(changes) == 2  # the empty region found nothing to report

    second = _by_region(_scan(vendor, _item("20260101T010000Z-bbbb")))
    assert _keys(blobs, "snapshots/") == snapshots and _keys(blobs, "changes/") == changes
    assert all(t.unchanged and t.change_count == 0 and t.changes_key is None for t in second.values())
    # "Latest" still resolves: each region points at its last written snapshot, and state says when it was seen.
    assert {r: t.snapshot_key for r, t in second.items()} == {r: t.snapshot_key for r, t in first.items()}
    current = state.target(ACCOUNT, "eu-west-1")
    assert current is not None and current["run_id"] == "20260101T010000Z-bbbb"
    assert current["complete_run_id"] == "20260101T000000Z-aaaa"
    assert current["last_seen"] == current["scanned_at"] > current["complete_scanned_at"]

    b = Builder(fresh_emulator.url, ACCOUNT, "us-east-1")
    b.route(b.http_api("new-one"), "GET /new")
    third = _by_region(_scan(vendor, _item("20260101T020000Z-cccc")))
    assert [r for r, t in third.items() if not t.unchanged] == ["us-east-1"]
    assert len(_keys(blobs, "snapshots/")) == 4 and len(_keys(blobs, "changes/")) == 3
    change_set = read_change_set(blobs, third["us-east-1"].changes_key or "")
    assert [c.type for c in change_set.changes if c.type == "api_added"] == ["api_added"]


def test_a_failed_write_of_seen_unchanged_loses_no_change(
    fresh_emulator: Emulator, vendor: tuple[S3BlobStore, StateStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs, _ = vendor
    _scan(vendor, _item("20260101T000000Z-aaaa"))

    def refuse(*_: object, **__: object) -> bool:
        raise RuntimeError("DynamoDB refused the write")

    with monkeypatch.context() as patched:
        patched.setattr(StateStore, "mark_seen", refuse)
        second = _by_region(_scan(vendor, _item("20260101T010000Z-bbbb")))
    assert {t.status for t in second.values()} == {"failed"}
    assert all("refused the write" in (t.reason or "") for t in second.values())

    b = Builder(fresh_emulator.url, ACCOUNT, "eu-west-1")
    (gone,) = [a for a in b.v1.get_rest_apis()["items"] if a["name"] == "rest-0"]
    b.v1.delete_rest_api(restApiId=gone["id"])
    third = _by_region(_scan(vendor, _item("20260101T020000Z-cccc")))
    removed = read_change_set(blobs, third["eu-west-1"].changes_key or "").changes
    assert [(c.type, c.api_id) for c in removed if c.type == "api_removed"] == [("api_removed", gone["id"])]
    fourth = _by_region(_scan(vendor, _item("20260101T030000Z-dddd")))
    assert all(t.unchanged and not t.change_count for t in fourth.values())  # reported once, not again


def _deadline(checks_with_time: int) -> Callable[[], float]:
    calls = {"n": 0}

    def time_left() -> float:
        calls["n"] += 1
        return 900.0 if calls["n"] <= checks_with_time else 0.0

    return time_left


def test_an_account_past_its_time_limit_continues_with_nothing_repeated_or_lost(
    vendor: tuple[S3BlobStore, StateStore],
) -> None:
    blobs, state = vendor
    slow = replace(options(), workers=1)
    whole = _by_region(_scan(vendor, _item("whole"), options=slow, state=None))  # no state: the resumed scan
    # below finds no earlier view to call itself unchanged against, and writes its own snapshot
    invocations = []
    item = _item("resumed")
    result = _scan(vendor, item, options=slow, time_left=_deadline(4))
    invocations.append(result)
    while result.status == "in_progress":
        assert result.continuation
        done = {t.region for t in result.targets}
        left = [r for r in item.regions if r not in done]
        assert all(state.target(ACCOUNT, r) is None for r in left)  # nothing current until a region finishes
        item = item.model_copy(update={"regions": left, "continuation": result.continuation})
        result = _scan(vendor, item, options=slow, time_left=_deadline(4))
        invocations.append(result)
    assert len(invocations) >= 2
    finished = [t for r in invocations for t in r.finished()]
    assert sorted(t.region for t in finished) == sorted(REGIONS)  # every region once
    by_region = {t.region: t for t in finished}
    for region in REGIONS:
        assert by_region[region].status == "complete"
        assert by_region[region].content_hash == whole[region].content_hash
        assert by_region[region].snapshot_key != whole[region].snapshot_key
        resumed = read_snapshot(blobs, by_region[region].snapshot_key or "")
        assert resumed.api_calls == read_snapshot(blobs, whole[region].snapshot_key or "").api_calls


def test_a_continuation_of_another_account_is_refused(vendor: tuple[S3BlobStore, StateStore]) -> None:
    from api_discovery.errors import InvalidScanRequestError  # noqa: PLC0415

    foreign = "progress/run=resumed/account=999999999999.json.gz"
    with pytest.raises(InvalidScanRequestError, match="does not belong"):
        _scan(vendor, _item("resumed", continuation=foreign))


def test_an_account_whose_role_is_refused_fails_every_region_with_the_reason(
    fresh_emulator: Emulator, vendor: tuple[S3BlobStore, StateStore]
) -> None:
    fresh_emulator.deny_assume_role(ROLE)
    result = _scan(vendor, _item("run-denied"))
    regions = _by_region(result)
    assert {t.status for t in regions.values()} == {"failed"} and sorted(regions) == sorted(REGIONS)
    assert all("cannot assume" in (t.reason or "") for t in regions.values())


def test_a_state_write_that_fails_halfway_leaves_the_change_to_the_next_scan(
    fresh_emulator: Emulator, vendor: tuple[S3BlobStore, StateStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs, _ = vendor
    _scan(vendor, _item("20260101T000000Z-aaaa"))
    b = Builder(fresh_emulator.url, ACCOUNT, "ap-south-1")
    b.route(b.http_api("late-arrival"), "GET /late")

    def throttled(*_: object, **__: object) -> bool:
        raise RuntimeError("ProvisionedThroughputExceededException")

    with monkeypatch.context() as patched:
        patched.setattr(StateStore, "_update_api", throttled)
        failed = _by_region(_scan(vendor, _item("20260101T010000Z-bbbb")))["ap-south-1"]
    assert failed.status == "failed" and failed.changes_key is None  # its change set is not announced

    settled = _by_region(_scan(vendor, _item("20260101T020000Z-cccc")))["ap-south-1"]
    assert not settled.unchanged  # the pointer never moved to the half-applied scan
    added = [c for c in read_change_set(blobs, settled.changes_key or "").changes if c.type == "api_added"]
    assert len(added) == 1


def _announced(results: list[AccountResult], blobs: S3BlobStore) -> list[tuple[str, str, str | None, str]]:
    """Every change the scans hand on to be published."""
    out: list[tuple[str, str, str | None, str]] = []
    for result in results:
        for target in result.finished():
            if target.changes_key:
                changes = read_change_set(blobs, target.changes_key).changes
                out += [(target.region, c.type, c.api_id, c.subject) for c in changes]
    return sorted(out)


def _truth(
    blobs: S3BlobStore, region: str, before: AccountResult, after: AccountResult
) -> list[tuple[str, str, str | None, str]]:
    """The changes one clean diff of the first and the last snapshot finds."""
    old, new = (read_snapshot(blobs, _by_region(r)[region].snapshot_key or "") for r in (before, after))
    found: list[tuple[str, str, str | None, str]] = [
        (region, str(c.type), c.api_id, c.subject) for c in compute_changes(old, new)
    ]
    return sorted(found)


WRITES = {
    "snapshot": ("api_discovery.steps.scan", "write_snapshot"),
    "change set": ("api_discovery.store.tracking", "store_change_set"),
    "target state": ("api_discovery.store.state.StateStore", "_update_target"),
    "api state": ("api_discovery.store.state.StateStore", "_update_api"),
    "removal": ("api_discovery.store.state.StateStore", "_mark_removed"),
    "complete pointer": ("api_discovery.store.state.StateStore", "_update_complete"),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_fault_at_any_write_of_a_scan_still_announces_every_change_exactly_once(
    write: str, fresh_emulator: Emulator, vendor: tuple[S3BlobStore, StateStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs, _ = vendor
    baseline = _scan(vendor, _item("20260101T000000Z-aaaa"))
    b = Builder(fresh_emulator.url, ACCOUNT, "eu-west-1")
    (gone,) = [a for a in b.v1.get_rest_apis()["items"] if a["name"] == "rest-1"]
    b.v1.delete_rest_api(restApiId=gone["id"])
    b.route(b.http_api("arrived"), "GET /arrived")

    def fault(*_: object, **__: object) -> object:
        raise RuntimeError(f"injected fault: {write}")

    target, name = WRITES[write]
    with monkeypatch.context() as patched:
        patched.setattr(f"{target}.{name}", fault)
        faulted = _scan(vendor, _item("20260101T010000Z-bbbb"))
    assert _by_region(faulted)["eu-west-1"].status == "failed"
    healed = [_scan(vendor, _item(f"20260101T0{h}0000Z-cccc")) for h in (2, 3)]
    truth = _truth(blobs, "eu-west-1", baseline, healed[-1])
    assert ("api_removed", gone["id"]) in {(c[1], c[2]) for c in truth} and any(c[1] == "api_added" for c in truth)
    assert _announced([faulted, *healed], blobs) == truth  # every change, each once


def test_two_racing_scans_of_a_target_announce_each_change_once(
    fresh_emulator: Emulator, vendor: tuple[S3BlobStore, StateStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs, _ = vendor
    one = ["eu-west-1"]
    baseline = _scan(vendor, _item("20260101T000000Z-aaaa", regions=one))
    b = Builder(fresh_emulator.url, ACCOUNT, "eu-west-1")
    b.route(b.http_api("first-change"), "GET /first")

    # The older scan collects, then waits to store until the newer one has read the same baseline and diffed.
    older_at_store, newer_at_store, older_stored = threading.Event(), threading.Event(), threading.Event()
    real_apply = StateStore.apply

    def apply(self: StateStore, snapshot: Any, ref: Any, **kwargs: Any) -> Any:
        if snapshot.run_id.endswith("older") and not older_stored.is_set():
            older_at_store.set()
            assert newer_at_store.wait(60)
            written = real_apply(self, snapshot, ref, **kwargs)
            older_stored.set()
            return written
        if snapshot.run_id.endswith("newer") and not newer_at_store.is_set():
            newer_at_store.set()
            assert older_stored.wait(60)
        return real_apply(self, snapshot, ref, **kwargs)

    monkeypatch.setattr(StateStore, "apply", apply)
    results: dict[str, AccountResult] = {}
    older = threading.Thread(target=lambda: results.update(older=_scan(vendor, _item("r1-older", regions=one))))
    older.start()
    assert older_at_store.wait(60)
    b.route(b.http_api("second-change"), "GET /second")
    results["newer"] = _scan(vendor, _item("r2-newer", regions=one))
    older.join(60)
    both = _announced([results["older"], results["newer"]], blobs)
    assert both == _truth(blobs, "eu-west-1", baseline, results["newer"])  # each change once
    assert len([c for c in both if c[1] == "api_added"]) == 2
    assert [c for c in _announced([results["older"]], blobs) if c[1] == "api_added"] != []
