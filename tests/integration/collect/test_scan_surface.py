"""A scan of what API Gateway added in 2024-2026, through the emulator: private domains addressed by their id and
the VPC endpoints associated with them, routing rules, REST JWT authorizers, request validators, client
certificates and the account's CloudWatch role, each read only where it can exist."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from api_discovery.inventory.model import Snapshot
from api_discovery.local.emulator import Emulator
from api_discovery.local.overlay import OverlayClient
from api_discovery.steps.target_scan import scan_target
from api_discovery.targets import Target
from tests.integration.builders import PRIVATE_POLICY, Builder, RestApi, options

ACCOUNT, PEER, REGION = "210987654321", "310987654321", "eu-west-1"


def _scan(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, account: str = ACCOUNT, page_size: int = 500
) -> Snapshot:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    target = Target(
        run_id="run-1",
        account_id=account,
        region=REGION,
        role_arn=f"arn:aws:iam::{account}:role/ApiDiscoveryReadOnly",
        external_id="ext-1",
    )
    return scan_target(target, session_factory=boto3.Session, options=options(page_size))


def _ledger(b: Builder) -> RestApi:
    api = b.rest_api("ledger", "PRIVATE", policy=json.dumps(PRIVATE_POLICY))
    b.resource(api, "/entries")
    b.method(api, "/entries", "GET", authorizationType="AWS_IAM", integration=b.lambda_integration("ledger"))
    b.v1.create_deployment(restApiId=api.id, stageName="prod")
    return api


def test_a_private_domain_is_read_by_its_id_with_the_endpoints_that_reach_it(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    ledger = _ledger(b)
    overlay = OverlayClient(fresh_emulator.url)
    # A public domain of the same name beside it, for a public API: the two must not be merged.
    b.v1.create_domain_name(
        domainName="ledger.example.com",
        regionalCertificateArn="arn:aws:acm:eu-west-1:1:certificate/c",
        endpointConfiguration={"types": ["REGIONAL"]},
    )
    public_api = b.rest_api("status")
    b.method(public_api, "/", "GET", authorizationType="AWS_IAM", integration=b.lambda_integration("status"))
    b.v1.create_deployment(restApiId=public_api.id, stageName="prod")
    b.v1.create_base_path_mapping(domainName="ledger.example.com", restApiId=public_api.id, stage="prod")
    created = overlay.private_domain(
        ACCOUNT,
        REGION,
        "ledger.example.com",
        policy=json.dumps(PRIVATE_POLICY),
        managementPolicy=json.dumps({"Version": "2012-10-17", "Statement": []}),
        mappings=[{"basePath": "(none)", "restApiId": ledger.id, "stage": "prod"}],
    )
    overlay.access_association(ACCOUNT, REGION, created["domainNameArn"], "vpce-own")
    overlay.access_association(PEER, REGION, created["domainNameArn"], "vpce-peer")
    fresh_emulator.requests.clear()

    snapshot = _scan(fresh_emulator, monkeypatch, page_size=1)
    assert snapshot.status == "complete", snapshot.errors
    private = next(d for d in snapshot.domains if d.domain_name_id)
    public = next(d for d in snapshot.domains if not d.domain_name_id)
    assert (private.key, public.key) == (f"ledger.example.com+{created['domainNameId']}", "ledger.example.com")
    assert [(m.api_id, m.stage) for m in private.mappings] == [(ledger.id, "prod")]
    assert private.policy == PRIVATE_POLICY and private.management_policy is not None
    assert sorted((a.source, a.source_account) for a in private.access_associations) == [
        ("vpce-own", ACCOUNT),
        ("vpce-peer", PEER),
    ]
    (route,) = next(a for a in snapshot.apis if a.id == ledger.id).routes
    assert route.exposure is not None and route.exposure.verdict == "private"
    assert any("vpce-peer" in r for r in route.exposure.reasons)
    assert "https://ledger.example.com/entries" in route.urls
    found = {f.rule_id: f for f in snapshot.findings}
    assert found["private-domain-cross-account-access"].evidence["accounts"] == [PEER]
    # Both association lists, each read to its end in pages of one; the mappings asked for by the domain's id.
    sent = fresh_emulator.requests.counts(ACCOUNT)
    assert sent["apigateway:GetDomainNameAccessAssociations"] == 2  # SELF and OTHER_ACCOUNTS, one item each
    assert snapshot.api_calls == dict(sent)


def test_the_peer_sees_the_shared_domain_its_endpoint_reaches(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    ledger = _ledger(b)
    overlay = OverlayClient(fresh_emulator.url)
    owned = overlay.private_domain(
        ACCOUNT,
        REGION,
        "ledger.example.com",
        mappings=[{"basePath": "(none)", "restApiId": ledger.id, "stage": "prod"}],
    )
    overlay.access_association(PEER, REGION, owned["domainNameArn"], "vpce-peer")
    # The peer has an API in the region (and no private domain): its own associations are read.
    _ledger(Builder(fresh_emulator.url, PEER, REGION))
    fresh_emulator.requests.clear()

    snapshot = _scan(fresh_emulator, monkeypatch, account=PEER)
    assert snapshot.status == "complete", snapshot.errors
    shared = next(d for d in snapshot.domains if d.owner_account)
    assert (shared.name, shared.owner_account, shared.mappings) == ("ledger.example.com", ACCOUNT, [])
    assert [a.source for a in shared.access_associations] == ["vpce-peer"]
    # SELF only: other accounts can reach only the peer's own private domains, and it has none.
    assert fresh_emulator.requests.counts(PEER)["apigateway:GetDomainNameAccessAssociations"] == 1


def test_routing_rules_reach_an_api_that_no_mapping_and_no_default_endpoint_does(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    api = b.rest_api("partners", disableExecuteApiEndpoint=True)
    b.resource(api, "/status")
    b.method(api, "/status", "GET", integration=b.lambda_integration("status"))
    b.v1.create_deployment(restApiId=api.id, stageName="prod")
    b.v1.create_domain_name(
        domainName="api.example.com",
        regionalCertificateArn="arn:aws:acm:eu-west-1:1:certificate/c",
        endpointConfiguration={"types": ["REGIONAL"]},
    )
    overlay = OverlayClient(fresh_emulator.url)
    overlay.fields(ACCOUNT, REGION, "apigateway:GetDomainNames", "api.example.com", routingMode="ROUTING_RULE_ONLY")
    for priority in (10, 20):
        overlay.routing_rule(
            ACCOUNT,
            REGION,
            "api.example.com",
            {
                "priority": priority,
                "conditions": [{"matchBasePaths": {"anyOf": [f"p{priority}"]}}],
                "actions": [{"invokeApi": {"apiId": api.id, "stage": "prod", "stripBasePath": True}}],
            },
        )
    fresh_emulator.requests.clear()

    snapshot = _scan(fresh_emulator, monkeypatch, page_size=1)
    assert snapshot.status == "complete", snapshot.errors
    (domain,) = snapshot.domains
    assert domain.routing_mode == "ROUTING_RULE_ONLY" and [r.priority for r in domain.routing_rules] == [10, 20]
    (route,) = snapshot.apis[0].routes
    assert route.exposure is not None and route.exposure.verdict == "public-unauthenticated"
    assert route.urls == ["https://api.example.com/p10/status", "https://api.example.com/p20/status"]
    sent = fresh_emulator.requests.counts(ACCOUNT)
    assert sent["apigatewayv2:ListRoutingRules"] == 2  # two rules, pages of one
    assert sent["apigateway:GetDomainNameAccessAssociations"] == 1  # SELF only: the region owns no private domain


def test_a_rest_jwt_authorizer_validators_certificates_and_the_cloudwatch_role(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    api = b.rest_api("orders")
    b.resource(api, "/orders")
    jwt = b.v1.create_authorizer(
        restApiId=api.id,
        name="jwt",
        type="TOKEN",
        authorizerUri="arn:aws:apigateway:eu-west-1:lambda:path/unused",
        identitySource="method.request.header.Authorization",
    )["id"]
    validator = b.v1.create_request_validator(restApiId=api.id, name="body", validateRequestBody=True)["id"]
    b.method(
        api,
        "/orders",
        "POST",
        authorizationType="JWT",
        authorizerId=jwt,
        requestValidatorId=validator,
        integration=b.lambda_integration("orders"),
    )
    b.v1.create_deployment(restApiId=api.id, stageName="prod")
    b.v1.update_stage(
        restApiId=api.id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"}],
    )
    overlay = OverlayClient(fresh_emulator.url)
    overlay.fields(
        ACCOUNT,
        REGION,
        "apigateway:GetAuthorizers",
        f"{api.id}/{jwt}",
        type="JWT",
        jwtConfiguration={
            "issuers": [{"issuer": "https://issuer.example.com", "audiences": ["orders"]}],
            "defaultAlgorithms": ["RS256"],
        },
    )
    certificate = overlay.client_certificate(ACCOUNT, REGION, expirationDate=time.time() - 86400)
    # An HTTP API alone references no validator: its region still reads the account settings and certificates.
    b.http_api("plain")
    fresh_emulator.requests.clear()

    snapshot = _scan(fresh_emulator, monkeypatch)
    assert snapshot.status == "complete", snapshot.errors
    orders = next(a for a in snapshot.apis if a.id == api.id)
    (authorizer,) = orders.authorizers
    assert (authorizer.type, authorizer.jwt_issuer) == ("JWT", "https://issuer.example.com")
    (route,) = orders.routes
    assert route.exposure is not None and route.exposure.verdict == "public-authenticated"
    assert [(v.id, v.validate_body) for v in orders.request_validators] == [(validator, True)]
    assert [c.id for c in snapshot.client_certificates] == [certificate]
    assert snapshot.account_settings is not None and snapshot.account_settings.cloudwatch_role_arn is None
    found = {f.rule_id for f in snapshot.findings}
    assert {"client-certificate-expiring", "logging-without-cloudwatch-role"} <= found
    sent = fresh_emulator.requests.counts(ACCOUNT)
    assert (sent["apigateway:GetRequestValidators"], sent["apigateway:GetAccount"]) == (1, 1)
    assert sent["apigateway:GetClientCertificates"] == 1


def test_a_region_without_apis_reads_nothing_new(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    Builder(fresh_emulator.url, ACCOUNT, REGION)
    fresh_emulator.requests.clear()
    snapshot = _scan(fresh_emulator, monkeypatch)
    assert snapshot.status == "complete" and snapshot.account_settings is None
    counts = fresh_emulator.requests.counts(ACCOUNT)
    sent = set(counts)
    new = {
        "apigateway:GetAccount",
        "apigateway:GetClientCertificates",
        "apigateway:GetRequestValidators",
        "apigateway:GetDomainNameAccessAssociations",
        "apigatewayv2:ListRoutingRules",
    }
    assert sent & new == set()
    # As before: both API lists, both domain lists, both VPC link lists and the usage plans.
    assert sum(n for op, n in counts.items() if op.startswith("apigateway")) == 7


def test_an_older_role_that_refuses_the_optional_reads_leaves_the_scan_complete(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    api = b.rest_api("orders")
    b.method(api, "/", "GET", authorizationType="AWS_IAM", integration=b.lambda_integration("orders"))
    b.v1.create_deployment(restApiId=api.id, stageName="prod")
    b.v1.update_stage(
        restApiId=api.id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"}],
    )
    for operation in ("apigateway:GetAccount", "apigateway:GetClientCertificates"):
        fresh_emulator.deny_operation(ACCOUNT, operation)
    snapshot = _scan(fresh_emulator, monkeypatch)
    assert snapshot.status == "complete"
    assert sorted((e.operation, e.kind) for e in snapshot.errors) == [
        ("apigateway:GetAccount", "permission"),
        ("apigateway:GetClientCertificates", "permission"),
    ]
    assert snapshot.account_settings is None  # unknown, so no finding says "no CloudWatch role"
    assert "logging-without-cloudwatch-role" not in {f.rule_id for f in snapshot.findings}
    (route,) = snapshot.apis[0].routes
    assert route.exposure is not None and route.exposure.verdict == "public-authenticated"
