"""Deployment settings read from the CDK context (`cdk.json` or `cdk synth -c key=value`).

Every value is validated at synth time so that a typo fails `cdk synth` with a message naming the
context key, instead of failing a CloudFormation deployment twenty minutes later.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, Literal

import boto3
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557)

_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)\Z", re.ASCII)
_CRON = re.compile(r"^cron\((?P<body>[^()]+)\)\Z")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# \Z, not $ (which also takes a final newline), and ASCII classes (\d and \w also take other scripts'):
# every name and id here ends up in a template, an ARN or an API call that would refuse or misread it.
_IAM_NAME = re.compile(r"^[\w+=,.@-]{1,64}\Z", re.ASCII)
_BUS_NAME = re.compile(r"^[A-Za-z0-9._\-/]{1,256}\Z", re.ASCII)
_ACCOUNT_ID = re.compile(r"^\d{12}\Z", re.ASCII)
_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}\Z", re.ASCII)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
# Lambda keeps 100 of an account's default 1000 concurrent executions unreserved; 900 is the most one
# function may reserve there.
MAX_RESERVED_CONCURRENCY = 900
_RATE_HOURS = {"minute": 1 / 60, "hour": 1, "day": 24}
# A run that has not ended by then is stopped; it also bounds how late a sweep can complete.
WORKFLOW_TIMEOUT_HOURS = 2


class ConfigError(ValueError):
    """The CDK context does not describe a deployable configuration."""


@cache
def known_regions() -> frozenset[str]:
    """Commercial regions where API Gateway exists, from botocore's bundled endpoint data (no network)."""
    return frozenset(boto3.session.Session().get_available_regions("apigateway"))


def _split_csv(value: Any) -> Any:
    # `-c regions=us-east-1,eu-west-1` arrives as one string; cdk.json gives a JSON list.
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _empty_to_none(value: Any) -> Any:
    return None if value in ("", "null", "none") else value


CsvList = Annotated[list[str], BeforeValidator(_split_csv)]


