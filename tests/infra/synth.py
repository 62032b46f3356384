"""One synthesis of the CDK app per test process, shared by the infra and workflow tests."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import Stack
from aws_cdk.assertions import Template
from constructs import IConstruct

from infra.app_factory import DiscoveryApp, build_app, cdk_json_context

# The shipped cdk.json, plus the optional settings it leaves empty, so that their resources exist.
CUSTOMER_ACCOUNTS = ["111111111111", "222222222222"]
ORGANIZATION_ID = "o-a1b2c3d4e5"
ALARM_EMAIL = "ops@example.com"
TEST_CONTEXT = {
    **cdk_json_context(),
    "source_account_ids": CUSTOMER_ACCOUNTS,
    "organization_id": ORGANIZATION_ID,
    "alarm_email": ALARM_EMAIL,
}


@dataclass(frozen=True)
class Synthesized:
    built: DiscoveryApp
    outdir: Path
    discovery: Template
    customer: Template
    organization: Template

    @property
    def discovery_json(self) -> dict[str, Any]:
        return dict(self.discovery.to_json())

    @property
    def customer_json(self) -> dict[str, Any]:
        return dict(self.customer.to_json())

    def template_file(self, stack: Stack) -> Path:
        return self.outdir / stack.template_file


@cache
def synthesized() -> Synthesized:
    outdir = Path(tempfile.mkdtemp(prefix="api-discovery-cdk-"))
    # cdk-nag runs in its own test (tests/infra/test_compliance.py), reporting rather than failing synthesis.
    built = build_app(TEST_CONTEXT, outdir=str(outdir), with_nag=False)
    return Synthesized(
        built=built,
        outdir=outdir,
        discovery=Template.from_stack(built.discovery),
        customer=Template.from_stack(built.customer),
        organization=Template.from_stack(built.organization),
    )


def logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical id of a construct's main resource."""
    stack = Stack.of(construct)
    child = construct.node.default_child
    assert child is not None, construct.node.path
    resolved = stack.resolve(stack.get_logical_id(child))  # type: ignore[arg-type]
    assert isinstance(resolved, str)
    return resolved


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def statements_of_role(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement a role holds: its inline policies and the AWS::IAM::Policy resources attached to it."""
    role = template["Resources"][role_logical_id]
    statements = [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"].get("Roles", []):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(action, resource) pairs of Allow statements, resources as canonical JSON, for exact comparison."""
    pairs = set()
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            for resource in resources:
                pairs.add((action, json.dumps(resource, sort_keys=True)))
    return pairs
