"""The change-event path: a queue the change rule feeds, and a function that reads it, with exactly the
permissions it needs to collapse bursts and start one run each."""

from __future__ import annotations

from typing import Any

from tests.infra.synth import TEST_CONTEXT, Synthesized, logical_id, resources_of_type, statements_of_role


def _getatt(construct: Any, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id(construct), attribute]}


def test_the_queue_is_encrypted_and_keeps_what_fails_apart(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    queue = discovery_json["Resources"][logical_id(synth.built.discovery.change_queue)]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["VisibilityTimeout"] == 6 * 30  # six times the function's timeout
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5


def test_the_function_reads_the_queue_reporting_failures_one_message_at_a_time(
    discovery_json: dict[str, Any], synth: Synthesized
) -> None:
    stack = synth.built.discovery
    (mapping,) = resources_of_type(discovery_json, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["EventSourceArn"] == _getatt(stack.change_queue)
    assert props["FunctionName"] == {"Ref": logical_id(stack.changes)}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] == 10


def test_its_environment_names_the_queue_the_workflow_and_the_debounce(
    discovery_json: dict[str, Any], synth: Synthesized
) -> None:
    stack = synth.built.discovery
    env = discovery_json["Resources"][logical_id(stack.changes)]["Properties"]["Environment"]["Variables"]
    assert env["CHANGE_QUEUE_URL"] == {"Ref": logical_id(stack.change_queue)}
    assert env["STATE_MACHINE_ARN"] == {"Ref": logical_id(stack.workflow.state_machine)}
    assert env["CHANGE_QUIET_SECONDS"] == str(TEST_CONTEXT.get("change_quiet_seconds", 25))
    assert env["CHANGE_BOUND_SECONDS"] == str(TEST_CONTEXT.get("change_bound_seconds", 90))


def test_it_may_start_the_workflow_touch_its_bursts_and_use_its_queue_and_nothing_else(
    discovery_json: dict[str, Any], synth: Synthesized
) -> None:
    stack = synth.built.discovery
    role = stack.changes.role
    assert role is not None
    statements = statements_of_role(discovery_json, logical_id(role))

    def acts(statement: dict[str, Any]) -> set[str]:
        action = statement["Action"]
        return {action} if isinstance(action, str) else set(action)

    (start,) = [s for s in statements if "states:StartExecution" in acts(s)]
    assert acts(start) == {"states:StartExecution"}
    assert start["Resource"] == {"Ref": logical_id(stack.workflow.state_machine)}
    (table,) = [s for s in statements if any(a.startswith("dynamodb:") for a in acts(s))]
    assert acts(table) == {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert table["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CHANGE#*"]}}
    actions = {a for s in statements for a in acts(s)}
    assert not [a for a in actions if a.startswith(("s3:", "events:", "sts:"))]
    assert {a for a in actions if a.startswith("sqs:")} >= {
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
    }
