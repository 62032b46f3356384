"""The state machine as synthesized: its shape, retries, failure handling, logging, tracing and role."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Capture, Match, Template

from infra.workflow import LAMBDA_TRANSIENT_ERRORS, WORKFLOW_TIMEOUT, Workflow
from tests.infra.synth import TEST_CONTEXT, Synthesized, grants, logical_id, statements_of_role
from tests.workflow.definition import ACCOUNT, REGION, definition, state_machine_resource

RETRY = {
    "ErrorEquals": list(LAMBDA_TRANSIENT_ERRORS),
    "IntervalSeconds": 2,
    "MaxAttempts": 6,
    "BackoffRate": 2,
    "MaxDelaySeconds": 60,
    "JitterStrategy": "FULL",
}


@pytest.fixture(scope="module")
def states(discovery_json: dict[str, Any]) -> dict[str, Any]:
    top: dict[str, Any] = definition(discovery_json)
    return top


def function_arn(synth: Synthesized, step: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id(getattr(synth.built.discovery, step))}"


def bucket_name(synth: Synthesized) -> str:
    return f"placeholder-{logical_id(synth.built.discovery.storage.bucket).lower()}"


def test_flow_is_plan_then_rounds_of_scans_then_finalize_then_publish(states: dict[str, Any]) -> None:
    # Change events too: they come collapsed, one run per burst (steps/changes.py), and plan at once.
    assert states["StartAt"] == "Plan"
    top = states["States"]
    assert top["Plan"]["Next"] == "AnyTargets"
    assert top["AnyTargets"]["Choices"] == [{"Variable": "$.count", "NumericEquals": 0, "Next": "NothingToScan"}]
    assert top["AnyTargets"]["Default"] == "ScanAccounts"
    assert top["NothingToScan"] == {"Type": "Succeed"}
    assert top["ScanAccounts"]["Next"] == "Finalize"
    assert top["Finalize"]["Next"] == "MoreRounds"
    assert top["PublishEvents"]["Next"] == "Announce"
    assert top["Announce"]["End"] is True
    assert set(top) == {
        "Plan",
        "RejectRequest",
        "AnyTargets",
        "NothingToScan",
        "ScanAccounts",
        "Finalize",
        "MoreRounds",
        "AnyEvents",
        "PublishEvents",
        "Announce",
    }


def test_accounts_left_unfinished_go_round_the_map_again(states: dict[str, Any]) -> None:
    more = states["States"]["MoreRounds"]
    assert more["Type"] == "Choice"
    # finalize says when the run is done; the parent, not the child, loops.
    assert more["Choices"] == [{"Variable": "$.done", "BooleanEquals": False, "Next": "ScanAccounts"}]
    assert more["Default"] == "AnyEvents"


def test_events_are_fanned_out_only_when_there_are_some(states: dict[str, Any]) -> None:
    any_events = states["States"]["AnyEvents"]
    assert any_events["Choices"] == [{"Variable": "$.publish.count", "NumericGreaterThan": 0, "Next": "PublishEvents"}]
    assert any_events["Default"] == "Announce"


@pytest.mark.parametrize(("state", "step"), [("Plan", "plan"), ("Finalize", "finalize")])
def test_steps_invoke_their_function_with_the_whole_state_and_keep_only_its_payload(
    states: dict[str, Any], synth: Synthesized, state: str, step: str
) -> None:
    task = states["States"][state]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"] == {"FunctionName": function_arn(synth, step), "Payload.$": "$"}
    assert task["OutputPath"] == "$.Payload"


def test_announce_invokes_publish_with_the_announcement_only(states: dict[str, Any], synth: Synthesized) -> None:
    announce = states["States"]["Announce"]
    assert announce["Resource"] == "arn:aws:states:::lambda:invoke"
    assert announce["Parameters"] == {
        "FunctionName": function_arn(synth, "publish"),
        "Payload": {"announce.$": "$.announce"},
    }
    assert announce["OutputPath"] == "$.Payload"


def test_invalid_request_fails_the_run_with_the_plan_error(states: dict[str, Any]) -> None:
    plan = states["States"]["Plan"]
    assert plan["Catch"] == [
        {"ErrorEquals": ["InvalidScanRequestError"], "ResultPath": "$.error", "Next": "RejectRequest"}
    ]
    reject = {key: value for key, value in states["States"]["RejectRequest"].items() if key != "Comment"}
    assert reject == {"Type": "Fail", "Error": "InvalidScanRequestError", "CausePath": "$.error.Cause"}


def _all_tasks(states: dict[str, Any]) -> list[dict[str, Any]]:
    top = states["States"]
    return [
        top["Plan"],
        top["Finalize"],
        top["Announce"],
        top["ScanAccounts"]["ItemProcessor"]["States"]["Scan"],
        top["PublishEvents"]["ItemProcessor"]["States"]["Publish"],
    ]


def test_every_lambda_call_retries_service_errors_with_backoff_and_jitter(states: dict[str, Any]) -> None:
    for task in _all_tasks(states):
        assert task["Retry"] == [RETRY]
    assert {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    } <= set(LAMBDA_TRANSIENT_ERRORS)


def test_scan_map_runs_express_children_over_the_account_manifest(states: dict[str, Any], synth: Synthesized) -> None:
    scan_map = states["States"]["ScanAccounts"]
    assert scan_map["Type"] == "Map" and scan_map["Label"] == "ScanAccounts"
    assert scan_map["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert scan_map["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": bucket_name(synth), "Key.$": "$.manifest.key"},
    }
    # plan chooses the concurrency by source (sweep or change event); nothing fixed in the definition.
    assert scan_map["MaxConcurrencyPath"] == "$.max_concurrency"
    assert "MaxConcurrency" not in scan_map
    assert scan_map["ResultPath"] == "$.results"
    assert scan_map["ToleratedFailurePercentage"] == TEST_CONTEXT["tolerated_failure_percentage"]


@pytest.mark.parametrize("label", ["ScanAccounts", "PublishEvents"])
def test_map_results_go_to_s3_as_json_lines_of_child_outputs(
    states: dict[str, Any], synth: Synthesized, label: str
) -> None:
    assert states["States"][label]["ResultWriter"] == {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": bucket_name(synth), "Prefix": "results"},
        "WriterConfig": {"OutputType": "JSONL", "Transformation": "COMPACT"},
    }


def test_an_account_failure_becomes_a_failed_result_without_a_loop(states: dict[str, Any], synth: Synthesized) -> None:
    processor = states["States"]["ScanAccounts"]["ItemProcessor"]
    assert processor["StartAt"] == "Scan"
    # A scan out of time continues in the next round of the map, never inside the five-minute child.
    assert set(processor["States"]) == {"Scan", "RecordAccountFailure"}
    scan = processor["States"]["Scan"]
    assert scan["Parameters"] == {"FunctionName": function_arn(synth, "scan"), "Payload.$": "$"}
    assert scan["OutputPath"] == "$.Payload" and scan["End"] is True
    assert scan["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordAccountFailure"}]
    record = processor["States"]["RecordAccountFailure"]
    assert record["Type"] == "Pass"
    assert record["End"] is True
    assert record["Parameters"] == {
        "run_id.$": "$.run_id",
        "account_id.$": "$.account_id",
        "regions.$": "$.regions",
        "status": "failed",
        "error.$": "$.error.Error",
        "reason.$": "$.error.Cause",
    }


def test_publish_map_sends_each_batch_in_an_express_child(states: dict[str, Any], synth: Synthesized) -> None:
    publish_map = states["States"]["PublishEvents"]
    assert publish_map["Label"] == "PublishEvents"
    assert publish_map["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert publish_map["ItemReader"]["Parameters"] == {"Bucket": bucket_name(synth), "Key.$": "$.publish.manifest.key"}
    assert publish_map["MaxConcurrency"] == TEST_CONTEXT["publish_max_concurrency"]
    # Announce reads only $.announce; the results pointer is kept for whoever inspects the run.
    assert publish_map["ResultPath"] == "$.published"
    processor = publish_map["ItemProcessor"]
    assert processor["StartAt"] == "Publish" and set(processor["States"]) == {"Publish"}
    publish = processor["States"]["Publish"]
    assert publish["Parameters"] == {"FunctionName": function_arn(synth, "publish"), "Payload.$": "$"}
    assert publish["OutputPath"] == "$.Payload" and publish["End"] is True
    # A batch that still fails after its retries fails the run: its events stay in the outbox for the next.
    assert "Catch" not in publish
    assert "ToleratedFailurePercentage" not in publish_map


def test_standard_parent_logs_errors_only_without_execution_data_and_traces(
    discovery: Template, synth: Synthesized
) -> None:
    workflow = synth.built.discovery.workflow
    assert TEST_CONTEXT["workflow_log_level"] == "ERROR"
    discovery.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "StateMachineName": workflow.state_machine_name,
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": {
                "Level": "ERROR",
                "IncludeExecutionData": False,
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


def test_a_run_has_two_hours_to_finish(discovery: Template) -> None:
    definition_string = Capture()
    discovery.has_resource_properties("AWS::StepFunctions::StateMachine", {"DefinitionString": definition_string})
    pieces = definition_string.as_object()["Fn::Join"][1]
    text = "".join(piece for piece in pieces if isinstance(piece, str))
    assert WORKFLOW_TIMEOUT.to_seconds() == 7200
    assert '"TimeoutSeconds":7200' in text


def bare_workflow(log_level: str) -> Workflow:
    """The workflow alone, around inline functions: a second synthesis of the whole app would take long."""
    stack = Stack(App(), "Bare")
    functions = {
        step: lambda_.Function(
            stack,
            step,
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        )
        for step in ("plan", "scan", "finalize", "publish")
    }
    return Workflow(
        stack,
        "Workflow",
        **functions,
        bucket=s3.Bucket(stack, "Bucket"),
        publish_max_concurrency=5,
        tolerated_failure_percentage=0,
        log_retention_days=7,
        log_level=log_level,
    )


@pytest.mark.parametrize("level", ["OFF", "ERROR", "FATAL", "ALL"])
def test_the_log_level_follows_cdk_json_and_never_includes_execution_data(level: str) -> None:
    workflow = bare_workflow(level)
    Template.from_stack(Stack.of(workflow)).has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"LoggingConfiguration": Match.object_like({"Level": level, "IncludeExecutionData": False})},
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
        for fn in (stack.plan, stack.scan, stack.finalize, stack.publish)
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
    # EXPRESS children included: a Distributed Map starts them as executions of this state machine.
    expected.add(("states:StartExecution", arn(f":stateMachine:{name}")))
    for action in ("states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"):
        expected |= {
            (action, arn(f":execution:{name}:*")),
            (action, arn(f":execution:{name}/ScanAccounts:*")),
            (action, arn(f":execution:{name}/PublishEvents:*")),
        }
    assert grants(statements_of_role(discovery_json, logical_id(stack.workflow.role))) == expected


def test_workflow_role_is_assumable_by_step_functions_only(discovery: Template, synth: Synthesized) -> None:
    role = synth.discovery_json["Resources"][logical_id(synth.built.discovery.workflow.role)]
    state_machines = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":states:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":stateMachine:*",
            ],
        ]
    }
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                "ArnLike": {"aws:SourceArn": state_machines},
            },
        }
    ]
    assert "ManagedPolicyArns" not in role["Properties"]
