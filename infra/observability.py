"""Dashboard and alarms. Product metrics come from Powertools (EMF) under the `ApiDiscovery` namespace,
with the one default dimension `service=api-discovery`."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.lambda_factory import METRICS_NAMESPACE, SERVICE_NAME

PRODUCT_METRICS = (
    "TargetsScanned",
    "TargetsFailed",
    "ApisFound",
    "ScanDuration",
    "Throttles",
    "RunsCompleted",
    "SweepsCompleted",
)
FAILURE_RATE_PERIOD = Duration.hours(1)


def product_metric(name: str, statistic: str = "Sum", period: Duration | None = None) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME},
        statistic=statistic,
        period=period or Duration.hours(1),
    )


class Observability(Construct):
    """One dashboard, alarms on failed runs, the share of failed targets, missing sweeps and undelivered
    starts, one encrypted topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        functions: Sequence[lambda_.IFunction],
        dead_letters: sqs.IQueue,
        change_failures: sqs.IQueue,
        alarm_email: str | None,
        failure_rate_percent: float,
        sweep_alarm_hours: int,
    ) -> None:
        super().__init__(scope, construct_id)

        # A customer managed key, because CloudWatch cannot publish to a topic under the AWS managed SNS key.
        self.key = key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the api-discovery alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey")
        self.topic = sns.Topic(self, "Alarms", display_name="API Discovery alarms", master_key=key, enforce_ssl=True)
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        notify = actions.SnsAction(self.topic)

        five_minutes = Duration.minutes(5)
        self.executions_failed = cloudwatch.Alarm(
            self,
            "ExecutionsFailed",
            alarm_description="A discovery run failed or timed out: plan, finalize or publishing failed, too many "
            "accounts failed, or the run outlasted the workflow timeout",
            metric=cloudwatch.MathExpression(
                expression="FILL(failed, 0) + FILL(timedOut, 0)",
                using_metrics={
                    "failed": state_machine.metric_failed(period=five_minutes, statistic="Sum"),
                    "timedOut": state_machine.metric_timed_out(period=five_minutes, statistic="Sum"),
                },
                label="Runs failed or timed out",
                period=five_minutes,
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # At ten thousand accounts some target is always failing (a role removed, a region disabled): a count
        # would ring on every sweep. The share of failures is what says the scanner itself is in trouble.
        self.target_failure_rate = cloudwatch.Alarm(
            self,
            "TargetFailureRate",
            alarm_description=f"More than {failure_rate_percent:g}% of the targets scanned in an hour failed "
            "(roles missing, access denied, throttling, timeouts)",
            metric=cloudwatch.MathExpression(
                expression="IF(scanned > 0, 100 * FILL(failed, 0) / scanned, 0)",
                using_metrics={
                    "scanned": product_metric("TargetsScanned", period=FAILURE_RATE_PERIOD),
                    "failed": product_metric("TargetsFailed", period=FAILURE_RATE_PERIOD),
                },
                label="Failed targets (%)",
                period=FAILURE_RATE_PERIOD,
            ),
            threshold=failure_rate_percent,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # Hourly periods, every one of them empty: the same as no run in the whole window, but evaluated
        # every hour rather than once per window.
        self.no_sweep = cloudwatch.Alarm(
            self,
            "NoSweepCompleted",
            alarm_description=f"No scheduled sweep completed in {sweep_alarm_hours} hours: the schedule, the "
            "workflow or its announcement is not working",
            # Sweeps only: runs started by change events or requests do not prove that the schedule works.
            metric=product_metric("SweepsCompleted", period=Duration.hours(1)),
            threshold=1,
            evaluation_periods=sweep_alarm_hours,
            datapoints_to_alarm=sweep_alarm_hours,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            # No datapoint is what a missing sweep looks like.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        self.undelivered_starts = cloudwatch.Alarm(
            self,
            "UndeliveredStarts",
            alarm_description="A schedule or event could not start the workflow",
            metric=dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.change_events_failed = cloudwatch.Alarm(
            self,
            "ChangeEventsFailed",
            alarm_description="Change events the changes function failed five times: their rescans wait for a sweep",
            metric=change_failures.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarms = (
            self.executions_failed,
            self.target_failure_rate,
            self.no_sweep,
            self.undelivered_starts,
            self.change_events_failed,
        )
        for alarm in self.alarms:
            alarm.add_alarm_action(notify)

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(7))
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Runs",
                left=[
                    state_machine.metric_started(period=Duration.hours(1)),
                    state_machine.metric_succeeded(period=Duration.hours(1)),
                    state_machine.metric_failed(period=Duration.hours(1)),
                    state_machine.metric_timed_out(period=Duration.hours(1)),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Targets scanned / failed, runs completed",
                left=[product_metric("TargetsScanned"), product_metric("TargetsFailed")],
                right=[product_metric("RunsCompleted"), product_metric("SweepsCompleted")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="APIs found", left=[product_metric("ApisFound", "Maximum")], width=8),
            cloudwatch.GraphWidget(
                title="Scan duration",
                left=[product_metric("ScanDuration", stat) for stat in ("p50", "p90", "Maximum")],
                width=8,
            ),
            cloudwatch.GraphWidget(title="API Gateway throttles absorbed", left=[product_metric("Throttles")], width=8),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[fn.metric_errors(period=Duration.hours(1)) for fn in functions],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=12),
        )
