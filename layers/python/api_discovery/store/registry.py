"""The registry of customer accounts the vendor scans, in the same DynamoDB table."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api_discovery.store.state import from_item, to_item
from api_discovery.targets import ACCOUNT_ID

REGISTRY_PK = "REGISTRY"


class RegisteredAccount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str
    name: str = ""
    regions: list[str] = Field(default_factory=list, description="Empty: the deployment's default regions")
    role_name: str | None = Field(default=None, description="None: the caller's own credentials")
    external_id: str | None = None
    enabled: bool = True

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        if not ACCOUNT_ID.match(value):
            raise ValueError(f"account id must be 12 digits, got {value!r}")
        return value


class Registry:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def put(self, account: RegisteredAccount) -> None:
        item = {"pk": REGISTRY_PK, "sk": f"ACCOUNT#{account.account_id}", **account.model_dump()}
        self.client.put_item(TableName=self.table, Item=to_item(item))

    def external_id(self, account_id: str) -> str | None:
        """One account's ExternalId, read by the scan that needs it, so that it never travels in the workflow."""
        item = self.client.get_item(
            TableName=self.table,
            Key=to_item({"pk": REGISTRY_PK, "sk": f"ACCOUNT#{account_id}"}),
            ProjectionExpression="external_id",
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
