"""Scan: one (account, region) of the manifest; returns a small summary, the detail goes to S3."""

from __future__ import annotations

import time
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from api_discovery.blobs import S3BlobStore
from api_discovery.observability import logger, metrics, tracer
from api_discovery.steps.scan import parse_scan_event, scan
from api_discovery.steps.settings import AwsClients, LambdaSettings, default_clients
from api_discovery.steps.target_scan import ScanOptions, TimeLeft
from api_discovery.store.state import StateStore

SETTINGS = LambdaSettings.from_env()


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(event, SETTINGS, default_clients(), lambda: context.get_remaining_time_in_millis() / 1000)


def run(
    event: dict[str, Any], settings: LambdaSettings, clients: AwsClients, time_left: TimeLeft | None = None
) -> dict[str, Any]:
    target, continuation = parse_scan_event(event)
    started = time.monotonic()
    result = scan(
        target,
        blobs=S3BlobStore(clients.s3, settings.bucket_name),
        state=StateStore(clients.dynamodb, settings.table_name),
        session_factory=boto3.Session,
        options=ScanOptions(exports=settings.openapi_exports),
        time_left=time_left,
        continuation=continuation,
    )
    logger.info("scanned", extra=result.model_dump(include={"account_id", "region", "status", "api_count", "reason"}))
    if result.continuation:
        return result.model_dump()  # the workflow calls again; metrics once the target is done
    metrics.add_metric(name="TargetsScanned", unit="Count", value=1)
    metrics.add_metric(name="TargetsFailed", unit="Count", value=int(result.status == "failed"))
    metrics.add_metric(name="ApisFound", unit="Count", value=result.api_count)
    metrics.add_metric(name="Throttles", unit="Count", value=result.retries)
    # This invocation's time: a target continued over several invocations adds one datapoint each.
    metrics.add_metric(name="ScanDuration", unit="Seconds", value=time.monotonic() - started)
    return result.model_dump()
