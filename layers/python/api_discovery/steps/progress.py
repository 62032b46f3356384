"""What a scan stopped by its time limit has done so far, stored between invocations to resume from."""

from __future__ import annotations

import gzip
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api_discovery.blobs import BlobStore
from api_discovery.inventory.model import (
    AccountSettings,
    Api,
    ClientCertificate,
    Domain,
    EntryPoint,
    FunctionUrl,
    ScanError,
    UsagePlan,
    VpcLink,
)
from api_discovery.targets import Target

PROGRESS_PREFIX = "progress/"


class RegionWide(BaseModel):
    domains: list[Domain] = Field(default_factory=list)
    usage_plans: list[UsagePlan] = Field(default_factory=list)
    vpc_links: list[VpcLink] = Field(default_factory=list)
    client_certificates: list[ClientCertificate] = Field(default_factory=list)
    account_settings: AccountSettings | None = None
    function_urls: list[FunctionUrl] = Field(default_factory=list)
    entry_points: list[EntryPoint] = Field(default_factory=list)


class Progress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    account_id: str
    region: str
    scanned_at: str
    listed: bool = False
    lists_complete: bool = False
    rest_pending: list[dict[str, Any]] = Field(default_factory=list, description="GetRestApis entries not yet read")
    v2_pending: list[dict[str, Any]] = Field(default_factory=list, description="GetApis entries not yet read")
    apis: list[Api] = Field(default_factory=list)
    errors: list[ScanError] = Field(default_factory=list)
    api_calls: dict[str, int] = Field(default_factory=dict)
    api_retries: dict[str, int] = Field(default_factory=dict)
    region_wide: RegionWide | None = None

    def add_calls(self, calls: dict[str, int]) -> dict[str, int]:
        return _add(self.api_calls, calls)

    def add_retries(self, retries: dict[str, int]) -> dict[str, int]:
        return _add(self.api_retries, retries)


def _add(counts: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    merged = dict(counts)
    for operation, count in more.items():
        merged[operation] = merged.get(operation, 0) + count
    return dict(sorted(merged.items()))


def advanced(before: Progress, after: Progress) -> bool:
    """Whether an invocation that resumed `before` got anywhere. APIs only ever join `apis`, and each one
    started in an invocation finishes in it: none read means the next invocation would begin at the same
    place, and so would every one after it."""
    return len(after.apis) > len(before.apis) or (after.listed and not before.listed)


def progress_key(target: Target) -> str:
    return f"{PROGRESS_PREFIX}run={target.run_id}/account={target.account_id}/region={target.region}.json.gz"


def save_progress(store: BlobStore, target: Target, progress: Progress) -> str:
    key = progress_key(target)
    store.put(key, gzip.compress(progress.model_dump_json().encode(), mtime=0), content_type="application/gzip")
    return key


def load_progress(store: BlobStore, key: str) -> Progress:
    return Progress.model_validate(json.loads(gzip.decompress(store.get(key))))
