"""The read-only guard refuses anything that is not a read, before a single byte is sent."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber

from api_discovery.collect.session import CUSTOMER_SERVICES, SCANNER_OPERATIONS, CallCounter, instrument, refuse_writes
from api_discovery.errors import ReadOnlyViolationError


@pytest.fixture
def sent() -> list[str]:
    return []


@pytest.fixture
def session(sent: list[str]) -> boto3.Session:
    session = instrument(boto3.Session(region_name="us-east-1"), CallCounter())

    def record(request: Any, **_: Any) -> None:
        sent.append(request.url)

    session.events.register("before-send", record)
    return session


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("apigateway", "create_rest_api", {"name": "x"}),
        ("apigateway", "delete_rest_api", {"restApiId": "abc"}),
        ("apigateway", "update_stage", {"restApiId": "abc", "stageName": "prod"}),
        (
            "apigateway",
            "put_method",
            {"restApiId": "a", "resourceId": "b", "httpMethod": "GET", "authorizationType": "NONE"},
        ),
        ("apigatewayv2", "delete_api", {"ApiId": "abc"}),
        ("apigatewayv2", "create_route", {"ApiId": "abc", "RouteKey": "GET /"}),
        ("apigatewayv2", "import_api", {"Body": "{}"}),
        ("apigatewayv2", "reimport_api", {"ApiId": "abc", "Body": "{}"}),
        ("s3", "put_object", {"Bucket": "b", "Key": "k", "Body": b"x"}),
    ],
)
def test_writes_are_refused_before_sending(
    session: boto3.Session, sent: list[str], service: str, operation: str, params: dict[str, Any]
) -> None:
    client = session.client(service)  # type: ignore[call-overload]
    with pytest.raises(ReadOnlyViolationError, match="read-only") as caught:
        getattr(client, operation)(**params)
    assert caught.value.service == service
    assert sent == []


def test_api_key_values_are_never_requested(session: boto3.Session, sent: list[str]) -> None:
    client = session.client("apigateway")
    with pytest.raises(ReadOnlyViolationError, match="never read"):
        client.get_api_keys(includeValues=True)
    assert sent == []


def test_reads_pass_the_guard(session: boto3.Session, sent: list[str]) -> None:
    client = session.client("apigateway")
    with Stubber(client) as stub:
        stub.add_response("get_rest_apis", {"items": []}, {"limit": 500})
        assert client.get_rest_apis(limit=500)["items"] == []


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("sts", "assume_role", {"RoleArn": "arn:aws:iam::111111111111:role/r", "RoleSessionName": "x"}),
        ("secretsmanager", "get_secret_value", {"SecretId": "s"}),
        ("s3", "get_object", {"Bucket": "b", "Key": "k"}),
        ("dynamodb", "get_item", {"TableName": "t", "Key": {"pk": {"S": "x"}}}),
    ],
)
def test_nothing_but_the_inventoried_services_is_reachable_even_to_read(
    session: boto3.Session, sent: list[str], service: str, operation: str, params: dict[str, Any]
) -> None:
    client = session.client(service)  # type: ignore[call-overload]
    with pytest.raises(ReadOnlyViolationError, match="reach only the services they inventory"):
        getattr(client, operation)(**params)
    assert sent == []


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("get_api_key", {"apiKey": "k", "includeValue": True}),
        ("get_usage_plan_keys", {"usagePlanId": "p"}),
        ("get_usage_plan_key", {"usagePlanId": "p", "keyId": "k"}),
    ],
)
def test_no_read_that_returns_api_key_values_is_sent(
    session: boto3.Session, sent: list[str], operation: str, params: dict[str, Any]
) -> None:
    with pytest.raises(ReadOnlyViolationError, match="never read"):
        getattr(session.client("apigateway"), operation)(**params)
    assert sent == []


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("apigateway", "get_api_keys", {}),  # a read, but of API keys: never needed, even without their values
        ("apigateway", "get_sdk", {"restApiId": "a", "stageName": "prod", "sdkType": "javascript"}),
        ("apigateway", "get_client_certificate", {"clientCertificateId": "c"}),  # one with its PEM
        ("apigateway", "get_rest_api", {"restApiId": "a"}),
        ("apigateway", "get_models", {"restApiId": "a"}),
        ("apigateway", "get_request_validator", {"restApiId": "a", "requestValidatorId": "v"}),
        ("apigatewayv2", "get_routing_rule", {"DomainName": "d.example.com", "RoutingRuleId": "r"}),
        ("apigatewayv2", "get_api", {"ApiId": "a"}),
        ("apigatewayv2", "get_models", {"ApiId": "a"}),
        ("lambda", "get_function", {"FunctionName": "f"}),  # its answer holds the environment and a code URL
        ("lambda", "get_function_configuration", {"FunctionName": "f"}),  # the environment again
        ("lambda", "list_versions_by_function", {"FunctionName": "f"}),  # each version's environment
        ("lambda", "invoke", {"FunctionName": "f"}),
    ],
)
def test_reads_the_scanner_does_not_use_are_refused_before_sending(
    session: boto3.Session, sent: list[str], service: str, operation: str, params: dict[str, Any]
) -> None:
    client = session.client(service)  # type: ignore[call-overload]
    with pytest.raises(ReadOnlyViolationError, match="only the operations the scanner uses") as caught:
        getattr(client, operation)(**params)
    assert (caught.value.service, caught.value.operation) not in SCANNER_OPERATIONS
    assert sent == []


def test_the_allow_list_is_closed_and_holds_only_http_gets() -> None:
    """Every listed operation exists and is a read: an HTTP GET (apigateway:GET, a Lambda, AppSync or CloudFront
    List/Get), or in ELB's query protocol, where every call is a POST, a Describe; of all the operations a name
    prefix would have let through, only the listed ones pass."""
    models = botocore.session.get_session()
    passing = set()
    for service in CUSTOMER_SERVICES:
        model = models.get_service_model(service)
        for name in model.operation_names:
            op = model.operation_model(name)
            try:
                refuse_writes(op, {})
            except ReadOnlyViolationError:
                continue
            passing.add((service, name))
    assert passing == SCANNER_OPERATIONS
    for service, name in SCANNER_OPERATIONS:
        model = models.get_service_model(service)
        if model.protocol == "query":
            assert name.startswith("Describe"), (service, name)
        else:
            assert model.operation_model(name).http["method"] == "GET", (service, name)
