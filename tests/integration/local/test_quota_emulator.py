"""Real boto3 clients against the emulator with its quota middleware: botocore sees what API Gateway sends."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from api_discovery.local.demo_estate import account_session
from api_discovery.local.emulator import Emulator
from api_discovery.local.quota_emulator import QuotaMiddleware, QuotaRates

ACCOUNT = "313131313131"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
STANDARD_RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})
# No refill worth speaking of during a test: exactly the burst gets through.
FROZEN = QuotaRates(rate=0.001, burst=5, get_resources_rate=0.001, get_resources_burst=2)


@pytest.fixture
def quota() -> QuotaMiddleware:
    return QuotaMiddleware(FROZEN)


@pytest.fixture
def limited(quota: QuotaMiddleware) -> Iterator[Emulator]:
    # A second server over the same moto estate as the session's emulator, with quotas in front.
    with Emulator(middlewares=[quota]) as running:
        yield running


@pytest.fixture
def session(emulator: Emulator) -> boto3.Session:
    # Assumed through the unlimited emulator: STS is not throttled anyway, this keeps the quota untouched.
    return account_session(emulator.url, ACCOUNT)


def _client(session: boto3.Session, service: str, url: str, config: Config, region: str = "eu-west-1") -> Any:
    make: Any = session.client  # one helper for several services: boto3's per-service overloads do not fit
    return make(service, endpoint_url=url, region_name=region, config=config)


def test_calls_beyond_the_burst_get_api_gateways_429(
    limited: Emulator, quota: QuotaMiddleware, session: boto3.Session
) -> None:
    v1 = _client(session, "apigateway", limited.url, NO_RETRIES)
    v2 = _client(session, "apigatewayv2", limited.url, NO_RETRIES)
    for _ in range(5):
        v1.get_rest_apis()
    with pytest.raises(ClientError) as refused:
        v1.get_rest_apis()
    error: dict[str, Any] = dict(refused.value.response)
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Error"]["Message"] == "Too Many Requests"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["ResponseMetadata"]["RetryAttempts"] == 0
    assert int(error["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
    # The apigateway model binds Retry-After to the exception's retryAfterSeconds member.
    assert int(error["retryAfterSeconds"]) >= 1
    with pytest.raises(ClientError) as refused_v2:
        v2.get_apis()
    assert refused_v2.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert isinstance(refused_v2.value, v2.exceptions.TooManyRequestsException)

    counts = {(c.operation, c.allowed, c.throttled) for c in quota.quotas.counts()}
    assert counts == {("apigateway:GetRestApis", 5, 1), ("apigatewayv2:GetApis", 0, 1)}
    statuses = [e.status for e in limited.requests if e.account == ACCOUNT]
    assert statuses == [200] * 5 + [429, 429]


def test_get_resources_is_refused_by_its_own_quota_first(
    limited: Emulator, quota: QuotaMiddleware, session: boto3.Session, emulator: Emulator
) -> None:
    api = _client(session, "apigateway", emulator.url, NO_RETRIES).create_rest_api(name="quota-resources")["id"]
    v1 = _client(session, "apigateway", limited.url, NO_RETRIES)
    v1.get_resources(restApiId=api)
    v1.get_resources(restApiId=api)
    with pytest.raises(v1.exceptions.TooManyRequestsException):
        v1.get_resources(restApiId=api)
    v1.get_stages(restApiId=api)  # the general bucket still has tokens
    assert quota.quotas.throttled() == 1


def test_other_services_are_never_throttled(limited: Emulator, quota: QuotaMiddleware, session: boto3.Session) -> None:
    v1 = _client(session, "apigateway", limited.url, NO_RETRIES)
    for _ in range(5):
        v1.get_rest_apis()
    sts = _client(session, "sts", limited.url, NO_RETRIES, "us-east-1")
    s3 = _client(session, "s3", limited.url, NO_RETRIES, "us-east-1")
    dynamodb = _client(session, "dynamodb", limited.url, NO_RETRIES, "us-east-1")
    for _ in range(10):
        assert sts.get_caller_identity()["Account"] == ACCOUNT
        s3.list_buckets()
        dynamodb.list_tables()
    assert quota.quotas.throttled() == 0


def test_account_region_scope_gives_each_region_its_own_buckets(emulator: Emulator, session: boto3.Session) -> None:
    quota = QuotaMiddleware(FROZEN, scope="account-region")
    with Emulator(middlewares=[quota]) as limited:
        for region in ("eu-west-1", "us-east-1"):
            v2 = _client(session, "apigatewayv2", limited.url, NO_RETRIES, region)
            for _ in range(5):
                v2.get_apis()
            with pytest.raises(v2.exceptions.TooManyRequestsException):
                v2.get_apis()
    assert {(c.scope, c.allowed, c.throttled) for c in quota.quotas.counts()} == {
        (f"{ACCOUNT}/eu-west-1", 5, 1),
        (f"{ACCOUNT}/us-east-1", 5, 1),
    }


def test_standard_retries_carry_a_throttled_client_through(session: boto3.Session) -> None:
    # 4 at once, then 20 per second: 16 concurrent calls overrun it, and botocore retries what was refused.
    quota = QuotaMiddleware(QuotaRates(rate=20, burst=4, get_resources_rate=20, get_resources_burst=4))
    with Emulator(middlewares=[quota]) as limited:
        v1 = _client(session, "apigateway", limited.url, STANDARD_RETRIES)
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: v1.get_rest_apis(), range(16)))
    retries = sum(a["ResponseMetadata"]["RetryAttempts"] for a in answers)
    assert all(a["ResponseMetadata"]["HTTPStatusCode"] == 200 for a in answers)
    assert quota.quotas.allowed() == 16
    assert quota.quotas.throttled() > 0
    assert retries == quota.quotas.throttled()  # every refusal was retried, and nothing else was
