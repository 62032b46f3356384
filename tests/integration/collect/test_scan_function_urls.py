"""Lambda function URLs, through the emulator: every function's URLs read to the end, the policy read only where
AuthType NONE leaves it the only gate, and no function's environment anywhere in what the scan keeps."""

from __future__ import annotations

import json

import boto3
import pytest

from api_discovery.inventory.model import Snapshot
from api_discovery.local.emulator import Emulator
from tests.integration.builders import Builder, scan_in

ACCOUNT, REGION = "410987654321", "eu-west-1"
SECRET = "sk_live_51HvLr0ExampleOnlyNotARealKey9aQ"


def _scan(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Snapshot:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    return scan_in(emulator.url, ACCOUNT, REGION)


def test_every_function_url_is_found_with_its_exposure_and_no_environment(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    # More functions than one ListFunctions page (50): the list must be read to its end.
    for i in range(55):
        b.function(f"worker-{i:02d}", environment={"STRIPE_SECRET_KEY": SECRET, "STAGE": "prod"})
    b.function_url("worker-03", "NONE", public=True, cors={"AllowOrigins": ["*"]})
    b.function_url("worker-51", "NONE", public=False)
    b.function_url("worker-52", "AWS_IAM", public=False)
    fresh_emulator.requests.clear()

    snapshot = _scan(fresh_emulator, monkeypatch)

    assert snapshot.status == "complete", snapshot.errors
    by_name = {u.function_name: u for u in snapshot.function_urls}
    assert set(by_name) == {"worker-03", "worker-51", "worker-52"}
    verdicts = {name: u.exposure.verdict for name, u in by_name.items() if u.exposure}
    assert verdicts == {
        "worker-03": "public-unauthenticated",
        "worker-51": "unreachable",
        "worker-52": "public-authenticated",
    }
    assert by_name["worker-03"].url.startswith("https://") and by_name["worker-03"].policy_read
    assert by_name["worker-03"].cors == {"AllowOrigins": ["*"]}
    # The policy is the only gate of an AuthType NONE URL: read for those two, not for the IAM one.
    sent = fresh_emulator.requests.counts(ACCOUNT)
    assert sent["lambda:ListFunctions"] == 2
    assert sent["lambda:ListFunctionUrlConfigs"] == 55
    assert sent["lambda:GetPolicy"] == 2
    assert snapshot.api_calls == dict(sent)
    (public,) = [f for f in snapshot.findings if f.rule_id == "function-url-public"]
    assert public.resource == "function/worker-03"
    assert public.evidence["open_statements"] == ["FunctionURLAllowPublicAccess"]
    assert public.evidence["cors_origins"] == ["*"]
    # No finding for the URL nobody may call, nor for the one that asks for IAM.
    assert {f.resource for f in snapshot.findings if f.rule_id == "function-url-public"} == {"function/worker-03"}
    stored = snapshot.model_dump_json()
    assert SECRET not in stored and "STRIPE_SECRET_KEY" not in stored


def test_the_environment_is_gone_before_the_collector_sees_the_answer(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook drops it from the parsed answer itself: no copy is left for a log line or a later reader."""
    from api_discovery.collect.session import guarded  # noqa: PLC0415

    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    b.function("billing", environment={"DB_PASSWORD": SECRET})
    client = guarded(
        boto3.Session(aws_access_key_id="k", aws_secret_access_key="s").client(
            "lambda", endpoint_url=fresh_emulator.url, region_name=REGION
        )
    )
    unguarded = b.lambda_.list_functions()["Functions"]
    assert any(SECRET in json.dumps(f, default=str) for f in unguarded), "the emulator must hold the secret"
    answer = client.list_functions()
    assert all("Environment" not in f for f in answer["Functions"])
    assert SECRET not in json.dumps(answer, default=str)


def test_a_role_that_refuses_lambda_keeps_the_api_gateway_scan_complete(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ApiGatewayOnly scope grants no Lambda read: the APIs are still read whole, the refusal is named, and the
    function URLs are unknown, so a later diff reports none of them gone."""
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    api = b.http_api("orders")
    b.route(api, "GET /orders")
    b.function("api")
    b.function_url("api", "NONE")
    fresh_emulator.deny_operation(ACCOUNT, "lambda:ListFunctions")

    snapshot = _scan(fresh_emulator, monkeypatch)

    assert snapshot.status == "complete"
    assert [(e.operation, e.kind) for e in snapshot.errors] == [("lambda:ListFunctions", "permission")]
    assert [a.name for a in snapshot.apis] == ["orders"]
    assert snapshot.function_urls == []
