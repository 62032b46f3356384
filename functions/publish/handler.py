"""Publish: one batch of a run's events, or (with `announce`) the run's `Scan Completed` once all are out."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from api_discovery.blobs import S3BlobStore
from api_discovery.events.notify import TableLedger
from api_discovery.events.publisher import Publisher
from api_discovery.observability import logger, metrics, tracer
from api_discovery.steps.finalize import Announcement
from api_discovery.steps.inputs import parse_publish_event
from api_discovery.steps.publish import announce_run, publish
from api_discovery.steps.settings import AwsClients, LambdaSettings, default_clients
from api_discovery.store.outbox import Outbox
from api_discovery.store.sweep_lease import SweepLease

SETTINGS = LambdaSettings.from_env()


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(event, SETTINGS, default_clients())


def run(event: dict[str, Any], settings: LambdaSettings, clients: AwsClients) -> dict[str, Any]:
    blobs = S3BlobStore(clients.s3, settings.bucket_name)
    ledger = TableLedger(clients.dynamodb, settings.table_name)
    publisher = Publisher(clients.events, settings.event_bus_name) if settings.event_bus_name else None
    item = parse_publish_event(event)
    if isinstance(item, Announcement):
        summary = announce_run(
            item,
            blobs=blobs,
            publisher=publisher,
            ledger=ledger,
            outbox=Outbox(clients.dynamodb, settings.table_name),
            lease=SweepLease(clients.dynamodb, settings.table_name, settings.sweep_lease_seconds),
        )
        logger.info("run announced", extra=summary.model_dump(exclude={"failed"}))
        metrics.add_metric(name="RunsCompleted", unit="Count", value=1)
        metrics.add_metric(name="SweepsCompleted", unit="Count", value=int(item.source == "schedule"))
        return summary.model_dump()
    sent = publish(item, blobs=blobs, publisher=publisher, ledger=ledger) if publisher else {}
    logger.info("events published", extra={"batch": item.batch, "sent": sent})
    metrics.add_metric(name="EventsPublished", unit="Count", value=sum(sent.values()))
    return {"run_id": item.run_id, "batch": item.batch, "sent": sent}
