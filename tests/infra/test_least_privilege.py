"""Least privilege: the customer role's two scopes, the scanner's reach into the registry, and service roles
that only their own service, acting for this account, can assume."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import pytest

from api_discovery.collect.session import SCANNER_OPERATIONS
from api_discovery.store.registry import external_id_claim_key
from infra.customer_access_stack import ACCESS_SCOPES, API_KEY_PATHS, SCANNED_PATHS, render_customer_template
from infra.discovery_stack import SCAN_REGISTRY_ATTRIBUTES
from tests.apigateway_iam import iam_action_and_resource, iam_path, service_model
from tests.infra.conftest import EXTERNAL_ID, VENDOR
from tests.infra.synth import Synthesized, logical_id, resources_of_type, statements_of_role

_NO_VALUE = object()

# The scanner's API Gateway reads: its Lambda reads are granted by SecurityAudit, not by a path of its own.
API_GATEWAY_READS = frozenset(op for op in SCANNER_OPERATIONS if op[0] in ("apigateway", "apigatewayv2"))


class _Template:
    """The customer template as CloudFormation would deploy it for a set of parameter values."""

    def __init__(self, template: Mapping[str, Any], **parameters: str) -> None:
        self.template = template
        defaults = {name: p.get("Default", f"<{name}>") for name, p in template["Parameters"].items()}
        self.parameters = {**defaults, **parameters}
        self.conditions = {name: self._holds(expression) for name, expression in template["Conditions"].items()}

    def _holds(self, expression: Any) -> bool:
        ((function, args),) = expression.items()
        if function == "Condition":
            return self._holds(self.template["Conditions"][args])
        if function == "Fn::Equals":
            return bool(self.value(args[0]) == self.value(args[1]))
        if function == "Fn::And":
            return all(self._holds(a) for a in args)
        if function == "Fn::Or":
            return any(self._holds(a) for a in args)
        if function == "Fn::Not":
            return not self._holds(args[0])
        raise AssertionError(f"unexpected condition function {function}")

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(n) for n in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"}:
            pseudo = {"AWS::NoValue": _NO_VALUE, "AWS::Partition": "aws"}
            return pseudo.get(node["Ref"], self.parameters.get(node["Ref"], f"<{node['Ref']}>"))
        if set(node) == {"Fn::Join"}:
            separator, parts = node["Fn::Join"]
            return separator.join(str(self.value(p)) for p in parts)
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return self.value(yes if self.conditions[name] else no)
        return {key: self.value(child) for key, child in node.items()}

    def deployed(self, resource: Mapping[str, Any]) -> bool:
        return "Condition" not in resource or self.conditions[resource["Condition"]]


@dataclass(frozen=True)
class _Role:
    managed: list[str]
    allowed: set[tuple[str, str]]
    denied: set[tuple[str, str]]


def _pairs(statement: Mapping[str, Any]) -> set[tuple[str, str]]:
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return {(a, r) for a in actions for r in resources}


def access_role(template: Mapping[str, Any], **parameters: str) -> _Role:
    """What the read-only role holds once deployed with these parameter values."""
    t = _Template(template, **parameters)
    (role_id,) = [
        key
        for key, r in resources_of_type(dict(template), "AWS::IAM::Role").items()
        if r["Properties"].get("RoleName") == {"Ref": "RoleName"}
    ]
    role = template["Resources"][role_id]
    assert t.deployed(role)
    properties = t.value(role["Properties"])
    statements = [s for p in properties.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for policy in resources_of_type(dict(template), "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"] and t.deployed(policy):
            statements += t.value(policy["Properties"]["PolicyDocument"])["Statement"]
    return _Role(
        managed=properties.get("ManagedPolicyArns", []),
        allowed={pair for s in statements if s["Effect"] == "Allow" for pair in _pairs(s)},
        denied={pair for s in statements if s["Effect"] == "Deny" for pair in _pairs(s)},
    )


KEY_DENIES = {("apigateway:GET", f"arn:aws:apigateway:*::{path}") for path in API_KEY_PATHS}


def _granted(paths: tuple[str, ...]) -> set[tuple[str, str]]:
    """apigateway:GET on the paths, and on the private domains' own form (their ARN names the account)."""
    found = {("apigateway:GET", f"arn:aws:apigateway:*::{path}") for path in paths}
    owned = [p for p in paths if p == "/*" or p.startswith(("/domainnames", "/domainnameaccessassociations"))]
    return found | {("apigateway:GET", f"arn:aws:apigateway:*:<AWS::AccountId>:{path}") for path in owned}


