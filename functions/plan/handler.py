"""Plan: validate the scan request, resolve its accounts, write the manifest the Distributed Map reads."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from api_discovery.blobs import S3BlobStore
from api_discovery.observability import logger, metrics, tracer
from api_discovery.steps.plan import PlanSettings, parse_request, plan
from api_discovery.steps.settings import AwsClients, LambdaSettings, default_clients
from api_discovery.store.registry import Registry, with_default_role
from api_discovery.store.sweep_lease import SweepLease

SETTINGS = LambdaSettings.from_env()


# The event is not logged: a request is small, but what it carries is the caller's, and plan's output says
# what was planned.
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(event, SETTINGS, default_clients())


def run(event: dict[str, Any], settings: LambdaSettings, clients: AwsClients) -> dict[str, Any]:
    request = parse_request(event)
    registered = with_default_role(Registry(clients.dynamodb, settings.table_name).accounts(), settings.role_name)
    result = plan(
        request,
        registered=registered,
        settings=PlanSettings(
            default_regions=settings.default_regions,
            max_targets=settings.max_targets,
            max_concurrency=settings.max_concurrency,
            change_max_concurrency=settings.change_max_concurrency,
            forwarding_sweep_every=settings.forwarding_sweep_every,
            sweep_interval_seconds=settings.sweep_interval_seconds,
        ),
        blobs=S3BlobStore(clients.s3, settings.bucket_name),
        bucket=settings.bucket_name,
        lease=SweepLease(clients.dynamodb, settings.table_name, settings.sweep_lease_seconds),
    )
    logger.set_correlation_id(result.run_id)
    logger.info(
        "planned",
        extra={"accounts": result.count, "targets": result.targets, "source": request.source, "reason": result.reason},
    )
    metrics.add_metric(name="TargetsPlanned", unit="Count", value=result.targets)
    return result.model_dump()
