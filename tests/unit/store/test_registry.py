"""The registry: every customer has an ExternalId of its own, generated when none is given, never shared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from api_discovery.store.registry import (
    EXTERNAL_ID,
    DuplicateExternalIdError,
    RegisteredAccount,
    Registry,
    external_id_claim_key,
)
from api_discovery.store.state import create_table

A, B = "111111111111", "222222222222"
SHARED = "customer-0001-abcdef"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "state")
        yield client


@pytest.fixture
def registry(dynamodb: Any) -> Registry:
    return Registry(dynamodb, "state")


def _account(account_id: str, external_id: str | None = None, **extra: Any) -> RegisteredAccount:
    return RegisteredAccount(account_id=account_id, role_name="ApiDiscoveryReadOnly", external_id=external_id, **extra)


def _items(dynamodb: Any) -> list[dict[str, Any]]:
    return [item for page in dynamodb.get_paginator("scan").paginate(TableName="state") for item in page["Items"]]


def test_an_account_registered_without_an_external_id_gets_one_of_its_own(registry: Registry) -> None:
    first, second = registry.register(_account(A)), registry.register(_account(B))
    assert first.generated and second.generated
    ids = [first.account.external_id, second.account.external_id]
    assert ids[0] != ids[1]
    for external_id in ids:
        assert external_id is not None and EXTERNAL_ID.match(external_id)
        assert len(external_id) >= 16  # the customer template's minimum
    assert registry.external_id(A) == ids[0] and registry.external_id(B) == ids[1]


def test_registering_again_without_an_external_id_keeps_the_one_the_customer_deployed(registry: Registry) -> None:
    original = registry.register(_account(A)).account.external_id
    again = registry.register(_account(A, regions=["eu-west-1"]))
    assert not again.generated
    assert again.account.external_id == original == registry.external_id(A)
    assert registry.accounts()[0].regions == ["eu-west-1"]


def test_an_external_id_another_account_uses_is_refused_and_nothing_is_written(
    registry: Registry, dynamodb: Any
) -> None:
    registry.register(_account(A, SHARED))
    before = _items(dynamodb)
    with pytest.raises(DuplicateExternalIdError, match="already used by another account") as refused:
        registry.register(_account(B, SHARED))
    assert SHARED not in str(refused.value)  # the id is not repeated into logs or terminals
    assert [a.account_id for a in registry.accounts()] == [A]
    assert _items(dynamodb) == before


def test_an_account_may_register_again_with_its_own_external_id(registry: Registry) -> None:
    registry.register(_account(A, SHARED))
    assert not registry.register(_account(A, SHARED, name="renamed")).generated
    assert registry.accounts()[0].name == "renamed"


def test_a_replaced_external_id_is_released_and_the_new_one_claimed(registry: Registry) -> None:
    registry.register(_account(A, SHARED))
    registry.register(_account(A, "customer-0001-rotated"))
    registry.register(_account(B, SHARED))  # A no longer holds it
    with pytest.raises(DuplicateExternalIdError):
        registry.register(_account(B, "customer-0001-rotated"))
    assert (registry.external_id(A), registry.external_id(B)) == ("customer-0001-rotated", SHARED)


def test_no_key_holds_an_external_id(registry: Registry, dynamodb: Any) -> None:
    generated = registry.register(_account(A)).account.external_id
    registry.register(_account(B, SHARED))
    items = _items(dynamodb)
    keys = [f"{item['pk']['S']} {item['sk']['S']}" for item in items]
    for external_id in (generated, SHARED):
        assert external_id is not None
        assert not [key for key in keys if external_id in key]
        claim = external_id_claim_key(external_id)
        assert f"{claim['pk']} {claim['sk']}" in keys  # claimed, by its hash
    # The registry item keeps it (the scan reads it there); the claims hold only the account id.
    claims = [item for item in items if item["pk"]["S"].startswith("EXTERNALID#")]
    assert sorted(claim["account_id"]["S"] for claim in claims) == [A, B]
    assert all(set(claim) == {"pk", "sk", "account_id"} for claim in claims)


@pytest.mark.parametrize("bad", ["x", "has space in it", "tab\there-0123456", "é" * 20, "y" * 1225])
def test_an_external_id_sts_would_refuse_is_refused_at_registration(
    registry: Registry, dynamodb: Any, bad: str
) -> None:
    with pytest.raises(ValueError, match="ExternalId"):
        registry.register(_account(A, bad))
    assert _items(dynamodb) == []


def test_the_scan_asks_for_the_external_id_attribute_alone() -> None:
    """The scan role's IAM grant admits a GetItem of this one attribute only (infra/discovery_stack.py)."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "get_item",
            {"Item": {"external_id": {"S": SHARED}}},
            {
                "TableName": "state",
                "Key": {"pk": {"S": "REGISTRY"}, "sk": {"S": f"ACCOUNT#{A}"}},
                "ProjectionExpression": "external_id",
                "ConsistentRead": False,
            },
        )
        assert Registry(client, "state").external_id(A) == SHARED
