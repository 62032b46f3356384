"""Changes: a batch from the change-event queue. A CloudTrail event is counted for its resource and checked again
after the quiet period; a check that has the last word starts the resource's targeted rescan."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from api_discovery.errors import DiscoveryError
from api_discovery.observability import logger, metrics, tracer
from api_discovery.steps.changes import Outcome, is_check, on_check, on_event
from api_discovery.steps.settings import LambdaSettings
from api_discovery.store.debounce import Debounce

SETTINGS = LambdaSettings.from_env()
processor = BatchProcessor(event_type=EventType.SQS)


@dataclass(frozen=True)
class ChangeClients:
    dynamodb: Any
    sqs: Any
    stepfunctions: Any


@cache
def default_clients() -> ChangeClients:
    return ChangeClients(boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("stepfunctions"))


# Records are not logged: a CloudTrail record holds the customer's request, and only its ids are used.
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(event, SETTINGS, default_clients(), context)


def run(event: dict[str, Any], settings: LambdaSettings, clients: ChangeClients, context: Any = None) -> dict[str, Any]:
    if not settings.change_queue_url or not settings.state_machine_arn:
        raise DiscoveryError("CHANGE_QUEUE_URL and STATE_MACHINE_ARN must be set")
    debounce = Debounce(
        clients.dynamodb,
        settings.table_name,
        quiet_seconds=settings.change_quiet_seconds,
        bound_seconds=settings.change_bound_seconds,
    )

    def send_check(body: dict[str, Any], delay: int) -> None:
        clients.sqs.send_message(QueueUrl=settings.change_queue_url, MessageBody=json.dumps(body), DelaySeconds=delay)

    def start_run(name: str, request: dict[str, Any]) -> None:
        # ExecutionAlreadyExists: this burst's run, started by an earlier delivery of the same check.
        with contextlib.suppress(clients.stepfunctions.exceptions.ExecutionAlreadyExists):
            clients.stepfunctions.start_execution(
                stateMachineArn=settings.state_machine_arn, name=name, input=json.dumps(request)
            )

    def handle(record: SQSRecord) -> str:
        body = json.loads(record.body)
        outcome: Outcome = (
            on_check(body, debounce=debounce, start_run=start_run)
            if is_check(body)
            else on_event(body, debounce=debounce, send_check=send_check)
        )
        metrics.add_metric(name=f"Change{outcome.what.capitalize()}", unit="Count", value=1)
        logger.info("change", extra={"outcome": outcome.what, "reason": outcome.reason, "run": outcome.run})
        return outcome.what

    return dict(process_partial_response(event=event, record_handler=handle, processor=processor, context=context))
