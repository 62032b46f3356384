"""The read-only guard refuses anything that is not a read, before a single byte is sent."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from api_discovery.errors import ReadOnlyViolationError
from api_discovery.session import CallCounter, instrument


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


def test_assume_role_is_allowed_on_the_guarded_session(session: boto3.Session) -> None:
    client = session.client("sts")
    with Stubber(client) as stub:
        stub.add_response(
            "assume_role",
            {
                "Credentials": {
                    "AccessKeyId": "AKIAEXAMPLE00000",
                    "SecretAccessKey": "s",
                    "SessionToken": "t",
                    "Expiration": "2030-01-01T00:00:00Z",
                }
            },
        )
        client.assume_role(RoleArn="arn:aws:iam::111111111111:role/r", RoleSessionName="api-discovery-x")
