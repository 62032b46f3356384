"""Scan: one account of the manifest, all its regions; returns a small result, the detail goes to S3."""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from api_discovery.blobs import S3BlobStore
from api_discovery.collect.budget import Rates
from api_discovery.observability import logger, metrics, tracer
from api_discovery.steps.scan import parse_scan_event, scan_account
from api_discovery.steps.settings import AwsClients, LambdaSettings, default_clients
from api_discovery.steps.target_scan import ScanOptions, SessionFactory, TimeLeft
from api_discovery.store.registry import Registry
from api_discovery.store.state import StateStore

SETTINGS = LambdaSettings.from_env()


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(event, SETTINGS, default_clients(), lambda: context.get_remaining_time_in_millis() / 1000)


def run(
    event: dict[str, Any],
    settings: LambdaSettings,
    clients: AwsClients,
    time_left: TimeLeft | None = None,
    session_factory: SessionFactory = boto3.Session,
) -> dict[str, Any]:
    item = parse_scan_event(event)
    started = time.monotonic()
    # The ExternalId is read here, never passed through the workflow: no execution history or log holds it.
    external_id = (
        Registry(clients.dynamodb, settings.table_name).external_id(item.account_id) if item.role_arn else None
    )
    result = scan_account(
        item,
        blobs=S3BlobStore(clients.s3, settings.bucket_name),
        state=StateStore(clients.dynamodb, settings.table_name),
        session_factory=session_factory,
        external_id=external_id,
        options=ScanOptions(exports=settings.openapi_exports, rates=Rates.of_quota(settings.quota_share)),
        time_left=time_left,
        sts_region=os.environ.get("AWS_REGION"),
    )
    finished = result.finished()
    logger.info(
        "scanned",
        extra={
            "account_id": result.account_id,
            "status": result.status,
            "regions": len(finished),
            "failed": sum(t.status == "failed" for t in finished),
            "unchanged": sum(t.unchanged for t in finished),
            "apis": sum(t.api_count for t in finished),
        },
    )
    metrics.add_metric(name="TargetsScanned", unit="Count", value=len(finished))
    metrics.add_metric(name="TargetsFailed", unit="Count", value=sum(t.status == "failed" for t in finished))
    metrics.add_metric(name="ApisFound", unit="Count", value=sum(t.api_count for t in finished))
    metrics.add_metric(name="Throttles", unit="Count", value=sum(t.retries for t in finished))
    # This invocation's time: an account continued over several invocations adds one datapoint each.
    metrics.add_metric(name="ScanDuration", unit="Seconds", value=time.monotonic() - started)
    return result.model_dump(exclude_defaults=True)
