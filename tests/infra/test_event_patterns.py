"""The synthesized rules, loaded into moto's EventBridge: they match the intended events, not look-alikes.

moto 5.2's TestEventPattern is a stub (it answers nothing), so each rule is installed on a moto bus with an
SQS target and events are put on the bus: moto's own pattern matching decides which rules fire.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from tests.infra.synth import TEST_CONTEXT, Synthesized, logical_id

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

MOTO_ACCOUNT = "123456789012"  # the account moto puts events from

CUSTOMER = "111111111111"
RULES = ("scan_requested_in_regions", "scan_requested", "api_changed")


class Router:
    """The stack's rules on a moto bus; `fired` tells which rules an event triggers."""

    def __init__(self, template: dict[str, Any], names: dict[str, str], stack_account: str, bus: str) -> None:
        self.events = boto3.client("events", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.bus = bus
        self.events.create_event_bus(Name=bus)
        self.queues: dict[str, str] = {}
        for name, rule_id in names.items():
            raw = json.dumps(template["Resources"][rule_id]["Properties"]["EventPattern"])
            pattern = raw.replace(json.dumps({"Ref": "AWS::AccountId"}), json.dumps(stack_account))
            self.events.put_rule(Name=name, EventBusName=bus, EventPattern=pattern)
            url = self.sqs.create_queue(QueueName=f"{bus}-{name}")["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "probe", "Arn": arn}])
            self.queues[name] = url

    def fired(self, source: str, detail_type: str, detail: dict[str, Any]) -> set[str]:
        entry: PutEventsRequestEntryTypeDef = {
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "EventBusName": self.bus,
        }
        assert self.events.put_events(Entries=[entry])["FailedEntryCount"] == 0
        fired = set()
        for name, url in self.queues.items():
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                assert json.loads(message["Body"])["detail"] == detail
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                fired.add(name)
        return fired


def _names(synth: Synthesized) -> dict[str, str]:
    return {name: logical_id(getattr(synth.built.discovery.triggers, name)) for name in RULES}


@pytest.fixture(scope="module")
def routers(synth: Synthesized) -> Iterator[dict[str, Router]]:
    """One moto EventBridge for the module (each test drains what it triggers)."""
    with mock_aws():
        yield {
            # Events come from moto's account, which is the stack's own account ...
            "own": Router(synth.discovery_json, _names(synth), MOTO_ACCOUNT, TEST_CONTEXT["event_bus_name"]),
            # ... or the stack lives in another account than the one the events come from.
            "foreign": Router(synth.discovery_json, _names(synth), "999999999999", "foreign-bus"),
        }


@pytest.fixture
def router(routers: dict[str, Router]) -> Router:
    return routers["own"]


@pytest.fixture
def foreign_router(routers: dict[str, Router]) -> Router:
    return routers["foreign"]


def cloudtrail(event_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventSource": "apigateway.amazonaws.com",
        "eventName": event_name,
        "awsRegion": "eu-west-1",
        "recipientAccountId": CUSTOMER,
        "readOnly": False,
        **extra,
    }


@pytest.mark.parametrize(
    "event_name", ["CreateRestApi", "CreateDeployment", "UpdateStage", "DeleteRestApi", "CreateApi", "CreateRoute"]
)
def test_successful_api_gateway_changes_start_a_scan(router: Router, event_name: str) -> None:
    assert router.fired("aws.apigateway", "AWS API Call via CloudTrail", cloudtrail(event_name)) == {"api_changed"}


@pytest.mark.parametrize("event_name", ["CreateFunctionUrlConfig20211031", "AddPermission20150331v2"])
def test_function_url_changes_start_a_scan(router: Router, event_name: str) -> None:
    detail = cloudtrail(event_name, eventSource="lambda.amazonaws.com")
    assert router.fired("aws.lambda", "AWS API Call via CloudTrail", detail) == {"api_changed"}


@pytest.mark.parametrize(
    ("source", "detail_type", "detail"),
    [
        pytest.param("aws.apigateway", "AWS API Call via CloudTrail", cloudtrail("GetRestApis"), id="read"),
        pytest.param(
            "aws.apigateway",
            "AWS API Call via CloudTrail",
            cloudtrail("CreateDeployment", errorCode="AccessDenied", errorMessage="denied"),
            id="failed-call",
        ),
        pytest.param(
            "aws.apigateway", "AWS Service Event via CloudTrail", cloudtrail("CreateDeployment"), id="service-event"
        ),
        pytest.param(
            "aws.lambda",
            "AWS API Call via CloudTrail",
            cloudtrail("UpdateFunctionCode20150331v2", eventSource="lambda.amazonaws.com"),
            id="lambda-deploy",
        ),
        pytest.param(
            "aws.s3",
            "AWS API Call via CloudTrail",
            cloudtrail("CreateDeployment", eventSource="s3.amazonaws.com"),
            id="other-service",
        ),
        pytest.param(
            "aws.apigateway",
            "AWS API Call via CloudTrail",
            cloudtrail("CreateDeployment", eventSource="execute-api.amazonaws.com"),
            id="other-event-source",
        ),
        pytest.param(
            "api-discovery", "AWS API Call via CloudTrail", cloudtrail("CreateDeployment"), id="spoofed-source"
        ),
    ],
)
def test_look_alikes_of_api_gateway_changes_start_nothing(
    router: Router, source: str, detail_type: str, detail: dict[str, Any]
) -> None:
    assert router.fired(source, detail_type, detail) == set()


def test_scan_request_with_regions_goes_to_the_regions_rule(router: Router) -> None:
    detail = {"accounts": [CUSTOMER], "regions": ["eu-west-1", "us-east-1"]}
    assert router.fired("api-discovery", "Scan Requested", detail) == {"scan_requested_in_regions"}


def test_scan_request_without_regions_goes_to_the_default_regions_rule(router: Router) -> None:
    assert router.fired("api-discovery", "Scan Requested", {"accounts": [CUSTOMER]}) == {"scan_requested"}


@pytest.mark.parametrize(
    ("source", "detail_type", "detail"),
    [
        pytest.param("api-discovery", "Scan Requested", {"regions": ["eu-west-1"]}, id="no-accounts"),
        pytest.param("api-discovery", "Scan Completed", {"accounts": [CUSTOMER]}, id="other-detail-type"),
        pytest.param("api-discovery", "scan requested", {"accounts": [CUSTOMER]}, id="case-differs"),
        pytest.param("aws.apigateway", "Scan Requested", {"accounts": [CUSTOMER]}, id="other-source"),
        pytest.param("api-discovery.test", "Scan Requested", {"accounts": [CUSTOMER]}, id="source-prefix"),
    ],
)
def test_look_alikes_of_scan_requests_start_nothing(
    router: Router, source: str, detail_type: str, detail: dict[str, Any]
) -> None:
    assert router.fired(source, detail_type, detail) == set()


def test_scan_requests_from_another_account_start_nothing(foreign_router: Router) -> None:
    assert foreign_router.fired("api-discovery", "Scan Requested", {"accounts": [CUSTOMER]}) == set()
    assert (
        foreign_router.fired("api-discovery", "Scan Requested", {"accounts": [CUSTOMER], "regions": ["eu-west-1"]})
        == set()
    )


def test_change_events_are_accepted_from_any_account_the_bus_policy_admits(foreign_router: Router) -> None:
    assert foreign_router.fired("aws.apigateway", "AWS API Call via CloudTrail", cloudtrail("CreateStage")) == {
        "api_changed"
    }
