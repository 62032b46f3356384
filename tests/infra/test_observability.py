"""Alarms reach an encrypted topic; the dashboard shows runs and the product metrics the handlers emit."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from infra.observability import PRODUCT_METRICS
from tests.infra.synth import ALARM_EMAIL, Synthesized, logical_id, resources_of_type


def alarm(discovery_json: dict[str, Any], synth: Synthesized, name: str) -> dict[str, Any]:
    construct = getattr(synth.built.discovery.observability, name)
    props: dict[str, Any] = discovery_json["Resources"][logical_id(construct)]["Properties"]
    return props


def test_alarm_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(
    discovery: Template, synth: Synthesized
) -> None:
    observability = synth.built.discovery.observability
    key_id = logical_id(observability.key)
    discovery.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}})
    key = synth.discovery_json["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    cloudwatch = [s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch == [
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Principal": cloudwatch[0]["Principal"],
            "Resource": "*",
        }
    ]


def test_alarm_topic_refuses_plain_http_and_mails_the_configured_address(
    discovery: Template, synth: Synthesized
) -> None:
    topic = {"Ref": logical_id(synth.built.discovery.observability.topic)}
    policy = next(iter(resources_of_type(synth.discovery_json, "AWS::SNS::TopicPolicy").values()))["Properties"]
    assert policy["Topics"] == [topic]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["PolicyDocument"]["Statement"]
    )
    discovery.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": ALARM_EMAIL, "TopicArn": topic}
    )


def test_failed_executions_alarm(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    props = alarm(discovery_json, synth, "executions_failed")
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("AWS/States", "ExecutionsFailed", "Sum")
    assert props["Dimensions"] == [
        {"Name": "StateMachineArn", "Value": {"Ref": logical_id(synth.built.discovery.workflow.state_machine)}}
    ]
    assert (props["Threshold"], props["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert props["TreatMissingData"] == "notBreaching"


def test_failed_targets_alarm_watches_the_powertools_metric(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    props = alarm(discovery_json, synth, "targets_failed")
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("ApiDiscovery", "TargetsFailed", "Sum")
    # Powertools Metrics adds exactly one default dimension: service.
    assert props["Dimensions"] == [{"Name": "service", "Value": "api-discovery"}]
    assert props["Threshold"] == synth.built.config.targets_failed_alarm_threshold


def test_every_alarm_notifies_the_topic(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    topic = {"Ref": logical_id(synth.built.discovery.observability.topic)}
    alarms = resources_of_type(discovery_json, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 3
    assert all(a["Properties"]["AlarmActions"] == [topic] for a in alarms.values())


def test_dashboard_shows_runs_and_every_product_metric(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    (dashboard,) = resources_of_type(discovery_json, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        *PRODUCT_METRICS,
    ):
        assert f'\\"{metric}\\"' in body, metric
    assert '\\"ApiDiscovery\\",\\"TargetsScanned\\",\\"service\\",\\"api-discovery\\"' in body
    assert set(PRODUCT_METRICS) == {"TargetsScanned", "TargetsFailed", "ApisFound", "ScanDuration", "Throttles"}
