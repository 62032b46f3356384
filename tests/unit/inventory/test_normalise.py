"""Normalisation of API Gateway responses into the snapshot model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from api_discovery.inventory import normalise
from api_discovery.inventory.model import Api, Domain, DomainMapping, Route, Stage

REGION = "eu-west-1"


def test_rest_policy_with_escaped_quotes_is_parsed() -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*"}]})
    escaped = policy.replace('"', '\\"')
    assert normalise.parse_policy(escaped) == json.loads(policy)
    assert normalise.parse_policy(None) is None
    assert normalise.parse_policy("not json") == {"unparsed": "not json"}


def test_rest_routes_come_from_embedded_methods_with_their_integration() -> None:
    resources: list[dict[str, Any]] = [
        {"id": "r0", "path": "/"},
        {
            "id": "r1",
            "path": "/pets",
            "resourceMethods": {
                "POST": {"authorizationType": "AWS_IAM", "apiKeyRequired": True, "requestValidatorId": "v1"},
                "GET": {
                    "authorizationType": "CUSTOM",
                    "authorizerId": "au1",
                    "methodIntegration": {
                        "type": "HTTP_PROXY",
                        "uri": "http://nlb.internal/pets",
                        "connectionType": "VPC_LINK",
                        "connectionId": "vl1",
                    },
                },
            },
        },
    ]
    routes = normalise.rest_routes(resources)
    assert [(r.method, r.path) for r in routes] == [("GET", "/pets"), ("POST", "/pets")]
    get, post = routes
    assert get.authorization_type == "CUSTOM" and get.authorizer_id == "au1"
    assert get.integration is not None and get.integration.connection_id == "vl1"
    assert get.integration.target == "http://nlb.internal/pets"
    assert post.api_key_required and post.request_validator_id == "v1" and post.integration is None


def test_rest_stage_keeps_variable_names_not_values() -> None:
    raw = {
        "stageName": "prod",
        "deploymentId": "d1",
        "variables": {"dbPassword": "hunter2", "alias": "live"},
        "webAclArn": "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/w/1",
        "accessLogSettings": {"destinationArn": "arn:aws:logs:eu-west-1:111111111111:log-group:l"},
        "tracingEnabled": True,
        "cacheClusterEnabled": True,
        "clientCertificateId": "cc1",
        "methodSettings": {
            "*/*": {
                "loggingLevel": "INFO",
                "dataTraceEnabled": True,
                "throttlingBurstLimit": 100,
                "throttlingRateLimit": 50.0,
                "cacheDataEncrypted": True,
            }
        },
        "lastUpdatedDate": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    stage = normalise.rest_stage(raw, api_id="abc", region=REGION)
    assert stage.variable_names == ["alias", "dbPassword"]
    assert "hunter2" not in stage.model_dump_json()
    assert stage.invoke_url == "https://abc.execute-api.eu-west-1.amazonaws.com/prod"
    assert stage.execution_logging_level == "INFO" and stage.data_trace_enabled and stage.tracing_enabled
    assert stage.throttling is not None and stage.throttling.burst_limit == 100
    assert stage.cache_enabled and stage.cache_encrypted and stage.client_certificate_id == "cc1"
    assert stage.last_updated == "2026-01-02T03:04:05.000000Z"


def test_rest_stage_without_method_settings_has_logging_off() -> None:
    stage = normalise.rest_stage({"stageName": "dev"}, api_id="abc", region=REGION)
    assert stage.execution_logging_level == "OFF"
    assert stage.throttling is None and not stage.cache_enabled


def test_route_keys_split_into_method_and_path() -> None:
    assert normalise.split_route_key("GET /pets/{id}") == ("GET", "/pets/{id}")
    assert normalise.split_route_key("$default") == ("*", "$default")
    assert normalise.split_route_key("$connect") == ("*", "$connect")


def test_v2_routes_resolve_their_target_integration() -> None:
    routes = normalise.v2_routes(
        [
            {
                "RouteKey": "ANY /items",
                "AuthorizationType": "JWT",
                "AuthorizerId": "j1",
                "Target": "integrations/i1",
                "AuthorizationScopes": ["write", "read"],
            },
            {"RouteKey": "$default"},
        ],
        [{"IntegrationId": "i1", "IntegrationType": "AWS_PROXY", "IntegrationUri": "arn:aws:lambda:fn"}],
    )
    by_key = {r.route_key: r for r in routes}
    items = by_key["ANY /items"]
    assert items.integration is not None and items.integration.target == "arn:aws:lambda:fn"
    assert items.authorization_scopes == ["read", "write"]
    assert by_key["$default"].authorization_type == "NONE" and by_key["$default"].integration is None


# Credentials a customer put into its configuration: none may survive normalisation.
SECRETS = ("hunter2", "k3y", "t0k", "st4tic", "templ4te", "v2pass", "v2tok", "v2st4tic", "authz", "issu3r", "tru5t")


def test_credentials_in_integrations_and_authorizers_are_redacted_keeping_host_and_path() -> None:
    rest = normalise.rest_routes(
        [
            {
                "path": "/orders",
                "resourceMethods": {
                    "GET": {
                        "methodIntegration": {
                            "type": "HTTP",
                            "uri": "https://svc:hunter2@backend.example.com/orders?api_key=k3y&token=t0k",
                            # A static value mapped into the request, and a mapping template: never kept.
                            "requestParameters": {"integration.request.header.x-api-key": "'st4tic'"},
                            "requestTemplates": {"application/json": '{"password": "templ4te"}'},
                        }
                    }
                },
            }
        ]
    )
    v2 = normalise.v2_routes(
        [{"RouteKey": "GET /items", "Target": "integrations/i1"}],
        [
            {
                "IntegrationId": "i1",
                "IntegrationType": "HTTP_PROXY",
                "IntegrationUri": "https://svc:v2pass@shop.example.com/items?token=v2tok",
                "RequestParameters": {"append:header.x-api-key": "v2st4tic"},
                "RequestTemplates": {"application/json": "templ4te"},
            }
        ],
    )
    authorizers = [
        normalise.rest_authorizer(
            {"id": "a1", "name": "token", "type": "TOKEN", "authorizerUri": "https://auth.example.com/v?key=authz"}
        ),
        normalise.v2_authorizer(
            {
                "AuthorizerId": "a2",
                "Name": "jwt",
                "AuthorizerType": "JWT",
                "AuthorizerUri": "https://me:authz@auth.example.com/x",
                "JwtConfiguration": {"Issuer": "https://issuer.example.com/pool?secret=issu3r", "Audience": ["a"]},
            }
        ),
    ]
    domain = normalise.rest_domain(
        {"domainName": "api.example.com", "mutualTlsAuthentication": {"truststoreUri": "s3://b/ca.pem?t=tru5t"}}, []
    )
    (get,) = rest
    (items,) = v2
    assert get.integration is not None and items.integration is not None
    assert get.integration.target == "https://***@backend.example.com/orders?api_key=***&token=***"
    assert items.integration.target == "https://***@shop.example.com/items?token=***"
    assert [a.authorizer_uri for a in authorizers] == [
        "https://auth.example.com/v?key=***",
        "https://***@auth.example.com/x",
    ]
    assert authorizers[1].jwt_issuer == "https://issuer.example.com/pool?secret=***"
    assert domain.mutual_tls_truststore_uri == "s3://b/ca.pem?t=***"
    dumped = json.dumps([m.model_dump(mode="json") for m in [*rest, *v2, *authorizers, domain]])
    assert not [secret for secret in SECRETS if secret in dumped]


def test_a_policy_nested_deeper_than_any_real_one_is_kept_as_text() -> None:
    for depth in (40, 5000):  # past the model's limit, and past what the JSON parser can recurse into
        deep = '{"a":' * depth + "1" + "}" * depth
        assert normalise.parse_policy(deep) == {"unparsed": deep}


def test_v1_and_v2_views_of_one_domain_merge() -> None:
    v1 = normalise.rest_domain(
        {
            "domainName": "api.example.com",
            "endpointConfiguration": {"types": ["REGIONAL"]},
            "securityPolicy": "TLS_1_2",
        },
        [{"basePath": "(none)", "restApiId": "r1", "stage": "prod"}],
    )
    v2 = normalise.v2_domain(
        {"DomainName": "api.example.com", "DomainNameConfigurations": [{"EndpointType": "REGIONAL"}]},
        [
            {"ApiMappingKey": "", "ApiId": "r1", "Stage": "prod"},
            {"ApiMappingKey": "v2", "ApiId": "h1", "Stage": "$default"},
        ],
    )
    (merged,) = normalise.merge_domains([v1, v2])
    assert merged.security_policy == "TLS_1_2"
    assert merged.mappings == [
        DomainMapping(base_path="", api_id="r1", stage="prod"),
        DomainMapping(base_path="v2", api_id="h1", stage="$default"),
    ]


def _api(kind: str, *, default_enabled: bool = True, stages: tuple[str, ...] = ("prod",), routes: list[Route]) -> Api:
    return Api(
        kind=kind,
        id="a1",
        name="n",
        endpoint_type="REGIONAL",
        default_endpoint_enabled=default_enabled,
        api_endpoint=None
        if kind == "REST"
        else ("wss" if kind == "WEBSOCKET" else "https") + "://a1.execute-api.eu-west-1.amazonaws.com",
        stages=[Stage(name=s) for s in stages],
        routes=routes,
    )


DOMAIN = Domain(
    name="api.example.com",
    endpoint_type="REGIONAL",
    mappings=[
        DomainMapping(base_path="pets", api_id="a1", stage="prod"),
        DomainMapping(base_path="", api_id="zz", stage="x"),
    ],
)


def test_rest_routes_get_execute_api_and_custom_domain_urls() -> None:
    api = _api("REST", routes=[Route(method="GET", path="/items", authorization_type="NONE")])
    (route,) = normalise.with_urls(api, [DOMAIN], REGION).routes
    assert route.urls == [
        "https://a1.execute-api.eu-west-1.amazonaws.com/prod/items",
        "https://api.example.com/pets/items",
    ]


def test_disabled_default_endpoint_leaves_only_custom_domain_urls() -> None:
    api = _api("REST", default_enabled=False, routes=[Route(method="GET", path="/", authorization_type="NONE")])
    (route,) = normalise.with_urls(api, [DOMAIN], REGION).routes
    assert route.urls == ["https://api.example.com/pets/"]


def test_http_default_stage_has_no_stage_prefix_and_websocket_routes_share_the_stage_url() -> None:
    http = _api("HTTP", stages=("$default",), routes=[Route(method="GET", path="/x", authorization_type="NONE")])
    assert normalise.with_urls(http, [], REGION).routes[0].urls == ["https://a1.execute-api.eu-west-1.amazonaws.com/x"]
    ws = _api("WEBSOCKET", routes=[Route(method="*", path="$connect", authorization_type="NONE")])
    assert normalise.with_urls(ws, [DOMAIN], REGION).routes[0].urls == [
        "wss://a1.execute-api.eu-west-1.amazonaws.com/prod",
        "wss://api.example.com/pets",
    ]
