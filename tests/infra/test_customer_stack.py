"""The customer's role: read-only, trusting only the vendor's scanner with the ExternalId; standalone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.customer_access_stack import API_KEY_PATHS, render_customer_template
from infra.triggers import api_gateway_change_pattern
from tests.infra.conftest import EXTERNAL_ID, VENDOR
from tests.infra.synth import Synthesized, logical_id, resources_of_type


def partition_join(*parts: Any) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, *parts]]}


def test_template_is_standalone(customer_json: dict[str, Any], rendered: dict[str, Any]) -> None:
    for template in (customer_json, rendered):
        assert "BootstrapVersion" not in template.get("Parameters", {})
        assert "Rules" not in template
        assert not resources_of_type(template, "AWS::CDK::Metadata")
        assert "asset" not in json.dumps(template).lower()
        assert "cdk-hnb659fds" not in json.dumps(template)


def test_parameters_and_their_constraints(customer_json: dict[str, Any]) -> None:
    params = customer_json["Parameters"]
    assert params["VendorAccountId"]["AllowedPattern"] == r"^\d{12}$"
    assert "Default" not in params["VendorAccountId"]
    assert params["ExternalId"]["MinLength"] == 16
    assert "Default" not in params["ExternalId"]
    assert params["RoleName"]["Default"] == "ApiDiscoveryReadOnly"
    assert params["VendorScannerRoleName"]["Default"] == "ApiDiscoveryScanner"
    assert params["DeployAccessRole"] == {
        **params["DeployAccessRole"],
        "AllowedValues": ["true", "false"],
        "Default": "true",
    }
    assert params["ForwardChangeEvents"]["Default"] == "false"


def test_role_trusts_only_the_vendor_scanner_with_the_external_id(customer: Template, synth: Synthesized) -> None:
    role = synth.customer_json["Resources"][logical_id(synth.built.customer.role)]
    assert role["Condition"] == "CreateAccessRole"
    props = role["Properties"]
    assert props["RoleName"] == {"Ref": "RoleName"}
    assert props["MaxSessionDuration"] == 3600
    assert props["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": partition_join(":iam::", {"Ref": "VendorAccountId"}, ":root")},
            "Condition": {
                "StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}},
                "ArnEquals": {
                    "aws:PrincipalArn": partition_join(
                        ":iam::", {"Ref": "VendorAccountId"}, ":role/", {"Ref": "VendorScannerRoleName"}
                    )
                },
            },
        }
    ]


def test_role_denies_api_keys_itself_and_reads_through_its_scope(synth: Synthesized) -> None:
    """The deny is the role's own, in either scope; SecurityAudit and the reads depend on AccessScope
    (tests/infra/test_least_privilege.py deploys both)."""
    role_id = logical_id(synth.built.customer.role)
    props = synth.customer_json["Resources"][role_id]["Properties"]
    assert props["ManagedPolicyArns"] == [
        {"Fn::If": ["GrantSecurityAudit", partition_join(":iam::aws:policy/SecurityAudit"), {"Ref": "AWS::NoValue"}]}
    ]
    (policy,) = props["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "NeverReadApiKeys",
            "Effect": "Deny",
            "Action": "apigateway:GET",
            "Resource": [partition_join(f":apigateway:*::{path}") for path in API_KEY_PATHS],
        },
    ]
    policies = [
        p for p in resources_of_type(synth.customer_json, "AWS::IAM::Policy").values() if p["Properties"]["Roles"]
    ]
    assert sorted(p["Properties"]["PolicyName"] for p in policies) == ["ReadAllApiGateway", "ReadScannedApiGateway"]
    for p in policies:
        assert p["Properties"]["Roles"] == [{"Ref": role_id}]
        # Nothing in the customer account can be written, in either scope.
        assert [s["Action"] for s in p["Properties"]["PolicyDocument"]["Statement"]] == ["apigateway:GET"]


def test_change_forwarding_is_optional_and_targets_the_vendor_bus(synth: Synthesized) -> None:
    template = synth.customer_json
    assert template["Conditions"]["ForwardEvents"] == {"Fn::Equals": [{"Ref": "ForwardChangeEvents"}, "true"]}
    (rule,) = resources_of_type(template, "AWS::Events::Rule").values()
    assert rule["Condition"] == "ForwardEvents"
    assert rule["Properties"]["EventPattern"] == api_gateway_change_pattern()
    assert "EventBusName" not in rule["Properties"], "the forwarder listens on the default bus"
    bus_arn = partition_join(
        ":events:",
        {"Ref": "VendorRegion"},
        ":",
        {"Ref": "VendorAccountId"},
        ":event-bus/",
        {"Ref": "VendorEventBusName"},
    )
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == bus_arn
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]
    assert role["Condition"] == "ForwardEvents"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "events.amazonaws.com"
    }
    (policy,) = role["Properties"]["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {"Action": "events:PutEvents", "Effect": "Allow", "Resource": bus_arn}
    ]


def test_every_resource_is_conditional(customer_json: dict[str, Any]) -> None:
    """The same template serves the role's home region and forwarding-only regions."""
    assert all("Condition" in resource for resource in customer_json["Resources"].values())
    assert customer_json["Outputs"]["AccessRoleArn"]["Condition"] == "CreateAccessRole"


def test_rendered_template_carries_this_vendor_and_this_customer(rendered: dict[str, Any]) -> None:
    params = rendered["Parameters"]
    assert params["VendorAccountId"]["Default"] == VENDOR
    assert params["ExternalId"]["Default"] == EXTERNAL_ID
    assert params["ForwardChangeEvents"]["Default"] == "true"
    assert params["RoleName"]["Default"] == "ApiDiscoveryReadOnly"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("12345", EXTERNAL_ID), "12-digit"),
        ((VENDOR, "short"), "ExternalId"),
        ((VENDOR, "x" * 20 + " spaces"), "ExternalId"),
        ((VENDOR, EXTERNAL_ID, "bad role name"), "IAM role name"),
    ],
)
def test_render_refuses_bad_input(arguments: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_customer_template(*arguments)
