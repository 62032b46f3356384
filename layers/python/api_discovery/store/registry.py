"""The registry of customer accounts the vendor scans, in the same DynamoDB table.

Each account's ExternalId is its own: registration generates one when none is given and refuses one that
another account already uses. Uniqueness is kept by a claim item per ExternalId, written in the same
transaction as the account; the claim's key holds a SHA-256 of the ExternalId, never the ExternalId itself.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api_discovery.errors import DiscoveryError
from api_discovery.store.state import from_item, to_item
from api_discovery.targets import ACCOUNT_ID

REGISTRY_PK = "REGISTRY"
EXTERNAL_ID_CLAIM_PREFIX = "EXTERNALID#"
EXTERNAL_ID_CLAIM_SK = "CLAIM"
# What sts:AssumeRole accepts as an ExternalId: 2 to 1224 of these ASCII characters.
EXTERNAL_ID = re.compile(r"\A[\w+=,.@:/-]{2,1224}\Z", re.ASCII)
# 32 random bytes: 43 URL-safe characters ([A-Za-z0-9_-], all within AWS's set), far beyond guessing.
GENERATED_EXTERNAL_ID_BYTES = 32


class DuplicateExternalIdError(DiscoveryError):
    """The ExternalId is already registered for another account: it would no longer tell customers apart."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        super().__init__(
            f"refused to register {account_id}: its ExternalId is already used by another account "
            "(each customer needs its own; leave it out to have one generated)"
        )


class ConcurrentRegistrationError(DiscoveryError):
    """The account's registration changed while this one was being written; nothing was written."""


class RegisteredAccount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str
    name: str = ""
    regions: list[str] = Field(default_factory=list, description="Empty: the deployment's default regions")
    role_name: str | None = Field(default=None, description="None: the caller's own credentials")
    external_id: str | None = None
    enabled: bool = True
    # Its API Gateway change events reach the discovery bus: targeted rescans keep it fresh, and the
    # scheduled sweep needs to visit it only every so often (PlanSettings.forwarding_sweep_every).
    forwards_events: bool = False
    # Registered from an organization's account list (store/organizations.py): its management account.
    organization: str | None = None

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        if not ACCOUNT_ID.match(value):
            raise ValueError(f"account id must be 12 digits, got {value!r}")
        return value


@dataclass(frozen=True)
class Registration:
    """An account as registered; `generated` when its ExternalId was made just now, to be shown to the
    customer this once (it is not printed again)."""

    account: RegisteredAccount
    generated: bool


def new_external_id() -> str:
    return secrets.token_urlsafe(GENERATED_EXTERNAL_ID_BYTES)


def external_id_claim_key(external_id: str) -> dict[str, str]:
    """The claim item's key: a hash, so that no key (in the table, its backups or its metrics) holds the id."""
    digest = hashlib.sha256(external_id.encode()).hexdigest()
    return {"pk": f"{EXTERNAL_ID_CLAIM_PREFIX}{digest}", "sk": EXTERNAL_ID_CLAIM_SK}


def _account_key(account_id: str) -> dict[str, str]:
    return {"pk": REGISTRY_PK, "sk": f"ACCOUNT#{account_id}"}


class Registry:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def register(self, account: RegisteredAccount) -> Registration:
        """Add or update an account. Without an ExternalId it keeps the one it has, or gets a new one; an
        ExternalId another account holds is refused (DuplicateExternalIdError) and nothing is written."""
        previous = self.external_id(account.account_id, consistent=True)
        generated = False
        if not account.external_id:
            generated = previous is None
            account = account.model_copy(update={"external_id": previous or new_external_id()})
        external_id = str(account.external_id)
        if not EXTERNAL_ID.match(external_id):
            raise ValueError("an ExternalId is 2 to 1224 of letters, digits and +=,.@:/-_")
        try:
            self.client.transact_write_items(TransactItems=self._writes(account, external_id, previous))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise DuplicateExternalIdError(account.account_id) from exc
            raise ConcurrentRegistrationError(
                f"the registration of {account.account_id} changed while it was written; nothing was written, try again"
            ) from exc
        return Registration(account=account, generated=generated)

    # The former name: every write of an account goes through the same checks.
    put = register

    def _writes(self, account: RegisteredAccount, external_id: str, previous: str | None) -> list[dict[str, Any]]:
        me = {":account": {"S": account.account_id}}
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item({**external_id_claim_key(external_id), "account_id": account.account_id}),
                    # Free, or already this account's: a re-registration keeps its own id.
                    "ConditionExpression": "attribute_not_exists(pk) OR account_id = :account",
                    "ExpressionAttributeValues": me,
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item({**_account_key(account.account_id), **account.model_dump()}),
                    # Still holding the ExternalId read above: the claim released below is really this account's.
                    **(
                        {
                            "ConditionExpression": "external_id = :previous",
                            "ExpressionAttributeValues": {":previous": {"S": previous}},
                        }
                        if previous
                        else {"ConditionExpression": "attribute_not_exists(external_id)"}
                    ),
                }
            },
        ]
        if previous and previous != external_id:
            # The old id is released: it is this account's no longer.
            writes.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": to_item(external_id_claim_key(previous)),
                        "ConditionExpression": "attribute_not_exists(pk) OR account_id = :account",
                        "ExpressionAttributeValues": me,
                    }
                }
            )
        return writes

    def external_id(self, account_id: str, *, consistent: bool = False) -> str | None:
        """One account's ExternalId, read by the scan that needs it, so that it never travels in the workflow.
        Only that attribute is asked for: the scan role may read nothing else of the registry."""
        item = self.client.get_item(
            TableName=self.table,
            Key=to_item(_account_key(account_id)),
            ProjectionExpression="external_id",
            ConsistentRead=consistent,
        ).get("Item")
        value = from_item(item).get("external_id") if item else None
        return str(value) if value else None

    def accounts(self) -> list[RegisteredAccount]:
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": REGISTRY_PK}},
        )
        found = []
        for page in pages:
            for raw in page.get("Items", []):
                values = from_item(raw)
                found.append(
                    RegisteredAccount.model_validate({k: v for k, v in values.items() if k not in ("pk", "sk")})
                )
        return sorted(found, key=lambda a: a.account_id)


def with_default_role(accounts: list[RegisteredAccount], role_name: str) -> list[RegisteredAccount]:
    """In the vendor's deployment every customer is reached through a role: the configured one by default."""
    return [a if a.role_name else a.model_copy(update={"role_name": role_name}) for a in accounts]