def test_the_customer_chooses_the_scope_and_security_audit_is_the_default(customer_json: dict[str, Any]) -> None:
    parameter = customer_json["Parameters"]["AccessScope"]
    assert parameter["AllowedValues"] == list(ACCESS_SCOPES) == ["SecurityAudit", "ApiGatewayOnly"]
    assert parameter["Default"] == "SecurityAudit"
    assert access_role(customer_json) == access_role(customer_json, AccessScope="SecurityAudit")


def test_the_security_audit_scope_is_the_seed_role(customer_json: dict[str, Any]) -> None:
    role = access_role(customer_json, AccessScope="SecurityAudit")
    assert role.managed == ["arn:aws:iam::aws:policy/SecurityAudit"]
    assert role.allowed == _granted(("/*",))
    assert role.denied == KEY_DENIES


def test_the_api_gateway_only_scope_reads_the_scanned_paths_and_nothing_else(customer_json: dict[str, Any]) -> None:
    role = access_role(customer_json, AccessScope="ApiGatewayOnly")
    assert role.managed == []
    assert role.allowed == _granted(SCANNED_PATHS)
    assert role.denied == KEY_DENIES


def test_without_the_role_neither_scope_creates_a_policy(customer_json: dict[str, Any]) -> None:
    for scope in ACCESS_SCOPES:
        t = _Template(customer_json, AccessScope=scope, DeployAccessRole="false")
        iam = [r for r in customer_json["Resources"].values() if r["Type"].startswith("AWS::IAM::")]
        assert [r for r in iam if t.deployed(r) and "RoleName" in r.get("Properties", {})] == []
        assert [r for r in iam if t.deployed(r) and r["Type"] == "AWS::IAM::Policy"] == []


def test_the_scanned_paths_are_those_of_the_operations_the_session_allows() -> None:
    assert len(SCANNED_PATHS) == len(set(SCANNED_PATHS))
    assert {iam_path(service, name) for service, name in API_GATEWAY_READS} == set(SCANNED_PATHS)


def test_the_api_gateway_only_scope_admits_no_get_the_scanner_does_not_send(customer_json: dict[str, Any]) -> None:
    """Of every apigateway:GET operation of both APIs (GetSdk, GetApiKeys, GetClientCertificates, GetMethod ...),
    the scope's paths admit exactly the scanner's."""
    allowed = [resource for _, resource in access_role(customer_json, AccessScope="ApiGatewayOnly").allowed]
    admitted = set()
    for service in ("apigateway", "apigatewayv2"):
        for name in service_model(service).operation_names:
            action, resource = iam_action_and_resource(f"{service}:{name}")
            if action == "apigateway:GET" and any(fnmatchcase(resource, pattern) for pattern in allowed):
                admitted.add((service, name))
    assert admitted == API_GATEWAY_READS


@pytest.mark.parametrize("scope", ACCESS_SCOPES)
def test_the_rendered_template_carries_the_chosen_scope(scope: str) -> None:
    rendered = json.loads(render_customer_template(VENDOR, EXTERNAL_ID, access_scope=scope))
    assert rendered["Parameters"]["AccessScope"]["Default"] == scope
    if scope == "ApiGatewayOnly":
        assert access_role(rendered).managed == []


def test_render_refuses_an_unknown_scope() -> None:
    with pytest.raises(ValueError, match="SecurityAudit, ApiGatewayOnly"):
        render_customer_template(VENDOR, EXTERNAL_ID, access_scope="ReadOnlyAccess")


# --- the vendor's scan role and the registry ---------------------------------------------------------------


def _admits_partition(statement: Mapping[str, Any], partition: str) -> bool:
    """Whether a table statement's dynamodb:LeadingKeys condition lets a request reach this partition."""
    for operator, by_key in statement.get("Condition", {}).items():
        patterns = by_key.get("dynamodb:LeadingKeys")
        if patterns is None or operator == "Null":
            continue
        if operator.endswith("StringLike"):
            return any(fnmatchcase(partition, pattern) for pattern in _listed(patterns))
        return partition in _listed(patterns)
    return True  # no condition on the partition key: every item


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _table_statements(synth: Synthesized) -> list[dict[str, Any]]:
    """The scan role's Allow statements of DynamoDB actions, each on the table alone."""
    stack = synth.built.discovery
    assert stack.scan.role is not None
    table = {"Fn::GetAtt": [logical_id(stack.storage.table), "Arn"]}
    statements = [
        s
        for s in statements_of_role(synth.discovery_json, logical_id(stack.scan.role))
        if s["Effect"] == "Allow" and any(str(a).startswith("dynamodb:") for a in _listed(s["Action"]))
    ]
    assert statements and all(_listed(s["Resource"]) == [table] for s in statements), statements
    return statements


