"""Every API Gateway management call is placed: it triggers the rescan of what it changes, or it is ignored for
a stated reason. botocore's models are the list of calls, so a new one fails here until it is placed."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from api_discovery.cloudtrail import (
    ENTRY_RESCANS,
    IGNORED,
    LAMBDA_RESCANS,
    READS,
    RESCANS,
    RULE_PREFIXES,
    Unmapped,
    entry_rescans,
    lambda_rescans,
    resource_of,
)
from api_discovery.targets import Resource
from infra.triggers import (
    API_GATEWAY_CHANGE_PREFIXES,
    ENTRY_POINT_CHANGES,
    LAMBDA_URL_CHANGE_PREFIXES,
    api_gateway_change_pattern,
)


def _operations() -> set[str]:
    session = botocore.session.get_session()
    return {
        name
        for service in ("apigateway", "apigatewayv2")
        for name in session.get_service_model(service).operation_names
    }


def test_every_call_that_is_not_a_read_is_placed_exactly_once() -> None:
    changing = {name for name in _operations() if not name.startswith("Get") and name not in READS}
    assert not set(RESCANS) & set(IGNORED)
    assert changing - set(RESCANS) - set(IGNORED) == set(), "a management call neither rescans nor is ignored"
    assert (set(RESCANS) | set(IGNORED) | READS) - _operations() == set(), "a name botocore does not know"


def test_the_event_rule_matches_every_call_that_rescans() -> None:
    assert RULE_PREFIXES == API_GATEWAY_CHANGE_PREFIXES
    assert [n for n in RESCANS if not n.startswith(RULE_PREFIXES)] == []
    pattern = api_gateway_change_pattern()
    api_gateway, lambda_calls, *others = pattern["detail"]["$or"]
    assert api_gateway["eventName"] == [{"prefix": p} for p in RULE_PREFIXES]
    assert lambda_calls["eventName"] == [{"prefix": p} for p in LAMBDA_RESCANS]
    assert LAMBDA_URL_CHANGE_PREFIXES == LAMBDA_RESCANS
    # The other entry points' services: each name the library rescans for is matched by a prefix of the rule,
    # and each prefix is a name the library rescans for.
    assert {o["eventSource"][0] for o in others} == set(ENTRY_RESCANS) - {"lambda.amazonaws.com"}
    for clause in others:
        source, prefixes = clause["eventSource"][0], [p["prefix"] for p in clause["eventName"]]
        assert prefixes == list(ENTRY_POINT_CHANGES[source])
        assert [n for n in ENTRY_RESCANS[source] if not n.startswith(tuple(prefixes))] == []
        assert set(prefixes) <= set(ENTRY_RESCANS[source])
    assert len(str(pattern).replace(" ", "")) < 2048  # EventBridge's limit on a pattern


@pytest.mark.parametrize(
    ("event_name", "rescans"),
    [
        ("CreateFunctionUrlConfig20211031", True),
        ("DeleteFunctionUrlConfig20211031", True),
        ("AddPermission20150331v2", True),
        ("RemovePermission20150331v2", True),
        ("DeleteFunction20150331", True),
        ("UpdateFunctionCode20150331v2", False),
        ("CreateFunction20150331", False),  # a new function has no URL until CreateFunctionUrlConfig
        ("AddPermissionSomething", False),
        ("", False),
    ],
)
def test_lambda_calls_that_change_a_function_url_rescan(event_name: str, rescans: bool) -> None:
    assert lambda_rescans(event_name) is rescans


@pytest.mark.parametrize(
    ("source", "event_name", "rescans"),
    [
        ("cloudfront.amazonaws.com", "UpdateDistribution2020_05_31", True),
        ("cloudfront.amazonaws.com", "CreateDistributionWithTags2020_05_31", True),
        ("cloudfront.amazonaws.com", "CreateInvalidation2020_05_31", False),
        ("elasticloadbalancing.amazonaws.com", "ModifyListener", True),
        ("elasticloadbalancing.amazonaws.com", "ModifyTargetGroupAttributes", False),
        ("appsync.amazonaws.com", "UpdateGraphqlApi", True),
        ("appsync.amazonaws.com", "CreateApiKey", False),
        ("apigateway.amazonaws.com", "CreateApi", False),  # API Gateway's calls have a mapping of their own
    ],
)
def test_other_entry_point_calls_rescan(source: str, event_name: str, rescans: bool) -> None:
    assert entry_rescans(source, event_name) is rescans


def test_every_entry_point_name_is_an_operation_of_its_service() -> None:
    services = {"lambda.amazonaws.com": "lambda", "appsync.amazonaws.com": "appsync"}
    services |= {"elasticloadbalancing.amazonaws.com": "elbv2", "cloudfront.amazonaws.com": "cloudfront"}
    for source, names in ENTRY_RESCANS.items():
        operations = set(botocore.session.get_session().get_service_model(services[source]).operation_names)
        assert set(names) <= operations, source


def test_every_lambda_name_is_a_lambda_operation() -> None:
    operations = set(botocore.session.get_session().get_service_model("lambda").operation_names)
    assert set(LAMBDA_RESCANS) <= operations


REST, V2 = "a1b2c3d4e5", "h1h2h3h4"
ARN = "arn:aws:apigateway:eu-west-1::"


@pytest.mark.parametrize(
    ("name", "params", "response", "expected"),
    [
        ("CreateRestApi", {"name": "x"}, {"id": REST, "name": "x"}, Resource(kind="rest_api", id=REST)),
        ("ImportRestApi", {"body": "..."}, {"id": REST}, Resource(kind="rest_api", id=REST)),
        (
            "PutMethod",
            {"restApiId": REST, "resourceId": "r1", "httpMethod": "GET"},
            None,
            Resource(kind="rest_api", id=REST),
        ),
        ("DeleteRestApi", {"restApiId": REST}, None, Resource(kind="rest_api", id=REST)),
        ("CreateStage", {"restApiId": REST, "stageName": "prod"}, None, Resource(kind="rest_api", id=REST)),
        ("CreateStage", {"apiId": V2, "stageName": "prod"}, None, Resource(kind="v2_api", id=V2)),
        ("CreateDeployment", {"restApiId": REST}, None, Resource(kind="rest_api", id=REST)),
        (
            "PutGatewayResponse",
            {"restApiId": REST, "responseType": "DEFAULT_4XX"},
            None,
            Resource(kind="rest_api", id=REST),
        ),
        ("CreateApi", {"name": "h"}, {"apiId": V2}, Resource(kind="v2_api", id=V2)),
        ("DeleteRoute", {"apiId": V2, "routeId": "r"}, None, Resource(kind="v2_api", id=V2)),
        (
            "CreateBasePathMapping",
            {"domainName": "API.example.com", "restApiId": REST},
            None,
            Resource(kind="domain", id="api.example.com"),
        ),
        (
            "DeleteApiMapping",
            {"domainName": "api.example.com", "apiMappingId": "m"},
            None,
            Resource(kind="domain", id="api.example.com"),
        ),
        ("CreateDomainName", {"domainName": "*.example.com"}, None, Resource(kind="domain", id="*.example.com")),
        ("PutRoutingRule", {"domainName": "api.example.com"}, None, Resource(kind="domain", id="api.example.com")),
        ("CreateUsagePlan", {"name": "gold"}, None, Resource(kind="usage_plans")),
        ("DeleteVpcLink", {"vpcLinkId": "v"}, None, Resource(kind="vpc_links")),
        (
            "TagResource",
            {"resourceArn": f"{ARN}/restapis/{REST}/stages/prod"},
            None,
            Resource(kind="rest_api", id=REST),
        ),
        ("UntagResource", {"resourceArn": f"{ARN}/apis/{V2}"}, None, Resource(kind="v2_api", id=V2)),
        (
            "TagResource",
            {"resource-arn": f"{ARN}/domainnames/api.example.com"},
            None,
            Resource(kind="domain", id="api.example.com"),
        ),
        ("TagResource", {"resourceArn": f"{ARN}/usageplans/u1"}, None, Resource(kind="usage_plans")),
    ],
)
def test_each_call_names_the_resource_it_changed(
    name: str, params: dict[str, Any], response: dict[str, Any] | None, expected: Resource
) -> None:
    assert resource_of(name, params, response) == expected


@pytest.mark.parametrize("name", ["CreateApiKey", "UpdateUsage", "FlushStageCache", "CreateModel", "ExportApi"])
def test_calls_that_change_nothing_reported_name_nothing(name: str) -> None:
    assert resource_of(name, {"restApiId": REST}, None) is None


@pytest.mark.parametrize(
    ("name", "params", "response"),
    [
        ("UpdateAccount", {"patchOperations": []}, None),  # every API of the region
        ("CreateDomainNameAccessAssociation", {"domainNameArn": "arn:..."}, None),
        ("CreateDeployment", {}, None),  # no id
        ("CreateRestApi", {"name": "x"}, None),  # a create whose answer was not recorded
        ("PutMethod", {"restApiId": "../../etc"}, None),  # not an id
        ("CreateBasePathMapping", {"domainName": "<script>"}, None),
        ("TagResource", {"resourceArn": "arn:aws:lambda:eu-west-1:1:function:f"}, None),
        ("TagResource", {"resourceArn": f"{ARN}/clientcertificates/c1"}, None),
        ("SomeCallOf2027", {"restApiId": REST}, None),  # unknown: rescan rather than miss it
    ],
)
def test_a_change_no_single_resource_holds_rescans_the_region(name: str, params: Any, response: Any) -> None:
    with pytest.raises(Unmapped):
        resource_of(name, params, response)
