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

PRODUCT_METRICS = ("TargetsScanned", "TargetsFailed", "ApisFound", "ScanDuration", "Throttles")


def product_metric(name: str, statistic: str = "Sum", period: Duration | None = None) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME},
        statistic=statistic,
        period=period or Duration.hours(1),
    )


class Observability(Construct):
    """One dashboard, alarms on failed runs, failed targets and undelivered starts, one encrypted topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        functions: Sequence[lambda_.IFunction],
        dead_letters: sqs.IQueue,
        alarm_email: str | None,
        targets_failed_threshold: int,
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

        self.executions_failed = cloudwatch.Alarm(
            self,
            "ExecutionsFailed",
            alarm_description="A discovery run failed: plan or finalize failed, or too many targets failed",
            metric=state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.targets_failed = cloudwatch.Alarm(
            self,
            "TargetsFailed",
            alarm_description="Targets could not be scanned (role missing, access denied, timeouts)",
            metric=product_metric("TargetsFailed"),
            threshold=targets_failed_threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
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
        for alarm in (self.executions_failed, self.targets_failed, self.undelivered_starts):
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
                title="Targets scanned / failed",
                left=[product_metric("TargetsScanned"), product_metric("TargetsFailed")],
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
            cloudwatch.AlarmStatusWidget(
                title="Alarms",
                alarms=[self.executions_failed, self.targets_failed, self.undelivered_starts],
                width=12,
            ),
        )
