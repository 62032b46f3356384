"""Resource policy analysis: who a REST API's policy lets invoke one route."""

from __future__ import annotations

from typing import Any

import pytest

from api_discovery.analysis.policy import request_resources, route_access

API = "abc123"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(resource: Any = "execute-api:/*", principal: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "execute-api:Invoke", "Resource": resource, **extra}


def _access(policy: dict[str, Any], method: str = "GET", path: str = "/items", stages: tuple[str, ...] = ("prod",)):
    return route_access(policy, API, list(stages), method, path)


def test_an_unconditional_allow_to_everyone_is_open() -> None:
    access = _access(_policy(_allow(Sid="Public")))
    assert access.allowed and access.anyone and access.open_statements == ("Public",)
    assert not access.network_limited and not access.principals_only and not access.denied


def test_principal_aws_star_is_everyone_too() -> None:
    assert _access(_policy(_allow(principal={"AWS": "*"}))).anyone


@pytest.mark.parametrize(
    ("operator", "key", "value"),
    [
        ("StringEquals", "aws:SourceVpce", "vpce-1"),
        ("StringEquals", "aws:SourceVpc", "vpc-1"),
        ("IpAddress", "aws:SourceIp", "203.0.113.0/24"),
    ],
)
def test_an_allow_limited_to_a_network_is_network_limited(operator: str, key: str, value: str) -> None:
    access = _access(_policy(_allow(Condition={operator: {key: value}})))
    assert access.allowed and access.network_limited and not access.anyone


def test_a_source_ip_condition_of_the_whole_internet_limits_nothing() -> None:
    access = _access(_policy(_allow(Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})))
    assert access.anyone and not access.network_limited


def test_allow_everyone_then_deny_unless_from_the_vpc_endpoint_is_network_limited() -> None:
    # The pattern of AWS's own private API example: policyuniverse alone ignores the negated Deny.
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "execute-api:Invoke",
        "Resource": "execute-api:/*",
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
    }
    access = _access(_policy(_allow(), deny))
    assert access.network_limited and not access.anyone and access.open_statements == ()


def test_a_deny_whose_negated_condition_spares_everyone_does_not_limit() -> None:
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "execute-api:Invoke",
        "Resource": "*",
        "Condition": {"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}},
    }
    assert _access(_policy(_allow(), deny)).anyone


def test_an_unconditional_deny_to_everyone_denies() -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "execute-api:*", "Resource": "execute-api:/*/GET/items"}
    access = _access(_policy(_allow(), deny))
    assert access.denied and not access.anyone


def test_a_deny_of_another_route_leaves_this_one_open() -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*/POST/admin"}
    access = _access(_policy(_allow(), deny))
    assert access.anyone and not access.denied


def test_an_allow_naming_accounts_only_requires_named_principals() -> None:
    access = _access(_policy(_allow(principal={"AWS": "arn:aws:iam::222222222222:root"})))
    assert access.principals_only and not access.anyone and not access.network_limited


def test_an_allow_limited_to_an_organisation_requires_named_principals() -> None:
    access = _access(_policy(_allow(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})))
    assert access.principals_only and not access.anyone


def test_resources_scope_statements_to_routes() -> None:
    policy = _policy(_allow("execute-api:/prod/GET/public/*"))
    assert _access(policy, path="/public/docs").allowed
    assert not _access(policy, path="/private").allowed
    assert not _access(policy, method="POST", path="/public/docs").allowed


def test_full_execute_api_arns_match_only_their_api() -> None:
    mine = _allow(f"arn:aws:execute-api:eu-west-1:111111111111:{API}/*/GET/items")
    other = _allow("arn:aws:execute-api:eu-west-1:111111111111:zzz999/*")
    assert _access(_policy(mine)).anyone
    assert not _access(_policy(other)).allowed


def test_not_resource_and_not_action_are_inverted() -> None:
    not_here = {"Effect": "Allow", "Principal": "*", "Action": "*", "NotResource": "execute-api:/*/GET/items"}
    assert not _access(_policy(not_here)).allowed
    not_invoke = {"Effect": "Allow", "Principal": "*", "NotAction": "execute-api:Invoke", "Resource": "*"}
    assert not _access(_policy(not_invoke)).allowed


def test_an_any_method_route_is_reached_by_every_verb() -> None:
    assert len(request_resources(["prod"], "ANY", "/x")) == 7
    policy = _policy(_allow("execute-api:/*/DELETE/*"))
    assert _access(policy, method="ANY", path="/x").allowed


def test_a_single_statement_object_is_read_like_a_list() -> None:
    assert _access({"Version": "2012-10-17", "Statement": _allow()}).anyone
