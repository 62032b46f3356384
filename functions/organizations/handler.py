"""Organizations: on the sweep's schedule, list each registered organization's accounts and register, stop or
resume its members, so that the next plan scans what the organizations hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from api_discovery.collect.organizations import reader_client
from api_discovery.observability import logger, metrics, tracer
from api_discovery.steps.organizations import sync_organizations
from api_discovery.steps.settings import AwsClients, LambdaSettings, default_clients
from api_discovery.store.organizations import Organizations
from api_discovery.store.registry import Registry

SETTINGS = LambdaSettings.from_env()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(event, SETTINGS, default_clients(), boto3.Session())


def run(_: dict[str, Any], settings: LambdaSettings, clients: AwsClients, base: boto3.Session) -> dict[str, Any]:
    session_id = "organizations-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    outcomes = sync_organizations(
        Organizations(clients.dynamodb, settings.table_name),
        Registry(clients.dynamodb, settings.table_name),
        lambda org, arn: reader_client(base, arn, org.external_id, session_id),
    )
    summary = []
    for outcome in outcomes:
        result = outcome.result
        row: dict[str, Any] = {"organization": outcome.organization, "error": outcome.error}
        if result:
            row |= {"listed": result.listed, "added": len(result.added), "stopped": len(result.stopped)}
            row |= {"resumed": len(result.resumed), "kept_own": len(result.kept_own)}
        summary.append(row)
        logger.info("organization synced" if result else "organization not read", extra=row)
    metrics.add_metric(name="OrganizationsNotRead", unit="Count", value=sum(1 for o in outcomes if o.error))
    return {"organizations": summary}
