"""A target is one (account, region); how to reach it is part of it. The Map's item is one account and its
regions, scanned by one invocation."""

from __future__ import annotations

import re
import threading
from functools import cache

import boto3
from pydantic import BaseModel, ConfigDict, Field, field_validator

ACCOUNT_ID = re.compile(r"^\d{12}$")


_REGIONS_LOCK = threading.Lock()


def known_regions() -> frozenset[str]:
    """Every region botocore knows for API Gateway, in every partition."""
    # An account's regions ask at once on a cold start: without the lock each thread would load botocore's
    # endpoint data itself, seconds of CPU in the first invocation of every environment.
    with _REGIONS_LOCK:
        return _load_regions()


@cache
def _load_regions() -> frozenset[str]:
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

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        return _account_id(value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return _region_name(value)

    @property
    def label(self) -> str:
        return f"{self.account_id}/{self.region}"


class AccountTarget(BaseModel):
    """One Map item: a customer account and the regions one invocation scans in it. It carries no secret: the
    scan reads the account's ExternalId from the registry, so no execution history or log ever holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    account_id: str
    regions: list[str] = Field(min_length=1, description="On a continuation: the regions still to finish")
    role_arn: str | None = None
    continuation: str | None = Field(default=None, description="Progress key of an earlier invocation")

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        return _account_id(value)

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(_region_name(r) for r in value))

    def target(self, region: str, external_id: str | None) -> Target:
        return Target(
            run_id=self.run_id,
            account_id=self.account_id,
            region=region,
            role_arn=self.role_arn,
            external_id=external_id,
        )


def _account_id(value: str) -> str:
    if not ACCOUNT_ID.match(value):
        raise ValueError(f"account id must be 12 digits, got {value!r}")
    return value


def _region_name(value: str) -> str:
    if not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", value):
        raise ValueError(f"not a region name: {value!r}")
    return value
