"""Organizations onboarding: an organization's active accounts are registered, those that leave or close stop
being scanned (their registration, and so their history, kept), and the registry stays the one truth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from api_discovery.collect.organizations import list_accounts
from api_discovery.steps.organizations import sync_organizations
from api_discovery.store.organizations import Organizations, RegisteredOrganization
from api_discovery.store.registry import DuplicateExternalIdError, RegisteredAccount, Registry
from api_discovery.store.state import create_table

ORG_EXTERNAL_ID = "org-external-id-0123456789"


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(dynamodb, "state")
        organizations = boto3.client("organizations", region_name="us-east-1")
        organizations.create_organization(FeatureSet="ALL")
        yield dynamodb, organizations


def _org(management: str, **extra: Any) -> RegisteredOrganization:
    return RegisteredOrganization(management_account_id=management, external_id=ORG_EXTERNAL_ID, **extra)


def _create(organizations: Any, name: str) -> str:
    status = organizations.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
    return str(status["AccountId"])


def test_active_accounts_are_registered_and_leavers_stop_with_their_registration_kept(aws: tuple[Any, Any]) -> None:
    dynamodb, client = aws
    management = client.describe_organization()["Organization"]["MasterAccountId"]
    members = [_create(client, f"member-{i}") for i in range(3)]
    registry, orgs = Registry(dynamodb, "state"), Organizations(dynamodb, "state")
    orgs.register(_org(management, regions=["eu-west-1"], forwards_events=True))

    (first,) = sync_organizations(orgs, registry, lambda org, arn: client)

    assert first.error is None and first.result is not None
    assert sorted(first.result.added) == sorted([management, *members])
    by_id = {a.account_id: a for a in registry.accounts()}
    member = by_id[members[0]]
    assert member.organization == management and member.enabled and member.regions == ["eu-west-1"]
    assert member.forwards_events and member.role_name is None  # the deployment's customer role
    assert registry.external_id(members[0]) == ORG_EXTERNAL_ID  # the StackSet's one ExternalId

    # One member closes, one leaves the organization: both stop; nothing is deleted.
    client.close_account(AccountId=members[0])
    client.remove_account_from_organization(AccountId=members[1])
    newcomer = _create(client, "newcomer")
    (second,) = sync_organizations(orgs, registry, lambda org, arn: client)
    assert second.result is not None
    assert second.result.added == [newcomer]
    assert sorted(second.result.stopped) == sorted(members[:2])
    by_id = {a.account_id: a for a in registry.accounts()}
    assert not by_id[members[0]].enabled and not by_id[members[1]].enabled and by_id[members[2]].enabled
    assert len(by_id) == 5

    # A third sync changes nothing.
    (third,) = sync_organizations(orgs, registry, lambda org, arn: client)
    assert third.result is not None and (third.result.added, third.result.stopped) == ([], [])


def test_an_account_registered_on_its_own_keeps_its_registration(aws: tuple[Any, Any]) -> None:
    dynamodb, client = aws
    management = client.describe_organization()["Organization"]["MasterAccountId"]
    member = _create(client, "independent")
    registry, orgs = Registry(dynamodb, "state"), Organizations(dynamodb, "state")
    registry.register(RegisteredAccount(account_id=member, external_id="its-own-external-id-42"))
    orgs.register(_org(management))
    (outcome,) = sync_organizations(orgs, registry, lambda org, arn: client)
    assert outcome.result is not None and outcome.result.kept_own == [member]
    assert registry.external_id(member) == "its-own-external-id-42"


def test_an_organization_cannot_claim_another_accounts_external_id(aws: tuple[Any, Any]) -> None:
    dynamodb, _ = aws
    Registry(dynamodb, "state").register(RegisteredAccount(account_id="333333333333", external_id=ORG_EXTERNAL_ID))
    with pytest.raises(DuplicateExternalIdError):
        Organizations(dynamodb, "state").register(_org("444444444444"))
    assert Organizations(dynamodb, "state").organizations() == []


def test_an_organization_that_cannot_be_read_stops_no_account(aws: tuple[Any, Any]) -> None:
    dynamodb, client = aws
    management = client.describe_organization()["Organization"]["MasterAccountId"]
    registry, orgs = Registry(dynamodb, "state"), Organizations(dynamodb, "state")
    orgs.register(_org(management))
    sync_organizations(orgs, registry, lambda org, arn: client)
    before = registry.accounts()

    def refused(org: RegisteredOrganization, arn: str) -> Any:
        from api_discovery.errors import TargetUnavailableError  # noqa: PLC0415

        raise TargetUnavailableError("assume_role", f"cannot assume {arn}")

    (outcome,) = sync_organizations(orgs, registry, refused)
    assert outcome.result is None and outcome.error and "ApiDiscoveryOrganizationReader" in outcome.error
    assert registry.accounts() == before


def test_list_accounts_reads_every_page(aws: tuple[Any, Any]) -> None:
    _, client = aws
    for i in range(25):  # more than one page of 20
        _create(client, f"bulk-{i}")
    calls: list[int] = []
    client.meta.events.register("before-call.organizations.ListAccounts", lambda **_: calls.append(1))
    listed = list_accounts(client)
    assert len(listed) == 26 and all(a["State"] for a in listed)
    assert len(calls) == 2  # pages of 20, the most ListAccounts returns
