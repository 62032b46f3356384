"""A warm scan Lambda keeps its API Gateway clients from account to account, and never signs one account's
request with another account's keys, nor counts or paces it through another scan's hooks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from api_discovery.collect.session import AccountCredentials, CallCounter, ClientPool, counting, hooked
from api_discovery.errors import ReadOnlyViolationError

REGION = "eu-west-1"


class _Body:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b'{"item": []}'


def _answer(signed_with: list[tuple[str, str]]) -> Any:
    """A `before-send` hook that records the access key and token a request is signed with, and answers it."""

    def send(request: Any, **_: Any) -> AWSResponse:
        authorization = request.headers["Authorization"].decode()
        key = authorization.split("Credential=", 1)[1].split("/", 1)[0]
        token = request.headers.get("X-Amz-Security-Token", b"").decode()
        signed_with.append((key, token))
        return AWSResponse(request.url, 200, HTTPHeaders(), _Body())

    return send


def _account(pool: ClientPool, name: str) -> AccountCredentials:
    return AccountCredentials(f"AKIA{name * 16}", f"secret-{name}", f"token-{name}", pool=pool)


def test_the_next_account_reuses_the_clients_and_signs_with_its_own_keys() -> None:
    pool, signed_with = ClientPool(), list[tuple[str, str]]()
    first = _account(pool, "A")
    v1, v2 = first.api_gateway_clients(REGION)
    v1.meta.events.register("before-send", _answer(signed_with))
    v1.get_rest_apis()
    first.release()

    second = _account(pool, "B")
    assert second.api_gateway_clients(REGION) == (v1, v2)  # made once per process, not once per account
    v1.get_rest_apis()
    second.release()

    assert signed_with == [("AKIA" + "A" * 16, "token-A"), ("AKIA" + "B" * 16, "token-B")]


def test_accounts_scanned_at_once_never_share_a_slot() -> None:
    pool = ClientPool()
    first, second = _account(pool, "A"), _account(pool, "B")
    assert first.api_gateway_clients(REGION)[0] is not second.api_gateway_clients(REGION)[0]
    first.release()
    # A slot given back signs nothing with the keys it last held.
    third = _account(pool, "C")
    client = third.api_gateway_clients(REGION)[0]
    third.release()
    credentials = client._request_signer._credentials
    assert "A" * 16 not in credentials.access_key
    assert "C" * 16 not in credentials.access_key
    second.release()


def test_one_scans_hooks_are_gone_when_it_ends() -> None:
    pool, signed_with = ClientPool(), list[tuple[str, str]]()
    account = _account(pool, "A")
    client = account.api_gateway_clients(REGION)[0]
    client.meta.events.register("before-send", _answer(signed_with))
    first, second = CallCounter(), CallCounter()
    with hooked([client], counting(first)):
        client.get_rest_apis()
    with hooked([client], counting(second)):
        client.get_rest_apis()
        client.get_rest_apis()
    account.release()
    assert (first.snapshot(), second.snapshot()) == ({"apigateway:GetRestApis": 1}, {"apigateway:GetRestApis": 2})


def test_pooled_clients_stay_read_only() -> None:
    account = _account(ClientPool(), "A")
    v1, v2 = account.api_gateway_clients(REGION)
    with pytest.raises(ReadOnlyViolationError):
        v1.delete_rest_api(restApiId="abc")
    with pytest.raises(ReadOnlyViolationError):
        v2.delete_api(ApiId="abc")
    account.release()


def test_pooled_lambda_clients_stay_read_only_and_are_kept() -> None:
    account = _account(ClientPool(), "A")
    client = account.lambda_client(REGION)
    assert account.lambda_client(REGION) is client
    with pytest.raises(ReadOnlyViolationError):
        client.delete_function(FunctionName="f")
    with pytest.raises(ReadOnlyViolationError):
        client.get_function(FunctionName="f")  # a read, but its answer holds the environment
    account.release()


def test_regions_of_one_account_make_their_clients_on_many_threads_at_once() -> None:
    account = _account(ClientPool(), "A")
    regions = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
    made: dict[str, tuple[Any, Any]] = {}

    def make(region: str) -> None:
        made[region] = account.api_gateway_clients(region)

    threads = [threading.Thread(target=make, args=(r,)) for r in regions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r: c[0].meta.region_name for r, c in made.items()} == {r: r for r in regions}
    account.release()


def test_a_process_that_points_boto3_elsewhere_gets_clients_of_the_new_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = ClientPool()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1111")
    account = _account(pool, "A")
    first = account.api_gateway_clients(REGION)[0]
    account.release()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2222")
    again = _account(pool, "B")
    second = again.api_gateway_clients(REGION)[0]
    again.release()
    assert (first.meta.endpoint_url, second.meta.endpoint_url) == ("http://127.0.0.1:1111", "http://127.0.0.1:2222")
