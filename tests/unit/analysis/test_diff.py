"""Route-level changes between the previous complete snapshot and a new one."""

from __future__ import annotations

from typing import Any

from api_discovery.analysis.diff import Change, compute_changes
from api_discovery.inventory.model import Api, Integration, Snapshot
from tests.unit.estate_factory import OPEN_POLICY, api, domain, error, route, snapshot, stage

LATER = "2026-01-02T00:00:00.000000Z"


def _types(changes: list[Change]) -> list[tuple[str, str]]:
    return sorted((c.type, c.subject) for c in changes if not c.type.startswith("finding_"))


def _later(apis: list[Api], **extra: Any) -> Snapshot:
    return snapshot(apis, run="20260102T000000Z-bbbb", at=LATER, **extra)


def test_a_first_scan_reports_every_api_and_finding_as_new() -> None:
    new = snapshot([api("r1", routes=[route(auth="NONE")]), api("h1", "HTTP")])
    changes = compute_changes(None, new)
    assert _types(changes) == [("api_added", "api-h1"), ("api_added", "api-r1")]
    opened = [c for c in changes if c.type == "finding_opened"]
    assert len(opened) == len(new.findings) > 0
    added = next(c for c in changes if c.api_id == "r1" and c.type == "api_added")
    assert added.after and added.after["exposure"] == {"public-unauthenticated": 1}


def test_an_unchanged_estate_has_no_change() -> None:
    apis = [api("r1", routes=[route(auth="NONE")], stages=[stage(tracing_enabled=False)])]
    assert compute_changes(snapshot(apis), _later(apis)) == []


def test_route_changes_added_removed_authorization_integration_exposure() -> None:
    old = snapshot(
        [api(routes=[route("GET", "/a", auth="COGNITO_USER_POOLS", authorizer_id="c1"), route("GET", "/gone")])]
    )
    new = _later(
        [
            api(
                routes=[
                    route("GET", "/a", auth="NONE", integration=Integration(type="HTTP_PROXY", target="https://x")),
                    route("POST", "/new"),
                ]
            )
        ]
    )
    changes = compute_changes(old, new)
    assert _types(changes) == [
        ("route_added", "POST /new"),
        ("route_authorization_changed", "GET /a"),
        ("route_exposure_changed", "GET /a"),
        ("route_integration_changed", "GET /a"),
        ("route_removed", "GET /gone"),
    ]
    auth = next(c for c in changes if c.type == "route_authorization_changed")
    assert auth.before and auth.after
    assert (auth.before["authorization_type"], auth.before["authorizer_id"]) == ("COGNITO_USER_POOLS", "c1")
    assert (auth.after["authorization_type"], auth.after["authorizer_id"]) == ("NONE", None)
    exposure = next(c for c in changes if c.type == "route_exposure_changed")
    assert exposure.before == {"verdict": "public-authenticated"}
    assert exposure.after and exposure.after["verdict"] == "public-unauthenticated"
    opened = {c.subject for c in changes if c.type == "finding_opened"}
    assert "public-route-unauthenticated@rest/r1 GET /a" in opened


def test_an_api_key_requirement_dropped_is_an_authorization_change() -> None:
    old = snapshot([api(routes=[route(api_key_required=True)])])
    new = _later([api(routes=[route(api_key_required=False)])])
    assert _types(compute_changes(old, new)) == [("route_authorization_changed", "GET /items")]


def test_stage_settings_and_stages_added_removed() -> None:
    old = snapshot([api(stages=[stage("prod"), stage("old")])])
    new = _later([api(stages=[stage("prod", web_acl_arn=None, tracing_enabled=False), stage("dev")])])
    changes = compute_changes(old, new)
    assert _types(changes) == [("stage_added", "dev"), ("stage_removed", "old"), ("stage_settings_changed", "prod")]
    settings = next(c for c in changes if c.type == "stage_settings_changed")
    assert settings.after == {"web_acl_arn": None, "tracing_enabled": False}
    assert settings.before and set(settings.before) == {"web_acl_arn", "tracing_enabled"}


def test_api_level_changes_policy_endpoint_and_default_endpoint() -> None:
    old = snapshot([api()])
    new = _later([api(policy=OPEN_POLICY, endpoint="EDGE", default_endpoint=False)])
    assert [t for t, _ in _types(compute_changes(old, new)) if not t.startswith("route")] == [
        "default_endpoint_changed",
        "endpoint_type_changed",
        "resource_policy_changed",
    ]


