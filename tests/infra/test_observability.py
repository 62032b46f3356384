"""Alarms reach an encrypted topic; the dashboard shows runs and the product metrics the handlers emit."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Capture, Match, Template

from infra.observability import PRODUCT_METRICS
from tests.infra.synth import ALARM_EMAIL, TEST_CONTEXT, Synthesized, logical_id, resources_of_type


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


def test_failed_or_timed_out_runs_alarm(discovery: Template, synth: Synthesized) -> None:
    machine = [{"Name": "StateMachineArn", "Value": {"Ref": logical_id(synth.built.discovery.workflow.state_machine)}}]
    metrics = Capture()
    discovery.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmDescription": Match.string_like_regexp("failed or timed out"),
            "Metrics": metrics,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
        },
    )
    by_id = {m["Id"]: m for m in metrics.as_array()}
    assert by_id["expr_1"]["Expression"] == "FILL(failed, 0) + FILL(timedOut, 0)"
    for metric_id, name in (("failed", "ExecutionsFailed"), ("timedOut", "ExecutionsTimedOut")):
        stat = by_id[metric_id]["MetricStat"]
        assert stat["Metric"] == {"Namespace": "AWS/States", "MetricName": name, "Dimensions": machine}
        assert (stat["Stat"], stat["Period"]) == ("Sum", 300)
        assert by_id[metric_id]["ReturnData"] is False


def test_target_failure_rate_alarm_divides_failed_by_scanned(discovery: Template, synth: Synthesized) -> None:
    metrics = Capture()
    discovery.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmDescription": Match.string_like_regexp("of the targets scanned in an hour failed"),
            "Metrics": metrics,
            "Threshold": TEST_CONTEXT["target_failure_rate_alarm_percent"],
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    )
    by_id = {m["Id"]: m for m in metrics.as_array()}
    assert by_id["expr_1"]["Expression"] == "IF(scanned > 0, 100 * FILL(failed, 0) / scanned, 0)"
    for metric_id, name in (("scanned", "TargetsScanned"), ("failed", "TargetsFailed")):
        stat = by_id[metric_id]["MetricStat"]
        # Powertools Metrics adds exactly one default dimension: service.
        assert stat["Metric"] == {
            "Namespace": "ApiDiscovery",
            "MetricName": name,
            "Dimensions": [{"Name": "service", "Value": "api-discovery"}],
        }
        assert (stat["Stat"], stat["Period"]) == ("Sum", 3600)


def test_no_sweep_alarm_rings_after_hours_without_a_completed_sweep(discovery: Template) -> None:
    hours = TEST_CONTEXT["sweep_alarm_hours"]
    discovery.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "ApiDiscovery",
            "MetricName": "SweepsCompleted",
            "Dimensions": [{"Name": "service", "Value": "api-discovery"}],
            "Statistic": "Sum",
            "Period": 3600,
            "EvaluationPeriods": hours,
            "DatapointsToAlarm": hours,
            "Threshold": 1,
            "ComparisonOperator": "LessThanThreshold",
            # No datapoint at all is what a missing sweep looks like.
            "TreatMissingData": "breaching",
        },
    )


def test_no_alarm_counts_single_failed_targets(discovery_json: dict[str, Any]) -> None:
    alarms = resources_of_type(discovery_json, "AWS::CloudWatch::Alarm").values()
    assert not [a for a in alarms if a["Properties"].get("MetricName") == "TargetsFailed"]


def test_every_alarm_notifies_the_topic(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    topic = {"Ref": logical_id(synth.built.discovery.observability.topic)}
    alarms = resources_of_type(discovery_json, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 5
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
    assert set(PRODUCT_METRICS) == {
        "TargetsScanned",
        "TargetsFailed",
        "ApisFound",
        "ScanDuration",
        "Throttles",
        "RunsCompleted",
        "SweepsCompleted",
    }
