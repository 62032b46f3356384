"""One effective exposure verdict per route, from everything that decides it."""

from __future__ import annotations

from typing import Any

from api_discovery.analysis.exposure import VERDICTS, assess_api
from api_discovery.inventory.model import Api, Domain
from tests.unit.estate_factory import OPEN_POLICY, VPCE_POLICY, api, domain, route, stage


def _verdicts(a: Api, domains: list[Domain] | None = None) -> dict[str, str]:
    assessed = assess_api(a, domains or [])
    return {f"{r.method} {r.path}": r.exposure.verdict for r in assessed.routes if r.exposure}


def _only(a: Api, domains: list[Domain] | None = None) -> str:
    (verdict,) = _verdicts(a, domains).values()
    return verdict


def test_the_verdict_set_is_ordered_from_most_to_least_exposed_then_unknown() -> None:
    assert VERDICTS == (
        "public-unauthenticated",
        "public-api-key-only",
        "public-authenticated",
        "network-restricted",
        "private",
        "unreachable",
        "unknown",
    )


def test_a_regional_route_without_authorization_is_public_unauthenticated() -> None:
    assert _only(api(routes=[route(auth="NONE")])) == "public-unauthenticated"


def test_an_api_key_alone_is_not_authentication() -> None:
    assert _only(api(routes=[route(auth="NONE", api_key_required=True)])) == "public-api-key-only"


def test_every_authorizer_type_authenticates() -> None:
    for auth in ("AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS", "JWT"):
        assert _only(api(routes=[route(auth=auth)])) == "public-authenticated", auth


def test_a_waf_is_a_reason_but_never_changes_the_verdict() -> None:
    with_waf = api(routes=[route(auth="NONE")])
    without = api(routes=[route(auth="NONE")], stages=[stage(web_acl_arn=None)])
    assert _only(with_waf) == _only(without) == "public-unauthenticated"
    assessed = assess_api(with_waf, [])
    reasons = assessed.routes[0].exposure.reasons if assessed.routes[0].exposure else []
    assert any("WAF" in r for r in reasons)


def test_a_private_api_is_private_with_a_policy_and_unreachable_without() -> None:
    assert _only(api(endpoint="PRIVATE", policy=VPCE_POLICY, routes=[route(auth="NONE")])) == "private"
    assert _only(api(endpoint="PRIVATE", policy=None)) == "unreachable"


def test_a_policy_limited_to_a_vpc_endpoint_restricts_a_public_endpoint() -> None:
    assert _only(api(policy=VPCE_POLICY, routes=[route(auth="NONE")])) == "network-restricted"


def test_an_open_policy_keeps_an_unauthenticated_route_public() -> None:
    assert _only(api(policy=OPEN_POLICY, routes=[route(auth="NONE")])) == "public-unauthenticated"


def test_a_policy_that_allows_no_caller_makes_the_route_unreachable_except_for_iam() -> None:
    scoped: dict[str, Any] = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*/GET/other",
            }
        ]
    }
    assert _only(api(policy=scoped, routes=[route(auth="NONE")])) == "unreachable"
    # Same-account IAM callers still get through on their identity policy.
    assert _only(api(policy=scoped, routes=[route(auth="AWS_IAM")])) == "public-authenticated"


def test_a_policy_naming_principals_authenticates() -> None:
    named = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                "Action": "execute-api:Invoke",
                "Resource": "*",
            }
        ]
    }
    assert _only(api(policy=named, routes=[route(auth="NONE")])) == "public-authenticated"


def test_no_way_in_is_unreachable() -> None:
    assert _only(api(routes=[route(auth="NONE")], default_endpoint=False)) == "unreachable"
    assert _only(api(routes=[route(auth="NONE")], stages=[])) == "unreachable"


def test_a_custom_domain_is_a_way_in_when_the_default_endpoint_is_off() -> None:
    a = api(routes=[route(auth="NONE")], default_endpoint=False)
    assert _only(a, [domain("api.example.com", ("", "r1", "prod"))]) == "public-unauthenticated"
    # A mapping to a stage that does not exist leads nowhere.
    assert _only(a, [domain("api.example.com", ("", "r1", "gone"))]) == "unreachable"


def test_mutual_tls_authenticates_only_when_every_way_in_requires_it() -> None:
    mtls = domain("mtls.example.com", ("", "r1", "prod"), mutual_tls_truststore_uri="s3://trust/store.pem")
    only_mtls = api(routes=[route(auth="NONE")], default_endpoint=False)
    assert _only(only_mtls, [mtls]) == "public-authenticated"
    beside_default = api(routes=[route(auth="NONE")], default_endpoint=True)
    assert _only(beside_default, [mtls]) == "public-unauthenticated"


def test_websocket_routes_take_the_authorization_of_connect() -> None:
    guarded = api(
        "w1",
        "WEBSOCKET",
        routes=[route("*", "$connect", auth="CUSTOM", authorizer_id="a1"), route("*", "send", auth="NONE")],
    )
    assert set(_verdicts(guarded).values()) == {"public-authenticated"}
    open_socket = api("w2", "WEBSOCKET", routes=[route("*", "$connect", auth="NONE"), route("*", "send", auth="NONE")])
    assert set(_verdicts(open_socket).values()) == {"public-unauthenticated"}
    # Without a $connect route nothing checks the connection.
    no_connect = api("w3", "WEBSOCKET", routes=[route("*", "send", auth="NONE")])
    assert _only(no_connect) == "public-unauthenticated"


def test_http_apis_ignore_resource_policies() -> None:
    assert _only(api("h1", "HTTP", routes=[route(auth="NONE")], policy=VPCE_POLICY)) == "public-unauthenticated"
