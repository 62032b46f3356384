"""The vendor stack: storage, the workflow Lambdas, the workflow, its triggers, the change events, observability.

The stack only wires constructs; each IAM grant below is the whole of what a function may do.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, TimeZone, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as lambda_event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
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
from infra.nag import acknowledge_discovery_findings, arn_token, iam5
from infra.observability import Observability
from infra.organization_stack import DEFAULT_READER_ROLE_NAME, DEFAULT_SYNC_ROLE_NAME
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
from infra.workflow import WORKFLOW_TIMEOUT, Workflow

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


# Under the five minutes an EXPRESS child execution may run; a scan keeps its last minute in reserve.
SCAN_TIMEOUT = Duration.seconds(270)
# A batch of change events: a few table writes and queue sends each.
CHANGES_TIMEOUT = Duration.seconds(30)
CHANGE_PARTITION = "CHANGE#*"
# The items scan owns: a target's current state and its APIs. Of the registry it reads one attribute.
SCAN_ITEM_PARTITIONS = ("TARGET#*", "API#*")
REGISTRY_PARTITION = "REGISTRY"
# What the organizations sync writes: member accounts, the organizations, and (by ConditionCheck) the claims of
# their ExternalIds.
ORGANIZATIONS_PARTITIONS = ("REGISTRY", "ORGANIZATIONS", "EXTERNALID#*")
# What a scan's GetItem of a registry item may name (store/registry.py Registry.external_id): the key, which
# the caller already holds, and the ExternalId.
SCAN_REGISTRY_ATTRIBUTES = ("pk", "sk", "external_id")
# The customer quota's lease (store/quota_lease.py): scans of one account take and read places in it.
SCAN_QUOTA_PARTITION = "QUOTA#*"
SCAN_QUOTA_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")


def _scan_table_statements(table: dynamodb.ITable) -> list[iam.PolicyStatement]:
    """The scanner's role is the one customers trust and the one that parses what their accounts return: of
    the registry it may read only the ExternalId, one account per GetItem, and never change the registry,
    runs or windows. No Query, Scan or BatchGetItem reaches the registry partition, and the ExternalId claims
    (EXTERNALID#<hash>) are out of its reach.

    What IAM cannot narrow: which account's ExternalId. Every scan runs under this one role, the request
    carries no trusted value naming the invocation's target, and DynamoDB's condition keys see the partition
    key only (every registry item shares `REGISTRY`). So a scan running hostile code could still read other
    customers' ExternalIds one GetItem at a time; each customer's trust policy also requires this role as
    the caller, so an ExternalId alone opens nothing."""
    return [
        iam.PolicyStatement(
            sid="ReadExternalIdOfRegisteredAccount",
            actions=["dynamodb:GetItem"],
            resources=[table.table_arn],
            conditions={
                "ForAllValues:StringEquals": {
                    "dynamodb:LeadingKeys": [REGISTRY_PARTITION],
                    "dynamodb:Attributes": list(SCAN_REGISTRY_ATTRIBUTES),
                },
                # The form AWS documents: a GetItem with no projection asks for every attribute.
                "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
                # ForAllValues holds for a request without the key at all: both must be present.
                "Null": {"dynamodb:LeadingKeys": "false", "dynamodb:Attributes": "false"},
            },
        ),
        iam.PolicyStatement(
            sid="UseTargetState",
            actions=list(TABLE_ITEM_ACTIONS),
            resources=[table.table_arn],
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(SCAN_ITEM_PARTITIONS)}},
        ),
        iam.PolicyStatement(
            sid="ShareCustomerQuota",
            actions=list(SCAN_QUOTA_ACTIONS),
            resources=[table.table_arn],
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [SCAN_QUOTA_PARTITION]}},
        ),
    ]


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
                "CHANGE_MAX_CONCURRENCY": str(config.change_max_concurrency),
                "OPENAPI_EXPORTS": str(config.openapi_exports).lower(),
                "QUOTA_SHARE": str(config.quota_share),
                "FORWARDING_SWEEP_EVERY": str(config.forwarding_sweep_every),
                "SWEEP_INTERVAL_SECONDS": str(config.sweep_interval_seconds),
                # A sweep that never announces (it failed, or timed out) holds the schedule no longer than this.
                "SWEEP_LEASE_SECONDS": str(int(WORKFLOW_TIMEOUT.to_seconds())),
                "EVENT_BUS_NAME": config.event_bus_name,
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": config.log_level,
            },
            log_retention_days=config.log_retention_days,
        )
        self.plan = workflow_function(
            self,
            FunctionSpec(
                "plan",
                "Validate a scan request and write the accounts manifest",
                # Reads the whole registry and writes one manifest item per account: ten thousand for a sweep.
                512,
                Duration.minutes(2),
            ),
            defaults,
        )
        self.scan = workflow_function(
            self,
            FunctionSpec(
                "scan",
                "Inventory API Gateway in one account, all its regions, through the customer's read-only role",
                512,
                # Under EXPRESS's five minutes; the scan stops a minute early and continues in the next round.
                SCAN_TIMEOUT,
                # A fixed name, because the customer's trust policy names this role.
                role_name=config.scanner_role_name,
                # A sweep's scans cannot starve the account's other functions, nor be starved by them.
                reserved_concurrency=config.scan_reserved_concurrency,
            ),
            defaults,
        )
        self.finalize = workflow_function(
            self,
            FunctionSpec(
                "finalize",
                "Record a round of results; plan the next round, or the run report and its publish batches",
                # Streams the results of ten thousand accounts and writes the run's target list.
                1024,
                Duration.minutes(15),
            ),
            defaults,
        )
        self.publish = workflow_function(
            self,
            FunctionSpec(
                "publish",
                "Send one batch of change and finding events, or announce a completed run",
                512,
                # A batch runs in an EXPRESS child execution: under its five minutes, like a scan.
                SCAN_TIMEOUT,
            ),
            defaults,
        )

        # plan: the registry, change windows, the sweep lease, and the manifest it writes.
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
        # Its snapshots, the progress of a scan continued in a later round, OpenAPI exports, change sets.
        scan_prefixes = (SNAPSHOTS_PREFIX, PROGRESS_PREFIX, EXPORTS_PREFIX, CHANGES_PREFIX)
        self.scan.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject", "s3:GetObject"], resources=_objects(bucket, *scan_prefixes))
        )
        self.scan.add_to_role_policy(_list_under(bucket, *scan_prefixes))
        for statement in _scan_table_statements(table):
            self.scan.add_to_role_policy(statement)
        # finalize: reads the map's results, the manifests and what it recorded of earlier rounds (never a
        # change set); writes each round's targets, the run report, and the manifests of the next round and
        # of publishing.
        finalize_reads = (MANIFESTS_PREFIX, RESULTS_PREFIX, RUNS_PREFIX)
        self.finalize.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=_objects(bucket, *finalize_reads))
        )
        self.finalize.add_to_role_policy(_list_under(bucket, *finalize_reads))
        self.finalize.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=_objects(bucket, RUNS_PREFIX, MANIFESTS_PREFIX))
        )
        table.grant(self.finalize, *TABLE_ITEM_ACTIONS)
        # publish: reads the change sets its batch names (the batch itself is the Map item) and, to announce,
        # the run report; its cursors, the outbox and the sweep lease in the table; and the bus.
        publish_reads = (CHANGES_PREFIX, RUNS_PREFIX)
        self.publish.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=_objects(bucket, *publish_reads))
        )
        self.publish.add_to_role_policy(_list_under(bucket, *publish_reads))
        table.grant(self.publish, *TABLE_ITEM_ACTIONS)

        self.workflow = Workflow(
            self,
            "Workflow",
            plan=self.plan,
            scan=self.scan,
            finalize=self.finalize,
            publish=self.publish,
            bucket=bucket,
            publish_max_concurrency=config.publish_max_concurrency,
            tolerated_failure_percentage=config.tolerated_failure_percentage,
            log_retention_days=config.log_retention_days,
            log_level=config.workflow_log_level,
        )
        state_machine = self.workflow.state_machine

        # Change events: a queue, and a function that collapses each burst into one targeted run. Its own
        # delayed messages come back on the same queue as the checks that end a burst's quiet period.
        self.change_failures = sqs.Queue(
            self,
            "ChangeEventsFailed",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.change_queue = sqs.Queue(
            self,
            "ChangeEvents",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(1),
            # Six times the function's timeout, as Lambda's SQS event source asks.
            visibility_timeout=Duration.seconds(6 * int(CHANGES_TIMEOUT.to_seconds())),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.change_failures),
        )
        self.changes = workflow_function(
            self,
            FunctionSpec(
                "changes",
                "Collapse API Gateway change events per resource and start one targeted rescan per burst",
                256,
                CHANGES_TIMEOUT,
                environment={
                    "CHANGE_QUEUE_URL": self.change_queue.queue_url,
                    "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                    "CHANGE_QUIET_SECONDS": str(config.change_quiet_seconds),
                    "CHANGE_BOUND_SECONDS": str(config.change_bound_seconds),
                },
            ),
            defaults,
        )
        self.changes.add_event_source(
            lambda_event_sources.SqsEventSource(
                self.change_queue, batch_size=10, report_batch_item_failures=True, max_concurrency=10
            )
        )
        self.change_queue.grant_send_messages(self.changes)
        state_machine.grant_start_execution(self.changes)
        # Its bursts (CHANGE#...) in the table, nothing else of it.
        self.changes.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                resources=[table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [CHANGE_PARTITION]}},
            )
        )

        self.organizations = workflow_function(
            self,
            FunctionSpec(
                "organizations",
                "List each registered organization's accounts; register, stop or resume its member accounts",
                512,
                # ListAccounts answers 20 accounts a page: ten thousand accounts are 500 calls.
                Duration.minutes(10),
                # A fixed name, because each organization's reader role trusts this role.
                role_name=DEFAULT_SYNC_ROLE_NAME,
            ),
            defaults,
        )
        self.organizations.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                resources=[f"arn:{self.partition}:iam::*:role/{DEFAULT_READER_ROLE_NAME}"],
            )
        )
        self.organizations.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],
                resources=[table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(ORGANIZATIONS_PARTITIONS)}},
            )
        )

        self.triggers = Triggers(
            self,
            "Triggers",
            state_machine=state_machine,
            schedule_expression=config.schedule_expression,
            schedule_time_zone=config.schedule_time_zone,
            event_bus_name=config.event_bus_name,
            source_account_ids=config.source_account_ids,
            organization_id=config.organization_id,
            change_queue=self.change_queue,
        )
        self.triggers.bus.grant_put_events_to(self.publish)
        # On the sweep's schedule: what it registers, the next plan scans.
        invoker = iam.Role(
            self,
            "OrganizationsScheduleRole",
            description="Lets EventBridge Scheduler invoke the organizations sync",
            # Only EventBridge Scheduler acting for a schedule of this account.
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{self.partition}:scheduler:{self.region}:{self.account}:schedule/*"
                    },
                }
            ),
        )
        Validations.of(invoker).acknowledge(
            Acknowledgment(
                id=iam5(f"{arn_token(self.organizations)}:*"),
                reason="The scheduler target's grant names the sync function and its versions (function:*); it "
                "invokes that one function and nothing else.",
            )
        )
        scheduler.Schedule(
            self,
            "OrganizationsSchedule",
            description="API Discovery: sync the registered organizations' member accounts",
            schedule=scheduler.ScheduleExpression.expression(
                config.schedule_expression, TimeZone.of(config.schedule_time_zone)
            ),
            target=scheduler_targets.LambdaInvoke(
                self.organizations,
                role=invoker,
                input=scheduler.ScheduleTargetInput.from_object({"source": "schedule"}),
                dead_letter_queue=self.triggers.dead_letters,
                retry_attempts=2,
            ),
        )

        self.observability = Observability(
            self,
            "Observability",
            state_machine=state_machine,
            functions=[self.plan, self.scan, self.finalize, self.publish, self.changes, self.organizations],
            dead_letters=self.triggers.dead_letters,
            change_failures=self.change_failures,
            alarm_email=config.alarm_email,
            failure_rate_percent=config.target_failure_rate_alarm_percent,
            sweep_alarm_hours=config.sweep_alarm_hours,
        )

        acknowledge_discovery_findings(
            bucket=bucket,
            plan=self.plan,
            scan=self.scan,
            finalize=self.finalize,
            publish=self.publish,
            changes=self.changes,
            organizations=self.organizations,
            workflow=self.workflow,
            dead_letters=self.triggers.dead_letters,
            customer_role_name=config.customer_role_name,
            reader_role_name=DEFAULT_READER_ROLE_NAME,
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
