"""Finalize: gather a Map round's results; once every account is done, record the run and batch its events."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from api_discovery.blobs import S3BlobStore
from api_discovery.observability import logger, metrics, tracer
from api_discovery.steps.finalize import FinalizeResult, finalize
from api_discovery.steps.inputs import parse_finalize_event
from api_discovery.steps.settings import AwsClients, LambdaSettings, default_clients
from api_discovery.store.outbox import Outbox
from api_discovery.store.state import StateStore

SETTINGS = LambdaSettings.from_env()


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(event, SETTINGS, default_clients())


def run(event: dict[str, Any], settings: LambdaSettings, clients: AwsClients) -> dict[str, Any]:
    planned, results_key = parse_finalize_event(event)

    def failed_here(regions: int) -> None:
        # Regions whose scan never reported (a crashed or timed-out child, too many rounds) count towards
        # the failure rate as the scans' own failures do.
        metrics.add_metric(name="TargetsScanned", unit="Count", value=regions)
        metrics.add_metric(name="TargetsFailed", unit="Count", value=regions)

    outcome = finalize(
        planned,
        results_key,
        blobs=S3BlobStore(clients.s3, settings.bucket_name),
        state=StateStore(clients.dynamodb, settings.table_name),
        outbox=Outbox(clients.dynamodb, settings.table_name),
        bucket=settings.bucket_name,
        max_rounds=settings.max_rounds,
        on_failed=failed_here,
    )
    if isinstance(outcome, FinalizeResult):
        logger.info("run recorded", extra={**outcome.summary, "batches": outcome.publish.count})
        metrics.add_metric(name="EventBatches", unit="Count", value=outcome.publish.count)
        # Changes a sweep found that no change event had announced: lost events, or a forwarder turned off.
        drift = outcome.summary.get("drift", 0)
        metrics.add_metric(name="DriftChanges", unit="Count", value=drift if isinstance(drift, int) else 0)
    else:
        logger.info("accounts continue in another round", extra={"accounts": outcome.count, "round": outcome.round})
    return outcome.model_dump()
