"""The scan step's Map item: refused with a small error that names the problem, before any session is made or
anything is read or written; a continuation is only ever the one this run stored for this account."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from api_discovery.blobs import LocalBlobStore
from api_discovery.errors import MAX_MESSAGE, InvalidScanRequestError
from api_discovery.steps.scan import AccountProgress, parse_scan_event, scan_account
from api_discovery.targets import AccountTarget

ACCOUNT, RUN = "111111111111", "20260101T000000.000000Z-aaaa"


def _no_session() -> Any:
    raise AssertionError("a refused item must not reach the account")


@pytest.mark.parametrize(
    ("event", "match"),
    [
        ([{"run_id": RUN, "account_id": ACCOUNT, "regions": ["us-east-1"]}], "expected a JSON object, got a list"),
        (None, "expected a JSON object, got null"),
        ({"run_id": RUN, "account_id": ACCOUNT, "regions": None}, "regions: Input should be a valid list"),
        ({"run_id": RUN, "account_id": ACCOUNT, "regions": ["us-east-1"], "external_id": "x"}, "external_id: Extra"),
        ({"run_id": RUN, "account_id": 111111111111, "regions": ["us-east-1"]}, "account_id: Input should be a valid"),
        (
            {"run_id": RUN, "account_id": ACCOUNT, "regions": ["us-east-1"], "role_arn": "arn:aws:iam::2:role/r"},
            "not an IAM role ARN",
        ),
    ],
)
def test_a_malformed_item_names_its_problem(event: object, match: str) -> None:
    with pytest.raises(InvalidScanRequestError, match=match):
        parse_scan_event(event)


def test_an_item_with_a_huge_list_of_bad_regions_gets_a_small_error() -> None:
    event = {"run_id": RUN, "account_id": ACCOUNT, "regions": [f"bad region {'x' * 500}"] * 10_000}
    with pytest.raises(InvalidScanRequestError, match="regions: not a region name") as caught:
        parse_scan_event(event)
    assert len(str(caught.value)) <= MAX_MESSAGE


def test_a_continuation_that_climbs_out_of_its_accounts_progress_is_refused(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    # Progress planted outside the account's prefix, and made to look like the account's own.
    forged = AccountProgress(run_id=RUN, account_id=ACCOUNT, pending={"us-east-1": None})
    blobs.put("uploads/forged.json.gz", gzip.compress(forged.model_dump_json().encode()))
    climbing = f"progress/run={RUN}/account={ACCOUNT}/../../../uploads/forged.json.gz"
    assert (tmp_path / "uploads" / "forged.json.gz").is_file() and blobs.get(climbing)  # the path reaches it
    before = blobs.keys("")
    item = AccountTarget(run_id=RUN, account_id=ACCOUNT, regions=["us-east-1"], continuation=climbing)
    with pytest.raises(InvalidScanRequestError, match="does not belong to 111111111111"):
        scan_account(item, blobs=blobs, state=None, session_factory=_no_session, external_id=None)
    assert blobs.keys("") == before
