"""A whole scan sends only reads, each allowed by SecurityAudit plus the role's apigateway:GET."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

from api_discovery.blobs import LocalBlobStore
from api_discovery.collect.session import SCANNER_OPERATIONS
from api_discovery.local.demo_estate import seed_demo_estate
from api_discovery.local.emulator import Emulator
from api_discovery.steps.target_scan import scan_target
from api_discovery.targets import Target, global_region
from tests.apigateway_iam import iam_action_and_resource
from tests.integration.builders import Builder, options, scan_region

IAM_PREFIX = {"lambda": "lambda", "appsync": "appsync", "elbv2": "elasticloadbalancing", "cloudfront": "cloudfront"}
FACTS = json.loads((Path(__file__).parents[2] / "data" / "security_audit_facts.json").read_text())


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
        service, name = operation.split(":")
        if service in IAM_PREFIX:
            # These services' IAM actions are named as their operations (ELB's under elasticloadbalancing), and
            # SecurityAudit grants every one the scan uses.
            action = f"{IAM_PREFIX[service]}:{name}"
            assert allowed_by_security_audit(action, "*"), f"{action} is not in SecurityAudit"
            continue
        action, resource = iam_action_and_resource(operation)
        assert action == "apigateway:GET", f"{operation} needs {action}"
        if not allowed_by_security_audit(action, resource):
            outside_security_audit.add(resource)
    # These reads are why the customer role adds apigateway:GET beside SecurityAudit (GetClientCertificates and
    # GetRequestValidators are in SecurityAudit).
    assert outside_security_audit == {
        "arn:aws:apigateway:*::/domainnames/*/basepathmappings",
        "arn:aws:apigateway:*::/domainnames/*/routingrules",
        "arn:aws:apigateway:*::/domainnameaccessassociations",
        "arn:aws:apigateway:*::/usageplans",
        "arn:aws:apigateway:*::/account",
    }


def test_the_allow_list_is_exactly_what_a_whole_scan_sends(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every account and region of the demo estate (REST, HTTP and WebSocket APIs, both kinds of custom domain
    with mappings, a routing rule, a private domain with its VPC endpoint associations, request validators, both
    kinds of VPC link, usage plans, client certificates), with OpenAPI exports on: the operations sent are the
    customer session's allow-list, no more (the guard would refuse it and the scan would not be complete) and
    no less (the list would hold an operation no collector uses)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    estate = seed_demo_estate(fresh_emulator.url)
    # The demo's HTTP stages name no deployment, so nothing would call ExportApi: one that does.
    builder = Builder(fresh_emulator.url, estate.scannable_accounts[0], estate.regions[0])
    http = builder.http_api("exported")
    builder.route(http, "GET /items")
    builder.v2.create_stage(ApiId=http, StageName="live", DeploymentId="d-exported-1")
    fresh_emulator.requests.clear()
    blobs = LocalBlobStore(tmp_path)
    for account in estate.scannable_accounts:
        for region in estate.regions:
            target = Target(
                run_id="allow-list",
                account_id=account,
                region=region,
                role_arn=estate.role_arn(account),
                external_id=estate.external_ids[account],
                global_services=region == global_region(estate.regions),  # CloudFront, as a sweep reads it
            )
            result = scan_region(
                target, blobs=blobs, state=None, session_factory=boto3.Session, options=replace(options(), exports=True)
            )
            assert result.status == "complete", result.reason
    sent = {operation for account in estate.scannable_accounts for operation in fresh_emulator.requests.counts(account)}
    assert {tuple(operation.split(":")) for operation in sent} == SCANNER_OPERATIONS
