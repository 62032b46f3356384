"""A scan of REST APIs through the emulator: every fact the snapshot promises, read in the fewest calls."""

from __future__ import annotations

import json

import boto3
import pytest

from api_discovery.inventory.model import Api, Snapshot
from api_discovery.local.emulator import Emulator
from api_discovery.steps.target_scan import scan_target
from api_discovery.targets import Target
from tests.integration.builders import PRIVATE_POLICY, Builder, options

ACCOUNT, REGION = "210987654321", "eu-west-1"


def _scan(emulator: Emulator, monkeypatch: pytest.MonkeyPatch, page_size: int = 500) -> Snapshot:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    target = Target(
        run_id="run-1",
        account_id=ACCOUNT,
        region=REGION,
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/ApiDiscoveryReadOnly",
        external_id="ext-1",
    )
    return scan_target(target, session_factory=boto3.Session, options=options(page_size))


@pytest.fixture
def estate(fresh_emulator: Emulator) -> dict[str, str]:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    api = b.rest_api(
        "orders", "PRIVATE", policy=json.dumps(PRIVATE_POLICY), tags={"team": "payments"}, apiKeySource="HEADER"
    )
    for path in ("/orders", "/orders/{id}", "/admin"):
        b.resource(api, path)
    authorizer = b.v1.create_authorizer(
        restApiId=api.id,
        name="token",
        type="TOKEN",
        identitySource="method.request.header.Authorization",
        authorizerUri="arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:"
        f"{ACCOUNT}:function:auth/invocations",
    )["id"]
    pool = b.v1.create_authorizer(
        restApiId=api.id,
        name="users",
        type="COGNITO_USER_POOLS",
        providerARNs=[f"arn:aws:cognito-idp:eu-west-1:{ACCOUNT}:userpool/eu-west-1_abc"],
        identitySource="method.request.header.Authorization",
    )["id"]
    validator = b.v1.create_request_validator(restApiId=api.id, name="body", validateRequestBody=True)["id"]
    link = b.v1.create_vpc_link(
        name="nlb", targetArns=[f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:loadbalancer/net/nlb/1"]
    )["id"]
    b.method(
        api,
        "/orders",
        "GET",
        authorizationType="CUSTOM",
        authorizerId=authorizer,
        integration=b.lambda_integration("list-orders"),
    )
    b.method(
        api,
        "/orders",
        "POST",
        authorizationType="COGNITO_USER_POOLS",
        authorizerId=pool,
        requestValidatorId=validator,
        apiKeyRequired=True,
        integration={
            "type": "HTTP_PROXY",
            "integrationHttpMethod": "POST",
            "uri": "http://nlb.internal/orders",
            "connectionType": "VPC_LINK",
            "connectionId": link,
        },
    )
    b.method(api, "/orders/{id}", "DELETE", authorizationType="AWS_IAM", integration={"type": "MOCK"})
    b.method(api, "/admin", "ANY", integration={"type": "MOCK"})
    deployment = b.v1.create_deployment(restApiId=api.id)["id"]
    b.v1.create_stage(
        restApiId=api.id,
        stageName="prod",
        deploymentId=deployment,
        tracingEnabled=True,
        cacheClusterEnabled=True,
        cacheClusterSize="0.5",
        variables={"dbPassword": "hunter2", "alias": "live"},
    )
    b.v1.update_stage(
        restApiId=api.id,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
            {"op": "replace", "path": "/*/*/logging/dataTrace", "value": "true"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "200"},
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100"},
            {"op": "replace", "path": "/*/*/caching/dataEncrypted", "value": "true"},
            {
                "op": "replace",
                "path": "/accessLogSettings/destinationArn",
                "value": f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:access",
            },
            {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"},
        ],
    )
    b.v1.create_stage(restApiId=api.id, stageName="dev", deploymentId=deployment)
    b.v1.create_usage_plan(
        name="gold",
        apiStages=[{"apiId": api.id, "stage": "prod"}],
        throttle={"burstLimit": 10, "rateLimit": 5.0},
        quota={"limit": 1000, "period": "DAY"},
    )
    edge = b.rest_api("public", "EDGE")
    b.method(edge, "/", "GET", integration={"type": "MOCK"})
    b.v1.create_deployment(restApiId=edge.id, stageName="live")
    return {
        "orders": api.id,
        "public": edge.id,
        "link": link,
        "authorizer": authorizer,
        "pool": pool,
        "validator": validator,
    }


def _api(snapshot: Snapshot, api_id: str) -> Api:
    return next(a for a in snapshot.apis if a.id == api_id)


def test_rest_api_facts(estate: dict[str, str], fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = _scan(fresh_emulator, monkeypatch)
    assert snapshot.status == "complete", snapshot.errors
    api = _api(snapshot, estate["orders"])
    assert (api.kind, api.name, api.endpoint_type) == ("REST", "orders", "PRIVATE")
    assert api.resource_policy is not None
    assert api.resource_policy["Statement"][0]["Condition"] == PRIVATE_POLICY["Statement"][0]["Condition"]
    assert api.tags == {"team": "payments"} and api.default_endpoint_enabled
    assert _api(snapshot, estate["public"]).endpoint_type == "EDGE"


def test_rest_routes_carry_authorization_and_integration(
    estate: dict[str, str], fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = _api(_scan(fresh_emulator, monkeypatch), estate["orders"])
    routes = {(r.method, r.path): r for r in api.routes}
    assert set(routes) == {("GET", "/orders"), ("POST", "/orders"), ("DELETE", "/orders/{id}"), ("ANY", "/admin")}
    get = routes["GET", "/orders"]
    assert (get.authorization_type, get.authorizer_id) == ("CUSTOM", estate["authorizer"])
    assert get.integration is not None and get.integration.type == "AWS_PROXY"
    assert get.integration.target is not None and "function:list-orders" in get.integration.target
    post = routes["POST", "/orders"]
    assert (post.authorization_type, post.authorizer_id) == ("COGNITO_USER_POOLS", estate["pool"])
    assert post.api_key_required and post.request_validator_id == estate["validator"]
    assert post.integration is not None
    assert (post.integration.connection_type, post.integration.connection_id) == ("VPC_LINK", estate["link"])
    assert routes["DELETE", "/orders/{id}"].authorization_type == "AWS_IAM"
    assert routes["ANY", "/admin"].authorization_type == "NONE"
    assert routes["GET", "/orders"].urls == [
        f"https://{estate['orders']}.execute-api.{REGION}.amazonaws.com/dev/orders",
        f"https://{estate['orders']}.execute-api.{REGION}.amazonaws.com/prod/orders",
    ]


def test_rest_stages_settings_and_variable_names_only(
    estate: dict[str, str], fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = _scan(fresh_emulator, monkeypatch)
    stages = {s.name: s for s in _api(snapshot, estate["orders"]).stages}
    prod = stages["prod"]
    assert prod.deployment_id and prod.invoke_url == (
        f"https://{estate['orders']}.execute-api.{REGION}.amazonaws.com/prod"
    )
    assert prod.tracing_enabled and prod.cache_enabled and prod.cache_encrypted
    assert (prod.execution_logging_level, prod.data_trace_enabled) == ("INFO", True)
    assert prod.throttling is not None and (prod.throttling.burst_limit, prod.throttling.rate_limit) == (200, 100.0)
    assert prod.access_log_destination == f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:access"
    assert prod.variable_names == ["alias", "dbPassword"]
    assert "hunter2" not in snapshot.model_dump_json()
    dev = stages["dev"]
    assert (dev.execution_logging_level, dev.tracing_enabled, dev.cache_enabled) == ("OFF", False, False)


def test_authorizers_usage_plans_and_vpc_links(
    estate: dict[str, str], fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = _scan(fresh_emulator, monkeypatch)
    authorizers = {a.id: a for a in _api(snapshot, estate["orders"]).authorizers}
    token = authorizers[estate["authorizer"]]
    assert token.type == "TOKEN" and token.identity_source == ["method.request.header.Authorization"]
    assert token.authorizer_uri is not None and "function:auth" in token.authorizer_uri
    assert authorizers[estate["pool"]].provider_arns == [
        f"arn:aws:cognito-idp:eu-west-1:{ACCOUNT}:userpool/eu-west-1_abc"
    ]
    (plan,) = snapshot.usage_plans
    assert plan.name == "gold" and [(s.api_id, s.stage) for s in plan.stages] == [(estate["orders"], "prod")]
    assert plan.throttle is not None and plan.throttle.rate_limit == 5.0
    assert plan.quota is not None and (plan.quota.limit, plan.quota.period) == (1000, "DAY")
    assert [(v.id, v.kind) for v in snapshot.vpc_links] == [(estate["link"], "REST")]


def test_more_than_one_page_of_apis_and_resources(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    ids = []
    for i in range(7):
        api = b.rest_api(f"api-{i}")
        ids.append(api.id)
    big = b.rest_api("big")
    for i in range(11):
        b.resource(big, f"/r{i}")
        b.method(big, f"/r{i}", "GET", integration={"type": "MOCK"})
    snapshot = _scan(fresh_emulator, monkeypatch, page_size=3)
    assert snapshot.status == "complete", snapshot.errors
    assert sorted(a.id for a in snapshot.apis) == sorted([*ids, big.id])
    assert len(_api(snapshot, big.id).routes) == 11
    # 8 APIs at 3 a page is 3 pages; 12 resources at 3 a page is 4 pages, each asked for once.
    assert snapshot.api_calls["apigateway:GetRestApis"] == 3
    assert snapshot.api_calls["apigateway:GetResources"] == 4 + 7
    assert snapshot.api_calls["apigateway:GetStages"] == 8


def test_one_call_pattern_per_fact(
    estate: dict[str, str], fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_emulator.requests.clear()
    snapshot = _scan(fresh_emulator, monkeypatch)
    sent = fresh_emulator.requests.counts(ACCOUNT)
    for forbidden in (
        "apigateway:GetMethod",
        "apigateway:GetIntegration",
        "apigateway:GetRestApi",
        "apigateway:GetStage",
    ):
        assert forbidden not in snapshot.api_calls
    assert snapshot.api_calls["apigateway:GetResources"] == 2  # one page per API, methods embedded
    assert snapshot.api_calls["apigateway:GetRestApis"] == 1
    # What the snapshot counted is what the emulator received.
    assert {op: n for op, n in sent.items() if op != "sts:AssumeRole"} == snapshot.api_calls