def test_the_scan_role_reads_only_the_external_id_of_a_registry_item(synth: Synthesized) -> None:
    reaching = [s for s in _table_statements(synth) if _admits_partition(s, "REGISTRY")]
    assert len(reaching) == 1
    (statement,) = reaching
    # One item per request: no Query, Scan or BatchGetItem lists the registry, and nothing writes it.
    assert statement["Action"] == "dynamodb:GetItem"
    condition = statement["Condition"]
    assert condition["ForAllValues:StringEquals"] == {
        "dynamodb:LeadingKeys": ["REGISTRY"],
        "dynamodb:Attributes": ["pk", "sk", "external_id"],
    }
    assert list(SCAN_REGISTRY_ATTRIBUTES) == ["pk", "sk", "external_id"]
    assert condition["StringEqualsIfExists"] == {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}
    # A request without the keys would pass ForAllValues: both must be present.
    assert condition["Null"] == {"dynamodb:LeadingKeys": "false", "dynamodb:Attributes": "false"}


def test_the_scan_role_cannot_reach_the_external_id_claims(synth: Synthesized) -> None:
    claim = external_id_claim_key(EXTERNAL_ID)["pk"]
    assert [s for s in _table_statements(synth) if _admits_partition(s, claim)] == []


def test_no_scan_grant_on_the_table_is_unconditional_or_a_scan(synth: Synthesized) -> None:
    for statement in _table_statements(synth):
        actions = _listed(statement["Action"])
        assert "dynamodb:Scan" not in actions and "dynamodb:*" not in actions
        assert any("dynamodb:LeadingKeys" in keys for keys in statement.get("Condition", {}).values()), statement


# --- service roles -----------------------------------------------------------------------------------------


def _trust(template: Mapping[str, Any], role_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    return statements


def _service_roles(template: Mapping[str, Any]) -> dict[str, str]:
    """Role logical id -> the one service principal that may assume it."""
    found = {}
    for role_id in resources_of_type(dict(template), "AWS::IAM::Role"):
        services = {s["Principal"].get("Service") for s in _trust(template, role_id)}
        if len(services) == 1 and None not in services:
            (found[role_id],) = services
    return found


def _carries_source_conditions(statement: Mapping[str, Any], source_arn_prefix: str) -> bool:
    condition = statement.get("Condition", {})
    account = condition.get("StringEquals", {}).get("aws:SourceAccount")
    source = [
        value
        for operator in ("ArnLike", "ArnEquals", "StringEquals", "StringLike")
        for value in [condition.get(operator, {}).get("aws:SourceArn")]
        if value is not None
    ]
    return account == {"Ref": "AWS::AccountId"} and len(source) == 1 and source_arn_prefix in json.dumps(source[0])


SOURCE_ARNS = {
    "states.amazonaws.com": ":states:",
    "scheduler.amazonaws.com": ":scheduler:",
    "events.amazonaws.com": ":events:",
}


def test_every_vendor_service_role_but_lambda_trusts_its_service_only_for_this_account(synth: Synthesized) -> None:
    """Lambda execution roles cannot carry aws:SourceAccount/aws:SourceArn in their trust (Lambda does not
    send them); Step Functions, EventBridge Scheduler and EventBridge rules do."""
    roles = _service_roles(synth.discovery_json)
    assert set(roles.values()) == {"lambda.amazonaws.com", *SOURCE_ARNS}
    for role_id, service in roles.items():
        if service == "lambda.amazonaws.com":
            continue
        for statement in _trust(synth.discovery_json, role_id):
            assert _carries_source_conditions(statement, SOURCE_ARNS[service]), (role_id, statement)


def test_the_workflow_and_rule_roles_name_their_sources(synth: Synthesized) -> None:
    stack = synth.built.discovery
    (workflow,) = _trust(synth.discovery_json, logical_id(stack.workflow.role))
    assert json.dumps(workflow["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(':stateMachine:*"]]}')
    (rules,) = _trust(synth.discovery_json, logical_id(stack.triggers.start_role))
    assert json.dumps(rules["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(
        f':rule/{stack.config.event_bus_name}/*"]]}}'
    )
    # (Change events go to a queue, through its resource policy: tests/infra/test_triggers.py.)
    for name in ("scan_requested_in_regions", "scan_requested"):
        rule = synth.discovery_json["Resources"][logical_id(getattr(stack.triggers, name))]
        assert [t["RoleArn"] for t in rule["Properties"]["Targets"]] == [
            {"Fn::GetAtt": [logical_id(stack.triggers.start_role), "Arn"]}
        ]


def test_the_customer_forwarder_role_trusts_eventbridge_only_for_the_customer_account(
    customer_json: dict[str, Any],
) -> None:
    roles = _service_roles(customer_json)
    assert list(roles.values()) == ["events.amazonaws.com"]
    ((role_id, _),) = roles.items()
    (statement,) = _trust(customer_json, role_id)
    assert _carries_source_conditions(statement, ":events:")
