"""The emulator's quota buckets, on a clock the test moves: what AWS would allow, refuse, and say when."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

import pytest

from api_discovery.local.quota_emulator import (
    GET_RESOURCES,
    QuotaCount,
    QuotaMiddleware,
    QuotaRates,
    Quotas,
    TokenBucket,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_aws_defaults_and_scaling_keep_bursts() -> None:
    rates = QuotaRates()
    assert (rates.rate, rates.burst, rates.get_resources_rate, rates.get_resources_burst) == (10, 40, 2.5, 5)
    fast = rates.scaled(4)
    assert (fast.rate, fast.burst, fast.get_resources_rate, fast.get_resources_burst) == (40, 40, 10, 5)
    with pytest.raises(ValueError, match="factor"):
        rates.scaled(0)
    with pytest.raises(ValueError, match="bursts"):
        QuotaRates(burst=0.5)


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    bucket = TokenBucket(rate=10, burst=40, now=0.0)
    for _ in range(40):
        assert bucket.wait(0.0) == 0.0
        bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(0.1)
    assert bucket.wait(0.05) == pytest.approx(0.05)
    assert bucket.wait(0.1) == 0.0
    bucket.take(0.1)
    # Refilling never exceeds the burst, however long the bucket sat idle.
    assert bucket.wait(1_000.0) == 0.0
    assert bucket.tokens == 40


def test_general_quota_refuses_beyond_the_burst_and_recovers_at_the_rate() -> None:
    clock = Clock()
    quotas = Quotas(QuotaRates(), clock=clock)
    waits = [quotas.admit("111111111111", "apigateway:GetStages") for _ in range(45)]
    assert waits[:40] == [0.0] * 40
    assert waits[40:] == pytest.approx([0.1] * 5)
    clock.now += 0.25  # 2.5 tokens: two calls, not three
    assert [quotas.admit("111111111111", "apigatewayv2:GetRoutes") for _ in range(3)] == pytest.approx([0, 0, 0.05])
    assert quotas.counts() == [
        QuotaCount("111111111111", "apigateway:GetStages", allowed=40, throttled=5),
        QuotaCount("111111111111", "apigatewayv2:GetRoutes", allowed=2, throttled=1),
    ]
    assert (quotas.allowed(), quotas.throttled()) == (42, 6)


def test_get_resources_has_its_own_tighter_quota_on_top_of_the_general_one() -> None:
    clock = Clock()
    quotas = Quotas(QuotaRates(), clock=clock)
    waits = [quotas.admit("a", GET_RESOURCES) for _ in range(6)]
    assert waits[:5] == [0.0] * 5
    assert waits[5] == pytest.approx(0.4)  # one token at 2.5 per second
    # Other operations still have the general bucket: 40 - 5 GetResources = 35 left.
    assert [quotas.admit("a", "apigateway:GetStages") for _ in range(36)][-2:] == pytest.approx([0.0, 0.1])
    clock.now += 2.0
    assert [quotas.admit("a", GET_RESOURCES) for _ in range(6)][:5] == [0.0] * 5


def test_get_resources_refused_by_the_general_bucket_spends_nothing() -> None:
    clock = Clock()
    quotas = Quotas(QuotaRates(burst=2), clock=clock)
    assert quotas.admit("a", "apigateway:GetRestApis") == 0.0
    assert quotas.admit("a", "apigateway:GetRestApis") == 0.0
    assert quotas.admit("a", GET_RESOURCES) == pytest.approx(0.1)
    clock.now += 0.1
    # Its own bucket is still full: the refused call above took nothing from it.
    assert quotas.admit("a", GET_RESOURCES) == 0.0
    assert [c for c in quotas.counts() if c.operation == GET_RESOURCES] == [
        QuotaCount("a", GET_RESOURCES, allowed=1, throttled=1)
    ]


def test_lambda_has_its_own_quota_and_get_policy_another() -> None:
    clock = Clock()
    quotas = Quotas(QuotaRates(), clock=clock)
    waits = [quotas.admit("lambda:a/eu-west-1", "lambda:ListFunctionUrlConfigs") for _ in range(16)]
    assert waits[:15] == [0.0] * 15 and waits[15] == pytest.approx(1 / 15)
    # GetPolicy is not in the control plane's quota: its own 15 are still there, and API Gateway's 40 too.
    assert [quotas.admit("lambda:a/eu-west-1", "lambda:GetPolicy") for _ in range(15)] == [0.0] * 15
    assert quotas.admit("a", "apigateway:GetStages") == 0.0
    # Another region's functions have a quota of their own.
    assert quotas.admit("lambda:a/us-east-1", "lambda:ListFunctions") == 0.0


def test_middleware_counts_lambda_per_account_and_region() -> None:
    middleware = QuotaMiddleware(QuotaRates(lambda_rate=0.001, lambda_burst=1), clock=Clock())
    app = middleware(_inner)
    ok, _ = _call(app, _environ("/2015-03-31/functions/", service="lambda"))
    refused, _ = _call(app, _environ("/2021-10-31/functions/f/urls", service="lambda"))
    elsewhere, _ = _call(app, _environ("/2015-03-31/functions/", service="lambda", region="us-east-1"))
    assert ok.status.startswith("200") and refused.status.startswith("429") and elsewhere.status.startswith("200")
    assert refused.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert {(c.scope, c.operation, c.allowed, c.throttled) for c in middleware.quotas.counts()} == {
        ("lambda:222222222222/eu-west-1", "lambda:ListFunctions", 1, 0),
        ("lambda:222222222222/eu-west-1", "lambda:ListFunctionUrlConfigs", 0, 1),
        ("lambda:222222222222/us-east-1", "lambda:ListFunctions", 1, 0),
    }


def test_scope_is_the_account_or_the_account_and_region() -> None:
    per_account = Quotas(QuotaRates(burst=1))
    assert per_account.scope_key("111111111111", "eu-west-1") == per_account.scope_key("111111111111", "us-east-1")
    per_region = Quotas(QuotaRates(burst=1), scope="account-region")
    keys = {per_region.scope_key("111111111111", r) for r in ("eu-west-1", "us-east-1")}
    assert keys == {"111111111111/eu-west-1", "111111111111/us-east-1"}
    for quotas in (per_account, per_region):
        first = quotas.admit(quotas.scope_key("111111111111", "eu-west-1"), "apigateway:GetRestApis")
        second = quotas.admit(quotas.scope_key("111111111111", "us-east-1"), "apigateway:GetRestApis")
        assert first == 0.0
        assert (second > 0) is (quotas is per_account)
    with pytest.raises(ValueError, match="scope"):
        Quotas(scope="region")  # type: ignore[arg-type]


def test_concurrent_callers_never_get_more_than_the_burst() -> None:
    clock = Clock()  # frozen: no refill while the threads race
    quotas = Quotas(QuotaRates(burst=40), clock=clock)
    allowed: list[bool] = []
    lock = threading.Lock()

    def call() -> None:
        for _ in range(25):
            ok = quotas.admit("a", "apigateway:GetStages") == 0.0
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 40 and len(allowed) == 200
    assert quotas.throttled() == 160


def test_events_and_reset() -> None:
    clock = Clock()
    quotas = Quotas(QuotaRates(burst=1), clock=clock, record_events=True)
    quotas.admit("a", "apigateway:GetRestApis")
    quotas.admit("a", "apigateway:GetRestApis")
    assert [(e.at, e.allowed) for e in quotas.events()] == [(100.0, True), (100.0, False)]
    quotas.reset()
    assert quotas.events() == [] and quotas.counts() == []
    assert quotas.admit("a", "apigateway:GetRestApis") == 0.0  # full again


# --------------------------------------------------------------------------------------------------
# The middleware, with a WSGI environ as the emulator's server builds it.
# --------------------------------------------------------------------------------------------------

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/{region}/{service}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)


def _environ(path: str, service: str = "apigateway", region: str = "eu-west-1", **extra: Any) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "RAW_URI": path,
        "QUERY_STRING": "",
        "HTTP_AUTHORIZATION": AUTH.format(region=region, service=service),
        "HTTP_X_MOTO_ACCOUNT_ID": "222222222222",
        **extra,
    }


class Recorder:
    def __init__(self) -> None:
        self.status = ""
        self.headers: dict[str, str] = {}

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status, self.headers = status, dict(headers)
        return lambda _: None


def _inner(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"item": []}']


def _call(app: Any, environ: dict[str, Any]) -> tuple[Recorder, bytes]:
    recorder = Recorder()
    body = b"".join(app(environ, recorder))
    return recorder, body


def test_middleware_answers_over_quota_calls_as_api_gateway_does() -> None:
    clock = Clock()
    middleware = QuotaMiddleware(QuotaRates(rate=0.4, burst=1), clock=clock)
    app = middleware(_inner)
    ok, body = _call(app, _environ("/restapis"))
    assert ok.status.startswith("200") and body == b'{"item": []}'
    refused, body = _call(app, _environ("/v2/apis"))
    assert refused.status.startswith("429")
    assert refused.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert refused.headers["Retry-After"] == "3"  # 2.5 s until a token, rounded up
    assert json.loads(body) == {"message": "Too Many Requests"}
    assert [(c.scope, c.operation, c.allowed, c.throttled) for c in middleware.quotas.counts()] == [
        ("222222222222", "apigateway:GetRestApis", 1, 0),
        ("222222222222", "apigatewayv2:GetApis", 0, 1),
    ]


def test_middleware_lets_every_other_service_through() -> None:
    middleware = QuotaMiddleware(QuotaRates(rate=0.001, burst=1), clock=Clock())
    app = middleware(_inner)
    _call(app, _environ("/restapis"))  # the only token
    for service, path in (("sts", "/"), ("s3", "/bucket"), ("dynamodb", "/")):
        recorder, _ = _call(app, _environ(path, service=service))
        assert recorder.status.startswith("200"), service
    unsigned = {"REQUEST_METHOD": "POST", "PATH_INFO": "/moto-api/reset", "QUERY_STRING": ""}
    assert _call(app, unsigned)[0].status.startswith("200")
    assert middleware.quotas.allowed() == 1 and middleware.quotas.throttled() == 0
