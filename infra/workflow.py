"""The discovery workflow: plan -> rounds of a Distributed Map of account scans -> finalize -> publish.

State after each step (JSONPath):
  input          {"source": "schedule"|"request"|"change", "accounts"?: [...], "regions"?: [...], ...}
  after plan     the round state: {"run_id", "started_at", "source", "count", "targets", "manifest": {"bucket",
                 "key"} | null, "max_concurrency", "round": 0, "rounds": [], "done": false}   (OutputPath $.Payload)
  after the map  the same plus "results": {"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}
  after finalize another round state (done false: the accounts to continue, in a new manifest), or
                 {"done": true, "run_id", "started_at", "summary", "publish": {"count", "manifest"}, "announce"}
  output         what the announcement returns (the run summary)
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

from infra.config import WORKFLOW_TIMEOUT_HOURS
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
WORKFLOW_TIMEOUT = Duration.hours(WORKFLOW_TIMEOUT_HOURS)
# Map labels name the child executions (<state machine>/<label>:<id>), so the role can name them too.
SCAN_MAP_LABEL = "ScanAccounts"
PUBLISH_MAP_LABEL = "PublishEvents"
MAP_LABELS = (SCAN_MAP_LABEL, PUBLISH_MAP_LABEL)
# One JSON object per line, each a child's output and nothing else: finalize streams the file line by line.
RESULTS_FORMAT = sfn.WriterConfig(output_type=sfn.OutputType.JSONL, transformation=sfn.Transformation.COMPACT)


def _invoke(
    scope: Construct, construct_id: str, function: lambda_.IFunction, comment: str, **options: Any
) -> tasks.LambdaInvoke:
    task = tasks.LambdaInvoke(
        scope,
        construct_id,
        lambda_function=function,
        comment=comment,
        # The result is the function's return value, unless `options` say where else it goes.
        **({"output_path": "$.Payload"} | options),
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
        publish: lambda_.IFunction,
        bucket: s3.IBucket,
        publish_max_concurrency: int,
        tolerated_failure_percentage: float,
        log_retention_days: int,
        log_level: str,
    ) -> None:
        super().__init__(scope, construct_id)

        plan_task = _invoke(self, "Plan", plan, "Validate the request, resolve accounts, write the S3 manifest")
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
            SCAN_MAP_LABEL,
            comment="One scan per customer account listed in the manifest, all its regions in one invocation",
            item_reader=sfn.S3JsonItemReader(bucket=bucket, key=sfn.JsonPath.string_at("$.manifest.key")),
            # plan picks it by source: a sweep runs wide, a change event's rescan stays narrow.
            max_concurrency_path="$.max_concurrency",
            tolerated_failure_percentage=tolerated_failure_percentage,
            result_writer_v2=sfn.ResultWriterV2(
                bucket=bucket, prefix=RESULTS_PREFIX.rstrip("/"), writer_config=RESULTS_FORMAT
            ),
            result_path="$.results",
            # EXPRESS: a scan stops in time to fit one invocation, well inside EXPRESS's five minutes, and
            # an account too large for that continues in the next round of this map, not in its child.
            map_execution_type=sfn.StateMachineType.EXPRESS,
            label=SCAN_MAP_LABEL,
        )
        scan_map.item_processor(self._scan_one_account(scan))

        finalize_task = _invoke(
            self, "Finalize", finalize, "Record the round; plan the next one, or the run's report and events"
        )
        announce = _invoke(
            self,
            "Announce",
            publish,
            "Send Scan Completed, close the run's outbox, release the sweep",
            payload=sfn.TaskInput.from_object({"announce": sfn.JsonPath.object_at("$.announce")}),
        )
        publish_map = sfn.DistributedMap(
            self,
            PUBLISH_MAP_LABEL,
            comment="One child per batch of change sets and failures finalize listed in the publish manifest",
            item_reader=sfn.S3JsonItemReader(bucket=bucket, key=sfn.JsonPath.string_at("$.publish.manifest.key")),
            max_concurrency=publish_max_concurrency,
            # Written to S3 like the scans': however many batches, the state keeps only a pointer.
            result_writer_v2=sfn.ResultWriterV2(
                bucket=bucket, prefix=RESULTS_PREFIX.rstrip("/"), writer_config=RESULTS_FORMAT
            ),
            result_path="$.published",
            map_execution_type=sfn.StateMachineType.EXPRESS,
            label=PUBLISH_MAP_LABEL,
        )
        publish_map.item_processor(
            _invoke(self, "Publish", publish, "Put one batch's events on the bus, resuming from its cursor")
        )

        any_events = (
            sfn.Choice(self, "AnyEvents", comment="Did the run change anything, or fail anywhere?")
            .when(sfn.Condition.number_greater_than("$.publish.count", 0), publish_map.next(announce))
            .otherwise(announce)
        )
        more_rounds = (
            sfn.Choice(self, "MoreRounds", comment="Accounts that ran out of time continue in another round")
            .when(sfn.Condition.boolean_equals("$.done", False), scan_map)
            .otherwise(any_events)
        )
        plan_task.next(
            sfn.Choice(self, "AnyTargets", comment="Zero accounts (a sweep while the previous one still runs)")
            .when(sfn.Condition.number_equals("$.count", 0), sfn.Succeed(self, "NothingToScan"))
            .otherwise(scan_map.next(finalize_task).next(more_rounds))
        )
        # Change events arrive already collapsed, one run per burst and resource (steps/changes.py): they plan
        # at once, like any other request.
        definition = plan_task

        self.state_machine_name = f"{Stack.of(self).stack_name}-workflow"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            # The /aws/vendedlogs/ prefix keeps the account's CloudWatch Logs resource policy small.
            log_group_name=f"/aws/vendedlogs/states/{self.state_machine_name}",
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CDK's automatic grants would give the maps read/write on the whole bucket and every Lambda version;
        # the role below holds exactly what the definition uses, and CDK cannot add to it.
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            # Only Step Functions acting for a state machine of this account and region, in the form AWS
            # documents. Naming this state machine alone would also have to match whatever its Distributed
            # Map child executions present, which AWS does not document.
            assumed_by=iam.ServicePrincipal("states.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:states:{stack.region}:{stack.account}:stateMachine:*"
                    },
                }
            ),
            description="api-discovery workflow",
        )
        self.policy = iam.Policy(
            self,
            "Permissions",
            roles=[self.role],
            statements=self._statements([plan, scan, finalize, publish], bucket),
        )
        self.log_level = sfn.LogLevel[log_level]
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            # Named, so that its role can name it and its executions without a circular reference.
            state_machine_name=self.state_machine_name,
            role=self.role.without_policy_updates(),
            comment="API Discovery: plan, scan every account in rounds, finalize, publish",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=WORKFLOW_TIMEOUT,
            tracing_enabled=True,
            # A sweep runs ten thousand child executions: logging each of their steps, with its payload,
            # would cost more than the sweep and copy customer inventory into CloudWatch Logs.
            logs=sfn.LogOptions(destination=self.log_group, level=self.log_level, include_execution_data=False),
        )
        # Step Functions checks log delivery rights when it creates the state machine.
        self.state_machine.node.add_dependency(self.policy)
        # CDK's own map policy cannot attach to the locked role and never deploys; ours covers it.
        self.state_machine.node.try_remove_child("DistributedMapPolicy")
        self.scan_map = scan_map
        self.publish_map = publish_map

    def _statements(self, functions: list[lambda_.IFunction], bucket: s3.IBucket) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                sid="InvokeWorkflowFunctions",
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn for function in functions],
            ),
            # Every manifest the maps read (each round's and the publish manifest) is under manifests/.
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

    def execution_arn(self, resource_name: str) -> str:
        return Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=resource_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def execution_patterns(self) -> list[str]:
        """Runs are <name>:<id>; the maps' child executions are <name>/<label>:<id>."""
        name = self.state_machine_name
        return [f"{name}:*", *(f"{name}/{label}:*" for label in MAP_LABELS)]

    def _map_statements(self) -> list[iam.PolicyStatement]:
        """The Distributed Maps run each item as a child execution of this state machine, EXPRESS ones
        included: starting them is StartExecution on the state machine itself."""
        state_machine_arn = Stack.of(self).format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        return [
            iam.PolicyStatement(
                sid="StartItemExecutions",
                actions=["states:StartExecution"],
                resources=[state_machine_arn],
            ),
            iam.PolicyStatement(
                sid="ManageItemExecutions",
                actions=["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"],
                resources=[self.execution_arn(pattern) for pattern in self.execution_patterns()],
            ),
        ]

    def _scan_one_account(self, scan: lambda_.IFunction) -> sfn.IChainable:
        """Scan one account, every region of it; any error left after the retries becomes a `failed` result
        for the account, not a failed child execution, so finalize records each region with the reason."""
        scan_task = _invoke(self, "Scan", scan, "Assume the customer role once, scan its regions, summarise")
        record_failure = sfn.Pass(
            self,
            "RecordAccountFailure",
            comment="Same shape as an account result, so finalize records each region as failed with the reason",
            parameters={
                "run_id.$": "$.run_id",
                "account_id.$": "$.account_id",
                "regions.$": "$.regions",
                "status": "failed",
                "error.$": "$.error.Error",
                "reason.$": "$.error.Cause",
            },
        )
        scan_task.add_catch(record_failure, errors=[sfn.Errors.ALL], result_path="$.error")
        return scan_task
