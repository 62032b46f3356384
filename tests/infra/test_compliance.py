"""Every synthesized template passes cfn-lint, and cdk-nag's AwsSolutions pack reports nothing open."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint

from tests.infra.synth import Synthesized

LINT = ManualArgs(ignore_checks=["W3005"], regions=["us-east-1", "eu-west-1"])


def lint_findings(template: dict[str, Any]) -> list[str]:
    return [str(match) for match in lint(json.dumps(template), config=LINT)]


def test_discovery_template_passes_cfn_lint(synth: Synthesized) -> None:
    assert lint_findings(synth.discovery_json) == []


def test_customer_template_passes_cfn_lint(synth: Synthesized) -> None:
    assert lint_findings(synth.customer_json) == []


def test_rendered_customer_template_passes_cfn_lint(rendered: dict[str, Any]) -> None:
    assert lint_findings(rendered) == []


def test_cfn_lint_does_report_a_broken_template(synth: Synthesized) -> None:
    broken = json.loads(json.dumps(synth.customer_json))
    role = next(r for r in broken["Resources"].values() if r["Type"] == "AWS::IAM::Role")
    role["Properties"]["MaxSessionDuration"] = 99999
    assert lint_findings(broken), "cfn-lint must flag an out-of-range MaxSessionDuration"


def test_organization_template_passes_cfn_lint(synth: Synthesized) -> None:
    assert lint_findings(dict(synth.organization.to_json())) == []


@pytest.mark.parametrize("stack_name", ["discovery", "customer", "organization"])
def test_cdk_nag_reports_no_unacknowledged_finding(synth: Synthesized, stack_name: str) -> None:
    report = AwsSolutionsChecks().validate_scope(getattr(synth.built, stack_name))
    open_findings = [violation.rule_name for violation in report.violations]
    assert open_findings == []
    assert report.success


def test_cdk_nag_does_report_a_non_compliant_stack() -> None:
    stack = Stack(App(), "Probe")
    s3.Bucket(stack, "Plain")
    rules = {violation.rule_name for violation in AwsSolutionsChecks().validate_scope(stack).violations}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules


def acknowledgements(synth: Synthesized) -> dict[tuple[str, str], str]:
    """(construct path, rule id) -> reason, for every acknowledgement in the app."""
    found: dict[tuple[str, str], str] = {}
    for construct in synth.built.app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == "aws:cdk:acknowledged-rules":
                for rule, reason in entry.data.items():
                    found[(construct.node.path, rule.removeprefix("Annotation::"))] = reason
    return found


def test_every_acknowledgement_names_one_finding_and_gives_a_specific_reason(synth: Synthesized) -> None:
    acks = acknowledgements(synth)
    assert acks, "the stacks are expected to acknowledge some findings"
    for (path, rule), reason in acks.items():
        assert rule.startswith("AwsSolutions-"), (path, rule)
        # IAM5 findings are acknowledged one resource at a time, never for the whole rule.
        assert rule != "AwsSolutions-IAM5", path
        assert len(reason) >= 40, (path, rule, reason)
