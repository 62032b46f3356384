"""API Gateway's control-plane quotas, enforced by the emulator the way AWS enforces them.

AWS documents, per account (and not raisable): about 10 management requests per second with a burst of 40
across every apigateway/apigatewayv2 operation, and, on top of that, 5 `GetResources` requests every 2 seconds.
`QuotaMiddleware` keeps one token bucket per scope for the first and one per scope for the second, and answers
an over-quota request exactly as API Gateway does: HTTP 429, `x-amzn-ErrorType: TooManyRequestsException`,
`Retry-After` in whole seconds, and `{"message": "Too Many Requests"}`. botocore therefore raises the modeled
`TooManyRequestsException` and its standard retry mode retries it, as it would against AWS.

Modelling choices, where AWS leaves room:
- "5 requests every 2 seconds" is a bucket of 5 refilled at 2.5/s: the same sustained rate, and a full bucket
  allows 5 at once, as the start of a fresh 2-second window would.
- A refused request spends no token, so a client that retries too early is refused again and nothing else.
- Only requests signed for `apigateway` (both API versions share that signing name) and `lambda` are counted:
  STS, S3, DynamoDB and the emulator's own /moto-api/ pass through untouched.
- Lambda's control-plane quota is its own, per account and region whatever the API Gateway scope: 15 requests
  per second (no burst is published: one second's worth), with GetPolicy on a 15 per second quota of its own
  instead. Lambda answers an over-quota request with the same 429 and TooManyRequestsException.
- The other entry points' services have a bucket each, per account and region (CloudFront, a global service,
  per account): ELB's published Describe* bucket (40, refilled at 10 per second), answered as ELB does (400,
  `Throttling`); AppSync and CloudFront publish none, so they get the rate the scanner assumes for them
  (5 per second), AppSync answering 429 and CloudFront 400 `Throttling`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from api_discovery.local.emulator import error_response, identify, rest_json_error, signing_scope

QuotaScope = Literal["account", "account-region"]
Clock = Callable[[], float]

GET_RESOURCES = "apigateway:GetResources"
LAMBDA_GET_POLICY = "lambda:GetPolicy"
THROTTLED_STATUS = 429
THROTTLED_CODE = "TooManyRequestsException"
THROTTLED_MESSAGE = "Too Many Requests"
_SIGNING_NAME = "apigateway"  # apigateway and apigatewayv2 both sign as "apigateway"
# The other entry points' services, by signing name, and how each answers an over-quota request.
_OTHER_SIGNING = {"elasticloadbalancing": "elbv2", "appsync": "appsync", "cloudfront": "cloudfront"}
_OTHER_SERVICES = frozenset(_OTHER_SIGNING.values())
_OTHER_REFUSAL = {"elbv2": (400, "Throttling"), "appsync": (429, THROTTLED_CODE), "cloudfront": (400, "Throttling")}
_EPSILON = 1e-9  # clock arithmetic leaves 0.9999999 of a token where exactly one is due


@dataclass(frozen=True)
class QuotaRates:
    """Requests per second and burst (bucket size) of each quota. Defaults: AWS's documented values."""

    rate: float = 10.0
    burst: float = 40.0
    get_resources_rate: float = 2.5
    get_resources_burst: float = 5.0
    lambda_rate: float = 15.0
    lambda_burst: float = 15.0
    elb_rate: float = 10.0
    elb_burst: float = 40.0
    appsync_rate: float = 5.0
    appsync_burst: float = 5.0
    cloudfront_rate: float = 5.0
    cloudfront_burst: float = 5.0

    def __post_init__(self) -> None:
        if min(self.rate, self.get_resources_rate) <= 0 or min(self.burst, self.get_resources_burst) < 1:
            raise ValueError(f"quota rates must be > 0 and bursts >= 1: {self}")

    def scaled(self, factor: float) -> QuotaRates:
        """The same quotas, `factor` times faster. Bursts are counts of calls, not time, so they stay."""
        if factor <= 0:
            raise ValueError(f"scale factor must be > 0, got {factor}")
        return replace(
            self,
            rate=self.rate * factor,
            get_resources_rate=self.get_resources_rate * factor,
            lambda_rate=self.lambda_rate * factor,
            elb_rate=self.elb_rate * factor,
            appsync_rate=self.appsync_rate * factor,
            cloudfront_rate=self.cloudfront_rate * factor,
        )

    def of_service(self, service: str) -> tuple[float, float]:
        """(rate, burst) of one of the other entry points' services: elbv2, appsync, cloudfront."""
        prefix = {"elbv2": "elb"}.get(service, service)
        return getattr(self, f"{prefix}_rate"), getattr(self, f"{prefix}_burst")

    def per_operation(self) -> dict[str, tuple[float, float]]:
        """(rate, burst) of each operation that has a quota of its own, besides the general one."""
        return {GET_RESOURCES: (self.get_resources_rate, self.get_resources_burst)}


