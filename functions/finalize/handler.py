"""Finalize: gather the Map's results, record the run, report it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from api_discovery.blobs import S3BlobStore
from api_discovery.observability import logger, metrics, tracer
from api_discovery.steps.finalize import finalize
from api_discovery.steps.map_results import read_map_results
from api_discovery.steps.plan import PlanResult, read_manifest
from api_discovery.steps.settings import AwsClients, LambdaSettings, default_clients
from api_discovery.store.state import StateStore

SETTINGS = LambdaSettings.from_env()


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(event, SETTINGS, default_clients())


def run(event: dict[str, Any], settings: LambdaSettings, clients: AwsClients) -> dict[str, Any]:
    planned = PlanResult.model_validate(event)
    blobs = S3BlobStore(clients.s3, settings.bucket_name)
    results = read_map_results(blobs, event["results"]["ResultWriterDetails"]["Key"])
    summary = finalize(
        planned,
        results,
        blobs=blobs,
        state=StateStore(clients.dynamodb, settings.table_name),
        manifest=read_manifest(blobs, planned.manifest.key) if planned.manifest else [],
        events=clients.events,
        bus_name=settings.event_bus_name,
    )
    logger.info("run finished", extra=summary.model_dump(exclude={"failed"}))
    metrics.add_metric(name="RunsCompleted", unit="Count", value=1)
    return summary.model_dump()
