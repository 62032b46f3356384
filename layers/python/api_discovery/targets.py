"""A target is one (account, region); how to reach it is part of it."""

from __future__ import annotations

import re
from functools import cache

import boto3
from pydantic import BaseModel, ConfigDict, Field, field_validator

ACCOUNT_ID = re.compile(r"^\d{12}$")


@cache
def known_regions() -> frozenset[str]:
    """Every region botocore knows for API Gateway, in every partition."""
    session = boto3.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("apigateway", partition_name=partition)
    )


class Target(BaseModel):
    """One manifest item: a (account, region) and the role to reach it (None: the caller's own credentials)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    account_id: str
    region: str
    role_arn: str | None = None
    external_id: str | None = Field(default=None, min_length=2, max_length=1224)
    budget_share: float = Field(default=1.0, gt=0, le=1, description="Share of the account's call budget")

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        if not ACCOUNT_ID.match(value):
            raise ValueError(f"account id must be 12 digits, got {value!r}")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", value):
            raise ValueError(f"not a region name: {value!r}")
        return value

    @property
    def label(self) -> str:
        return f"{self.account_id}/{self.region}"
