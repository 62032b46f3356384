"""What a target is: an account id of exactly 12 ASCII digits, region names, and a role that is the account's
own, in the partition its regions are in."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api_discovery.store.registry import RegisteredAccount
from api_discovery.targets import ACCOUNT_ID, AccountTarget, Target, is_account_id, partition_of

ACCOUNT = "111111111111"
# Python's `\d` takes every script's digits and `$` takes a final newline: `^\d{12}$` accepted all of these.
NOT_ACCOUNT_IDS = [
    "\u0661" * 12,  # Arabic-Indic digits
    "\uff11" * 12,  # full-width digits
    f"{ACCOUNT}\n",
    f"{ACCOUNT[:-1]}\u0967",  # one Devanagari digit at the end
    "11111111111",
    "1111111111111",
    f" {ACCOUNT}",
]


@pytest.mark.parametrize("value", NOT_ACCOUNT_IDS)
def test_an_account_id_is_exactly_twelve_ascii_digits_everywhere_it_is_checked(value: str) -> None:
    assert not is_account_id(value)
    assert not ACCOUNT_ID.match(value) and not ACCOUNT_ID.search(value)  # what other modules call
    with pytest.raises(ValidationError, match="12 digits"):
        Target(run_id="r", account_id=value, region="us-east-1")
    with pytest.raises(ValidationError, match="12 digits"):
        AccountTarget(run_id="r", account_id=value, regions=["us-east-1"])
    with pytest.raises(ValidationError, match="12 digits"):
        RegisteredAccount(account_id=value)
    assert is_account_id(ACCOUNT)


@pytest.mark.parametrize("region", ["us-east-1\n", "us-east-\u0661", "US-EAST-1", "us-east-1 "])
def test_a_region_name_is_ascii_to_its_last_character(region: str) -> None:
    with pytest.raises(ValidationError, match="not a region name"):
        Target(run_id="r", account_id=ACCOUNT, region=region)
    with pytest.raises(ValidationError, match="not a region name"):
        AccountTarget(run_id="r", account_id=ACCOUNT, regions=["eu-west-1", region])


def test_a_role_of_another_account_is_never_the_targets_role() -> None:
    other = "arn:aws:iam::222222222222:role/ApiDiscoveryReadOnly"
    with pytest.raises(ValidationError, match="is in account 222222222222, not in 111111111111"):
        Target(run_id="r", account_id=ACCOUNT, region="us-east-1", role_arn=other)
    with pytest.raises(ValidationError, match="is in account 222222222222"):
        AccountTarget(run_id="r", account_id=ACCOUNT, regions=["us-east-1"], role_arn=other)


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:iam::{ACCOUNT}:user/ApiDiscoveryReadOnly",  # not a role
        f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s",
        f"arn:aws:iam::{ACCOUNT}:role/",
        f"arn:aws:iam::{ACCOUNT}:role/r\n",
        f"arn:aws-mars:iam::{ACCOUNT}:role/r",  # no such partition
        f"ApiDiscoveryReadOnly arn:aws:iam::{ACCOUNT}:role/r",
    ],
)
def test_a_role_arn_is_an_iam_role_of_a_real_partition(arn: str) -> None:
    with pytest.raises(ValidationError, match="role"):
        Target(run_id="r", account_id=ACCOUNT, region="us-east-1", role_arn=arn)


def test_the_role_and_the_regions_are_in_one_partition() -> None:
    china = f"arn:aws-cn:iam::{ACCOUNT}:role/ApiDiscoveryReadOnly"
    assert partition_of("cn-north-1") == "aws-cn" and partition_of("us-east-1") == "aws"
    with pytest.raises(ValidationError, match="is in partition aws-cn, the regions are in aws"):
        Target(run_id="r", account_id=ACCOUNT, region="us-east-1", role_arn=china)
    with pytest.raises(ValidationError, match="is in partition aws-cn"):
        AccountTarget(run_id="r", account_id=ACCOUNT, regions=["us-east-1"], role_arn=china)
    with pytest.raises(ValidationError, match="more than one partition"):
        AccountTarget(run_id="r", account_id=ACCOUNT, regions=["cn-north-1", "us-east-1"])
    # The same role in its own partition's regions is fine, and so are several regions of one partition.
    assert Target(run_id="r", account_id=ACCOUNT, region="cn-north-1", role_arn=china).role_arn == china
    assert AccountTarget(run_id="r", account_id=ACCOUNT, regions=["cn-north-1", "cn-northwest-1"], role_arn=china)
    with_path = f"arn:aws-us-gov:iam::{ACCOUNT}:role/team/ApiDiscoveryReadOnly"
    assert Target(run_id="r", account_id=ACCOUNT, region="us-gov-west-1", role_arn=with_path)
