"""Plan: validate the request, resolve its targets, and write the manifest the Map reads: one item per account."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from api_discovery.blobs import BlobStore
from api_discovery.errors import InvalidScanRequestError, listing, parse_input, validation_problems
from api_discovery.store.registry import RegisteredAccount
from api_discovery.store.sweep_lease import SweepLease
from api_discovery.targets import (
    DEFAULT_PARTITION,
    AccountTarget,
    Resource,
    global_region,
    is_account_id,
    known_regions,
    partitions_of,
    role_arn,
)

MANIFEST_PREFIX = "manifests/"
# Where finalize records a run (steps.finalize.RUNS_PREFIX, which imports this module): a run id given in a
# request must not be one whose records are already there.
RUN_RECORDS_PREFIX = "runs/"
RUN_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


class ScanRequest(BaseModel):
    """What starts a run: the schedule (everything registered), a request, or an API change event."""

    # Every trigger sends exactly these fields: an unknown one is a mistake (`account` for `accounts` would
    # otherwise widen a request to every account), refused rather than ignored.
    model_config = ConfigDict(extra="forbid")

    source: Literal["schedule", "request", "change", "cli"] = "request"
    accounts: list[str] | None = Field(default=None, description="Left out: every enabled registered account")
    regions: list[str] | None = Field(default=None, description="Left out: each account's regions")
    run_id: str | None = Field(default=None, pattern=RUN_ID_PATTERN, description="Refused if already used")
    requested_at: datetime | None = Field(default=None, description="When the change event happened")
    resources: list[Resource] | None = Field(
        default=None,
        max_length=50,
        description="A change event's targeted rescan: only these, in its one account and region",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_null_lists(cls, data: object) -> object:
        # Only leaving a list out means "all": a null (an event's field that came out empty) is refused.
        if isinstance(data, dict):
            for name in ("accounts", "regions"):
                if name in data and data[name] is None:
                    raise ValueError(f"{name} is null: name at least one, or leave the field out")
        return data

    @field_validator("accounts", "regions")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("must name at least one, or be left out")
        return value

    @model_validator(mode="after")
    def _targeted(self) -> ScanRequest:
        if self.resources is not None:
            one = self.accounts is not None and len(self.accounts) == 1 and self.regions and len(self.regions) == 1
            if self.source != "change" or not one or not self.resources:
                raise ValueError("resources: a change event's rescan names them, in exactly one account and region")
        return self


class PlanSettings(BaseModel):
    default_regions: list[str]
    max_targets: int = Field(default=200_000, ge=1, description="(account, region) pairs one run may scan")
    max_concurrency: int = Field(default=800, ge=1, description="Accounts the Map of a sweep scans at once")
    change_max_concurrency: int = Field(default=10, ge=1, description="Accounts a change-event run scans at once")
    forwarding_sweep_every: int = Field(
        default=1, ge=1, description="A sweep visits an account that forwards its change events every N-th sweep"
    )
    sweep_interval_seconds: int = Field(default=3600, ge=60, description="The schedule's interval: turns of N")


class ManifestRef(BaseModel):
    bucket: str | None = None
    key: str


class PlanResult(BaseModel):
    """The run's state between the workflow's steps: what plan wrote, and where the scan rounds stand."""

    model_config = ConfigDict(extra="ignore")

    run_id: str = Field(pattern=RUN_ID_PATTERN)
    started_at: str
    source: str = "request"
    count: int = Field(description="Accounts in the manifest: the items the next Map round scans")
    targets: int = Field(default=0, description="(account, region) pairs the run scans")
    manifest: ManifestRef | None = Field(description="None when there is nothing to scan")
    max_concurrency: int = 1
    round: int = Field(default=0, description="Map rounds already run; later rounds continue unfinished accounts")
    rounds: list[str] = Field(default_factory=list, description="Each finished round's target results file")
    done: bool = False
    reason: str | None = Field(default=None, description="Why nothing is scanned, when count is 0")


def new_run_id(now: datetime | None = None) -> str:
    """Run ids sort in the order the runs started: history and "the previous run" follow them, and two runs in
    one second must not fall into the order of their random suffix."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{moment}-{secrets.token_hex(4)}"


def parse_request(payload: object) -> ScanRequest:
    return parse_input(ScanRequest, payload, "scan request", InvalidScanRequestError)


def resolve_accounts(
    request: ScanRequest, registered: Sequence[RegisteredAccount], settings: PlanSettings, run_id: str
) -> tuple[int, list[AccountTarget]]:
    """How many (account, region) pairs the request asks for, and one item per account; or a clear error
    naming what is wrong. Items are small (no ExternalId): 10,000 accounts x 17 regions fit a small Lambda."""
    by_id = {a.account_id: a for a in registered if a.enabled}
    if request.accounts is None:
        chosen = list(by_id.values())
    else:
        malformed = [a for a in request.accounts if not is_account_id(a)]
        if malformed:
            raise InvalidScanRequestError(f"malformed account id(s): {listing(malformed)}")
        unknown = [a for a in request.accounts if a not in by_id]
        if unknown:
            raise InvalidScanRequestError(f"account(s) not registered or disabled: {listing(unknown, quoted=False)}")
        chosen = [by_id[a] for a in dict.fromkeys(request.accounts)]
    # The customer role trusts the scanner only with its ExternalId (the confused-deputy guard).
    no_external_id = [a.account_id for a in chosen if a.role_name and not a.external_id]
    if no_external_id:
        listed = listing(no_external_id, quoted=False)
        raise InvalidScanRequestError(f"account(s) registered without an ExternalId: {listed}")
    bad_regions = sorted(set(request.regions or []) - known_regions())
    if bad_regions:
        raise InvalidScanRequestError(f"unknown region(s): {listing(bad_regions)}")
    items = _items(request, chosen, settings, run_id)
    total = sum(len(item.regions) for item in items)
    if total > settings.max_targets:
        raise InvalidScanRequestError(f"{total} targets exceed the limit of {settings.max_targets}")
    if not total:
        raise InvalidScanRequestError("the request resolves to no target: no enabled account is registered")
    # Accounts with the most regions first: the longest scans start early, and the Map's tail stays short.
    items.sort(key=lambda item: -len(item.regions))
    return total, items


