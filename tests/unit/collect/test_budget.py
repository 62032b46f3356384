"""The client-side call budget: token buckets that wait instead of letting AWS refuse."""

from __future__ import annotations

import pytest

from api_discovery.collect.budget import (
    DEFAULT_QUOTA_SHARE,
    SLOWEST,
    BudgetPool,
    CallBudget,
    Rates,
    TokenBucket,
    budget_key,
    lambda_budget_key,
    shared_budget,
)
from api_discovery.steps.target_scan import ScanOptions


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_bucket_serves_its_burst_at_once_then_paces_at_its_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate=10, burst=40, clock=t.clock, sleep=t.sleep)
    for _ in range(40):
        bucket.acquire()
    assert t.slept == [] and t.now == 0
    for _ in range(20):
        bucket.acquire()
    assert t.now == pytest.approx(2.0)  # 20 more calls at 10 per second


def test_waiters_reserve_in_order_without_holding_each_other() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate=2, burst=1, clock=t.clock, sleep=t.sleep)
    assert [bucket.reserve() for _ in range(4)] == pytest.approx([0.0, 0.5, 1.0, 1.5])


def test_get_resources_spends_from_both_its_own_and_the_general_bucket() -> None:
    t = FakeTime()
    budget = CallBudget(Rates(get_resources_burst=5), clock=t.clock, sleep=t.sleep)
    for _ in range(25):
        budget.acquire("GetResources")
    # 5 at once, then 2.5 per second: the 25th starts 8 s in, well inside the general burst.
    assert t.now == pytest.approx(8.0)
    budget.acquire("GetStages")
    assert t.now == pytest.approx(8.0)


def test_a_share_scales_rate_and_burst_but_never_below_one_call() -> None:
    half = Rates(burst=40, get_resources_burst=5).share(0.5)
    assert (half.rate, half.burst, half.get_resources_rate, half.get_resources_burst) == (5.0, 20.0, 1.25, 2.5)
    tiny = Rates().share(0.01)
    assert tiny.burst == 1.0 and tiny.get_resources_burst == 1.0
    with pytest.raises(ValueError, match="share"):
        Rates().share(0)


def test_scans_of_one_scope_in_one_process_share_a_budget() -> None:
    rates = Rates(rate=3.0)
    a = shared_budget(budget_key("account", "111111111111", "eu-west-1"), rates)
    b = shared_budget(budget_key("account", "111111111111", "us-east-1"), rates)
    c = shared_budget(budget_key("account-region", "111111111111", "us-east-1"), rates)
    assert a is b and a is not c


def test_the_budget_hooks_every_attempt_by_operation_name() -> None:
    t = FakeTime()
    budget = CallBudget(Rates(rate=1, burst=1, get_resources_rate=1, get_resources_burst=1), t.clock, t.sleep)
    budget.before_send(event_name="before-send.apigateway.GetResources")
    budget.before_send(event_name="before-send.apigateway.GetResources")
    assert t.now == pytest.approx(1.0)


def test_the_default_budget_is_aws_quota_with_a_tenth_of_each_burst_held_back() -> None:
    assert Rates() == Rates.within(rate=10, burst=40, get_resources_rate=2.5, get_resources_burst=5)
    assert (Rates().burst, Rates().get_resources_burst) == (36.0, 4.0)
    assert Rates.within(rate=1, burst=1, get_resources_rate=1, get_resources_burst=1).burst == 1.0


def test_a_scan_takes_only_its_share_of_the_quota_by_default() -> None:
    assert Rates.of_quota(0.6) == Rates(rate=6.0, burst=24.0, get_resources_rate=1.5, get_resources_burst=3.0)
    assert ScanOptions().rates == Rates.of_quota(DEFAULT_QUOTA_SHARE) and DEFAULT_QUOTA_SHARE == 0.6
    assert Rates.of_quota(1.0) == Rates()
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="quota share"):
            Rates.of_quota(bad)


def test_lambda_calls_take_the_same_share_of_lambdas_own_quota() -> None:
    """Lambda allows 15 control-plane requests per second per account and region: 60% of it is 9, in bursts of 9."""
    lam = Rates.of_quota(0.6).for_lambda()
    assert (lam.rate, lam.burst) == (9.0, 9.0)
    assert Rates().for_lambda().rate == 15.0 and Rates().for_lambda().burst <= 15.0
    assert lambda_budget_key("111111111111", "eu-west-1") != budget_key("account-region", "111111111111", "eu-west-1")


def _paced(budget: CallBudget, t: FakeTime, calls: int) -> float:
    """Seconds `calls` general calls take from now."""
    started = t.now
    for _ in range(calls):
        budget.acquire("GetStages")
    return t.now - started