def test_domain_tls_and_mappings() -> None:
    old = snapshot([api()], domains=[domain("a.example.com", ("v1", "r1", "prod"), security_policy="TLS_1_2")])
    new = _later([api()], domains=[domain("a.example.com", ("v2", "r1", "prod"), security_policy="TLS_1_0")])
    changes = compute_changes(old, new)
    tls = next(c for c in changes if c.type == "domain_tls_changed")
    assert tls.before and tls.before["security_policy"] == "TLS_1_2"
    assert tls.after and tls.after["security_policy"] == "TLS_1_0"
    assert tls.domain_api_ids == ["r1"]
    assert any(c.type == "domain_mappings_changed" for c in changes)
    assert "domain-legacy-tls@domain/a.example.com" in {c.subject for c in changes if c.type == "finding_opened"}


def test_a_complete_scan_reports_removals_and_resolved_findings() -> None:
    old = snapshot([api("r1", routes=[route(auth="NONE")]), api("r2")], domains=[domain("x.example.com")])
    new = _later([api("r2")])
    changes = compute_changes(old, new)
    assert ("api_removed", "api-r1") in _types(changes) and ("domain_removed", "x.example.com") in _types(changes)
    assert "public-route-unauthenticated@rest/r1 GET /items" in {
        c.subject for c in changes if c.type == "finding_resolved"
    }


def test_a_partial_scan_never_reports_a_removal_nor_a_resolution() -> None:
    old = snapshot([api("r1", routes=[route(auth="NONE"), route("POST", "/b")]), api("r2")], domains=[domain()])
    new = _later([api("r3")], status="partial", errors=[error("restapis", "apigateway:GetRestApis")])
    changes = compute_changes(old, new)
    assert _types(changes) == [("api_added", "api-r3")]
    assert not [c for c in changes if c.type == "finding_resolved"]


def test_a_partial_scan_skips_the_apis_it_read_in_part() -> None:
    old = snapshot([api("r1", routes=[route("GET", "/a")]), api("r2", routes=[route("GET", "/a")])])
    # GetStages was denied on r1: its stages look gone, which must not read as a change.
    new = _later(
        [api("r1", routes=[route("GET", "/a")], stages=[]), api("r2", routes=[route("GET", "/a"), route("GET", "/b")])],
        status="partial",
        errors=[error("restapis/r1")],
    )
    changes = compute_changes(old, new)
    assert _types(changes) == [("route_added", "GET /b")]
    assert all(c.api_id != "r1" for c in changes)


def test_a_partial_scan_with_a_region_wide_gap_reports_only_new_apis() -> None:
    old = snapshot([api("r1", routes=[route("GET", "/a")])], domains=[domain("d.example.com", ("", "r1", "prod"))])
    new = _later(
        [api("r1", routes=[route("GET", "/a"), route("GET", "/b")]), api("r9")],
        status="partial",
        errors=[error("domainnames/d.example.com", "apigateway:GetBasePathMappings")],
    )
    assert _types(compute_changes(old, new)) == [("api_added", "api-r9")]


def test_a_failed_scan_has_no_change() -> None:
    old = snapshot([api()])
    assert compute_changes(old, _later([], status="failed")) == []


def test_websocket_routes_are_keyed_by_route_key() -> None:
    old = snapshot([api("w1", "WEBSOCKET", routes=[route("*", "$connect", auth="CUSTOM")])])
    new = _later([api("w1", "WEBSOCKET", routes=[route("*", "$connect", auth="NONE"), route("*", "send")])])
    subjects = _types(compute_changes(old, new))
    assert ("route_added", "send") in subjects and ("route_authorization_changed", "$connect") in subjects


def test_change_keys_are_stable_and_distinct() -> None:
    old = snapshot([api(routes=[route("GET", "/a")])])
    new = _later([api(routes=[route("GET", "/a"), route("GET", "/b"), route("GET", "/c")])])
    first, second = compute_changes(old, new), compute_changes(old, new)
    assert [c.key for c in first] == [c.key for c in second]
    assert len({c.key for c in first}) == len(first)


