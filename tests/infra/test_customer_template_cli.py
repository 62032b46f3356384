"""`api-discovery customer-template`: the standalone template a customer deploys, for one vendor and ExternalId."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api_discovery.local.cli import app


def test_prints_a_template_for_this_vendor_and_external_id() -> None:
    result = CliRunner().invoke(
        app, ["customer-template", "--vendor-account", "123456789012", "--external-id", "customer-0001-abcdef"]
    )
    assert result.exit_code == 0, result.output
    template = json.loads(result.output)
    assert template["Parameters"]["VendorAccountId"]["Default"] == "123456789012"
    assert template["Parameters"]["ExternalId"]["Default"] == "customer-0001-abcdef"
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert any("SecurityAudit" in json.dumps(r["Properties"].get("ManagedPolicyArns", [])) for r in roles)


def test_refuses_a_short_external_id_with_a_clear_message() -> None:
    result = CliRunner().invoke(app, ["customer-template", "--vendor-account", "123456789012", "--external-id", "x"])
    assert result.exit_code == 2
    assert "ExternalId needs at least 16" in result.output


def test_the_access_scope_can_be_chosen() -> None:
    result = CliRunner().invoke(
        app,
        [
            "customer-template",
            "--vendor-account",
            "123456789012",
            "--external-id",
            "customer-0001-abcdef",
            "--access",
            "ApiGatewayOnly",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["Parameters"]["AccessScope"]["Default"] == "ApiGatewayOnly"


def test_refuses_an_unknown_access_scope() -> None:
    result = CliRunner().invoke(
        app,
        [
            "customer-template",
            "--vendor-account",
            "123456789012",
            "--external-id",
            "customer-0001-abcdef",
            "--access",
            "x",
        ],
    )
    assert result.exit_code == 2
    assert "SecurityAudit, ApiGatewayOnly" in " ".join(result.output.replace("│", " ").split())
