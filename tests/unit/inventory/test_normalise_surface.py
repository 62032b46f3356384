"""What API Gateway added in 2024-2026, read from the responses the scanner already gets."""

from __future__ import annotations

from api_discovery.inventory import normalise
from api_discovery.inventory.model import Api, Domain

ACCOUNT, REGION = "111111111111", "eu-west-1"


def test_a_rest_api_keeps_its_tls_policy_access_mode_status_and_ip_type() -> None:
    raw = {
        "id": "a1",
        "name": "orders",
        "endpointConfiguration": {"types": ["REGIONAL"], "ipAddressType": "dualstack"},
        "securityPolicy": "SecurityPolicy_TLS13_1_3_2025_09",
        "endpointAccessMode": "STRICT",
        "apiStatus": "AVAILABLE",
    }
    api = normalise.rest_api(raw, stages=[], routes=[], authorizers=[])
    assert (api.security_policy, api.endpoint_access_mode, api.api_status, api.ip_address_type) == (
        "SecurityPolicy_TLS13_1_3_2025_09",
        "STRICT",
        "AVAILABLE",
        "dualstack",
    )


def test_integrations_keep_tls_timeouts_targets_and_credentials_but_no_parameters() -> None:
    resources = [
        {
            "path": "/status",
            "resourceMethods": {
                "GET": {
                    "authorizationType": "AWS_IAM",
                    "methodIntegration": {
                        "type": "HTTP_PROXY",
                        "uri": "https://status.internal",
                        "tlsConfig": {"insecureSkipVerification": True},
                        "timeoutInMillis": 5000,
                        "responseTransferMode": "STREAM",
                        "integrationTarget": "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/a/1",
                        "credentials": "arn:aws:iam::*:user/*",
                        "requestParameters": {"integration.request.header.x-key": "'s3cr3t'"},
                    },
                }
            },
        }
    ]
    (route,) = normalise.rest_routes(resources)
    integration = route.integration
    assert integration is not None
    assert integration.tls_skip_verification is True and integration.timeout_ms == 5000
    assert integration.response_transfer_mode == "STREAM" and integration.credentials == "caller"
    assert integration.integration_target is not None and not integration.cors_preflight
    assert "s3cr3t" not in route.model_dump_json()


def test_a_mock_options_method_answering_only_cors_headers_is_a_preflight() -> None:
    def options(parameters: dict[str, str], kind: str = "MOCK") -> dict[str, object]:
        return {
            "path": "/orders",
            "resourceMethods": {
                "OPTIONS": {
                    "authorizationType": "NONE",
                    "methodIntegration": {
                        "type": kind,
                        "integrationResponses": {"200": {"responseParameters": parameters}},
                    },
                }
            },
        }

    cors = {
        "method.response.header.Access-Control-Allow-Origin": "'*'",
        "method.response.header.Access-Control-Allow-Credentials": "'true'",
    }
    (preflight,) = normalise.rest_routes([options(cors)])
    assert preflight.integration is not None and preflight.integration.cors_preflight
    assert (preflight.integration.cors_allow_origin, preflight.integration.cors_allow_credentials) == ("*", True)
    # Another header, or another integration type, and it is an ordinary route.
    (other,) = normalise.rest_routes([options({**cors, "method.response.header.X-Data": "'1'"})])
    (proxied,) = normalise.rest_routes([options(cors, "HTTP")])
    assert not (other.integration and other.integration.cors_preflight)
    assert not (proxied.integration and proxied.integration.cors_preflight)


def test_a_rest_jwt_authorizer_keeps_its_issuers_ttl_and_credentials() -> None:
    raw = {
        "id": "j1",
        "name": "jwt",
        "type": "JWT",
        "jwtConfiguration": {
            "issuers": [
                {"issuer": "https://issuer.example.com", "audiences": ["web", "mobile"]},
                {"issuer": "https://login.example.com", "audiences": ["web"]},
            ],
            "defaultAlgorithms": ["RS256"],
        },
        "authorizerResultTtlInSeconds": 300,
        "authorizerCredentials": "arn:aws:iam::111111111111:role/auth",
        "identityValidationExpression": "^Bearer .+$",
    }
    authorizer = normalise.rest_authorizer(raw)
    assert authorizer.type == "JWT" and authorizer.jwt_issuer == "https://issuer.example.com, https://login.example.com"
    assert authorizer.jwt_audience == ["mobile", "web"]
    assert authorizer.result_ttl_seconds == 300 and authorizer.identity_validation
    assert authorizer.credentials == "arn:aws:iam::111111111111:role/auth"


def test_stages_keep_every_method_setting_canary_access_log_format_and_tags() -> None:
    raw = {
        "stageName": "prod",
        "methodSettings": {
            "*/*": {"loggingLevel": "ERROR", "throttlingRateLimit": 10.0, "throttlingBurstLimit": 20},
            "~1orders/GET": {"dataTraceEnabled": True, "cachingEnabled": True, "cacheTtlInSeconds": 60},
        },
        "accessLogSettings": {"destinationArn": "arn:aws:logs:x", "format": "$context.requestId"},
        "canarySettings": {"percentTraffic": 5.0, "deploymentId": "d2", "useStageCache": True},
        "tags": {"team": "orders"},
    }
    stage = normalise.rest_stage(raw, api_id="a1", region=REGION)
    assert [m.key for m in stage.method_settings] == ["*/*", "~1orders/GET"]
    per_method = stage.method_settings[1]
    assert per_method.data_trace_enabled and per_method.caching_enabled and per_method.cache_ttl_seconds == 60
    assert stage.access_log_format == "$context.requestId" and stage.tags == {"team": "orders"}
    assert stage.canary is not None and (stage.canary.percent_traffic, stage.canary.deployment_id) == (5.0, "d2")