def test_a_rename_is_a_change_and_api_changed_says_from_what_to_what() -> None:
    from api_discovery.events.models import ApiChanged, target_events  # noqa: PLC0415 - only this test sends
    from api_discovery.store.tracking import ChangeSet  # noqa: PLC0415

    old = snapshot([api(name="orders")])
    new = _later([api(name='orders "v2" <b>')])
    changes = compute_changes(old, new)
    assert _types(changes) == [("api_renamed", 'orders "v2" <b>')]
    (renamed,) = changes
    assert (renamed.before, renamed.after) == ({"name": "orders"}, {"name": 'orders "v2" <b>'})
    change_set = ChangeSet(
        run_id=new.run_id,
        account_id=new.account_id,
        region=new.region,
        scanned_at=new.scanned_at,
        status="complete",
        snapshot_key="snapshots/k",
        snapshot_uri="s3://bucket/snapshots/k",
        baseline="previous-complete",
        changes=changes,
        apis=[{"kind": "REST", "id": "r1", "name": 'orders "v2" <b>'}],
    )
    (event,) = target_events(change_set)
    assert isinstance(event.detail, ApiChanged)
    assert event.detail.changes[0].note == 'renamed from "orders" to "orders \\"v2\\" <b>"'


def test_private_domains_routing_and_access_are_changes_of_their_own() -> None:
    from api_discovery.inventory.model import AccessAssociation, RoutingRule  # noqa: PLC0415

    rule = RoutingRule(id="x", priority=1, api_id="r1", stage="prod", headers=["x-v: 2"])
    peer = AccessAssociation(arn="arn:1", source="vpce-1", source_type="VPCE", source_account="999999999999")
    public = domain("a.example.com", ("", "r1", "prod"))
    private = domain("a.example.com", ("", "r1", "prod"), domain_name_id="abc", endpoint_type="PRIVATE")
    old = snapshot([api()], domains=[public, private])
    routed = public.model_copy(update={"routing_mode": "ROUTING_RULE_THEN_API_MAPPING", "routing_rules": [rule]})
    reached = private.model_copy(update={"access_associations": [peer]})
    changes = compute_changes(old, _later([api()], domains=[routed, reached]))
    assert _types(changes) == [
        ("domain_access_changed", "a.example.com+abc"),
        ("domain_routing_changed", "a.example.com"),
    ]


def test_fields_read_since_an_older_snapshot_are_not_changes() -> None:
    # The stored view predates timeouts and TLS settings: reading them for the first time changes nothing.
    old = snapshot([api(routes=[route(integration=Integration(type="HTTP", target="https://b"))])])
    read_now = Integration(type="HTTP", target="https://b", timeout_ms=29000, tls_skip_verification=False)
    assert compute_changes(old, _later([api(routes=[route(integration=read_now)])])) == []
    # Once known, a change of the field is a change.
    known = snapshot([api(routes=[route(integration=read_now)])])
    skipped = read_now.model_copy(update={"tls_skip_verification": True})
    changes = compute_changes(known, _later([api(routes=[route(integration=skipped)])]))
    assert [c.type for c in changes if c.type.startswith("route")] == ["route_integration_changed"]


def test_a_finding_a_narrowed_rule_no_longer_raises_is_resolved_as_rule_changed() -> None:
    routes = [route("*", key, auth="NONE") for key in ("$connect", "sendMessage")]
    ws = api("w1", "WEBSOCKET", routes=routes)
    old = snapshot([ws])
    # As a catalogue before version 2 judged it: one public-route-unauthenticated finding per route.
    legacy = [
        f.model_copy(update={"rule_id": "public-route-unauthenticated", "resource": f"websocket/w1 {r.path}"})
        for f in old.findings[:1]
        for r in routes
    ]
    stored = old.model_copy(update={"findings": old.findings + legacy, "catalogue": 1})
    current = _later([ws]).model_copy(update={"catalogue": 2})
    resolved = [c for c in compute_changes(stored, current) if c.type == "finding_resolved"]
    assert sorted(c.subject for c in resolved) == [
        "public-route-unauthenticated@websocket/w1 $connect",
        "public-route-unauthenticated@websocket/w1 sendMessage",
    ]
    assert all(c.rule_changed for c in resolved)
    # Under one catalogue, a finding that goes away is fixed.
    fixed = compute_changes(stored.model_copy(update={"catalogue": 2}), current)
    assert [c.rule_changed for c in fixed if c.type == "finding_resolved"] == [False, False]
