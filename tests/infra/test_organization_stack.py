"""The management account's template: a reader role that lists the organization's accounts and nothing else,
and the member role as a service-managed StackSet that follows the organization's accounts."""

from __future__ import annotations

import json
from typing import Any

from infra.organization_stack import (
    DEFAULT_READER_ROLE_NAME,
    DEFAULT_SYNC_ROLE_NAME,
    MEMBER_STACK_SET_NAME,
    render_organization_template,
)
from tests.infra.synth import Synthesized, resources_of_type

VENDOR = "210987654321"
EXTERNAL_ID = "org-c0ffee00-1234-4abc-8def"


def _template(synth: Synthesized) -> dict[str, Any]:
    return dict(synth.organization.to_json())


def test_the_reader_role_lists_accounts_only_for_the_vendors_sync_role(synth: Synthesized) -> None:
    (role,) = resources_of_type(_template(synth), "AWS::IAM::Role").values()
    props = role["Properties"]
    assert props["RoleName"] == DEFAULT_READER_ROLE_NAME
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"] == {"sts:ExternalId": {"Ref": "ExternalId"}}
    assert DEFAULT_SYNC_ROLE_NAME in json.dumps(trust["Condition"]["ArnEquals"])
    (policy,) = props["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "organizations:ListAccounts" and statement["Effect"] == "Allow"
    assert "ManagedPolicyArns" not in props


def test_the_member_role_is_a_service_managed_stack_set_that_follows_the_organization(synth: Synthesized) -> None:
    stack_sets = resources_of_type(_template(synth), "AWS::CloudFormation::StackSet")
    members = next(
        s["Properties"] for s in stack_sets.values() if s["Properties"]["StackSetName"] == MEMBER_STACK_SET_NAME
    )
    assert members["PermissionModel"] == "SERVICE_MANAGED"
    assert members["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert members["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    (group,) = members["StackInstancesGroup"]
    assert group["DeploymentTargets"]["OrganizationalUnitIds"] == {"Ref": "OrganizationalUnitIds"}
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in members["Parameters"]}
    assert parameters["DeployAccessRole"] == "true" and parameters["ExternalId"] == {"Ref": "ExternalId"}
    # The body is the customer access template itself, without defaults: one role per member account.
    body = json.loads(members["TemplateBody"])
    assert {"VendorAccountId", "ExternalId", "DeployAccessRole"} <= set(body["Parameters"])
    assert "Default" not in body["Parameters"]["ExternalId"]
    # The forwarders are a StackSet of their own, in the regions asked for, only when some are.
    forwarders = [s for s in stack_sets.values() if s["Properties"]["StackSetName"] != MEMBER_STACK_SET_NAME]
    assert len(forwarders) == 1 and forwarders[0]["Condition"] == "ForwardChanges"


def test_the_rendered_template_carries_the_vendor_and_the_organizations_external_id() -> None:
    parsed = json.loads(render_organization_template(VENDOR, EXTERNAL_ID))
    assert parsed["Parameters"]["VendorAccountId"]["Default"] == VENDOR
    assert parsed["Parameters"]["ExternalId"]["Default"] == EXTERNAL_ID
    assert parsed["Parameters"]["ExternalId"]["NoEcho"] is True


def test_a_bad_external_id_is_refused_by_name() -> None:
    try:
        render_organization_template(VENDOR, "short")
    except ValueError as exc:
        assert "ExternalId" in str(exc)
    else:
        raise AssertionError("a short ExternalId was accepted")


def test_the_vendors_sync_may_assume_reader_roles_and_write_the_registry_only(synth: Synthesized) -> None:
    from tests.infra.synth import logical_id, statements_of_role  # noqa: PLC0415

    function = synth.built.discovery.organizations
    assert function.role is not None
    statements = statements_of_role(synth.discovery_json, logical_id(function.role))
    assumed = [s for s in statements if s["Action"] == "sts:AssumeRole"]
    assert len(assumed) == 1 and json.dumps(assumed[0]["Resource"]).endswith(f':role/{DEFAULT_READER_ROLE_NAME}"]]}}')
    tables = [s for s in statements if any(str(a).startswith("dynamodb:") for a in _list(s["Action"]))]
    assert len(tables) == 1
    assert "dynamodb:Scan" not in _list(tables[0]["Action"]) and "dynamodb:DeleteItem" not in _list(tables[0]["Action"])
    keys = tables[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert keys == ["REGISTRY", "ORGANIZATIONS", "EXTERNALID#*"]
    # A fixed name: each organization's reader role trusts it by name.
    role = synth.discovery_json["Resources"][logical_id(function.role)]
    assert role["Properties"]["RoleName"] == DEFAULT_SYNC_ROLE_NAME


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_cli_prints_the_organization_template_and_refuses_a_bad_external_id() -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from api_discovery.local.cli import app  # noqa: PLC0415

    printed = CliRunner().invoke(
        app, ["organization-template", "--vendor-account", VENDOR, "--external-id", EXTERNAL_ID]
    )
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output)["Parameters"]["VendorAccountId"]["Default"] == VENDOR
    refused = CliRunner().invoke(app, ["organization-template", "--vendor-account", VENDOR, "--external-id", "x"])
    assert refused.exit_code == 2 and "ExternalId" in refused.output