def _field_value(token: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if token.upper() in names:
        return names.index(token.upper()) + low
    if not token.isdigit():
        raise ValueError(f"{token!r} is not a number")
    number = int(token)
    if not low <= number <= high:
        raise ValueError(f"{number} is outside {low}-{high}")
    return number


def _check_cron_item(item: str, low: int, high: int, names: tuple[str, ...], special: str) -> None:
    if item == "*":
        return
    if "L" in special and (item in ("L", "LW") or re.fullmatch(r"\d+L", item)):
        return
    if "W" in special and re.fullmatch(r"\d+W", item):
        _field_value(item[:-1], low, high, names)
        return
    if "#" in special and "#" in item:
        day, _, nth = item.partition("#")
        _field_value(day, low, high, names)
        _field_value(nth, 1, 5, ())
        return
    base, slash, step = item.partition("/")
    if slash:
        _field_value(step, 1, high, ())
    if base == "*" and slash:
        return
    start, dash, end = base.partition("-")
    first = _field_value(start, low, high, names)
    if dash and _field_value(end, low, high, names) < first:
        raise ValueError(f"range {base!r} runs backwards")


def validate_cron(body: str) -> None:
    """Check the six fields of an EventBridge Scheduler cron expression."""
    fields = body.split()
    if len(fields) != 6:
        raise ValueError(f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}")
    specs: tuple[tuple[str, int, int, tuple[str, ...], str], ...] = (
        ("minutes", 0, 59, (), ""),
        ("hours", 0, 23, (), ""),
        ("day-of-month", 1, 31, (), "LW"),
        ("month", 1, 12, _MONTHS, ""),
        ("day-of-week", 1, 7, _DAYS, "L#"),
        ("year", 1970, 2199, (), ""),
    )
    for value, (name, low, high, names, special) in zip(fields, specs, strict=True):
        if value == "?":
            if name not in ("day-of-month", "day-of-week"):
                raise ValueError(f"'?' is only allowed in day-of-month or day-of-week, not in {name}")
            continue
        for item in value.split(","):
            try:
                _check_cron_item(item, low, high, names, special)
            except ValueError as exc:
                raise ValueError(f"{name} field {value!r}: {exc}") from exc
    if (fields[2] == "?") == (fields[4] == "?"):
        raise ValueError("exactly one of day-of-month and day-of-week must be '?'")


def validate_schedule_expression(expression: str) -> str:
    """Accept `rate(...)` or `cron(...)`; one-time `at(...)` schedules make no sense for a recurring scan."""
    expression = expression.strip()
    if rate := _RATE.match(expression):
        value, unit = int(rate["value"]), rate["unit"]
        if value < 1:
            raise ValueError("a rate must be at least 1")
        if (value == 1) != (not unit.endswith("s")):
            raise ValueError(f"write 'rate(1 {unit.rstrip('s')})' for one unit and a plural unit otherwise")
        return expression
    if cron := _CRON.match(expression):
        validate_cron(cron["body"])
        return expression
    raise ValueError(
        f"{expression!r} is neither 'rate(<n> minutes|hours|days)' nor "
        "'cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)'"
    )


def schedule_hours(expression: str) -> float | None:
    """The interval of a `rate(...)` schedule in hours; None for a cron, whose gaps vary."""
    rate = _RATE.match(expression)
    if rate is None:
        return None
    return int(rate["value"]) * _RATE_HOURS[rate["unit"].rstrip("s")]


class DiscoveryConfig(BaseModel):
    """Every setting of the vendor deployment, with the defaults shipped in `cdk.json`."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    schedule_expression: str = "rate(6 hours)"
    schedule_time_zone: str = "UTC"
    regions: CsvList = Field(
        default_factory=lambda: ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"],
        min_length=1,
    )
    customer_role_name: str = "ApiDiscoveryReadOnly"
    scanner_role_name: str = "ApiDiscoveryScanner"
    # Accounts scanned at once by a sweep (schedule or request), and by a change-event run.
    map_max_concurrency: int = Field(default=800, ge=1, le=MAX_RESERVED_CONCURRENCY)
    change_max_concurrency: int = Field(default=10, ge=1, le=MAX_RESERVED_CONCURRENCY)
    # Publish batches sent at once.
    publish_max_concurrency: int = Field(default=50, ge=1, le=1000)
    scan_reserved_concurrency: int = Field(default=850, ge=1, le=MAX_RESERVED_CONCURRENCY)
    tolerated_failure_percentage: float = Field(default=20, ge=0, le=100)
    max_targets: int = Field(default=200_000, ge=1, le=1_000_000)
    event_bus_name: str = "api-discovery"
    source_account_ids: CsvList = Field(default_factory=list)
    organization_id: Annotated[str | None, BeforeValidator(_empty_to_none)] = None
    alarm_email: Annotated[str | None, BeforeValidator(_empty_to_none)] = None
    # Failed targets, as a percentage of the targets scanned in an hour, that raise the alarm.
    target_failure_rate_alarm_percent: float = Field(default=5, gt=0, le=100)
    # Hours without a completed run after which the alarm rings (hourly periods: CloudWatch evaluates at most
    # seven days of them).
    sweep_alarm_hours: int = Field(default=8, ge=1, le=7 * 24)
    snapshot_retention_days: int = Field(default=400, ge=30, le=3650)
    scratch_retention_days: int = Field(default=30, ge=1, le=365)
    log_retention_days: int = 90
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    workflow_log_level: Literal["OFF", "ERROR", "FATAL", "ALL"] = "ERROR"
    powertools_layer_version: int = Field(default=27, ge=1)
    openapi_exports: bool = False
    # The share of each customer account's API Gateway quota a scan may spend; the rest is the customer's own.
    quota_share: float = Field(default=0.6, gt=0, le=1)
    # Change events of one resource collapse into one targeted rescan once this many seconds pass without
    # another, or at the bound after the burst's first event, however busy the resource stays.
    change_quiet_seconds: int = Field(default=25, ge=1, le=900)
    change_bound_seconds: int = Field(default=90, ge=1, le=3600)
    # An account registered as forwarding its change events is kept fresh by them; the schedule sweeps it
    # this often only, to catch what a lost event missed (reported as drift). Rounded to whole sweeps.
    forwarding_sweep_hours: int = Field(default=24, ge=1, le=31 * 24)

    @property
    def sweep_interval_seconds(self) -> int:
        hours = schedule_hours(self.schedule_expression)
        return int(hours * 3600) if hours else 3600

    @property
    def forwarding_sweep_every(self) -> int:
        """Every how many sweeps a forwarding account is visited: 1 for a cron schedule, whose gaps vary."""
        hours = schedule_hours(self.schedule_expression)
        return max(1, round(self.forwarding_sweep_hours / hours)) if hours else 1

    @field_validator("schedule_expression")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return validate_schedule_expression(value)

    @model_validator(mode="after")
    def _quiet_within_bound(self) -> DiscoveryConfig:
        if self.change_quiet_seconds > self.change_bound_seconds:
            raise ValueError(
                f"change_quiet_seconds ({self.change_quiet_seconds}) must not exceed change_bound_seconds "
                f"({self.change_bound_seconds})"
            )
        return self

    @field_validator("schedule_time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone such as 'UTC' or 'Europe/Paris'") from exc
        return value

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        unknown = [region for region in value if region not in known_regions()]
        if unknown:
            raise ValueError(f"unknown region(s) {', '.join(unknown)}; expected names like 'us-east-1'")
        if len(set(value)) != len(value):
            raise ValueError("regions are listed more than once")
        return value

    @field_validator("customer_role_name", "scanner_role_name")
    @classmethod
    def _iam_name(cls, value: str) -> str:
        if not _IAM_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid IAM role name (1-64 of letters, digits, +=,.@_-)")
        return value

    @field_validator("event_bus_name")
    @classmethod
    def _bus_name(cls, value: str) -> str:
        if value == "default" or not _BUS_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid custom event bus name")
        return value

    @field_validator("source_account_ids")
    @classmethod
    def _accounts(cls, value: list[str]) -> list[str]:
        bad = [account for account in value if not _ACCOUNT_ID.match(account)]
        if bad:
            raise ValueError(f"account ids must be 12 digits: {', '.join(bad)}")
        return value

    @field_validator("organization_id")
    @classmethod
    def _organization(cls, value: str | None) -> str | None:
        if value is not None and not _ORG_ID.match(value):
            raise ValueError(f"{value!r} is not an AWS Organizations id such as 'o-a1b2c3d4e5'")
        return value

    @field_validator("alarm_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))} days")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DiscoveryConfig:
        reserved = self.scan_reserved_concurrency
        for key in ("map_max_concurrency", "change_max_concurrency"):
            if getattr(self, key) > reserved:
                raise ValueError(
                    f"{key} ({getattr(self, key)}) exceeds scan_reserved_concurrency ({reserved}): the map would "
                    "start more scans than the scan function may run, and the rest would be throttled"
                )
        every = schedule_hours(self.schedule_expression)
        if every is not None and self.sweep_alarm_hours < every + WORKFLOW_TIMEOUT_HOURS:
            raise ValueError(
                f"sweep_alarm_hours ({self.sweep_alarm_hours}) must be at least the schedule's interval "
                f"({every:g} hours) plus the workflow timeout ({WORKFLOW_TIMEOUT_HOURS} hours), or the alarm "
                "rings between two healthy sweeps"
            )
        return self

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> DiscoveryConfig:
        """Build from context values, raising `ConfigError` that names each offending key."""
        known = {key: context[key] for key in cls.model_fields if context.get(key) is not None}
        try:
            return cls.model_validate(known)
        except ValidationError as exc:
            raise ConfigError(format_errors(exc)) from exc


def format_errors(exc: ValidationError) -> str:
    lines = ["Invalid CDK context (cdk.json 'context' or 'cdk synth -c key=value'):"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        # A check across settings names its keys in the message; its input is the whole context.
        lines.append(f"  - {key}: {message} (got {error['input']!r})" if key else f"  - {message}")
    return "\n".join(lines)
