"""Scan: one (account, region) of the manifest; returns a small summary, the detail goes to S3."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from api_discovery.blobs import S3BlobStore
from api_discovery.observability import logger, metrics, tracer
from api_discovery.settings import AwsClients, LambdaSettings, default_clients
from api_discovery.state import StateStore
from api_discovery.targets import Target
from api_discovery.workflow import scan

SETTINGS = LambdaSettings.from_env()


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(event, SETTINGS, default_clients())


def run(event: dict[str, Any], settings: LambdaSettings, clients: AwsClients) -> dict[str, Any]:
    target = Target.model_validate(event)
    result = scan(
        target,
        blobs=S3BlobStore(clients.s3, settings.bucket_name),
        state=StateStore(clients.dynamodb, settings.table_name),
        session_factory=boto3.Session,
    )
    logger.info("scanned", extra=result.model_dump(include={"account_id", "region", "status", "api_count", "reason"}))
    metrics.add_metric(name="TargetsScanned", unit="Count", value=1)
    metrics.add_metric(name="TargetsFailed", unit="Count", value=int(result.status == "failed"))
    metrics.add_metric(name="ApisFound", unit="Count", value=result.api_count)
    return result.model_dump()
