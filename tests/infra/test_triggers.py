"""What starts the workflow: the schedule, the discovery bus, its rules and who may put events on it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.triggers import API_GATEWAY_CHANGE_PREFIXES, ENTRY_POINT_CHANGES, LAMBDA_URL_CHANGE_PREFIXES
from tests.infra.synth import (
    CUSTOMER_ACCOUNTS,
    ORGANIZATION_ID,
    TEST_CONTEXT,
    Synthesized,
    logical_id,
    resources_of_type,
)


def state_machine_ref(synth: Synthesized) -> dict[str, str]:
    return {"Ref": logical_id(synth.built.discovery.workflow.state_machine)}


def dead_letter_arn(synth: Synthesized) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id(synth.built.discovery.triggers.dead_letters), "Arn"]}


def rule(discovery_json: dict[str, Any], synth: Synthesized, name: str) -> dict[str, Any]:
    construct = getattr(synth.built.discovery.triggers, name)
    props: dict[str, Any] = discovery_json["Resources"][logical_id(construct)]["Properties"]
    return props


def scheduler_role_arn(synth: Synthesized) -> Any:
    schedule = next(iter(resources_of_type(synth.discovery_json, "AWS::Scheduler::Schedule").values()))
    return schedule["Properties"]["Target"]["RoleArn"]


def test_schedule_starts_a_full_scan_on_the_configured_schedule(discovery: Template, synth: Synthesized) -> None:
    # The workflow's, and the organizations sync's on the same schedule (test_organizations_sync_runs_on_the_schedule).
    discovery.resource_count_is("AWS::Scheduler::Schedule", 2)
    discovery.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": TEST_CONTEXT["schedule_expression"],
            "ScheduleExpressionTimezone": TEST_CONTEXT["schedule_time_zone"],
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": {
                "Arn": state_machine_ref(synth),
                "Input": json.dumps({"source": "schedule"}, separators=(",", ":")),
                "DeadLetterConfig": {"Arn": dead_letter_arn(synth)},
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
                "RoleArn": scheduler_role_arn(synth),
            },
        },
    )
    role_id = scheduler_role_arn(synth)["Fn::GetAtt"][0]
    role = synth.discovery_json["Resources"][role_id]
    assert role["Type"] == "AWS::IAM::Role"
    principals = [s["Principal"] for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]]
    assert principals == [{"Service": "scheduler.amazonaws.com"}]


def test_scheduler_role_may_only_start_this_workflow_and_report_to_the_dead_letter_queue(
    synth: Synthesized,
) -> None:
    role_id = scheduler_role_arn(synth)["Fn::GetAtt"][0]
    policies = [
        policy
        for policy in resources_of_type(synth.discovery_json, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
    ]
    statements = [s for policy in policies for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert sorted(statements, key=lambda s: s["Action"]) == [
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": dead_letter_arn(synth)},
        {"Action": "states:StartExecution", "Effect": "Allow", "Resource": state_machine_ref(synth)},
    ]


def test_discovery_bus_has_the_configured_name(discovery: Template) -> None:
    discovery.resource_count_is("AWS::Events::EventBus", 1)
    discovery.has_resource_properties("AWS::Events::EventBus", {"Name": TEST_CONTEXT["event_bus_name"]})


@pytest.mark.parametrize(
    ("name", "template", "paths"),
    [
        (
            "scan_requested_in_regions",
            '{"source":"request","accounts":<detail-accounts>,"regions":<detail-regions>}',
            {"detail-accounts": "$.detail.accounts", "detail-regions": "$.detail.regions"},
        ),
        (
            "scan_requested",
            '{"source":"request","accounts":<detail-accounts>}',
            {"detail-accounts": "$.detail.accounts"},
        ),
    ],
)
def test_rules_start_the_workflow_with_the_contract_input(
    discovery_json: dict[str, Any], synth: Synthesized, name: str, template: str, paths: dict[str, str]
) -> None:
    props = rule(discovery_json, synth, name)
    assert props["EventBusName"] == {"Ref": logical_id(synth.built.discovery.triggers.bus)}
    assert props["State"] == "ENABLED"
    (target,) = props["Targets"]
    assert target["Arn"] == state_machine_ref(synth)
    assert target["InputTransformer"] == {"InputTemplate": template, "InputPathsMap": paths}
    assert target["DeadLetterConfig"] == {"Arn": dead_letter_arn(synth)}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}


def test_change_rule_pattern_covers_api_gateway_mutations_and_function_url_changes_only(
    discovery_json: dict[str, Any], synth: Synthesized
) -> None:
    pattern = rule(discovery_json, synth, "api_changed")["EventPattern"]
    assert pattern["source"] == [
        "aws.apigateway",
        "aws.lambda",
        "aws.appsync",
        "aws.elasticloadbalancing",
        "aws.cloudfront",
    ]
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert pattern["detail"]["errorCode"] == [{"exists": False}]
    api_gateway, lambda_calls, *others = pattern["detail"]["$or"]
    assert [o["eventSource"] for o in others] == [[s] for s in ENTRY_POINT_CHANGES]
    assert api_gateway["eventSource"] == ["apigateway.amazonaws.com"]
    # Names by their first word (tests/unit/test_cloudtrail.py holds every rescanning call against these).
    assert api_gateway["eventName"] == [{"prefix": p} for p in API_GATEWAY_CHANGE_PREFIXES]
    # Lambda's calls that change a function URL or its policy, by name before CloudTrail's version suffix.
    assert lambda_calls["eventSource"] == ["lambda.amazonaws.com"]
    assert lambda_calls["eventName"] == [{"prefix": p} for p in LAMBDA_URL_CHANGE_PREFIXES]
    assert not [p for p in API_GATEWAY_CHANGE_PREFIXES if p.startswith(("Get", "List", "Describe"))]
    # EventBridge caps an event pattern at 2,048 characters unless the account raises it.
    assert len(json.dumps(pattern, separators=(",", ":"))) < 2048


def test_change_events_go_to_the_change_queue_not_to_the_workflow(
    discovery_json: dict[str, Any], synth: Synthesized
) -> None:
    (target,) = rule(discovery_json, synth, "api_changed")["Targets"]
    queue = synth.built.discovery.change_queue
    assert target["Arn"] == {"Fn::GetAtt": [logical_id(queue), "Arn"]}
    # The whole event: the changes function keeps only its ids, and nothing of it reaches an execution.
    assert "InputTransformer" not in target and "Input" not in target
    assert target["DeadLetterConfig"] == {"Arn": dead_letter_arn(synth)}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}


def test_scan_requested_rules_accept_only_this_accounts_events(
    discovery_json: dict[str, Any], synth: Synthesized
) -> None:
    for name, regions in (("scan_requested_in_regions", True), ("scan_requested", False)):
        pattern = rule(discovery_json, synth, name)["EventPattern"]
        assert pattern == {
            "account": [{"Ref": "AWS::AccountId"}],
            "source": ["api-discovery"],
            "detail-type": ["Scan Requested"],
            "detail": {"accounts": [{"exists": True}], "regions": [{"exists": regions}]},
        }


def test_events_role_may_only_start_this_workflow(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    role_arns = {
        json.dumps(target["RoleArn"])
        for name in ("scan_requested_in_regions", "scan_requested")
        for target in rule(discovery_json, synth, name)["Targets"]
    }
    assert len(role_arns) == 1
    role_id = json.loads(role_arns.pop())["Fn::GetAtt"][0]
    statements = [
        s
        for policy in resources_of_type(discovery_json, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements == [{"Action": "states:StartExecution", "Effect": "Allow", "Resource": state_machine_ref(synth)}]


def test_bus_policy_lets_registered_accounts_and_the_organization_forward_api_gateway_events_only(
    discovery_json: dict[str, Any], synth: Synthesized
) -> None:
    bus = logical_id(synth.built.discovery.triggers.bus)
    bus_arn = {"Fn::GetAtt": [bus, "Arn"]}
    policies = resources_of_type(discovery_json, "AWS::Events::EventBusPolicy")
    statements = {p["Properties"]["StatementId"]: p["Properties"]["Statement"] for p in policies.values()}
    assert all(p["Properties"]["EventBusName"] == {"Ref": bus} for p in policies.values())
    accounts = statements["cdk-RegisteredAccountsForwardApiGatewayEvents"]
    assert accounts["Action"] == "events:PutEvents"
    assert accounts["Resource"] == bus_arn
    assert accounts["Condition"] == {"StringEquals": {"events:source": "aws.apigateway"}}
    assert accounts["Principal"]["AWS"] == [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{account}:root"]]}
        for account in CUSTOMER_ACCOUNTS
    ]
    organization = statements["cdk-OrganizationForwardsApiGatewayEvents"]
    assert organization["Principal"] == {"AWS": "*"}
    assert organization["Resource"] == bus_arn
    assert organization["Condition"] == {
        "StringEquals": {"events:source": "aws.apigateway", "aws:PrincipalOrgID": ORGANIZATION_ID}
    }
    assert set(statements) == {
        "cdk-RegisteredAccountsForwardApiGatewayEvents",
        "cdk-OrganizationForwardsApiGatewayEvents",
    }


def test_dead_letter_queue_is_encrypted_and_tls_only(discovery: Template, synth: Synthesized) -> None:
    discovery.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 24 * 3600}
    )
    queue = {"Ref": logical_id(synth.built.discovery.triggers.dead_letters)}
    policy = next(
        p
        for p in resources_of_type(synth.discovery_json, "AWS::SQS::QueuePolicy").values()
        if queue in p["Properties"]["Queues"]
    )
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )


def test_organizations_sync_runs_on_the_sweeps_schedule(discovery: Template, synth: Synthesized) -> None:
    function = logical_id(synth.built.discovery.organizations)
    discovery.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": TEST_CONTEXT["schedule_expression"],
            "Target": {"Arn": {"Fn::GetAtt": [function, "Arn"]}, "DeadLetterConfig": {"Arn": dead_letter_arn(synth)}},
        },
    )
