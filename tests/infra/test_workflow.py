"""The state machine as synthesized: its shape, retries, failure handling, logging, tracing and role."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.workflow import LAMBDA_TRANSIENT_ERRORS
from tests.infra.synth import TEST_CONTEXT, Synthesized, grants, logical_id, statements_of_role
from tests.workflow.definition import ACCOUNT, REGION, definition, state_machine_resource


@pytest.fixture(scope="module")
def states(discovery_json: dict[str, Any]) -> dict[str, Any]:
    top: dict[str, Any] = definition(discovery_json)
    return top


def function_arn(synth: Synthesized, step: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id(getattr(synth.built.discovery, step))}"


def test_flow_is_plan_then_choice_then_map_then_finalize(states: dict[str, Any]) -> None:
    assert states["StartAt"] == "FromChangeEvent"
    top = states["States"]
    assert top["FromChangeEvent"]["Default"] == "Plan"
    assert top["Plan"]["Next"] == "AnyTargets"
    assert top["AnyTargets"]["Choices"] == [{"Variable": "$.count", "NumericEquals": 0, "Next": "NothingToScan"}]
    assert top["AnyTargets"]["Default"] == "ScanTargets"
    assert top["NothingToScan"] == {"Type": "Succeed"}
    assert top["ScanTargets"]["Next"] == "Finalize"
    assert top["Finalize"]["End"] is True
    assert set(top) == {
        "FromChangeEvent",
        "LetChangesSettle",
        "Plan",
        "AnyTargets",
        "NothingToScan",
        "ScanTargets",
        "Finalize",
        "RejectRequest",
    }


def test_a_change_event_waits_out_its_window_before_plan(states: dict[str, Any]) -> None:
    top = states["States"]
    assert top["FromChangeEvent"]["Choices"] == [
        {"Variable": "$.source", "StringEquals": "change", "Next": "LetChangesSettle"}
    ]
    settle = top["LetChangesSettle"]
    # The same window the plan step claims (CHANGE_WINDOW_SECONDS, from cdk.json's change_window_seconds).
    assert (settle["Type"], settle["Seconds"], settle["Next"]) == ("Wait", 300, "Plan")


@pytest.mark.parametrize(("state", "step"), [("Plan", "plan"), ("Finalize", "finalize")])
def test_steps_invoke_their_function_and_keep_only_its_payload(
    states: dict[str, Any], synth: Synthesized, state: str, step: str
) -> None:
    task = states["States"][state]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"] == {"FunctionName": function_arn(synth, step), "Payload.$": "$"}
    assert task["OutputPath"] == "$.Payload"


def test_invalid_request_fails_the_run_with_the_plan_error(states: dict[str, Any]) -> None:
    plan = states["States"]["Plan"]
    assert plan["Catch"] == [
        {"ErrorEquals": ["InvalidScanRequestError"], "ResultPath": "$.error", "Next": "RejectRequest"}
    ]
    reject = {key: value for key, value in states["States"]["RejectRequest"].items() if key != "Comment"}
    assert reject == {"Type": "Fail", "Error": "InvalidScanRequestError", "CausePath": "$.error.Cause"}


def _all_tasks(states: dict[str, Any]) -> list[dict[str, Any]]:
    top = states["States"]
    inner = top["ScanTargets"]["ItemProcessor"]["States"]
    return [top["Plan"], top["Finalize"], inner["Scan"]]


def test_every_lambda_call_retries_service_errors_with_backoff_and_jitter(states: dict[str, Any]) -> None:
    for task in _all_tasks(states):
        assert task["Retry"] == [
            {
                "ErrorEquals": list(LAMBDA_TRANSIENT_ERRORS),
                "IntervalSeconds": 2,
                "MaxAttempts": 6,
                "BackoffRate": 2,
                "MaxDelaySeconds": 60,
                "JitterStrategy": "FULL",
            }
        ]
    assert {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    } <= set(LAMBDA_TRANSIENT_ERRORS)


def test_distributed_map_reads_the_manifest_and_writes_results(states: dict[str, Any], synth: Synthesized) -> None:
    bucket = f"placeholder-{logical_id(synth.built.discovery.storage.bucket).lower()}"
    scan_map = states["States"]["ScanTargets"]
    assert scan_map["Type"] == "Map"
    assert scan_map["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert scan_map["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": bucket, "Key.$": "$.manifest.key"},
    }
    assert scan_map["ResultWriter"] == {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": bucket, "Prefix": "results"},
    }
    assert scan_map["ResultPath"] == "$.results"
    assert scan_map["MaxConcurrency"] == TEST_CONTEXT["map_max_concurrency"]
    assert scan_map["ToleratedFailurePercentage"] == TEST_CONTEXT["tolerated_failure_percentage"]


def test_a_target_failure_becomes_a_failed_summary(states: dict[str, Any], synth: Synthesized) -> None:
    processor = states["States"]["ScanTargets"]["ItemProcessor"]
    scan = processor["States"]["Scan"]
    assert processor["StartAt"] == "Scan"
    assert scan["Parameters"] == {"FunctionName": function_arn(synth, "scan"), "Payload.$": "$"}
    assert scan["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordTargetFailure"}]
    assert scan["ResultSelector"] == {"summary.$": "$.Payload"} and scan["ResultPath"] == "$.scan"
    assert "OutputPath" not in scan
    record = processor["States"]["RecordTargetFailure"]
    assert record["Type"] == "Pass"
    assert record["End"] is True
    assert record["Parameters"] == {
        "run_id.$": "$.run_id",
        "account_id.$": "$.account_id",
        "region.$": "$.region",
        "status": "failed",
        "error.$": "$.error.Error",
        "reason.$": "$.error.Cause",
    }


def test_standard_workflow_logs_everything_and_traces(discovery: Template, synth: Synthesized) -> None:
    workflow = synth.built.discovery.workflow
    discovery.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "StateMachineName": workflow.state_machine_name,
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": True,
                "Destinations": [
                    {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [logical_id(workflow.log_group), "Arn"]}}}
                ],
            },
            "RoleArn": {"Fn::GetAtt": [logical_id(workflow.role), "Arn"]},
        },
    )
    discovery.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": f"/aws/vendedlogs/states/{workflow.state_machine_name}",
            "RetentionInDays": TEST_CONTEXT["log_retention_days"],
        },
    )


def test_state_machine_waits_for_its_permissions(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    workflow = synth.built.discovery.workflow
    assert logical_id(workflow.policy) in state_machine_resource(discovery_json)["DependsOn"]


def test_workflow_role_holds_exactly_what_the_definition_uses(
    discovery_json: dict[str, Any], synth: Synthesized
) -> None:
    stack = synth.built.discovery
    name = stack.workflow.state_machine_name

    def one(value: Any) -> str:
        return json.dumps(value, sort_keys=True)

    def arn(resource: str) -> str:
        return one(
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":states:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        resource,
                    ],
                ]
            }
        )

    bucket_arn = {"Fn::GetAtt": [logical_id(stack.storage.bucket), "Arn"]}
    expected = {
        ("lambda:InvokeFunction", one({"Fn::GetAtt": [logical_id(fn), "Arn"]}))
        for fn in (stack.plan, stack.scan, stack.finalize)
    }
    expected.add(("s3:GetObject", one({"Fn::Join": ["", [bucket_arn, "/manifests/*"]]})))
    results = one({"Fn::Join": ["", [bucket_arn, "/results/*"]]})
    expected |= {
        (a, results) for a in ("s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")
    }
    expected |= {
        (a, '"*"')
        for a in (
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
        )
    }
    expected.add(("states:StartExecution", arn(f":stateMachine:{name}")))
    for action in ("states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"):
        expected |= {(action, arn(f":execution:{name}:*")), (action, arn(f":execution:{name}/*"))}
    assert grants(statements_of_role(discovery_json, logical_id(stack.workflow.role))) == expected


def test_workflow_role_is_assumable_by_step_functions_only(discovery: Template, synth: Synthesized) -> None:
    role = synth.discovery_json["Resources"][logical_id(synth.built.discovery.workflow.role)]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role["Properties"]


def test_a_scan_that_returns_a_continuation_is_invoked_again(states: dict[str, Any]) -> None:
    processor = states["States"]["ScanTargets"]["ItemProcessor"]["States"]
    assert processor["Scan"]["Next"] == "MoreToScan"
    choice = processor["MoreToScan"]
    assert choice["Type"] == "Choice" and choice["Default"] == "TargetScanned"
    (loop,) = choice["Choices"]
    assert loop["Next"] == "ResumeScan"
    assert loop["And"] == [
        {"Variable": "$.scan.summary.continuation", "IsPresent": True},
        {"Variable": "$.scan.summary.continuation", "IsString": True},
    ]
    resume = processor["ResumeScan"]
    assert (resume["InputPath"], resume["ResultPath"], resume["Next"]) == (
        "$.scan.summary.continuation",
        "$.continuation",
        "Scan",
    )
    done = processor["TargetScanned"]
    assert done["OutputPath"] == "$.scan.summary" and done["End"] is True
