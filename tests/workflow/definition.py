"""The state machine definition as synthesized, with its CloudFormation intrinsics replaced by values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}


def state_machine_resource(template: Mapping[str, Any]) -> dict[str, Any]:
    machines = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    assert len(machines) == 1, f"expected one state machine, found {len(machines)}"
    resource: dict[str, Any] = machines[0]
    return resource


def placeholder_values(template: Mapping[str, Any]) -> dict[str, str]:
    """A plausible value for every resource the definition can refer to: ARNs for functions, names for
    buckets. Anything else is an error, so that a new kind of reference is noticed."""
    values: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            values[f"{logical_id}.Arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"
        elif resource["Type"] == "AWS::S3::Bucket":
            values[logical_id] = f"placeholder-{logical_id.lower()}"
    return values


def _piece(piece: Any, values: Mapping[str, str]) -> str:
    if isinstance(piece, str):
        return piece
    if isinstance(piece, dict) and set(piece) == {"Ref"}:
        name = piece["Ref"]
        if name in PSEUDO:
            return PSEUDO[name]
        if name in values:
            return values[name]
    if isinstance(piece, dict) and set(piece) == {"Fn::GetAtt"}:
        logical_id, attribute = piece["Fn::GetAtt"]
        key = f"{logical_id}.{attribute}"
        if key in values:
            return values[key]
    raise ValueError(f"no value for {json.dumps(piece)} in the state machine definition")


def definition_text(template: Mapping[str, Any], values: Mapping[str, str] | None = None) -> str:
    """The DefinitionString, resolved. `values` maps `LogicalId` (Ref) and `LogicalId.Arn` (GetAtt)."""
    chosen = {**placeholder_values(template), **(values or {})}
    raw = state_machine_resource(template)["Properties"]["DefinitionString"]
    if isinstance(raw, str):
        return raw
    separator, pieces = raw["Fn::Join"]
    return str(separator).join(_piece(piece, chosen) for piece in pieces)


def definition(template: Mapping[str, Any], values: Mapping[str, str] | None = None) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(definition_text(template, values))
    return parsed
