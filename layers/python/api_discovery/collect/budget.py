"""A client-side call budget: API Gateway's control-plane quotas, spent before AWS has to refuse.

AWS allows about 10 management requests per second with a burst of 40, and GetResources 5 per 2 seconds,
per account (not raisable). Retries alone do not help a scanner that exceeds them; spending from the same
buckets before each request does. One budget is shared by everything in this process that scans the same
scope, and a Lambda scanning one of several regions of an account at once takes its share.

The quota is the customer's too: their own deploys spend from it. A scan takes a share of it (60% unless
configured), and a 429 means someone else needs more: the budget halves its pace at once and wins it back
slowly. Executions scanning the same account at once (a sweep and a change-event run) split that share between
them: each budget spends the fraction it is given (`set_share`, from the account's quota lease).
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
DEFAULT_QUOTA_SHARE = 0.6
SLOWEST = 0.125  # the lowest fraction of its pace a budget slows down to
RECOVERY_PER_SECOND = 0.02  # of the full pace: from half to all of it in 25 s without another 429
DECREASE_EVERY_S = 1.0  # 429s of calls already in flight are one signal, not several
LAMBDA_RATE = 15.0  # Lambda's control-plane requests per second, per account and region (not raisable)
# The other entry points' services, (rate, burst) per account and region (CloudFront: per account). ELB publishes
# its Describe* bucket: 40 tokens, refilled at 10 per second. AppSync and CloudFront publish no control-plane rate:
# 5 per second is taken for each, a pace their consoles exceed; the scan sends them a few calls per region.
SERVICE_RATES: dict[str, tuple[float, float]] = {
    "lambda": (LAMBDA_RATE, LAMBDA_RATE),
    "elbv2": (10.0, 40.0),
    "appsync": (5.0, 5.0),
    "cloudfront": (5.0, 5.0),
}


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

    @classmethod
    def of_quota(cls, share: float = DEFAULT_QUOTA_SHARE) -> Rates:
        """A scanner's budget: `share` of AWS's rates and bursts, the rest left to the customer's own calls."""
        if not 0 < share <= 1:
            raise ValueError(f"a quota share is in (0, 1], got {share}")
        if share == 1:
            return cls()
        return cls(
            rate=10.0 * share,
            burst=max(1.0, math.floor(40 * share)),
            get_resources_rate=2.5 * share,
            get_resources_burst=max(1.0, math.floor(5 * share)),
        )

    def for_lambda(self) -> Rates:
        """The same share of Lambda's control-plane quota: 15 requests per second per account and region, with no
        published burst (taken as one second's worth). GetPolicy has a 15 per second quota of its own; it is paced
        from this bucket too, which only ever keeps it slower."""
        return self.for_service("lambda")

    def for_service(self, service: str) -> Rates:
        """The same share of another service's quota (SERVICE_RATES), with the same burst held back."""
        rate, burst = SERVICE_RATES[service]
        return replace(
            self,
            rate=self.rate * rate / 10.0,
            burst=max(1.0, math.floor(self.burst * burst / 40.0)),
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

    def set_rate(self, rate: float, *, burst: float | None = None, drain: bool = False) -> None:
        """Change the pace (and the burst) from now on; `drain` also spends what the bucket holds, so no burst
        follows."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self.rate = rate
            if burst is not None:
                self.burst = burst
                self._tokens = min(self._tokens, burst)
            if drain:
                self._tokens = min(self._tokens, 0.0)

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
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.pace = 1.0  # the fraction of its rates the budget spends at now
        self.share_factor = 1.0  # its part of the rates while other executions scan the same scope
        self._paced_at = clock()
        self._slowed_at: float | None = None
        self.slowdowns = 0

    def _recover(self, now: float) -> None:
        if self.pace < 1.0:
            self.pace = min(1.0, self.pace + (now - self._paced_at) * RECOVERY_PER_SECOND)
            self._apply(drain=False)
        self._paced_at = now

    def _apply(self, *, drain: bool) -> None:
        share, rates = self.share_factor, self.rates
        self.general.set_rate(rates.rate * share * self.pace, burst=max(1.0, rates.burst * share), drain=drain)
        self.get_resources.set_rate(
            rates.get_resources_rate * share * self.pace,
            burst=max(1.0, rates.get_resources_burst * share),
            drain=drain,
        )

    def set_share(self, factor: float, *, drain: bool = False) -> None:
        """Spend `factor` of the rates and bursts from now on (1 / the executions scanning this scope), on top
        of the pace. `drain`: a scan joining others finds the quota's burst already spent by them."""
        if not 0 < factor <= 1:
            raise ValueError(f"a share factor is in (0, 1], got {factor}")
        with self._lock:
            self._recover(self._clock())
            if factor == self.share_factor and not drain:
                return
            self.share_factor = factor
            self._apply(drain=drain)

    def throttled(self) -> None:
        """AWS refused a call for its quota: someone else is spending it, so slow down at once."""
        with self._lock:
            now = self._clock()
            self._recover(now)
            if self._slowed_at is not None and now - self._slowed_at < DECREASE_EVERY_S:
                return
            self._slowed_at = now
            self.slowdowns += 1
            self.pace = max(SLOWEST, self.pace / 2)
            self._apply(drain=True)

    def acquire(self, operation: str) -> None:
        if self.pace < 1.0:
            with self._lock:
                self._recover(self._clock())
        wait = self.general.reserve()
        if operation == "GetResources":
            wait = max(wait, self.get_resources.reserve())
        if wait > 0:
            self._sleep(wait)

    def before_send(self, event_name: str = "", **_: Any) -> None:
        """botocore `before-send` hook of an API Gateway client: runs for every attempt, retries included."""
        self.acquire(event_name.rsplit(".", 1)[-1])

    def on_response(self, response_dict: dict[str, Any] | None = None, **_: Any) -> None:
        """botocore `response-received` hook: sees every attempt's answer, the retried ones included."""
        if response_dict is None:
            return
        status = response_dict.get("status_code")
        # ELB and CloudFront refuse with a 400 whose code says Throttling, not with a 429.
        if status == 429 or (status == 400 and b"Throttling" in (response_dict.get("body") or b"")[:512]):
            self.throttled()


def budget_key(scope: Scope, account_id: str, region: str) -> str:
    return account_id if scope == "account" else f"{account_id}/{region}"


def lambda_budget_key(account_id: str, region: str) -> str:
    """Lambda's quotas are per account and region, whatever the API Gateway scope."""
    return service_budget_key("lambda", account_id, region)


def service_budget_key(service: str, account_id: str, region: str) -> str:
    """Each service's quota is its own: per account and region, CloudFront's (a global service) per account."""
    return f"{service}:{account_id}" if service == "cloudfront" else f"{service}:{account_id}/{region}"


class BudgetPool:
    """One budget per scope. A process has one pool (`shared_budget`), so its concurrent scans of one account
    share a budget; a test or benchmark standing in for several Lambdas gives each its own."""

    def __init__(self) -> None:
        self._budgets: dict[tuple[str, Rates], CallBudget] = {}
        self._lock = threading.Lock()

    def get(self, key: str, rates: Rates) -> CallBudget:
        with self._lock:
            budget = self._budgets.get((key, rates))
            if budget is None:
                budget = self._budgets[key, rates] = CallBudget(rates)
            return budget


PROCESS_BUDGETS = BudgetPool()


def shared_budget(key: str, rates: Rates) -> CallBudget:
    """The one budget of this process for a scope, so concurrent scans of one account share it."""
    return PROCESS_BUDGETS.get(key, rates)
