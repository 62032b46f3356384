"""Ways in through custom domains as they work since 2024-2025: routing rules, routing modes, private domains."""

from __future__ import annotations

from api_discovery.analysis.exposure import assess_api
from api_discovery.inventory.model import AccessAssociation, Api, Domain, Integration, RoutingRule
from tests.unit.estate_factory import VPCE_POLICY, api, domain, route, snapshot


def _verdict(a: Api, domains: list[Domain]) -> tuple[str, list[str]]:
    (assessed,) = assess_api(a, domains).routes
    assert assessed.exposure is not None
    return assessed.exposure.verdict, assessed.exposure.reasons


def _rule(api_id: str = "r1", stage_name: str = "prod") -> RoutingRule:
    return RoutingRule(id="rule1", priority=1, api_id=api_id, stage=stage_name, headers=["x-partner: *"])


def test_an_api_reached_only_through_a_routing_rule_is_reachable() -> None:
    hidden = api(routes=[route(auth="NONE")], default_endpoint=False)
    ruled = domain("api.example.com", routing_mode="ROUTING_RULE_THEN_API_MAPPING", routing_rules=[_rule()])
    verdict, reasons = _verdict(hidden, [ruled])
    assert verdict == "public-unauthenticated"
    assert "api.example.com" in reasons[0]
    # The same rule on a domain that routes by mappings only reaches nothing.
    mapped_only = domain("api.example.com", routing_rules=[_rule()])
    assert _verdict(hidden, [mapped_only])[0] == "unreachable"


def test_in_routing_rule_only_mode_the_mappings_are_dead() -> None:
    hidden = api(routes=[route(auth="NONE")], default_endpoint=False)
    dead = domain("api.example.com", ("", "r1", "prod"), routing_mode="ROUTING_RULE_ONLY")
    assert _verdict(hidden, [dead])[0] == "unreachable"
    live = domain("api.example.com", ("", "r1", "prod"), routing_mode="ROUTING_RULE_THEN_API_MAPPING")
    assert _verdict(hidden, [live])[0] == "public-unauthenticated"


def _private_domain(*associations: AccessAssociation) -> Domain:
    return domain(
        "ledger.internal",
        ("", "r1", "prod"),
        endpoint_type="PRIVATE",
        domain_name_id="abc123",
        access_associations=list(associations),
    )


def test_a_private_domain_counts_only_with_a_vpc_endpoint_associated() -> None:
    ledger = api(endpoint="PRIVATE", policy=VPCE_POLICY, default_endpoint=False, routes=[route(auth="NONE")])
    assert _verdict(ledger, [_private_domain()])[0] == "unreachable"
    peer = AccessAssociation(arn="arn:1", source="vpce-peer", source_type="VPCE", source_account="999999999999")
    verdict, reasons = _verdict(ledger, [_private_domain(peer)])
    assert verdict == "private"
    assert any("vpce-peer" in r and "999999999999" in r for r in reasons)


def test_a_cors_preflight_is_not_an_unauthenticated_public_route() -> None:
    preflight = Integration(type="MOCK", target=None, cors_preflight=True, cors_allow_origin="https://a.example")
    found = snapshot([api(routes=[route(), route("OPTIONS", auth="NONE", integration=preflight)])]).findings
    assert "public-route-unauthenticated" not in {f.rule_id for f in found}
    # An OPTIONS method that proxies to a backend is an ordinary route.
    proxied = snapshot([api(routes=[route("OPTIONS", auth="NONE")])]).findings
    assert "public-route-unauthenticated" in {f.rule_id for f in proxied}


def test_an_open_websocket_api_is_one_finding_with_its_routes_as_evidence() -> None:
    routes = [route("*", key, auth="NONE") for key in ("$connect", "$disconnect", "sendMessage")]
    found = [f for f in snapshot([api("w1", "WEBSOCKET", routes=routes)]).findings if f.severity == "high"]
    assert [f.rule_id for f in found] == ["websocket-connect-unauthorized"]
    assert found[0].evidence["routes"] == ["$connect", "$disconnect", "sendMessage"]
    assert found[0].evidence["verdict"] == "public-unauthenticated"


def test_a_public_http_route_without_authorization_is_one_finding() -> None:
    found = snapshot([api("h1", "HTTP", routes=[route(auth="NONE")])]).findings
    assert [f.rule_id for f in found if f.resource.endswith("GET /items")] == ["public-route-unauthenticated"]
    # Behind a private network path, the missing authorization is still worth a finding of its own.
    unreachable = snapshot([api("h1", "HTTP", routes=[route(auth="NONE")], stages=[])]).findings
    assert "http-route-unauthorized" in {f.rule_id for f in unreachable}
