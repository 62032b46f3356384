"""The changes handler, as Lambda's SQS event source calls it: an event asks for its check after the quiet
period; the check starts one named execution; a record it cannot read fails alone, not the batch."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from api_discovery.steps.settings import LambdaSettings
from api_discovery.store.state import create_table

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"
REGION = "us-east-1"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


def _record(body: dict[str, Any], message_id: str = "m1") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": "r",
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:changes",
        "awsRegion": REGION,
    }


EVENT = {
    "detail-type": "AWS API Call via CloudTrail",
    "source": "aws.apigateway",
    "account": "550000000001",
    "region": "eu-west-1",
    "time": "2026-12-02T12:00:00Z",
    "detail": {
        "eventSource": "apigateway.amazonaws.com",
        "eventName": "PutMethod",
        "requestParameters": {"restApiId": "a1b2c3d4e5", "httpMethod": "GET"},
    },
}


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, LambdaSettings, Any]]:
    monkeypatch.setenv("TABLE_NAME", "table")
    monkeypatch.setenv("BUCKET_NAME", "bucket")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ApiDiscovery")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_table(dynamodb, "table")
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="changes")["QueueUrl"]
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="wf", definition=DEFINITION, roleArn="arn:aws:iam::123456789012:role/wf"
        )["stateMachineArn"]
        spec = importlib.util.spec_from_file_location(
            "changes_handler_under_test", FUNCTIONS / "changes" / "handler.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        settings = LambdaSettings(
            table_name="table",
            bucket_name="bucket",
            change_queue_url=queue,
            state_machine_arn=machine,
            change_quiet_seconds=1,
            change_bound_seconds=5,
        )
        yield module, settings, module.ChangeClients(dynamodb, sqs, sfn)
        del sys.modules[spec.name]


def test_an_event_asks_for_its_check_and_the_check_starts_one_named_run(
    handler: tuple[ModuleType, LambdaSettings, Any],
) -> None:
    module, settings, clients = handler
    assert module.run({"Records": [_record(EVENT)]}, settings, clients) == {"batchItemFailures": []}
    (message,) = clients.sqs.receive_message(QueueUrl=settings.change_queue_url, WaitTimeSeconds=2)["Messages"]
    check = json.loads(message["Body"])
    assert check["resource"] == {"kind": "rest_api", "id": "a1b2c3d4e5"} and check["version"] == 1
    # The same check delivered twice (SQS is at-least-once) starts one execution.
    for _ in range(2):
        module.run({"Records": [_record(check)]}, settings, clients)
    (execution,) = clients.stepfunctions.list_executions(stateMachineArn=settings.state_machine_arn)["executions"]
    started = json.loads(clients.stepfunctions.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started["resources"] == [{"kind": "rest_api", "id": "a1b2c3d4e5"}]
    assert "requestParameters" not in json.dumps(started) and "httpMethod" not in json.dumps(started)


def test_a_record_it_cannot_read_fails_alone(handler: tuple[ModuleType, LambdaSettings, Any]) -> None:
    module, settings, clients = handler
    answer = module.run(
        {"Records": [_record({"detail": "nonsense"}, "bad"), _record(EVENT, "good")]}, settings, clients
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
