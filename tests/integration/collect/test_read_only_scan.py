"""A whole scan sends only reads, each allowed by SecurityAudit plus the role's apigateway:GET."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import boto3
import botocore.session
import pytest

from api_discovery.local.demo_estate import seed_demo_estate
from api_discovery.local.emulator import Emulator
from api_discovery.steps.target_scan import scan_target
from api_discovery.targets import Target
from tests.integration.builders import options

FACTS = json.loads((Path(__file__).parents[2] / "data" / "security_audit_facts.json").read_text())
_models = botocore.session.get_session()


def iam_action_and_resource(operation: str) -> tuple[str, str]:
    """API Gateway authorizes management calls as apigateway:<HTTP verb> on the request path."""
    service, name = operation.split(":")
    http = _models.get_service_model(service).operation_model(name).http
    path = re.sub(r"\{[^}]+\}", "*", http["requestUri"].split("?")[0]).removeprefix("/v2")
    return f"apigateway:{http['method']}", f"arn:aws:apigateway:*::{path}"


def allowed_by_security_audit(action: str, resource: str) -> bool:
    if any(fnmatch.fnmatchcase(action, pattern) for pattern in FACTS["actions_for_services_the_scanner_calls"]):
        return True
    return action == "apigateway:GET" and resource in FACTS["apigateway_get_resources"]


def test_every_call_of_a_whole_scan_is_an_allowed_read(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    estate = seed_demo_estate(fresh_emulator.url)
    account, region = estate.accounts[0], estate.regions[0]
    fresh_emulator.requests.clear()

    target = Target(
        run_id="audit",
        account_id=account,
        region=region,
        role_arn=estate.role_arn(account),
        external_id=estate.external_ids[account],
    )
    snapshot = scan_target(target, session_factory=boto3.Session, options=options())
    assert snapshot.status == "complete", snapshot.errors
    sent = fresh_emulator.requests.counts(account)
    assert sent, "the scan sent nothing to the customer account"
    assert dict(sent) == snapshot.api_calls

    outside_security_audit = set()
    for operation in sent:
        assert operation is not None
        assert operation.split(":")[1].startswith(("Get", "List", "Describe")), operation
        action, resource = iam_action_and_resource(operation)
        assert action == "apigateway:GET", f"{operation} needs {action}"
        if not allowed_by_security_audit(action, resource):
            outside_security_audit.add(resource)
    # These two reads are why the customer role adds apigateway:GET beside SecurityAudit.
    assert outside_security_audit == {
        "arn:aws:apigateway:*::/domainnames/*/basepathmappings",
        "arn:aws:apigateway:*::/usageplans",
    }
