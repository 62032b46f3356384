"""Plan: validate the request, resolve its targets, and write the manifest the Map reads."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from api_discovery.blobs import BlobStore
from api_discovery.collect.session import role_arn
from api_discovery.errors import InvalidScanRequestError
from api_discovery.store.change_windows import ChangeWindows
from api_discovery.store.registry import RegisteredAccount
from api_discovery.targets import ACCOUNT_ID, Target, known_regions

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
    max_targets: int = Field(default=200_000, ge=1)
    max_concurrency: int = Field(default=40, ge=1, description="Targets the Map scans at once")
    split_budget: bool = Field(
        default=True,
        description="Each target scans in a process of its own (Lambda): give it its share of the account's "
        "call budget. Off for the local runner, whose threads share one budget per account.",
    )


class ManifestRef(BaseModel):
    bucket: str | None = None
    key: str


class PlanResult(BaseModel):
    run_id: str
    count: int
    manifest: ManifestRef | None = Field(description="None when there is nothing to scan")
    started_at: str


def new_run_id(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{moment}-{secrets.token_hex(4)}"


def parse_request(payload: object) -> ScanRequest:
    try:
        return ScanRequest.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors())
        raise InvalidScanRequestError(f"invalid scan request: {problems}") from exc


def resolve_targets(
    request: ScanRequest, registered: Sequence[RegisteredAccount], settings: PlanSettings, run_id: str
) -> tuple[int, Iterator[Target]]:
    """How many (account, region) the request asks for and, lazily, each of them; or a clear error naming
    what is wrong. Lazily, because 10,000 accounts x 17 regions must fit a small Lambda."""
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
    per_account = [
        (account, list(dict.fromkeys(request.regions or account.regions or settings.default_regions)))
        for account in chosen
    ]
    total = sum(len(regions) for _, regions in per_account)
    if total > settings.max_targets:
        raise InvalidScanRequestError(f"{total} targets exceed the limit of {settings.max_targets}")
    if not total:
        raise InvalidScanRequestError("the request resolves to no target: no enabled account is registered")
    return total, _round_robin(per_account, run_id, settings)


def _round_robin(
    per_account: list[tuple[RegisteredAccount, list[str]]], run_id: str, settings: PlanSettings
) -> Iterator[Target]:
    """Accounts interleaved, so that the targets the Map runs at once belong to different accounts."""
    for rank in range(max(len(regions) for _, regions in per_account)):
        for account, regions in per_account:
            if rank < len(regions):
                yield _target(account, regions[rank], len(regions), run_id, settings)


def _target(account: RegisteredAccount, region: str, regions: int, run_id: str, settings: PlanSettings) -> Target:
    # However the Map schedules them, at most this many of the account's targets run at once: each takes
    # that fraction of the account's rates, so together they never exceed them. (Each keeps a burst of at
    # least one call, so many regions starting at once may burst a few calls over; botocore retries those.)
    at_once = min(regions, settings.max_concurrency)
    return Target(
        run_id=run_id,
        account_id=account.account_id,
        region=region,
        role_arn=role_arn(account.account_id, account.role_name) if account.role_name else None,
        external_id=account.external_id,
        budget_share=1 / at_once if settings.split_budget else 1.0,
    )


def plan(
    request: ScanRequest,
    *,
    registered: Sequence[RegisteredAccount],
    settings: PlanSettings,
    blobs: BlobStore,
    bucket: str | None = None,
    now: datetime | None = None,
    windows: ChangeWindows | None = None,
) -> PlanResult:
    """Validate, resolve targets, write the manifest. Nothing is written for a bad request. A change event
    whose targets were all claimed by an earlier event of the same window plans nothing."""
    run_id = request.run_id or new_run_id(now)
    started = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    count, targets = resolve_targets(request, registered, settings, run_id)
    claimed: list[Target] = []
    if windows and request.source == "change":
        claimed = windows.claim(list(targets), request.requested_at)  # a change names one account: small
        if not claimed:
            return PlanResult(run_id=run_id, count=0, manifest=None, started_at=started)
        count, targets = len(claimed), iter(claimed)
    key = f"{MANIFEST_PREFIX}run={run_id}.json"
    try:
        blobs.put(key, _json_array(targets))
    except Exception:
        if windows and claimed:
            windows.release(claimed, request.requested_at)  # a retry, or the next event, may claim it again
        raise
    return PlanResult(run_id=run_id, count=count, manifest=ManifestRef(bucket=bucket, key=key), started_at=started)


def _json_array(targets: Iterator[Target]) -> bytes:
    """The manifest written one item at a time: only its bytes are ever held, never every Target at once."""
    out = io.BytesIO()
    out.write(b"[")
    for i, target in enumerate(targets):
        if i:
            out.write(b",")
        out.write(target.model_dump_json().encode())
    out.write(b"]")
    return out.getvalue()


def read_manifest(blobs: BlobStore, key: str) -> list[Target]:
    return [Target.model_validate(item) for item in json.loads(blobs.get(key))]