class TokenBucket:
    """A classic token bucket, driven by the caller's clock readings. Not locked: `Quotas` holds the lock."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self._at = now

    def _refill(self, now: float) -> None:
        if now > self._at:
            self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
            self._at = now

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0.0: one is available now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 - _EPSILON else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


@dataclass(frozen=True)
class QuotaCount:
    scope: str
    operation: str
    allowed: int
    throttled: int


@dataclass(frozen=True)
class QuotaEvent:
    at: float  # clock reading
    scope: str
    operation: str
    allowed: bool


class Quotas:
    """Every scope's buckets and what they allowed and refused. Thread-safe."""

    def __init__(
        self,
        rates: QuotaRates | None = None,
        *,
        scope: QuotaScope = "account",
        clock: Clock = time.monotonic,
        record_events: bool = False,
    ) -> None:
        if scope not in ("account", "account-region"):
            raise ValueError(f"quota scope is 'account' or 'account-region', got {scope!r}")
        self.rates = rates or QuotaRates()
        self.scope = scope
        self._clock = clock
        self._record = record_events
        self._lock = threading.Lock()
        self._general: dict[str, TokenBucket] = {}
        self._operations: dict[tuple[str, str], TokenBucket] = {}
        self._allowed: Counter[tuple[str, str]] = Counter()
        self._throttled: Counter[tuple[str, str]] = Counter()
        self._events: list[QuotaEvent] = []

    def scope_key(self, account: str | None, region: str | None) -> str:
        account = account or "unknown"
        return account if self.scope == "account" else f"{account}/{region or 'unknown'}"

    def admit(self, scope_key: str, operation: str) -> float:
        """Spend a token from every bucket the operation draws on and return 0.0, or spend nothing and return
        the seconds until all of them have one."""
        with self._lock:
            now = self._clock()
            service = operation.split(":", 1)[0]
            if service in _OTHER_SERVICES:
                key = (scope_key, service)
                if key not in self._operations:
                    self._operations[key] = TokenBucket(*self.rates.of_service(service), now)
                buckets = [self._operations[key]]
            elif operation.startswith("lambda:"):
                # GetPolicy spends from its own quota only; every other Lambda call from the control plane's.
                kind = LAMBDA_GET_POLICY if operation == LAMBDA_GET_POLICY else "lambda:control-plane"
                key = (scope_key, kind)
                if key not in self._operations:
                    self._operations[key] = TokenBucket(self.rates.lambda_rate, self.rates.lambda_burst, now)
                buckets = [self._operations[key]]
            else:
                buckets = [self._general_bucket(scope_key, now)]
                limit = self.rates.per_operation().get(operation)
                if limit is not None:
                    key = (scope_key, operation)
                    if key not in self._operations:
                        self._operations[key] = TokenBucket(*limit, now)
                    buckets.append(self._operations[key])
            wait = max(bucket.wait(now) for bucket in buckets)
            if wait > 0:
                self._throttled[scope_key, operation] += 1
            else:
                for bucket in buckets:
                    bucket.take(now)
                self._allowed[scope_key, operation] += 1
            if self._record:
                self._events.append(QuotaEvent(now, scope_key, operation, wait == 0))
            return wait

    def _general_bucket(self, scope_key: str, now: float) -> TokenBucket:
        bucket = self._general.get(scope_key)
        if bucket is None:
            bucket = self._general[scope_key] = TokenBucket(self.rates.rate, self.rates.burst, now)
        return bucket

    def counts(self) -> list[QuotaCount]:
        """Allowed and throttled requests per (scope, operation), sorted."""
        with self._lock:
            keys = sorted(set(self._allowed) | set(self._throttled))
            return [QuotaCount(s, op, self._allowed[s, op], self._throttled[s, op]) for s, op in keys]

    def allowed(self) -> int:
        with self._lock:
            return sum(self._allowed.values())

    def throttled(self) -> int:
        with self._lock:
            return sum(self._throttled.values())

    def events(self) -> list[QuotaEvent]:
        """Every decision in order, when created with `record_events=True` (for timelines in reports)."""
        with self._lock:
            return list(self._events)

    def reset(self) -> None:
        """Full buckets, no counts, no events: as if no request had ever come."""
        with self._lock:
            self._general.clear()
            self._operations.clear()
            self._allowed.clear()
            self._throttled.clear()
            self._events.clear()


