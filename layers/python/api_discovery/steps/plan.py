"""Plan: validate the request, resolve its targets, and write the manifest the Map reads: one item per account."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import groupby
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from api_discovery.blobs import BlobStore
from api_discovery.collect.session import role_arn
from api_discovery.errors import InvalidScanRequestError
from api_discovery.store.change_windows import ChangeWindows
from api_discovery.store.registry import RegisteredAccount
from api_discovery.store.sweep_lease import SweepLease
from api_discovery.targets import ACCOUNT_ID, AccountTarget, Target, known_regions

MANIFEST_PREFIX = "manifests/"


class ScanRequest(BaseModel):
    """What starts a run: the schedule (everything registered), a request, or an API change event."""

    model_config = ConfigDict(extra="ignore")

    source: Literal["schedule", "request", "change", "cli"] = "request"
    accounts: list[str] | None = Field(default=None, description="None: every enabled registered account")
    regions: list[str] | None = Field(default=None, description="None: each account's regions")
    run_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    requested_at: datetime | None = Field(default=None, description="When the change event happened")

    @field_validator("accounts", "regions")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("must name at least one, or be left out")
        return value


class PlanSettings(BaseModel):
    default_regions: list[str]
    max_targets: int = Field(default=200_000, ge=1, description="(account, region) pairs one run may scan")
    max_concurrency: int = Field(default=800, ge=1, description="Accounts the Map of a sweep scans at once")
    change_max_concurrency: int = Field(default=10, ge=1, description="Accounts a change-event run scans at once")


class ManifestRef(BaseModel):
    bucket: str | None = None
    key: str


class PlanResult(BaseModel):
    """The run's state between the workflow's steps: what plan wrote, and where the scan rounds stand."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
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
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{moment}-{secrets.token_hex(4)}"


def parse_request(payload: object) -> ScanRequest:
    try:
        return ScanRequest.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors())
        raise InvalidScanRequestError(f"invalid scan request: {problems}") from exc


def resolve_accounts(
    request: ScanRequest, registered: Sequence[RegisteredAccount], settings: PlanSettings, run_id: str
) -> tuple[int, list[AccountTarget]]:
    """How many (account, region) pairs the request asks for, and one item per account; or a clear error
    naming what is wrong. Items are small (no ExternalId): 10,000 accounts x 17 regions fit a small Lambda."""
    by_id = {a.account_id: a for a in registered if a.enabled}
    if request.accounts is None:
        chosen = list(by_id.values())
    else:
        malformed = [a for a in request.accounts if not ACCOUNT_ID.match(a)]
        if malformed:
            raise InvalidScanRequestError(f"malformed account id(s): {', '.join(malformed)}")
        unknown = [a for a in request.accounts if a not in by_id]
        if unknown:
            raise InvalidScanRequestError(f"account(s) not registered or disabled: {', '.join(unknown)}")
        chosen = [by_id[a] for a in dict.fromkeys(request.accounts)]
    # The customer role trusts the scanner only with its ExternalId (the confused-deputy guard).
    no_external_id = [a.account_id for a in chosen if a.role_name and not a.external_id]
    if no_external_id:
        raise InvalidScanRequestError(f"account(s) registered without an ExternalId: {', '.join(no_external_id)}")
    bad_regions = sorted(set(request.regions or []) - known_regions())
    if bad_regions:
        raise InvalidScanRequestError(f"unknown region(s): {', '.join(bad_regions)}")
    items = [
        AccountTarget(
            run_id=run_id,
            account_id=account.account_id,
            regions=list(dict.fromkeys(request.regions or account.regions or settings.default_regions)),
            role_arn=role_arn(account.account_id, account.role_name) if account.role_name else None,
        )
        for account in chosen
    ]
    total = sum(len(item.regions) for item in items)
    if total > settings.max_targets:
        raise InvalidScanRequestError(f"{total} targets exceed the limit of {settings.max_targets}")
    if not total:
        raise InvalidScanRequestError("the request resolves to no target: no enabled account is registered")
    # Accounts with the most regions first: the longest scans start early, and the Map's tail stays short.
    items.sort(key=lambda item: -len(item.regions))
    return total, items


def plan(
    request: ScanRequest,
    *,
    registered: Sequence[RegisteredAccount],
    settings: PlanSettings,
    blobs: BlobStore,
    bucket: str | None = None,
    now: datetime | None = None,
    windows: ChangeWindows | None = None,
    lease: SweepLease | None = None,
) -> PlanResult:
    """Validate, resolve targets, write the manifest. Nothing is written for a bad request. A change event
    whose targets were all claimed by an earlier event of the same window plans nothing, and so does a
    scheduled sweep while the previous one still runs."""
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

    total, items = resolve_accounts(request, registered, settings, run_id)
    claimed: list[Target] = []
    if windows and change:
        pairs = [Target(run_id=run_id, account_id=i.account_id, region=r) for i in items for r in i.regions]
        claimed = windows.claim(pairs, request.requested_at)  # a change names one account: small
        if not claimed:
            return nothing("every target of this change event is claimed by an earlier event of its window")
        roles = {i.account_id: i.role_arn for i in items}
        items = [
            AccountTarget(run_id=run_id, account_id=account, regions=[t.region for t in group], role_arn=roles[account])
            for account, group in groupby(claimed, key=lambda t: t.account_id)
        ]
        total = len(claimed)
    if lease and request.source == "schedule":
        holder = lease.take(run_id, now)
        if holder != run_id:
            return nothing(f"the previous sweep {holder} is still running")
    key = f"{MANIFEST_PREFIX}run={run_id}.json"
    try:
        blobs.put(key, json_array(items))
    except Exception:
        if windows and claimed:
            windows.release(claimed, request.requested_at)  # a retry, or the next event, may claim it again
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