def _items(
    request: ScanRequest, chosen: Sequence[RegisteredAccount], settings: PlanSettings, run_id: str
) -> list[AccountTarget]:
    """One Map item per account. An account lives in one partition, the one its own regions (or the default
    ones) are in: its role is named in it, and a request for regions of another partition is refused."""
    items, refused = [], []
    for account in chosen:
        home = account.regions or settings.default_regions
        regions = list(dict.fromkeys(request.regions or home))
        partitions = partitions_of(home) | partitions_of(regions)
        if len(partitions) > 1:
            refused.append(f"{account.account_id} (regions in {' and '.join(sorted(partitions))})")
            continue
        partition = next(iter(partitions), DEFAULT_PARTITION)
        try:
            items.append(
                AccountTarget(
                    run_id=run_id,
                    account_id=account.account_id,
                    regions=regions,
                    role_arn=role_arn(account.account_id, account.role_name, partition) if account.role_name else None,
                    resources=request.resources,
                    # A sweep of an account whose events announce each change: whatever it finds was missed.
                    drift=account.forwards_events and request.source == "schedule",
                    global_region=global_region(home),
                )
            )
        except ValidationError as exc:
            refused.append(f"{account.account_id} ({validation_problems(exc, limit=1)})")
    if refused:
        raise InvalidScanRequestError(f"account(s) that cannot be scanned: {listing(refused, quoted=False, width=200)}")
    return items


def _refuse_reused(blobs: BlobStore, run_id: str) -> None:
    """A run id from the request is refused once anything of that run is stored: its manifest, rounds or
    record would be overwritten, and the stored run would no longer be what ran."""
    prefixes = [
        f"{prefix}run={run_id}{end}" for prefix in (MANIFEST_PREFIX, RUN_RECORDS_PREFIX) for end in (".json", "/")
    ]
    if any(blobs.keys(prefix) for prefix in prefixes):
        raise InvalidScanRequestError(f"run id {run_id!r} is already used: leave it out for a new one")


def plan(
    request: ScanRequest,
    *,
    registered: Sequence[RegisteredAccount],
    settings: PlanSettings,
    blobs: BlobStore,
    bucket: str | None = None,
    now: datetime | None = None,
    lease: SweepLease | None = None,
) -> PlanResult:
    """Validate, resolve targets, write the manifest. Nothing is written for a bad request. A scheduled sweep
    plans nothing while the previous one still runs. (Bursts of change events are collapsed before they get
    here: steps/changes.py.)"""
    run_id = request.run_id or new_run_id(now)
    started = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    change = request.source == "change"
    concurrency = settings.change_max_concurrency if change else settings.max_concurrency

    def nothing(reason: str) -> PlanResult:
        return PlanResult(
            run_id=run_id,
            started_at=started,
            source=request.source,
            count=0,
            manifest=None,
            max_concurrency=concurrency,
            reason=reason,
        )

    if request.source == "schedule" and settings.forwarding_sweep_every > 1:
        registered = on_turn(registered, settings, now or datetime.now(UTC))
        if not any(a.enabled for a in registered):
            return nothing("every account forwards its change events, and none has its turn in this sweep")
    total, items = resolve_accounts(request, registered, settings, run_id)
    if request.run_id:
        _refuse_reused(blobs, request.run_id)  # before the first write: the lease, the manifest
    if lease and request.source == "schedule":
        holder = lease.take(run_id, now)
        if holder != run_id:
            return nothing(f"the previous sweep {holder} is still running")
    key = f"{MANIFEST_PREFIX}run={run_id}.json"
    try:
        blobs.put(key, json_array(items))
    except Exception:
        if lease and request.source == "schedule":
            lease.release(run_id)
        raise
    return PlanResult(
        run_id=run_id,
        started_at=started,
        source=request.source,
        count=len(items),
        targets=total,
        manifest=ManifestRef(bucket=bucket, key=key),
        max_concurrency=concurrency,
    )


def on_turn(registered: Sequence[RegisteredAccount], settings: PlanSettings, now: datetime) -> list[RegisteredAccount]:
    """The accounts this sweep visits: all that do not forward their change events, and the share of those that
    do whose turn it is. Turns follow the account id, so each is visited once every N sweeps, and the visits
    spread evenly over the N: no sweep carries them all."""
    every = settings.forwarding_sweep_every
    turn = int(now.timestamp() // settings.sweep_interval_seconds) % every
    return [a for a in registered if not a.forwards_events or _turn_of(a.account_id, every) == turn]


def _turn_of(account_id: str, every: int) -> int:
    return int(hashlib.sha256(account_id.encode()).hexdigest()[:8], 16) % every


def json_array(items: Iterable[BaseModel]) -> bytes:
    """A manifest written one item at a time: only its bytes are ever held, never a second copy as a list."""
    out = io.BytesIO()
    out.write(b"[")
    for i, item in enumerate(items):
        if i:
            out.write(b",")
        out.write(item.model_dump_json(exclude_none=True).encode())
    out.write(b"]")
    return out.getvalue()


def read_manifest(blobs: BlobStore, key: str) -> list[AccountTarget]:
    return [AccountTarget.model_validate(item) for item in json.loads(blobs.get(key))]
