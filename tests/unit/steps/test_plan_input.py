"""Plan refuses a malformed or hostile request with a small error that names the problem, and writes nothing:
not a null for a list, not a field it does not know, not another partition's regions, not a used run id."""

from __future__ import annotations

from pathlib import Path

import pytest

from api_discovery.blobs import LocalBlobStore
from api_discovery.errors import MAX_MESSAGE, InvalidScanRequestError
from api_discovery.steps.plan import PlanSettings, ScanRequest, parse_request, plan, read_manifest
from api_discovery.store.registry import RegisteredAccount

EU = RegisteredAccount(account_id="111111111111", role_name="Reader", external_id="ext-111", regions=["eu-west-1"])
CN = RegisteredAccount(account_id="444444444444", role_name="Reader", external_id="ext-444", regions=["cn-north-1"])
SETTINGS = PlanSettings(default_regions=["us-east-1"])


def _refused(payload: object, match: str, registered: list[RegisteredAccount], tmp_path: Path) -> str:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(InvalidScanRequestError, match=match) as caught:
        plan(parse_request(payload), registered=registered, settings=SETTINGS, blobs=store)
    assert store.keys("") == []
    return str(caught.value)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ({"accounts": None}, "accounts is null"),
        ({"source": "schedule", "accounts": None}, "accounts is null"),
        ({"accounts": ["111111111111"], "regions": None}, "regions is null"),
    ],
)
def test_a_null_list_is_refused_and_never_means_every_account(
    payload: dict[str, object], match: str, tmp_path: Path
) -> None:
    _refused(payload, match, [EU, CN], tmp_path)


def test_an_unknown_field_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    # `account` for `accounts`: ignored, it would have widened the request to every registered account.
    message = _refused({"account": ["111111111111"]}, "account: Extra inputs are not permitted", [EU, CN], tmp_path)
    assert message.startswith("invalid scan request:")


@pytest.mark.parametrize(
    ("payload", "kind"),
    [([{"accounts": ["111111111111"]}], "a list"), (None, "null"), ("schedule", "a string"), (42, "a number")],
)
def test_a_request_that_is_not_an_object_says_what_it_is(payload: object, kind: str, tmp_path: Path) -> None:
    _refused(payload, f"expected a JSON object, got {kind}$", [EU], tmp_path)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ({"accounts": "111111111111"}, "accounts: Input should be a valid list"),
        ({"accounts": [111111111111]}, "accounts.0: Input should be a valid string"),
        ({"source": 42}, "source: Input should be"),
        ({"run_id": "r\n"}, "run_id: String should match pattern"),
    ],
)
def test_a_wrong_type_is_named_by_its_field(payload: dict[str, object], match: str, tmp_path: Path) -> None:
    _refused(payload, match, [EU], tmp_path)


def test_a_huge_request_gets_a_small_error(tmp_path: Path) -> None:
    ids = _refused({"accounts": ["9" * 1000] * 100_000}, "malformed account id", [EU], tmp_path)
    assert len(ids) <= MAX_MESSAGE and "and 99995 more (100000 in all)" in ids
    types = _refused({"accounts": list(range(100_000))}, "accounts.0: Input should be a valid string", [EU], tmp_path)
    assert len(types) <= MAX_MESSAGE and "and 99997 more problem(s)" in types
    unknown = _refused({"accounts": [f"{n:012d}" for n in range(50_000)]}, "not registered", [EU], tmp_path)
    assert len(unknown) <= MAX_MESSAGE and "(50000 in all)" in unknown


def test_each_role_is_named_in_the_partition_of_its_accounts_regions(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    result = plan(ScanRequest(source="schedule"), registered=[EU, CN], settings=SETTINGS, blobs=store)
    assert result.manifest is not None
    roles = {i.account_id: i.role_arn for i in read_manifest(store, result.manifest.key)}
    assert roles == {
        "111111111111": "arn:aws:iam::111111111111:role/Reader",
        "444444444444": "arn:aws-cn:iam::444444444444:role/Reader",
    }


def test_regions_of_another_partition_than_the_accounts_are_refused(tmp_path: Path) -> None:
    message = _refused(
        {"accounts": ["111111111111"], "regions": ["cn-north-1"]},
        "111111111111 \\(regions in aws and aws-cn",
        [EU],
        tmp_path,
    )
    assert message.startswith("account(s) that cannot be scanned")
    mixed = EU.model_copy(update={"regions": ["eu-west-1", "cn-north-1"]})
    _refused({"source": "schedule"}, "111111111111 \\(regions in aws and aws-cn", [mixed], tmp_path)


def test_an_account_registered_with_a_malformed_region_is_named(tmp_path: Path) -> None:
    bad = EU.model_copy(update={"regions": ["eu-west-1", "eu west 1"]})
    _refused({"source": "schedule"}, "111111111111 \\(regions: not a region name: 'eu west 1'\\)", [bad], tmp_path)


def test_a_run_id_already_used_is_refused_and_the_stored_run_stays_as_it_ran(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    first = plan(parse_request({"run_id": "mine"}), registered=[EU], settings=SETTINGS, blobs=store)
    assert first.manifest is not None
    stored = {key: store.get(key) for key in store.keys("")}
    with pytest.raises(InvalidScanRequestError, match="run id 'mine' is already used"):
        plan(
            parse_request({"run_id": "mine", "accounts": ["444444444444"]}),
            registered=[EU, CN],
            settings=SETTINGS,
            blobs=store,
        )
    assert {key: store.get(key) for key in store.keys("")} == stored
    # A run is also known by its record alone (finalize writes it under runs/).
    store.put("runs/run=recorded.json", b"{}")
    with pytest.raises(InvalidScanRequestError, match="already used"):
        plan(parse_request({"run_id": "recorded"}), registered=[EU], settings=SETTINGS, blobs=store)
    # A run id that only shares a prefix with a used one is new.
    assert plan(parse_request({"run_id": "min"}), registered=[EU], settings=SETTINGS, blobs=store).run_id == "min"