def throttled_response_headers(wait: float) -> dict[str, str]:
    # AWS sends whole seconds; a wait of 0.2 s is announced as 1.
    return {"Retry-After": str(max(1, math.ceil(wait)))}


class QuotaMiddleware:
    """An Emulator middleware: `Emulator(middlewares=[QuotaMiddleware(QuotaRates().scaled(10))])`.

    The counts and buckets live in `self.quotas`, so one instance can be asked for its report after a run.
    """

    def __init__(
        self,
        rates: QuotaRates | None = None,
        *,
        scope: QuotaScope = "account",
        clock: Clock = time.monotonic,
        record_events: bool = False,
    ) -> None:
        self.quotas = Quotas(rates, scope=scope, clock=clock, record_events=record_events)

    @property
    def rates(self) -> QuotaRates:
        return self.quotas.rates

    @property
    def scope(self) -> QuotaScope:
        return self.quotas.scope

    def __call__(self, app: WSGIApplication) -> WSGIApplication:
        quotas = self.quotas

        def enforce_quotas(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            region, service = signing_scope(environ)
            if service in _OTHER_SIGNING:
                return _other_service(environ, start_response, region)
            if service not in (_SIGNING_NAME, "lambda"):
                return app(environ, start_response)
            account, operation = identify(environ)
            if service == "lambda":
                # Lambda's quotas are per account and region, apart from API Gateway's buckets.
                scope_key = f"lambda:{account or 'unknown'}/{region or 'unknown'}"
                wait = quotas.admit(scope_key, operation or "lambda:unidentified")
            else:
                wait = quotas.admit(quotas.scope_key(account, region), operation or f"{_SIGNING_NAME}:unidentified")
            if wait <= 0:
                return app(environ, start_response)
            response = rest_json_error(THROTTLED_STATUS, THROTTLED_CODE, THROTTLED_MESSAGE)
            response.headers.update(throttled_response_headers(wait))
            return response(environ, start_response)

        def _other_service(
            environ: WSGIEnvironment, start_response: StartResponse, region: str | None
        ) -> Iterable[bytes]:
            account, operation = identify(environ)
            service = (operation or "").split(":", 1)[0]
            if service not in _OTHER_SERVICES:  # classic ELB, or a request the emulator cannot name
                return app(environ, start_response)
            where = account or "unknown" if service == "cloudfront" else f"{account or 'unknown'}/{region or 'unknown'}"
            wait = quotas.admit(f"{service}:{where}", operation or f"{service}:unidentified")
            if wait <= 0:
                return app(environ, start_response)
            status, code = _OTHER_REFUSAL[service]
            return error_response(operation, status, code, "Rate exceeded")(environ, start_response)

        return enforce_quotas
