"""Every rule of the findings catalogue, each with a case that raises it and one that does not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from api_discovery.analysis.findings import CATALOGUE, evaluate, finding_key
from api_discovery.inventory.model import (
    AccessAssociation,
    AccountSettings,
    ClientCertificate,
    Domain,
    Integration,
    MethodSettings,
    SecretVariable,
    Snapshot,
    Throttle,
)
from tests.unit.estate_factory import (
    ACCOUNT,
    OPEN_POLICY,
    VPCE_POLICY,
    api,
    domain,
    entry_point,
    function_url,
    listener,
    route,
    snapshot,
    stage,
    usage_plan,
)

Case = Callable[[], Snapshot]
MTLS = "s3://trust/store.pem"
PEER = "999999999999"
ROLE = "arn:aws:iam::111111111111:role/apigateway-logs"
AT = "2026-01-01T00:00:00.000000Z"


def _ip_policy(*ranges: str) -> dict[str, object]:
    condition = {"IpAddress": {"aws:SourceIp": list(ranges)}}
    statement = {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}
    return {"Version": "2012-10-17", "Statement": [{**statement, "Condition": condition}]}


def _preflight(origin: str = "*", credentials: bool = True) -> Integration:
    return Integration(
        type="MOCK", target=None, cors_preflight=True, cors_allow_origin=origin, cors_allow_credentials=credentials
    )


def _private(*associations: tuple[str, str]) -> list[Domain]:
    found = [
        AccessAssociation(
            arn=f"arn:aws:apigateway:eu-west-1:{a}:/x/{v}", source=v, source_type="VPCE", source_account=a
        )
        for a, v in associations
    ]
    return [domain("ledger.internal", ("", "r1", "prod"), domain_name_id="abc123", access_associations=found)]


def _url_policy(principal: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "lambda:InvokeFunctionUrl", "Resource": "*"}
    return {"Version": "2012-10-17", "Statement": [statement]}


def _certificate(expires: str) -> ClientCertificate:
    return ClientCertificate(id="cert1", expiration_date=expires)


# rule id -> (raises it, does not raise it): the two differ in the one fact the rule is about.
CASES: dict[str, tuple[Case, Case]] = {
    "public-route-unauthenticated": (
        lambda: snapshot([api(routes=[route(auth="NONE")])]),
        lambda: snapshot([api(routes=[route(auth="NONE")], policy=VPCE_POLICY)]),
    ),
    "public-route-api-key-only": (
        lambda: snapshot([api(routes=[route(auth="NONE", api_key_required=True)])]),
        lambda: snapshot([api(routes=[route(auth="CUSTOM", api_key_required=True)])]),
    ),
    "public-api-without-waf": (
        lambda: snapshot([api(routes=[route(auth="AWS_IAM")], stages=[stage(web_acl_arn=None)])]),
        lambda: snapshot(
            [
                api(
                    routes=[route(auth="AWS_IAM")],
                    stages=[stage(web_acl_arn=None)],
                    endpoint="PRIVATE",
                    policy=VPCE_POLICY,
                )
            ]
        ),
    ),
    "stage-access-logging-off": (
        lambda: snapshot([api("h1", "HTTP", stages=[stage(access_log_destination=None)])]),
        lambda: snapshot([api("h1", "HTTP", stages=[stage()])]),
    ),
    "stage-execution-logging-off": (
        lambda: snapshot([api(stages=[stage(execution_logging_level="OFF")])]),
        lambda: snapshot([api("h1", "HTTP", stages=[stage(execution_logging_level=None)])]),
    ),
    "stage-data-trace-on": (
        lambda: snapshot([api(stages=[stage(data_trace_enabled=True)])]),
        lambda: snapshot([api(stages=[stage(data_trace_enabled=False)])]),
    ),
    "stage-tracing-off": (
        lambda: snapshot([api(stages=[stage(tracing_enabled=False)])]),
        lambda: snapshot(
            [api("w1", "WEBSOCKET", routes=[route("*", "$connect")], stages=[stage(tracing_enabled=False)])]
        ),
    ),
    "stage-cache-unencrypted": (
        lambda: snapshot([api(stages=[stage(cache_enabled=True, cache_encrypted=False)])]),
        lambda: snapshot([api(stages=[stage(cache_enabled=True, cache_encrypted=True)])]),
    ),
    "stage-without-throttling": (
        lambda: snapshot([api(stages=[stage(throttling=None)])]),
        lambda: snapshot([api(stages=[stage(throttling=Throttle(rate_limit=10.0))])]),
    ),
    "domain-legacy-tls": (
        lambda: snapshot([api()], domains=[domain("old.example.com", security_policy="TLS_1_0")]),
        lambda: snapshot([api()], domains=[domain("new.example.com", security_policy="TLS_1_2")]),
    ),
    "default-endpoint-beside-custom-domain": (
        lambda: snapshot([api()], domains=[domain("api.example.com", ("", "r1", "prod"))]),
        lambda: snapshot([api(default_endpoint=False)], domains=[domain("api.example.com", ("", "r1", "prod"))]),
    ),
    "private-api-without-policy": (
        lambda: snapshot([api(endpoint="PRIVATE", policy=None)]),
        lambda: snapshot([api(endpoint="PRIVATE", policy=VPCE_POLICY)]),
    ),
    "resource-policy-open": (
        lambda: snapshot([api(endpoint="PRIVATE", policy=OPEN_POLICY)]),
        lambda: snapshot([api(endpoint="PRIVATE", policy=VPCE_POLICY)]),
    ),
    "websocket-connect-unauthorized": (
        lambda: snapshot([api("w1", "WEBSOCKET", routes=[route("*", "$connect", auth="NONE")])]),
        lambda: snapshot([api("w1", "WEBSOCKET", routes=[route("*", "$connect", auth="CUSTOM")])]),
    ),
    "http-route-unauthorized": (
        # Not public (no stage yet): public-route-unauthenticated does not say it already.
        lambda: snapshot([api("h1", "HTTP", routes=[route(auth="NONE")], stages=[])]),
        lambda: snapshot([api("h1", "HTTP", routes=[route(auth="JWT")])]),
    ),
    "api-key-without-throttled-usage-plan": (
        lambda: snapshot(
            [api(routes=[route(api_key_required=True)])], usage_plans=[usage_plan("p1", "r1", "prod", None)]
        ),
        lambda: snapshot(
            [api(routes=[route(api_key_required=True)])],
            usage_plans=[usage_plan("p1", "r1", "prod", Throttle(burst_limit=10, rate_limit=5.0))],
        ),
    ),
    "cors-wildcard-with-credentials": (
        lambda: snapshot([api(routes=[route("OPTIONS", auth="NONE", integration=_preflight())])]),
        lambda: snapshot([api(routes=[route("OPTIONS", auth="NONE", integration=_preflight("https://a.example"))])]),
    ),
    "cors-wildcard-on-authenticated-api": (
        lambda: snapshot([api(routes=[route(), route("OPTIONS", auth="NONE", integration=_preflight("*", False))])]),
        lambda: snapshot(
            [
                api(
                    routes=[
                        route(),
                        route("OPTIONS", auth="NONE", integration=_preflight("https://a.example", False)),
                    ]
                )
            ]
        ),
    ),
    "stage-variable-secret": (
        lambda: snapshot([api(stages=[stage(secret_variables=[SecretVariable(name="dbPassword", detector="x")])])]),
        lambda: snapshot([api(stages=[stage(variable_names=["dbHost"])])]),
    ),
    "integration-tls-verification-off": (
        lambda: snapshot(
            [api(routes=[route(integration=Integration(type="HTTP", target="https://b", tls_skip_verification=True))])]
        ),
        lambda: snapshot(
            [api(routes=[route(integration=Integration(type="HTTP", target="https://b", tls_skip_verification=False))])]
        ),
    ),
    "rest-endpoint-legacy-tls": (
        lambda: snapshot([api(security_policy="TLS_1_0")]),
        lambda: snapshot([api(security_policy="TLS_1_0", default_endpoint=False)]),
    ),
    "method-logs-or-caches-data": (
        lambda: snapshot(
            [api(stages=[stage(method_settings=[MethodSettings(key="~1items/GET", data_trace_enabled=True)])])]
        ),
        lambda: snapshot(
            [api(stages=[stage(method_settings=[MethodSettings(key="~1items/GET", metrics_enabled=True)])])]
        ),
    ),
    "logging-without-cloudwatch-role": (
        lambda: snapshot([api(stages=[stage()])], account_settings=AccountSettings(cloudwatch_role_arn=None)),
        lambda: snapshot([api(stages=[stage()])], account_settings=AccountSettings(cloudwatch_role_arn=ROLE)),
    ),
    "dualstack-policy-ipv4-only": (
        lambda: snapshot([api(ip_address_type="dualstack", policy=_ip_policy("203.0.113.0/24"))]),
        lambda: snapshot([api(ip_address_type="dualstack", policy=_ip_policy("203.0.113.0/24", "2001:db8::/32"))]),
    ),
    "private-domain-cross-account-access": (
        lambda: snapshot([api(endpoint="PRIVATE", policy=VPCE_POLICY)], domains=_private((PEER, "vpce-peer"))),
        lambda: snapshot([api(endpoint="PRIVATE", policy=VPCE_POLICY)], domains=_private((ACCOUNT, "vpce-own"))),
    ),
    "client-certificate-expiring": (
        lambda: snapshot([api()], client_certificates=[_certificate("2026-01-20T00:00:00.000000Z")], at=AT),
        lambda: snapshot([api()], client_certificates=[_certificate("2026-03-20T00:00:00.000000Z")], at=AT),
    ),
    "function-url-public": (
        lambda: snapshot([], function_urls=[function_url(policy=_url_policy("*"))]),
        lambda: snapshot([], function_urls=[function_url(policy=_url_policy({"AWS": f"arn:aws:iam::{PEER}:root"}))]),
    ),
    "appsync-api-key-only": (
        lambda: snapshot(
            [], entry_points=[entry_point("APPSYNC_GRAPHQL", scheme="GLOBAL", authentication=["API_KEY"])]
        ),
        lambda: snapshot(
            [],
            entry_points=[
                entry_point("APPSYNC_GRAPHQL", scheme="GLOBAL", authentication=["API_KEY", "AWS_IAM"]),
                entry_point("APPSYNC_EVENTS", "e2", scheme="PRIVATE", authentication=["API_KEY"]),
            ],
        ),
    ),
    "appsync-without-waf": (
        lambda: snapshot([], entry_points=[entry_point("APPSYNC_EVENTS", scheme="GLOBAL", authentication=["AWS_IAM"])]),
        lambda: snapshot(
            [],
            entry_points=[
                entry_point("APPSYNC_GRAPHQL", scheme="GLOBAL", authentication=["AWS_IAM"], web_acl="arn:acl"),
                entry_point("APPSYNC_GRAPHQL", "e2", scheme="PRIVATE", authentication=["AWS_IAM"]),
            ],
        ),
    ),
    "elb-http-without-redirect": (
        lambda: snapshot([], entry_points=[_balancer(listener(80, "HTTP", "forward"))]),
        lambda: snapshot(
            [],
            entry_points=[
                _balancer(listener(80, "HTTP", "redirect", redirect_protocol="HTTPS")),
                _balancer(listener(80, "HTTP", "forward"), name="inside", scheme="internal"),
            ],
        ),
    ),
    "elb-weak-tls-policy": (
        lambda: snapshot(
            [], entry_points=[_balancer(listener(443, "HTTPS", "forward", ssl_policy="ELBSecurityPolicy-2016-08"))]
        ),
        lambda: snapshot(
            [],
            entry_points=[
                _balancer(listener(443, "HTTPS", "forward", ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06"))
            ],
        ),
    ),
}


def _balancer(*listeners: Any, name: str = "lb", scheme: str = "internet-facing") -> Any:
    return entry_point("LOAD_BALANCER", name, scheme=scheme, subtype="application", listeners=list(listeners))


def _rules(s: Snapshot) -> set[str]:
    return {f.rule_id for f in s.findings}


def test_every_rule_in_the_catalogue_has_a_case() -> None:
    """The rules judged per snapshot here; those judged across the estate in test_entry_map."""
    assert set(CASES) == {r.id for r in CATALOGUE.values() if r.scope == "snapshot"}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_the_rule_raises_on_its_positive_case(rule_id: str) -> None:
    found = [f for f in CASES[rule_id][0]().findings if f.rule_id == rule_id]
    assert found, f"{rule_id} did not fire"
    rule = CATALOGUE[rule_id]
    for finding in found:
        assert finding.severity == rule.severity and finding.title == rule.title
        assert set(finding.evidence) == set(rule.evidence)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_the_rule_stays_quiet_on_its_negative_case(rule_id: str) -> None:
    assert rule_id not in _rules(CASES[rule_id][1]())


def test_a_preflight_that_echoes_the_origin_allows_every_origin() -> None:
    echo = _preflight("method.request.header.Origin", True)
    (found,) = [
        f
        for f in snapshot([api(routes=[route("OPTIONS", auth="NONE", integration=echo)])]).findings
        if f.rule_id.startswith("cors")
    ]
    assert (found.rule_id, found.evidence["allow_origin"]) == ("cors-wildcard-with-credentials", "reflected Origin")


def test_account_settings_not_read_are_unknown_not_a_missing_role() -> None:
    assert "logging-without-cloudwatch-role" not in _rules(snapshot([api(stages=[stage()])], account_settings=None))


def test_a_well_configured_api_raises_nothing() -> None:
    assert snapshot([api(routes=[route(auth="AWS_IAM")])]).findings == []


def test_catalogue_entries_say_why_and_what_to_do() -> None:
    for rule in CATALOGUE.values():
        assert rule.title and rule.rationale and rule.remediation and rule.evidence, rule.id


def test_findings_name_their_resource_and_are_ordered_by_severity() -> None:
    s = snapshot(
        [api(routes=[route(auth="NONE")], stages=[stage(tracing_enabled=False)])],
        domains=[domain("old.example.com", security_policy="TLS_1_0")],
    )
    keys = [finding_key(f) for f in s.findings]
    assert keys == [
        "public-route-unauthenticated@rest/r1 GET /items",
        "domain-legacy-tls@domain/old.example.com",
        "stage-tracing-off@rest/r1/prod",
    ]
    assert [f.api_id for f in s.findings] == ["r1", None, "r1"]


def test_the_open_policy_finding_names_its_statements_and_the_mtls_route_is_not_public() -> None:
    (open_policy,) = [f for f in snapshot([api(policy=OPEN_POLICY)]).findings if f.rule_id == "resource-policy-open"]
    assert open_policy.evidence["statements"] == ["Everyone"] and open_policy.evidence["open_routes"] == 1
    guarded = snapshot(
        [api(routes=[route(auth="NONE")], default_endpoint=False)],
        domains=[domain("m.example.com", ("", "r1", "prod"), mutual_tls_truststore_uri=MTLS)],
    )
    assert "public-route-unauthenticated" not in _rules(guarded)


def test_enhanced_security_policies_are_read_by_their_oldest_version() -> None:
    weak = snapshot([api()], domains=[domain("a.example.com", security_policy="SecurityPolicy_TLS13_1_1_2025_EDGE")])
    strong = snapshot([api()], domains=[domain("b.example.com", security_policy="SecurityPolicy_TLS13_1_3_2025_09")])
    assert "domain-legacy-tls" in _rules(weak)
    assert "domain-legacy-tls" not in _rules(strong)


def test_evaluate_is_deterministic() -> None:
    s = snapshot([api(routes=[route(auth="NONE"), route("POST", "/b", auth="NONE")], stages=[stage(throttling=None)])])
    assert evaluate(s) == evaluate(s) == s.findings
