"""The vendor stack: storage, the three workflow Lambdas, the workflow, its triggers, observability.

The stack only wires constructs; each IAM grant below is the whole of what a function may do.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import DiscoveryConfig
from infra.lambda_factory import (
    METRICS_NAMESPACE,
    SERVICE_NAME,
    FunctionDefaults,
    FunctionSpec,
    library_layer,
    powertools_layer_arn,
    workflow_function,
)
from infra.nag import acknowledge_discovery_findings
from infra.observability import Observability
from infra.storage import (
    CHANGES_PREFIX,
    EXPORTS_PREFIX,
    MANIFESTS_PREFIX,
    PROGRESS_PREFIX,
    RESULTS_PREFIX,
    RUNS_PREFIX,
    SNAPSHOTS_PREFIX,
    Storage,
)
from infra.triggers import Triggers
from infra.workflow import Workflow

# The item operations the library uses (no Scan, no streams, no table management).
TABLE_ITEM_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)


def _objects(bucket: s3.IBucket, *prefixes: str) -> list[str]:
    return [bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes]


def _list_under(bucket: s3.IBucket, *prefixes: str) -> iam.PolicyStatement:
    """ListBucket limited to prefixes: a missing key then reads as 404 NoSuchKey instead of 403."""
    return iam.PolicyStatement(
        actions=["s3:ListBucket"],
        resources=[bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
    )


class DiscoveryStack(Stack):
    """Everything the vendor deploys with `cdk deploy`."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DiscoveryConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

        storage = Storage(
            self,
            "Storage",
            snapshot_retention_days=config.snapshot_retention_days,
            scratch_retention_days=config.scratch_retention_days,
        )
        self.storage = storage
        bucket, table = storage.bucket, storage.table

        defaults = FunctionDefaults(
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", powertools_layer_arn(self, config.powertools_layer_version)
                ),
                library_layer(self, "Library"),
            ],
            environment={
                "TABLE_NAME": table.table_name,
                "BUCKET_NAME": bucket.bucket_name,
                "ROLE_NAME": config.customer_role_name,
                "DEFAULT_REGIONS": ",".join(config.regions),
                "MAX_TARGETS": str(config.max_targets),
                "MAX_CONCURRENCY": str(config.map_max_concurrency),
                "OPENAPI_EXPORTS": str(config.openapi_exports).lower(),
                "CHANGE_WINDOW_SECONDS": str(config.change_window_seconds),
                "EVENT_BUS_NAME": config.event_bus_name,
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": config.log_level,
            },
            log_retention_days=config.log_retention_days,
        )
        self.plan = workflow_function(
            self,
            FunctionSpec("plan", "Validate a scan request and write the targets manifest", 256, Duration.seconds(60)),
            defaults,
        )
        self.scan = workflow_function(
            self,
            FunctionSpec(
                "scan",
                "Inventory API Gateway in one account and region through the customer's read-only role",
                512,
                # API Gateway allows GetResources 5 times per 2 s: a large account takes minutes.
                Duration.minutes(10),
                # A fixed name, because the customer's trust policy names this role.
                role_name=config.scanner_role_name,
            ),
            defaults,
        )
        self.finalize = workflow_function(
            self,
            FunctionSpec(
                "finalize", "Diff, record the run, emit change and finding events", 1024, Duration.minutes(15)
            ),
            defaults,
        )

        # plan: the registry and run records, and the manifest it writes.
        table.grant(self.plan, *TABLE_ITEM_ACTIONS)
        self.plan.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=_objects(bucket, MANIFESTS_PREFIX))
        )
        # scan: the customer role by name in any account, its own snapshots, the current state.
        self.scan.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                resources=[f"arn:{self.partition}:iam::*:role/{config.customer_role_name}"],
            )
        )
        # Its snapshots, the progress of a scan continued in a later invocation, OpenAPI exports, change sets.
        scan_prefixes = (SNAPSHOTS_PREFIX, PROGRESS_PREFIX, EXPORTS_PREFIX, CHANGES_PREFIX)
        self.scan.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject", "s3:GetObject"], resources=_objects(bucket, *scan_prefixes))
        )
        self.scan.add_to_role_policy(_list_under(bucket, *scan_prefixes))
        table.grant(self.scan, *TABLE_ITEM_ACTIONS)
        # finalize: reads what plan, the map and scan wrote, writes the run report and events.
        finalize_reads = (MANIFESTS_PREFIX, RESULTS_PREFIX, SNAPSHOTS_PREFIX, CHANGES_PREFIX)
        self.finalize.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=_objects(bucket, *finalize_reads))
        )
        self.finalize.add_to_role_policy(_list_under(bucket, *finalize_reads))
        self.finalize.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=_objects(bucket, RUNS_PREFIX))
        )
        table.grant(self.finalize, *TABLE_ITEM_ACTIONS)

        self.workflow = Workflow(
            self,
            "Workflow",
            plan=self.plan,
            scan=self.scan,
            finalize=self.finalize,
            bucket=bucket,
            max_concurrency=config.map_max_concurrency,
            tolerated_failure_percentage=config.tolerated_failure_percentage,
            log_retention_days=config.log_retention_days,
            change_window_seconds=config.change_window_seconds,
        )
        state_machine = self.workflow.state_machine

        self.triggers = Triggers(
            self,
            "Triggers",
            state_machine=state_machine,
            schedule_expression=config.schedule_expression,
            schedule_time_zone=config.schedule_time_zone,
            event_bus_name=config.event_bus_name,
            source_account_ids=config.source_account_ids,
            organization_id=config.organization_id,
        )
        self.triggers.bus.grant_put_events_to(self.finalize)

        self.observability = Observability(
            self,
            "Observability",
            state_machine=state_machine,
            functions=[self.plan, self.scan, self.finalize],
            dead_letters=self.triggers.dead_letters,
            alarm_email=config.alarm_email,
            targets_failed_threshold=config.targets_failed_alarm_threshold,
        )

        acknowledge_discovery_findings(
            bucket=bucket,
            plan=self.plan,
            scan=self.scan,
            finalize=self.finalize,
            workflow=self.workflow,
            dead_letters=self.triggers.dead_letters,
            customer_role_name=config.customer_role_name,
        )

        scanner_role = self.scan.role
        assert scanner_role is not None, "workflow_function always gives a function its own role"
        for name, value, description in (
            ("StateMachineArn", state_machine.state_machine_arn, "Start a scan: aws stepfunctions start-execution"),
            ("BucketName", bucket.bucket_name, "Snapshots, manifests, map results, run reports"),
            ("TableName", table.table_name, "Registry, current state, runs"),
            ("EventBusArn", self.triggers.bus.event_bus_arn, "Customers forward API Gateway events here"),
            ("ScannerRoleArn", scanner_role.role_arn, "Customer roles trust this role"),
            ("AlarmTopicArn", self.observability.topic.topic_arn, "Subscribe to alarms"),
        ):
            CfnOutput(self, name, value=value, description=description)
