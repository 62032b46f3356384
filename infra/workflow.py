"""The discovery workflow: plan -> Distributed Map of scans over the S3 manifest -> finalize.

State after each step (JSONPath):
  input       {"source": "schedule"|"request"|"change", "accounts"?: [...], "regions"?: [...], ...}
  after plan  {"run_id", "count", "manifest": {"bucket", "key"}}          (OutputPath $.Payload)
  after map   the same plus "results": {"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}
  output      whatever `finalize` returns (the run summary)
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.lambda_factory import retention
from infra.storage import MANIFESTS_PREFIX, RESULTS_PREFIX

# Transient Lambda service failures: retried with exponential backoff and full jitter.
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
)
# The error type `plan` raises for a request it refuses (Lambda reports the exception class name).
INVALID_REQUEST_ERROR = "InvalidScanRequestError"
WORKFLOW_TIMEOUT = Duration.hours(12)


def _invoke(
    scope: Construct, construct_id: str, function: lambda_.IFunction, comment: str, **output: Any
) -> tasks.LambdaInvoke:
    task = tasks.LambdaInvoke(
        scope,
        construct_id,
        lambda_function=function,
        comment=comment,
        # The result is the function's return value, unless `output` says where else it goes.
        **({"output_path": "$.Payload"} | output),
        # The built-in retry has no jitter; ours replaces it.
        retry_on_service_exceptions=False,
    )
    task.add_retry(
        errors=list(LAMBDA_TRANSIENT_ERRORS),
        interval=Duration.seconds(2),
        backoff_rate=2,
        max_attempts=6,
        max_delay=Duration.seconds(60),
        jitter_strategy=sfn.JitterType.FULL,
    )
    return task


class Workflow(Construct):
    """The STANDARD state machine, its role and its log group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: lambda_.IFunction,
        scan: lambda_.IFunction,
        finalize: lambda_.IFunction,
        bucket: s3.IBucket,
        max_concurrency: int,
        tolerated_failure_percentage: float,
        log_retention_days: int,
        change_window_seconds: int,
    ) -> None:
        super().__init__(scope, construct_id)

        plan_task = _invoke(self, "Plan", plan, "Validate the request, resolve targets, write the S3 manifest")
        plan_task.add_catch(
            sfn.Fail(
                self,
                "RejectRequest",
                comment="The request named no valid target; nothing was written",
                error=INVALID_REQUEST_ERROR,
                cause_path="$.error.Cause",
            ),
            errors=[INVALID_REQUEST_ERROR],
            result_path="$.error",
        )

        scan_map = sfn.DistributedMap(
            self,
            "ScanTargets",
            comment="One scan per (account, region) listed in the manifest",
            item_reader=sfn.S3JsonItemReader(bucket=bucket, key=sfn.JsonPath.string_at("$.manifest.key")),
            max_concurrency=max_concurrency,
            tolerated_failure_percentage=tolerated_failure_percentage,
            result_writer_v2=sfn.ResultWriterV2(bucket=bucket, prefix=RESULTS_PREFIX.rstrip("/")),
            result_path="$.results",
            # Child executions are STANDARD because a scan may outlast the 5-minute EXPRESS limit.
            map_execution_type=sfn.StateMachineType.STANDARD,
            label="ScanTargets",
        )
        scan_map.item_processor(self._scan_one_target(scan))

        finalize_task = _invoke(self, "Finalize", finalize, "Diff, record the run, emit events and metrics")

        plan_task.next(
            sfn.Choice(self, "AnyTargets", comment="Zero targets (e.g. a deduplicated change event)")
            .when(sfn.Condition.number_equals("$.count", 0), sfn.Succeed(self, "NothingToScan"))
            .otherwise(scan_map.next(finalize_task))
        )
        # A change event's scan starts one window after the event: the first event of a window then scans
        # after every change of that window, and plan drops the window's later events as duplicates.
        settle = sfn.Wait(
            self,
            "LetChangesSettle",
            comment="Wait out the change window, so the scan sees the whole burst of changes",
            time=sfn.WaitTime.duration(Duration.seconds(change_window_seconds)),
        ).next(plan_task)
        definition = (
            sfn.Choice(self, "FromChangeEvent", comment="Change events wait for their window to close")
            .when(sfn.Condition.string_equals("$.source", "change"), settle)
            .otherwise(plan_task)
        )

        self.state_machine_name = f"{Stack.of(self).stack_name}-workflow"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            # The /aws/vendedlogs/ prefix keeps the account's CloudWatch Logs resource policy small.
            log_group_name=f"/aws/vendedlogs/states/{self.state_machine_name}",
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CDK's automatic grants would give the map read/write on the whole bucket and every Lambda version;
        # the role below holds exactly what the definition uses, and CDK cannot add to it.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="api-discovery workflow",
        )
        self.policy = iam.Policy(
            self,
            "Permissions",
            roles=[self.role],
            statements=self._statements([plan, scan, finalize], bucket),
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            # Named, so that its role can name it and its executions without a circular reference.
            state_machine_name=self.state_machine_name,
            role=self.role.without_policy_updates(),
            comment="API Discovery: plan, scan every target, finalize",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=WORKFLOW_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        # Step Functions checks log delivery rights when it creates the state machine.
        self.state_machine.node.add_dependency(self.policy)
        # CDK's own map policy cannot attach to the locked role and never deploys; ours covers it.
        self.state_machine.node.try_remove_child("DistributedMapPolicy")
        self.scan_map = scan_map

    def _statements(self, functions: list[lambda_.IFunction], bucket: s3.IBucket) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                sid="InvokeWorkflowFunctions",
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn for function in functions],
            ),
            iam.PolicyStatement(
                sid="ReadManifests",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{MANIFESTS_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="WriteMapResults",
                actions=["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects(f"{RESULTS_PREFIX}*")],
            ),
            # Log delivery and X-Ray have no resource-level permissions.
            iam.PolicyStatement(
                sid="DeliverLogs",
                actions=[
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="Trace",
                actions=[
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                resources=["*"],
            ),
            *self._map_statements(),
        ]

    def _map_statements(self) -> list[iam.PolicyStatement]:
        """The Distributed Map runs each item as a child execution of this state machine."""
        stack = Stack.of(self)
        state_machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        executions = [
            stack.format_arn(
                service="states",
                resource="execution",
                resource_name=f"{self.state_machine_name}{separator}*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            # Runs are <name>:<id>; map item executions are <name>/<map label>:<id>.
            for separator in (":", "/")
        ]
        return [
            iam.PolicyStatement(
                sid="StartItemExecutions",
                actions=["states:StartExecution"],
                resources=[state_machine_arn],
            ),
            iam.PolicyStatement(
                sid="ManageItemExecutions",
                actions=["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"],
                resources=executions,
            ),
        ]

    def _scan_one_target(self, scan: lambda_.IFunction) -> sfn.IChainable:
        """Scan one item, invoking again while the scan returns a continuation (a target too large for one
        invocation); any error left after the retries becomes a `failed` summary, not a failed run."""
        scan_task = _invoke(
            self,
            "Scan",
            scan,
            "Assume the customer role, collect, snapshot, summarise",
            # Keep the item (the target) in the state beside the summary, for a follow-up invocation.
            output_path=None,
            result_selector={"summary.$": "$.Payload"},
            result_path="$.scan",
        )
        record_failure = sfn.Pass(
            self,
            "RecordTargetFailure",
            comment="Same shape as a scan summary, so finalize records the target as failed with its reason",
            parameters={
                "run_id.$": "$.run_id",
                "account_id.$": "$.account_id",
                "region.$": "$.region",
                "status": "failed",
                "error.$": "$.error.Error",
                "reason.$": "$.error.Cause",
            },
        )
        scan_task.add_catch(record_failure, errors=[sfn.Errors.ALL], result_path="$.error")
        resume = sfn.Pass(
            self,
            "ResumeScan",
            comment="The scan stopped before its Lambda timed out: continue from its stored progress",
            input_path="$.scan.summary.continuation",
            result_path="$.continuation",
        )
        done = sfn.Pass(
            self, "TargetScanned", comment="The target's summary is the item's result", output_path="$.scan.summary"
        )
        return scan_task.next(
            sfn.Choice(self, "MoreToScan", comment="Did the scan return a continuation?")
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present("$.scan.summary.continuation"),
                    sfn.Condition.is_string("$.scan.summary.continuation"),
                ),
                resume.next(scan_task),
            )
            .otherwise(done)
        )
