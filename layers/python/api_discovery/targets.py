"""A target is one (account, region); how to reach it is part of it. The Map's item is one account and its
regions, scanned by one invocation."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache
from typing import Literal

import boto3
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api_discovery.errors import shorten

# Exactly twelve ASCII digits, to the very end: `\d` also takes other scripts' digits, and `$` a final newline.
# Anchored both ways so that `match`, `search` and `fullmatch` all mean the same.
ACCOUNT_ID = re.compile(r"\A[0-9]{12}\Z")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")
# An IAM role ARN: its partition, its account, and a path and name of IAM's characters.
_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws(-[a-z]+)*):iam::(?P<account>[0-9]{12}):role/[\w+=,.@/-]{1,576}", re.ASCII
)
DEFAULT_PARTITION = "aws"
CLOUDFRONT_PARTITIONS = frozenset({"aws", "aws-cn"})  # AWS GovCloud (US) has no CloudFront

_REGIONS_LOCK = threading.Lock()


def known_regions() -> frozenset[str]:
    """Every region botocore knows for API Gateway, in every partition."""
    return frozenset(_partitions())


def partition_of(region: str) -> str | None:
    """The partition a known region is in (`aws`, `aws-cn`, `aws-us-gov` ...); None for a region botocore does
    not know, which the scan reports as a failed target of its own."""
    return _partitions().get(region)


def partitions_of(regions: Iterable[str]) -> set[str]:
    """The partitions of the known regions among these."""
    known = _partitions()
    return {known[r] for r in regions if r in known}


def _partitions() -> dict[str, str]:
    # An account's regions ask at once on a cold start: without the lock each thread would load botocore's
    # endpoint data itself, seconds of CPU in the first invocation of every environment.
    with _REGIONS_LOCK:
        return _load_regions()


@cache
def _load_regions() -> dict[str, str]:
    session = boto3.Session()
    return {
        region: partition
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("apigateway", partition_name=partition)
    }


def is_account_id(value: object) -> bool:
    return isinstance(value, str) and ACCOUNT_ID.fullmatch(value) is not None


def role_arn(account_id: str, role_name: str, partition: str = DEFAULT_PARTITION) -> str:
    """The ARN of a customer's role, in the partition its account lives in."""
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


class Target(BaseModel):
    """One manifest item: a (account, region) and the role to reach it (None: the caller's own credentials)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    account_id: str
    region: str
    role_arn: str | None = None
    external_id: str | None = Field(default=None, min_length=2, max_length=1224)
    global_services: bool = Field(default=False, description="Also read the account's global services (CloudFront)")

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        return _account_id(value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return _region_name(value)

    @model_validator(mode="after")
    def _reachable(self) -> Target:
        _check_reach(self.account_id, [self.region], self.role_arn)
        return self

    @property
    def label(self) -> str:
        return f"{self.account_id}/{self.region}"


ResourceKind = Literal["rest_api", "v2_api", "domain", "usage_plans", "vpc_links"]


class Resource(BaseModel):
    """What one change event names in a region: an API, a custom domain, or a region-wide list (usage plans, VPC
    links, which have no id here). A targeted rescan reads just that."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ResourceKind
    # API ids are 10 lowercase characters; a domain name has dots and may start with a wildcard.
    id: str = Field(default="", max_length=253, pattern=r"^[A-Za-z0-9*][A-Za-z0-9._-]*$|^$")

    @property
    def key(self) -> str:
        return f"{self.kind}#{self.id}" if self.id else self.kind


class AccountTarget(BaseModel):
    """One Map item: a customer account and the regions one invocation scans in it. It carries no secret: the
    scan reads the account's ExternalId from the registry, so no execution history or log ever holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    account_id: str
    regions: list[str] = Field(min_length=1, description="On a continuation: the regions still to finish")
    role_arn: str | None = None
    continuation: str | None = Field(default=None, description="Progress key of an earlier invocation")
    resources: list[Resource] | None = Field(
        default=None, max_length=50, description="A targeted rescan of these only, in the one region named"
    )
    drift: bool = Field(default=False, description="A sweep of an account that forwards its change events")
    global_region: str | None = Field(
        default=None, description="The region whose scan also reads the account's global services (CloudFront)"
    )

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        return _account_id(value)

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(_region_name(r) for r in value))

    @model_validator(mode="after")
    def _reachable(self) -> AccountTarget:
        _check_reach(self.account_id, self.regions, self.role_arn)
        if self.resources is not None and (len(self.regions) != 1 or not self.resources):
            raise ValueError("a targeted rescan names one region and at least one resource")
        return self

    def target(self, region: str, external_id: str | None) -> Target:
        return Target(
            run_id=self.run_id,
            account_id=self.account_id,
            region=region,
            role_arn=self.role_arn,
            external_id=external_id,
            global_services=region == self.global_region and self.resources is None,
        )


def global_region(regions: Iterable[str]) -> str | None:
    """The region whose scan reads an account's global services: us-east-1, CloudFront's home, where the account
    is scanned there, or else the first of its regions. The same for every sweep of the same regions, so a
    distribution never moves between snapshots."""
    chosen = sorted(regions)
    if not partitions_of(chosen) & CLOUDFRONT_PARTITIONS:
        return None
    return "us-east-1" if "us-east-1" in chosen else next(iter(chosen), None)


def _account_id(value: str) -> str:
    if not is_account_id(value):
        raise ValueError(f"account id must be 12 digits, got {_short(value)}")
    return value


def _region_name(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise ValueError(f"not a region name: {_short(value)}")
    return value


def _check_reach(account_id: str, regions: Iterable[str], arn: str | None) -> None:
    """An account lives in one partition: its regions are all of it, and its role is its own, in it. A role of
    another account, or one whose partition its regions are not in, is never assumed for this target."""
    partitions = partitions_of(regions)
    if len(partitions) > 1:
        raise ValueError(f"regions of more than one partition ({', '.join(sorted(partitions))}) in one account")
    if arn is None:
        return
    parsed = _ROLE_ARN.fullmatch(arn)
    if parsed is None:
        raise ValueError(f"not an IAM role ARN: {_short(arn)}")
    if parsed["account"] != account_id:
        raise ValueError(f"the role {_short(arn)} is in account {parsed['account']}, not in {account_id}")
    if parsed["partition"] not in _partitions().values():
        raise ValueError(f"the role {_short(arn)} names no AWS partition")
    if partitions and parsed["partition"] not in partitions:
        raise ValueError(
            f"the role {_short(arn)} is in partition {parsed['partition']}, the regions are in {partitions.pop()}"
        )


def _short(value: str) -> str:
    return shorten(value, 80)