def test_a_429_halves_the_pace_at_once_and_drains_the_burst() -> None:
    t = FakeTime()
    budget = CallBudget(Rates(rate=10, burst=10, get_resources_rate=2, get_resources_burst=2), t.clock, t.sleep)
    budget.on_response(response_dict={"status_code": 200})
    assert budget.pace == 1.0
    budget.on_response(response_dict={"status_code": 429})
    assert budget.pace == 0.5 and budget.general.rate == 5.0 and budget.get_resources.rate == 1.0
    # Nothing banked survives the 429: the next ten calls come at 5 per second (recovering a little meanwhile).
    assert 1.8 < _paced(budget, t, 10) <= 2.0


def test_429s_of_calls_already_in_flight_slow_down_once() -> None:
    t = FakeTime()
    budget = CallBudget(Rates(rate=10, burst=10), t.clock, t.sleep)
    for _ in range(5):
        budget.throttled()
    assert budget.pace == 0.5 and budget.slowdowns == 1
    t.now += 1.0
    budget.throttled()
    assert budget.pace == pytest.approx((0.5 + 0.02) / 2) and budget.slowdowns == 2


def test_the_pace_recovers_slowly_and_never_falls_below_its_floor() -> None:
    t = FakeTime()
    budget = CallBudget(Rates(rate=10, burst=10), t.clock, t.sleep)
    for _ in range(10):
        budget.throttled()
        t.now += 1.0
    assert budget.pace == pytest.approx(SLOWEST, abs=0.03)
    t.now += 10
    budget.acquire("GetStages")
    assert budget.pace == pytest.approx(SLOWEST + 0.02 * 11, abs=0.03)  # about 1 s recovered per 0.02
    t.now += 60
    budget.acquire("GetStages")
    assert budget.pace == 1.0 and budget.general.rate == 10.0


def test_a_share_factor_scales_rates_and_bursts_of_the_budget() -> None:
    t = FakeTime()
    budget = CallBudget(Rates(rate=6, burst=24, get_resources_rate=1.5, get_resources_burst=3), t.clock, t.sleep)
    budget.set_share(0.5)
    assert (budget.general.rate, budget.general.burst) == (3.0, 12.0)
    assert (budget.get_resources.rate, budget.get_resources.burst) == (0.75, 1.5)
    # The burst that is left is the halved one: 12 at once, then 3 per second.
    assert _paced(budget, t, 12) == 0.0
    assert _paced(budget, t, 6) == pytest.approx(2.0)
    budget.set_share(0.01)
    assert budget.general.burst == 1.0 and budget.get_resources.burst == 1.0
    budget.set_share(1.0)
    assert (budget.general.rate, budget.general.burst) == (6.0, 24.0)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="share factor"):
            budget.set_share(bad)


def test_the_share_factor_and_the_pace_after_a_429_combine() -> None:
    t = FakeTime()
    budget = CallBudget(Rates(rate=6, burst=24, get_resources_rate=1.5, get_resources_burst=3), t.clock, t.sleep)
    budget.set_share(0.5)
    budget.throttled()
    assert budget.general.rate == pytest.approx(6 * 0.5 * 0.5)
    assert budget.get_resources.rate == pytest.approx(1.5 * 0.5 * 0.5)
    t.now += 10
    budget.set_share(1 / 3)  # a third execution joined while the pace recovers
    assert budget.general.rate == pytest.approx(6 * (1 / 3) * (0.5 + 0.2))
    t.now += 60
    budget.acquire("GetStages")
    assert budget.pace == 1.0 and budget.general.rate == pytest.approx(2.0)


def test_a_scan_joining_others_starts_without_a_burst() -> None:
    t = FakeTime()
    budget = CallBudget(Rates(rate=6, burst=24, get_resources_rate=1.5, get_resources_burst=3), t.clock, t.sleep)
    budget.set_share(0.5, drain=True)
    assert _paced(budget, t, 3) == pytest.approx(1.0)  # 3 per second from the first call


def test_budget_pools_keep_the_budgets_of_separate_executions_apart() -> None:
    rates = Rates(rate=3.0)
    a, b = BudgetPool(), BudgetPool()
    key = budget_key("account", "111111111111", "eu-west-1")
    assert a.get(key, rates) is a.get(key, rates) and a.get(key, rates) is not b.get(key, rates)
    assert ScanOptions().budget("111111111111", "eu-west-1") is shared_budget(key, Rates.of_quota())
    assert ScanOptions(budgets=a, rates=rates).budget("111111111111", "us-east-1") is a.get(key, rates)
