"""AWS Organizations onboarding: a customer's management (or delegated administrator) account is registered
once, and its member accounts are registered from its account list, so new accounts appear at the next plan
and closed or removed ones stop being scanned. The registry stays the single source of truth: a sync only adds
accounts to it and turns its own members on and off; their snapshots and history are never touched.

Every member of an organization is reached with the organization's ExternalId (its StackSet deploys one
template to every account): the organization claims that id once, and its members share the claim. An account
already registered on its own keeps its own registration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api_discovery.errors import DiscoveryError
from api_discovery.store.registry import (
    EXTERNAL_ID,
    REGISTRY_PK,
    DuplicateExternalIdError,
    RegisteredAccount,
    external_id_claim_key,
)
from api_discovery.store.state import from_item, to_item
from api_discovery.targets import ACCOUNT_ID

ORGANIZATIONS_PK = "ORGANIZATIONS"
DEFAULT_READER_ROLE = "ApiDiscoveryOrganizationReader"
# The states ListAccounts reports; only an ACTIVE account is scanned (SUSPENDED, PENDING_CLOSURE, CLOSED are not).
ACTIVE = "ACTIVE"


class RegisteredOrganization(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    management_account_id: str = Field(description="The account whose reader role lists the organization's accounts")
    name: str = ""
    external_id: str = Field(
        description="The organization's: its reader role's and, through its StackSet, every member's"
    )
    reader_role_name: str = DEFAULT_READER_ROLE
    member_role_name: str | None = Field(default=None, description="None: the deployment's customer role name")
    regions: list[str] = Field(default_factory=list, description="Empty: the deployment's default regions")
    forwards_events: bool = False
    enabled: bool = True

    @field_validator("management_account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        if not ACCOUNT_ID.match(value):
            raise ValueError(f"account id must be 12 digits, got {value!r}")
        return value

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, value: str) -> str:
        if not EXTERNAL_ID.match(value):
            raise ValueError("an ExternalId is 2 to 1224 of letters, digits and +=,.@:/-_")
        return value


@dataclass(frozen=True)
class SyncResult:
    organization: str
    listed: int
    added: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  # members scanned again (active again, or back in the list)
    stopped: list[str] = field(default_factory=list)  # members no longer active or no longer listed
    kept_own: list[str] = field(default_factory=list)  # listed accounts registered on their own: left as they are


class OrganizationConflictError(DiscoveryError):
    """The organization's ExternalId is claimed by something else, or the organization changed meanwhile."""


def _org_key(management_account_id: str) -> dict[str, str]:
    return {"pk": ORGANIZATIONS_PK, "sk": f"ORG#{management_account_id}"}


def _account_key(account_id: str) -> dict[str, str]:
    return {"pk": REGISTRY_PK, "sk": f"ACCOUNT#{account_id}"}


class Organizations:
    """The registered organizations, and the member registrations made from their account lists."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def register(self, organization: RegisteredOrganization) -> None:
        """Add or update an organization; its ExternalId is claimed for it (refused when another holds it)."""
        mine = {":org": {"S": organization.management_account_id}}
        claim = {
            **external_id_claim_key(organization.external_id),
            "account_id": organization.management_account_id,
            "organization": organization.management_account_id,
        }
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": to_item(claim),
                            "ConditionExpression": "attribute_not_exists(pk) OR organization = :org",
                            "ExpressionAttributeValues": mine,
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": to_item(
                                {**_org_key(organization.management_account_id), **organization.model_dump()}
                            ),
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            raise DuplicateExternalIdError(organization.management_account_id) from exc

    def organizations(self) -> list[RegisteredOrganization]:
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": ORGANIZATIONS_PK}},
        )
        found = [
            RegisteredOrganization.model_validate({k: v for k, v in from_item(raw).items() if k not in ("pk", "sk")})
            for page in pages
            for raw in page.get("Items", [])
        ]
        return sorted(found, key=lambda o: o.management_account_id)

    def sync(
        self,
        organization: RegisteredOrganization,
        listed: Iterable[dict[str, Any]],
        registered: list[RegisteredAccount],
    ) -> SyncResult:
        """Bring the organization's members in the registry in line with its account list (ListAccounts)."""
        org = organization.management_account_id
        states = {str(a["Id"]): str(a.get("State") or a.get("Status") or "") for a in listed if a.get("Id")}
        active = {a for a, state in states.items() if state == ACTIVE}
        by_id = {a.account_id: a for a in registered}
        result = SyncResult(organization=org, listed=len(states))
        for account_id in sorted(active):
            known = by_id.get(account_id)
            if known is None:
                self._put_member(organization, account_id)
                result.added.append(account_id)
            elif known.organization != org:
                result.kept_own.append(account_id)
            elif not known.enabled:
                self._set_enabled(org, account_id, enabled=True)
                result.resumed.append(account_id)
        for account in registered:
            if account.organization == org and account.enabled and account.account_id not in active:
                self._set_enabled(org, account.account_id, enabled=False)
                result.stopped.append(account.account_id)
        return result

    def _put_member(self, organization: RegisteredOrganization, account_id: str) -> None:
        org = organization.management_account_id
        member = RegisteredAccount(
            account_id=account_id,
            regions=organization.regions,
            role_name=organization.member_role_name,
            external_id=organization.external_id,
            forwards_events=organization.forwards_events,
            organization=org,
        )
        mine = {":org": {"S": org}}
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        # The organization still holds the ExternalId its members use.
                        "ConditionCheck": {
                            "TableName": self.table,
                            "Key": to_item(external_id_claim_key(organization.external_id)),
                            "ConditionExpression": "organization = :org",
                            "ExpressionAttributeValues": mine,
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": to_item({**_account_key(account_id), **member.model_dump()}),
                            # Never over an account registered meanwhile, on its own or by another organization.
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            raise OrganizationConflictError(
                f"{account_id} of organization {org} was not registered: the organization's ExternalId is no longer "
                "its own, or the account was registered meanwhile"
            ) from exc

    def _set_enabled(self, org: str, account_id: str, *, enabled: bool) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=to_item(_account_key(account_id)),
            UpdateExpression="SET enabled = :enabled",
            ConditionExpression="organization = :org",
            ExpressionAttributeValues={":enabled": {"BOOL": enabled}, ":org": {"S": org}},
        )