def test_v2_route_settings_integrations_and_vpc_links() -> None:
    stage = normalise.v2_stage(
        {"StageName": "$default", "RouteSettings": {"GET /a": {"DataTraceEnabled": True, "LoggingLevel": "INFO"}}},
        api_endpoint="https://h1.execute-api.eu-west-1.amazonaws.com",
    )
    assert [(m.key, m.data_trace_enabled) for m in stage.method_settings] == [("GET /a", True)]
    (route,) = normalise.v2_routes(
        [{"RouteKey": "GET /a", "Target": "integrations/i1"}],
        [
            {
                "IntegrationId": "i1",
                "IntegrationType": "HTTP_PROXY",
                "TlsConfig": {"ServerNameToVerify": "backend.internal"},
                "TimeoutInMillis": 29000,
                "CredentialsArn": "arn:aws:iam::1:role/r",
            }
        ],
    )
    assert route.integration is not None and route.integration.tls_server_name == "backend.internal"
    link = normalise.v2_vpc_link({"VpcLinkId": "v1", "SecurityGroupIds": ["sg-2", "sg-1"], "Tags": {"a": "b"}})
    assert link.security_group_ids == ["sg-1", "sg-2"] and link.tags == {"a": "b"}


def _private(name: str = "api.internal") -> dict[str, object]:
    return {
        "domainName": name,
        "domainNameId": "abc123",
        "domainNameArn": f"arn:aws:apigateway:{REGION}:{ACCOUNT}:/domainnames/{name}+abc123",
        "endpointConfiguration": {"types": ["PRIVATE"]},
        "policy": '{"Version": "2012-10-17", "Statement": []}',
        "managementPolicy": '{"Version": "2012-10-17", "Statement": []}',
        "routingMode": "ROUTING_RULE_THEN_BASE_PATH_MAPPING",
        "certificateArn": "arn:aws:acm:x",
    }


def test_a_private_domain_is_keyed_by_its_id_beside_a_public_one_of_the_same_name() -> None:
    public = normalise.rest_domain({"domainName": "api.internal", "endpointConfiguration": {"types": ["REGIONAL"]}}, [])
    private = normalise.rest_domain(_private(), [{"basePath": "(none)", "restApiId": "a1", "stage": "prod"}])
    assert private.key == "api.internal+abc123" and public.key == "api.internal"
    assert private.policy == {"Version": "2012-10-17", "Statement": []} and private.management_policy is not None
    assert private.routing_mode == "ROUTING_RULE_THEN_API_MAPPING"
    assert [d.key for d in normalise.merge_domains([public, private])] == ["api.internal", "api.internal+abc123"]


def test_routing_rules_are_read_in_priority_order() -> None:
    rules = normalise.routing_rules(
        [
            {
                "RoutingRuleId": "r2",
                "Priority": 20,
                "Conditions": [{"MatchBasePaths": {"AnyOf": ["orders"]}}],
                "Actions": [{"InvokeApi": {"ApiId": "a2", "Stage": "prod", "StripBasePath": True}}],
            },
            {
                "RoutingRuleId": "r1",
                "Priority": 10,
                "Conditions": [{"MatchHeaders": {"AnyOf": [{"Header": "x-version", "ValueGlob": "v2*"}]}}],
                "Actions": [{"InvokeApi": {"ApiId": "a1", "Stage": "beta"}}],
            },
        ]
    )
    assert [(r.id, r.api_id, r.stage) for r in rules] == [("r1", "a1", "beta"), ("r2", "a2", "prod")]
    assert rules[0].headers == ["x-version: v2*"] and rules[1].base_paths == ["orders"]


def _api() -> Api:
    return normalise.rest_api(
        {"id": "a1", "name": "a", "disableExecuteApiEndpoint": True},
        stages=[normalise.rest_stage({"stageName": "prod"}, api_id="a1", region=REGION)],
        routes=normalise.rest_routes([{"path": "/x", "resourceMethods": {"GET": {"authorizationType": "NONE"}}}]),
        authorizers=[],
    )


def test_urls_follow_the_routing_mode() -> None:
    rule = {
        "RoutingRuleId": "r1",
        "Priority": 1,
        "Conditions": [{"MatchBasePaths": {"AnyOf": ["v2"]}}],
        "Actions": [{"InvokeApi": {"ApiId": "a1", "Stage": "prod", "StripBasePath": True}}],
    }

    def domain(mode: str, mapped_to: str) -> Domain:
        raw = {"domainName": "api.example.com", "endpointConfiguration": {"types": ["REGIONAL"]}, "routingMode": mode}
        return normalise.rest_domain(raw, [{"basePath": "old", "restApiId": mapped_to, "stage": "prod"}], rules=[rule])

    def urls(d: Domain) -> list[str]:
        return normalise.with_urls(_api(), [d], REGION).routes[0].urls

    assert urls(domain("BASE_PATH_MAPPING_ONLY", "a1")) == ["https://api.example.com/old/x"]
    assert urls(domain("ROUTING_RULE_ONLY", "a1")) == ["https://api.example.com/v2/x"]  # the mapping is dead
    assert urls(domain("ROUTING_RULE_THEN_BASE_PATH_MAPPING", "a1")) == [
        "https://api.example.com/old/x",
        "https://api.example.com/v2/x",
    ]
