"""What starts the workflow: the schedule, `Scan Requested` events, and API Gateway change events.

Change events go to a queue, not to the workflow: a `cdk deploy` makes dozens of calls in seconds, and the
changes function collapses them per resource (a quiet period, a hard bound) into one targeted run each,
started under a name of its burst's. Nothing of a CloudTrail record but its ids reaches an execution.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Aws, Duration, TimeZone
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

EVENT_SOURCE = "api-discovery"
SCAN_REQUESTED = "Scan Requested"
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"

# The first words of every API Gateway management call that changes what the inventory reports (v1 and v2
# both log under apigateway.amazonaws.com). The changes function drops the few that change nothing reported
# (API keys, documentation, caches: api_discovery.cloudtrail.IGNORED): a list of the hundred names themselves
# would pass EventBridge's 2,048 characters for a pattern. tests/infra/test_event_patterns.py holds these
# against the library's list.
API_GATEWAY_CHANGE_PREFIXES = (
    "Create",
    "Update",
    "Delete",
    "Put",
    "Import",
    "Reimport",
    "Tag",
    "Untag",
    "Reject",
    "Generate",
)

# Lambda's calls that change a function URL or its policy. CloudTrail names them with their API version
# (CreateFunctionUrlConfig20211031, AddPermission20150331v2): a prefix matches each. Held against the library's
# list (api_discovery.cloudtrail.LAMBDA_RESCANS) by tests/unit/test_cloudtrail.py.
LAMBDA_URL_CHANGE_PREFIXES = (
    "CreateFunctionUrlConfig",
    "UpdateFunctionUrlConfig",
    "DeleteFunctionUrlConfig",
    "AddPermission",
    "RemovePermission",
    "DeleteFunction",
)


# The calls of AppSync, ELB and CloudFront that change an entry point, by event source, as CloudTrail names them
# (a prefix also matches CloudFront's version suffix). Held against the library's list
# (api_discovery.cloudtrail.ENTRY_RESCANS) by tests/unit/test_cloudtrail.py.
ENTRY_POINT_CHANGES: dict[str, tuple[str, ...]] = {
    "appsync.amazonaws.com": (
        "CreateGraphqlApi",
        "UpdateGraphqlApi",
        "DeleteGraphqlApi",
        "CreateApi",
        "UpdateApi",
        "DeleteApi",
        "CreateDomainName",
        "UpdateDomainName",
        "DeleteDomainName",
    ),
    "elasticloadbalancing.amazonaws.com": (
        "CreateLoadBalancer",
        "DeleteLoadBalancer",
        "CreateListener",
        "ModifyListener",
        "DeleteListener",
        "CreateRule",
        "ModifyRule",
        "DeleteRule",
        "RegisterTargets",
        "DeregisterTargets",
    ),
    "cloudfront.amazonaws.com": (
        "CreateDistribution",
        "UpdateDistribution",
        "DeleteDistribution",
        "CopyDistribution",
        "AssociateAlias",
    ),
}


def api_gateway_change_pattern() -> dict[str, Any]:
    """Successful API Gateway management calls, and the calls of Lambda, AppSync, ELB and CloudFront that change an
    entry point or who may call it, as CloudTrail delivers them to EventBridge."""
    sources = ["aws.apigateway", "aws.lambda", *(f"aws.{s.split('.')[0]}" for s in ENTRY_POINT_CHANGES)]
    return {
        "source": sources,
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": {
            "$or": [
                {
                    "eventSource": ["apigateway.amazonaws.com"],
                    "eventName": [{"prefix": prefix} for prefix in API_GATEWAY_CHANGE_PREFIXES],
                },
                {
                    "eventSource": ["lambda.amazonaws.com"],
                    "eventName": [{"prefix": prefix} for prefix in LAMBDA_URL_CHANGE_PREFIXES],
                },
                *(
                    {"eventSource": [source], "eventName": [{"prefix": prefix} for prefix in names]}
                    for source, names in ENTRY_POINT_CHANGES.items()
                ),
            ],
            # A call that failed changed nothing.
            "errorCode": [{"exists": False}],
        },
    }


def scan_requested_pattern(*, with_regions: bool) -> dict[str, Any]:
    """`Scan Requested` events from this account; `regions` present or absent, one rule for each."""
    return {
        "account": [Aws.ACCOUNT_ID],
        "source": [EVENT_SOURCE],
        "detail-type": [SCAN_REQUESTED],
        "detail": {"accounts": [{"exists": True}], "regions": [{"exists": with_regions}]},
    }


def _event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """Event-pattern JSON as `events.EventPattern` (which spells `detail-type` as `detail_type`)."""
    names = {"source": "source", "detail-type": "detail_type", "account": "account", "detail": "detail"}
    return events.EventPattern(**{names[key]: value for key, value in pattern.items()})


class Triggers(Construct):
    """The schedule, the discovery bus and its rules, all starting the same state machine."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        schedule_expression: str,
        schedule_time_zone: str,
        event_bus_name: str,
        source_account_ids: Sequence[str],
        organization_id: str | None,
        change_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)

        # Starts that EventBridge or Scheduler could not deliver after their retries land here.
        self.dead_letters = sqs.Queue(
            self,
            "UndeliveredStarts",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )

        self.schedule = scheduler.Schedule(
            self,
            "FullScan",
            description="Full scan of every registered account and region",
            schedule=scheduler.ScheduleExpression.expression(schedule_expression, TimeZone.of(schedule_time_zone)),
            target=scheduler_targets.StepFunctionsStartExecution(
                state_machine,
                input=scheduler.ScheduleTargetInput.from_object({"source": "schedule"}),
                dead_letter_queue=self.dead_letters,
                max_event_age=Duration.hours(1),
                retry_attempts=10,
            ),
        )

        self.bus = events.EventBus(self, "Bus", event_bus_name=event_bus_name)
        self._allow_customer_accounts(source_account_ids, organization_id)
        # One role for the bus's rules to start the workflow, assumable by EventBridge only on behalf of a rule
        # of this bus (named by pattern: naming the rules' ARNs would make the rules and the role depend on
        # each other). CDK's default rule role carries no condition.
        self.start_role = iam.Role(
            self,
            "StartWorkflowRole",
            description="Lets the discovery bus's rules start the workflow",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                        f":rule/{event_bus_name}/*"
                    },
                }
            ),
        )

        self.scan_requested_in_regions = self._rule(
            "ScanRequestedInRegions",
            "A scan of the named accounts in the named regions",
            _event_pattern(scan_requested_pattern(with_regions=True)),
            {
                "source": "request",
                "accounts": events.EventField.from_path("$.detail.accounts"),
                "regions": events.EventField.from_path("$.detail.regions"),
            },
            state_machine,
        )
        # A separate rule, because an input transformer cannot leave out a field the event lacks.
        self.scan_requested = self._rule(
            "ScanRequestedAllRegions",
            "A scan of the named accounts in their default regions",
            _event_pattern(scan_requested_pattern(with_regions=False)),
            {"source": "request", "accounts": events.EventField.from_path("$.detail.accounts")},
            state_machine,
        )
        self.api_changed = events.Rule(
            self,
            "ApiGatewayChanged",
            description="API Gateway changes in customer accounts, to collapse into targeted rescans",
            event_bus=self.bus,
            event_pattern=_event_pattern(api_gateway_change_pattern()),
        )
        self.api_changed.add_target(
            targets.SqsQueue(
                change_queue,
                dead_letter_queue=self.dead_letters,
                max_event_age=Duration.hours(1),
                retry_attempts=10,
            )
        )

    def _rule(
        self,
        construct_id: str,
        description: str,
        pattern: events.EventPattern,
        execution_input: dict[str, Any],
        state_machine: sfn.IStateMachine,
    ) -> events.Rule:
        rule = events.Rule(self, construct_id, description=description, event_bus=self.bus, event_pattern=pattern)
        rule.add_target(
            targets.SfnStateMachine(
                state_machine,
                input=events.RuleTargetInput.from_object(execution_input),
                role=self.start_role,
                dead_letter_queue=self.dead_letters,
                max_event_age=Duration.hours(1),
                retry_attempts=10,
            )
        )
        return rule

    def _allow_customer_accounts(self, account_ids: Sequence[str], organization_id: str | None) -> None:
        """Registered accounts (or a whole organization) may forward API Gateway events, and nothing else."""
        only_api_gateway = {"StringEquals": {"events:source": "aws.apigateway"}}
        if account_ids:
            self.bus.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="RegisteredAccountsForwardApiGatewayEvents",
                    principals=[iam.AccountPrincipal(account) for account in account_ids],
                    actions=["events:PutEvents"],
                    resources=[self.bus.event_bus_arn],
                    conditions=only_api_gateway,
                )
            )
        if organization_id:
            self.bus.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="OrganizationForwardsApiGatewayEvents",
                    principals=[iam.AnyPrincipal()],
                    actions=["events:PutEvents"],
                    resources=[self.bus.event_bus_arn],
                    conditions={
                        "StringEquals": {
                            "events:source": "aws.apigateway",
                            "aws:PrincipalOrgID": organization_id,
                        }
                    },
                )
            )
