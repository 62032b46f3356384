"""A client-side call budget: API Gateway's control-plane quotas, spent before AWS has to refuse.

AWS allows about 10 management requests per second with a burst of 40, and GetResources 5 per 2 seconds,
per account (not raisable). Retries alone do not help a scanner that exceeds them; spending from the same
buckets before each request does. One budget is shared by everything in this process that scans the same
scope, and a Lambda scanning one of several regions of an account at once takes its share.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

Scope = Literal["account", "account-region"]
BURST_HEADROOM = 0.1


@dataclass(frozen=True)
class Rates:
    """AWS's rates, and bursts a little below AWS's (40 and 5): a call leaves on budget but reaches AWS with
    network jitter, and the tokens held back absorb an early arrival instead of a 429."""

    rate: float = 10.0
    burst: float = 36.0
    get_resources_rate: float = 2.5
    get_resources_burst: float = 4.0

    @classmethod
    def within(cls, rate: float, burst: float, get_resources_rate: float, get_resources_burst: float) -> Rates:
        """The budget for quotas of these rates and bursts: the rates, a tenth of each burst held back."""
        return cls(
            rate=rate,
            burst=max(1.0, burst - math.ceil(burst * BURST_HEADROOM)),
            get_resources_rate=get_resources_rate,
            get_resources_burst=max(1.0, get_resources_burst - math.ceil(get_resources_burst * BURST_HEADROOM)),
        )

    def share(self, fraction: float) -> Rates:
        """A fraction of the budget, for one of several concurrent scanners of the same scope."""
        if not 0 < fraction <= 1:
            raise ValueError(f"a budget share is in (0, 1], got {fraction}")
        return replace(
            self,
            rate=self.rate * fraction,
            burst=max(1.0, self.burst * fraction),
            get_resources_rate=self.get_resources_rate * fraction,
            get_resources_burst=max(1.0, self.get_resources_burst * fraction),
        )


class TokenBucket:
    """Reserve-then-wait: a caller takes its token at once (the balance may go negative) and sleeps until
    the moment it would have existed, so waiters are served in arrival order without holding the lock."""

    def __init__(
        self,
        rate: float,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a bucket needs rate > 0 and burst >= 1, got {rate}/{burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._at = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def reserve(self) -> float:
        """Take one token; return how long to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited += wait
            return wait

    def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)


class CallBudget:
    """The buckets of one scope: every API Gateway call spends from the general one, GetResources also from its
    own."""

    def __init__(
        self, rates: Rates, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.rates = rates
        self.general = TokenBucket(rates.rate, rates.burst, clock, sleep)
        self.get_resources = TokenBucket(rates.get_resources_rate, rates.get_resources_burst, clock, sleep)
        self._sleep = sleep

    def acquire(self, operation: str) -> None:
        wait = self.general.reserve()
        if operation == "GetResources":
            wait = max(wait, self.get_resources.reserve())
        if wait > 0:
            self._sleep(wait)

    def before_send(self, event_name: str = "", **_: Any) -> None:
        """botocore `before-send` hook of an API Gateway client: runs for every attempt, retries included."""
        self.acquire(event_name.rsplit(".", 1)[-1])


_budgets: dict[tuple[str, Rates], CallBudget] = {}
_budgets_lock = threading.Lock()


def budget_key(scope: Scope, account_id: str, region: str) -> str:
    return account_id if scope == "account" else f"{account_id}/{region}"


def shared_budget(key: str, rates: Rates) -> CallBudget:
    """The one budget of this process for a scope, so concurrent scans of one account share it."""
    with _budgets_lock:
        budget = _budgets.get((key, rates))
        if budget is None:
            budget = _budgets[key, rates] = CallBudget(rates)
        return budget
