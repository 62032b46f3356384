"""The shared quota around a scan: the budget follows the lease's count, and a failing lease fails no scan."""

from __future__ import annotations

import threading
import time

import pytest

from api_discovery.collect.budget import CallBudget, Rates
from api_discovery.steps.shared_quota import SharedQuota, shared_quota
from api_discovery.store.quota_lease import QuotaLease


class FakeLease(QuotaLease):
    """A lease whose count the test sets, and whose calls can fail."""

    def __init__(self, holders: int) -> None:
        super().__init__(client=None, table_name="state", scope_key="111111111111", holder="me")
        self.holders = holders
        self.fail = False
        self.calls: list[str] = []
        self.polled = threading.Event()

    def _answer(self, call: str) -> int:
        self.calls.append(call)
        if self.fail:
            raise RuntimeError("DynamoDB is unreachable")
        return self.holders

    def renew(self) -> int:
        return self._answer("renew")

    def count(self) -> int:
        try:
            return self._answer("count")
        finally:
            self.polled.set()

    def leave(self) -> None:
        self._answer("leave")


def _wait_for_poll(lease: FakeLease) -> None:
    lease.polled.clear()
    assert lease.polled.wait(5)
    time.sleep(0.05)  # the share is set just after the count returns


def test_the_budget_spends_its_part_while_others_hold_places_and_all_of_it_after() -> None:
    budget = CallBudget(Rates.of_quota())
    lease = FakeLease(holders=2)
    with SharedQuota({"111111111111": (lease, budget)}, poll_seconds=0.01, renew_seconds=0.05) as shared:
        assert budget.share_factor == 0.5 and budget.general.rate == pytest.approx(3.0)
        lease.holders = 3
        _wait_for_poll(lease)
        assert budget.share_factor == pytest.approx(1 / 3) and shared.holders == {"111111111111": 3}
        lease.holders = 1  # the others left
        _wait_for_poll(lease)
        assert budget.share_factor == 1.0
        time.sleep(0.1)
    assert lease.calls[0] == "renew" and "renew" in lease.calls[1:] and lease.calls[-1] == "leave"
    assert budget.share_factor == 1.0


def test_a_lease_that_fails_keeps_the_last_share_and_fails_nothing(caplog: pytest.LogCaptureFixture) -> None:
    budget = CallBudget(Rates.of_quota())
    lease = FakeLease(holders=2)
    with SharedQuota({"111111111111": (lease, budget)}, poll_seconds=0.01, renew_seconds=0.05):
        lease.fail = True
        lease.holders = 1
        _wait_for_poll(lease)
        assert budget.share_factor == 0.5  # the last count it read
    assert lease.calls[-1] == "leave"
    assert any(r.getMessage() == "quota lease call failed" for r in caplog.records)
    assert budget.share_factor == 1.0

    lease = FakeLease(holders=2)
    lease.fail = True
    with SharedQuota({"111111111111": (lease, budget)}, poll_seconds=0.01):
        assert budget.share_factor == 1.0  # never joined: nothing known about the others


def test_without_a_table_nothing_is_shared() -> None:
    budget = CallBudget(Rates.of_quota())
    with shared_quota(None, {"111111111111": budget}) as shared:
        assert shared is None and budget.share_factor == 1.0
