"""The Lambdas' configuration, validated once at cold start from their environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from pydantic import BaseModel, Field, ValidationError, field_validator

from api_discovery.errors import DiscoveryError


class LambdaSettings(BaseModel):
    table_name: str = Field(min_length=3)
    bucket_name: str = Field(min_length=3)
    role_name: str = Field(default="ApiDiscoveryReadOnly", min_length=1)
    default_regions: list[str] = Field(default_factory=lambda: ["us-east-1"])
    max_targets: int = Field(default=200_000, ge=1)
    max_concurrency: int = Field(default=800, ge=1, description="Accounts a sweep's scan Map scans at once")
    change_max_concurrency: int = Field(default=10, ge=1, description="Accounts a change-event run scans at once")
    max_rounds: int = Field(default=8, ge=1, description="Map rounds before an unfinished account fails")
    sweep_lease_seconds: int = Field(default=7200, ge=60, description="How long a sweep holds its lease at most")
    event_bus_name: str | None = None
    openapi_exports: bool = False
    quota_share: float = Field(default=0.6, gt=0, le=1, description="Share of a customer's API Gateway quota")
    change_queue_url: str | None = None
    state_machine_arn: str | None = None
    change_quiet_seconds: int = Field(default=25, ge=1, le=900, description="SQS delays a message 900 s at most")
    change_bound_seconds: int = Field(default=90, ge=1)
    forwarding_sweep_every: int = Field(default=1, ge=1)
    sweep_interval_seconds: int = Field(default=3600, ge=60)

    @field_validator("default_regions", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [r.strip() for r in value.split(",") if r.strip()]
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LambdaSettings:
        env = os.environ if env is None else env
        names = {
            "table_name": "TABLE_NAME",
            "bucket_name": "BUCKET_NAME",
            "role_name": "ROLE_NAME",
            "default_regions": "DEFAULT_REGIONS",
            "max_targets": "MAX_TARGETS",
            "max_concurrency": "MAX_CONCURRENCY",
            "change_max_concurrency": "CHANGE_MAX_CONCURRENCY",
            "max_rounds": "MAX_ROUNDS",
            "sweep_lease_seconds": "SWEEP_LEASE_SECONDS",
            "event_bus_name": "EVENT_BUS_NAME",
            "openapi_exports": "OPENAPI_EXPORTS",
            "quota_share": "QUOTA_SHARE",
            "change_queue_url": "CHANGE_QUEUE_URL",
            "state_machine_arn": "STATE_MACHINE_ARN",
            "change_quiet_seconds": "CHANGE_QUIET_SECONDS",
            "change_bound_seconds": "CHANGE_BOUND_SECONDS",
            "forwarding_sweep_every": "FORWARDING_SWEEP_EVERY",
            "sweep_interval_seconds": "SWEEP_INTERVAL_SECONDS",
        }
        try:
            return cls.model_validate({field: env[var] for field, var in names.items() if env.get(var)})
        except ValidationError as exc:
            raise DiscoveryError(f"Lambda environment is not valid: {exc}") from exc


@dataclass(frozen=True)
class AwsClients:
    """The vendor-side clients a handler uses; tests pass their own."""

    s3: Any
    dynamodb: Any
    events: Any


@cache
def default_clients() -> AwsClients:
    """Made on first use rather than at import, and reused across warm invocations."""
    return AwsClients(s3=boto3.client("s3"), dynamodb=boto3.client("dynamodb"), events=boto3.client("events"))
