"""HTTP and WebSocket APIs, and custom domains shared by both API kinds."""

from __future__ import annotations

import boto3
import pytest

from api_discovery.inventory.model import Api, Snapshot
from api_discovery.local.emulator import Emulator
from api_discovery.steps.target_scan import scan_target
from api_discovery.targets import Target
from tests.integration.builders import Builder, options

ACCOUNT, REGION = "310987654321", "us-west-2"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:handler"


def _scan(emulator: Emulator, monkeypatch: pytest.MonkeyPatch, page_size: int = 500) -> Snapshot:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    target = Target(
        run_id="run-2",
        account_id=ACCOUNT,
        region=REGION,
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/ApiDiscoveryReadOnly",
        external_id="ext-2",
    )
    return scan_target(target, session_factory=boto3.Session, options=options(page_size))


def _api(snapshot: Snapshot, api_id: str) -> Api:
    return next(a for a in snapshot.apis if a.id == api_id)


@pytest.fixture
def estate(fresh_emulator: Emulator) -> dict[str, str]:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    http = b.http_api(
        "shop",
        CorsConfiguration={"AllowOrigins": ["https://shop.example.com"], "AllowMethods": ["GET"]},
        Tags={"env": "prod"},
        DisableExecuteApiEndpoint=True,
    )
    jwt = b.v2.create_authorizer(
        ApiId=http,
        Name="cognito",
        AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Issuer": "https://issuer.example.com", "Audience": ["shop"]},
    )["AuthorizerId"]
    b.route(
        http,
        "GET /items",
        target_uri=FUNCTION,
        AuthorizationType="JWT",
        AuthorizerId=jwt,
        AuthorizationScopes=["items/read"],
    )
    b.route(http, "POST /items", target_uri=FUNCTION, AuthorizationType="AWS_IAM")
    b.route(http, "$default", target_uri=FUNCTION)
    b.v2.create_stage(
        ApiId=http,
        StageName="$default",
        AutoDeploy=True,
        DefaultRouteSettings={"ThrottlingBurstLimit": 50, "ThrottlingRateLimit": 25.0},
        AccessLogSettings={
            "DestinationArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:http",
            "Format": "$context.requestId",
        },
        StageVariables={"token": "secret-value"},
    )
    ws = b.http_api("chat", "WEBSOCKET")
    lambda_auth = b.v2.create_authorizer(
        ApiId=ws,
        Name="connect-auth",
        AuthorizerType="REQUEST",
        IdentitySource=["route.request.header.Auth"],
        AuthorizerUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FUNCTION}/invocations",
    )["AuthorizerId"]
    b.route(ws, "$connect", target_uri=FUNCTION, AuthorizationType="CUSTOM", AuthorizerId=lambda_auth)
    b.route(ws, "$disconnect", target_uri=FUNCTION)
    b.route(ws, "sendMessage", target_uri=FUNCTION)
    b.v2.create_stage(ApiId=ws, StageName="live")
    rest = b.rest_api("legacy")
    b.method(rest, "/", "GET", integration={"type": "MOCK"})
    b.v1.create_deployment(restApiId=rest.id, stageName="v1")
    b.v1.create_domain_name(
        domainName="api.example.com",
        regionalCertificateArn="arn:aws:acm:us-west-2:1:c/x",
        endpointConfiguration={"types": ["REGIONAL"]},
        securityPolicy="TLS_1_2",
    )
    b.v1.create_base_path_mapping(domainName="api.example.com", restApiId=rest.id, stage="v1", basePath="legacy")
    b.v2.create_domain_name(
        DomainName="ws.example.com",
        DomainNameConfigurations=[
            {"CertificateArn": "arn:aws:acm:us-west-2:1:c/y", "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
        ],
        MutualTlsAuthentication={"TruststoreUri": "s3://trust/store.pem", "TruststoreVersion": "1"},
    )
    b.v2.create_api_mapping(DomainName="ws.example.com", ApiId=ws, Stage="live", ApiMappingKey="chat")
    b.v2.create_api_mapping(DomainName="ws.example.com", ApiId=http, Stage="$default")
    return {"http": http, "ws": ws, "rest": rest.id, "jwt": jwt, "lambda_auth": lambda_auth}


def test_http_api_routes_integrations_authorizers_and_stage(
    estate: dict[str, str], fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = _scan(fresh_emulator, monkeypatch)
    assert snapshot.status == "complete", snapshot.errors
    api = _api(snapshot, estate["http"])
    assert (api.kind, api.endpoint_type, api.default_endpoint_enabled) == ("HTTP", "REGIONAL", False)
    assert api.cors is not None and api.cors["AllowOrigins"] == ["https://shop.example.com"]
    assert api.tags == {"env": "prod"}
    routes = {r.route_key: r for r in api.routes}
    assert set(routes) == {"GET /items", "POST /items", "$default"}
    get = routes["GET /items"]
    assert (get.method, get.path, get.authorization_type, get.authorizer_id) == ("GET", "/items", "JWT", estate["jwt"])
    assert get.authorization_scopes == ["items/read"]
    assert get.integration is not None and (get.integration.type, get.integration.target) == ("AWS_PROXY", FUNCTION)
    assert routes["POST /items"].authorization_type == "AWS_IAM"
    assert routes["$default"].authorization_type == "NONE"
    (jwt,) = api.authorizers
    assert (jwt.type, jwt.jwt_issuer, jwt.jwt_audience) == ("JWT", "https://issuer.example.com", ["shop"])
    (stage,) = api.stages
    assert stage.name == "$default" and stage.auto_deploy
    assert stage.throttling is not None and (stage.throttling.burst_limit, stage.throttling.rate_limit) == (50, 25.0)
    assert stage.access_log_destination == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:http"
    assert stage.variable_names == ["token"] and "secret-value" not in snapshot.model_dump_json()
    # Default endpoint disabled: the custom domain is the only way in.
    assert get.urls == ["https://ws.example.com/items"]


def test_websocket_routes_and_lambda_authorizer(
    estate: dict[str, str], fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = _api(_scan(fresh_emulator, monkeypatch), estate["ws"])
    assert api.kind == "WEBSOCKET" and api.route_selection_expression == "$request.body.action"
    routes = {r.path: r for r in api.routes}
    assert set(routes) == {"$connect", "$disconnect", "sendMessage"}
    connect = routes["$connect"]
    assert (connect.method, connect.authorization_type, connect.authorizer_id) == ("*", "CUSTOM", estate["lambda_auth"])
    assert routes["$disconnect"].authorization_type == "NONE"
    (authorizer,) = api.authorizers
    assert authorizer.type == "REQUEST" and authorizer.identity_source == ["route.request.header.Auth"]
    assert connect.urls == sorted(  # URLs are kept sorted; the API id is random
        [f"wss://{estate['ws']}.execute-api.{REGION}.amazonaws.com/live", "wss://ws.example.com/chat"]
    )


def test_custom_domains_of_both_kinds_resolve_to_api_and_stage(
    estate: dict[str, str], fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = _scan(fresh_emulator, monkeypatch)
    domains = {d.name: d for d in snapshot.domains}
    assert set(domains) == {"api.example.com", "ws.example.com"}
    rest_domain = domains["api.example.com"]
    assert (rest_domain.endpoint_type, rest_domain.security_policy) == ("REGIONAL", "TLS_1_2")
    assert [(m.base_path, m.api_id, m.stage) for m in rest_domain.mappings] == [("legacy", estate["rest"], "v1")]
    ws_domain = domains["ws.example.com"]
    assert ws_domain.mutual_tls_truststore_uri == "s3://trust/store.pem"
    assert [(m.base_path, m.api_id, m.stage) for m in ws_domain.mappings] == [
        ("", estate["http"], "$default"),
        ("chat", estate["ws"], "live"),
    ]
    legacy = _api(snapshot, estate["rest"])
    assert sorted(legacy.routes[0].urls) == sorted(
        [
            f"https://{estate['rest']}.execute-api.{REGION}.amazonaws.com/v1/",
            "https://api.example.com/legacy/",
        ]
    )


def test_more_than_one_page_of_apis_routes_and_domains(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    apis = [b.http_api(f"h{i}") for i in range(5)]
    for i in range(8):
        b.route(apis[0], f"GET /r{i}", target_uri=FUNCTION)
    for i in range(4):
        b.v2.create_authorizer(
            ApiId=apis[0],
            Name=f"a{i}",
            AuthorizerType="JWT",
            IdentitySource=["$request.header.Authorization"],
            JwtConfiguration={"Issuer": "https://i", "Audience": ["x"]},
        )
    for i in range(7):
        name = f"d{i}.example.com"
        b.v2.create_domain_name(
            DomainName=name,
            DomainNameConfigurations=[{"CertificateArn": "arn:aws:acm:us-west-2:1:c/y", "EndpointType": "REGIONAL"}],
        )
        for j in range(4):
            b.v2.create_api_mapping(DomainName=name, ApiId=apis[j], Stage="$default", ApiMappingKey=f"m{j}")
    snapshot = _scan(fresh_emulator, monkeypatch, page_size=3)
    assert snapshot.status == "complete", snapshot.errors
    assert sorted(a.id for a in snapshot.apis) == sorted(apis)
    first = _api(snapshot, apis[0])
    assert len(first.routes) == 8 and len(first.authorizers) == 4
    assert len(snapshot.domains) == 7 and all(len(d.mappings) == 4 for d in snapshot.domains)
    assert snapshot.api_calls["apigatewayv2:GetApis"] == 2
    assert snapshot.api_calls["apigatewayv2:GetDomainNames"] == 3
    assert snapshot.api_calls["apigatewayv2:GetApiMappings"] == 7 * 2
