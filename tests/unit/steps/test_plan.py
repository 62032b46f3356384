"""The plan step: targets resolved from the registry or the request; a bad request writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api_discovery.blobs import LocalBlobStore
from api_discovery.errors import InvalidScanRequestError
from api_discovery.steps.plan import PlanResult, PlanSettings, ScanRequest, parse_request, plan, read_manifest
from api_discovery.store.registry import RegisteredAccount
from api_discovery.targets import Target

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


def _targets(store: LocalBlobStore, result: PlanResult) -> list[Target]:
    return read_manifest(store, _key(result))


def test_schedule_scans_every_enabled_account_in_its_regions(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    result = plan(ScanRequest(source="schedule"), registered=REGISTERED, settings=SETTINGS, blobs=store)
    targets = _targets(store, result)
    assert result.count == 3
    assert [(t.account_id, t.region) for t in targets] == [
        ("111111111111", "eu-west-1"),
        ("222222222222", "us-east-1"),
        ("111111111111", "us-east-1"),
    ]
    assert targets[0].role_arn == "arn:aws:iam::111111111111:role/ApiDiscoveryReadOnly"
    assert targets[0].external_id == "ext-111"
    assert {t.run_id for t in targets} == {result.run_id}


def test_request_narrows_accounts_and_regions(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    request = parse_request({"source": "request", "accounts": ["222222222222"], "regions": ["ap-southeast-2"]})
    result = plan(request, registered=REGISTERED, settings=SETTINGS, blobs=store)
    manifest = json.loads(store.get(_key(result)))
    assert [(t["account_id"], t["region"]) for t in manifest] == [("222222222222", "ap-southeast-2")]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"accounts": ["12345"]}, "malformed account id"),
        ({"accounts": ["555555555555"]}, "not registered or disabled: 555555555555"),
        ({"accounts": ["333333333333"]}, "not registered or disabled: 333333333333"),
        ({"accounts": ["111111111111"], "regions": ["mars-north-1"]}, "unknown region"),
        ({"accounts": []}, "accounts: Value error, must name at least one"),
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


def test_targets_interleave_accounts_and_share_each_accounts_budget(tmp_path: Path) -> None:
    registered = [
        RegisteredAccount(
            account_id="111111111111", role_name="r", external_id="e1", regions=["us-east-1", "eu-west-1", "ap-south-1"]
        ),
        RegisteredAccount(account_id="222222222222", role_name="r", external_id="e2", regions=["us-east-1"]),
    ]
    store = LocalBlobStore(tmp_path)
    settings = PlanSettings(default_regions=["us-east-1"], max_concurrency=2)
    result = plan(ScanRequest(), registered=registered, settings=settings, blobs=store)
    targets = _targets(store, result)
    assert [(t.account_id, t.region) for t in targets] == [
        ("111111111111", "us-east-1"),
        ("222222222222", "us-east-1"),
        ("111111111111", "eu-west-1"),
        ("111111111111", "ap-south-1"),
    ]
    # Three targets of one account, two at a time at most: each may spend half the account's quota.
    assert [t.budget_share for t in targets] == [0.5, 1.0, 0.5, 0.5]
    local = plan(
        ScanRequest(), registered=registered, settings=settings.model_copy(update={"split_budget": False}), blobs=store
    )
    assert {t.budget_share for t in _targets(store, local)} == {1.0}


def test_an_account_registered_without_an_external_id_is_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    without = [*REGISTERED, RegisteredAccount(account_id="444444444444", role_name="ApiDiscoveryReadOnly")]
    with pytest.raises(InvalidScanRequestError, match="registered without an ExternalId: 444444444444"):
        plan(ScanRequest(source="schedule"), registered=without, settings=SETTINGS, blobs=store)
    assert store.keys("") == []
