"""The customer quota's lease: executions scanning one account count each other, and a crashed one lapses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from api_discovery.store.quota_lease import LEASE_SECONDS, QuotaLease, quota_key
from api_discovery.store.state import TTL_ATTRIBUTE, create_table, from_item, to_item

ACCOUNT = "111111111111"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "state")
        yield client


def _lease(dynamodb: Any, holder: str, clock: Clock, account: str = ACCOUNT) -> QuotaLease:
    return QuotaLease(dynamodb, "state", account, holder=holder, clock=clock)


def _record(dynamodb: Any, account: str = ACCOUNT) -> dict[str, Any]:
    item = dynamodb.get_item(TableName="state", Key=to_item(quota_key(account)), ConsistentRead=True).get("Item")
    return from_item(item) if item else {}


def test_holders_of_one_account_count_each_other_and_leaving_gives_the_place_back(dynamodb: Any) -> None:
    clock = Clock()
    sweep, change_run = _lease(dynamodb, "sweep", clock), _lease(dynamodb, "change-run", clock)
    assert sweep.renew() == 1  # alone: the whole share
    assert change_run.renew() == 2
    assert sweep.count() == 2 and change_run.count() == 2
    other_account = _lease(dynamodb, "other", clock, account="222222222222")
    assert other_account.renew() == 1  # another account's quota is its own
    record = _record(dynamodb)
    assert record["pk"] == f"QUOTA#{ACCOUNT}" and record["sk"] == "HOLDERS"
    assert record["holders"] == {"sweep": clock.now + LEASE_SECONDS, "change-run": clock.now + LEASE_SECONDS}

    change_run.leave()
    assert sweep.count() == 1
    assert set(_record(dynamodb)["holders"]) == {"sweep"}
    change_run.leave()  # twice, or after the record is gone: nothing to do, no error
    sweep.leave()
    assert _record(dynamodb)["holders"] == {}


def test_a_renewal_extends_the_place_and_the_records_ttl(dynamodb: Any) -> None:
    clock = Clock()
    lease = _lease(dynamodb, "sweep", clock)
    lease.renew()
    clock.now += 10
    assert lease.renew() == 1
    record = _record(dynamodb)
    assert record["holders"] == {"sweep": clock.now + LEASE_SECONDS}
    assert record[TTL_ATTRIBUTE] == clock.now + LEASE_SECONDS


def test_a_holder_that_stops_renewing_lapses_and_the_next_renewal_removes_it(dynamodb: Any) -> None:
    clock = Clock()
    crashed, alive = _lease(dynamodb, "crashed", clock), _lease(dynamodb, "alive", clock)
    crashed.renew()
    assert alive.renew() == 2
    clock.now += LEASE_SECONDS - 1
    assert alive.renew() == 2  # not lapsed yet: still counted
    clock.now += 1
    assert alive.count() == 1  # lapsed: no longer counted, before anyone removed it
    assert set(_record(dynamodb)["holders"]) == {"crashed", "alive"}
    assert alive.renew() == 1
    assert set(_record(dynamodb)["holders"]) == {"alive"}
