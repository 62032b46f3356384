"""What the workflow's steps pass along: one scan's small summary per target, and what a run adds up to."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator


class TargetResult(BaseModel):
    """What one scan returns to the workflow: small (well under 4 KB), the detail is in the snapshot."""

    run_id: str
    account_id: str
    region: str
    status: Literal["complete", "partial", "failed", "in_progress"]
    reason: str | None = None
    api_count: int = 0
    route_count: int = 0
    error_count: int = 0
    api_calls: int = 0
    retries: int = 0
    snapshot_key: str | None = None
    content_hash: str | None = None
    stale: bool = False
    continuation: str | None = Field(default=None, description="Progress key: call scan again with it")
    previous_snapshot_key: str | None = Field(default=None, description="Last complete snapshot before this scan")
    changes_key: str | None = Field(default=None, description="This scan's change set (api_discovery.store.tracking)")
    change_count: int = 0

    @field_validator("reason")
    @classmethod
    def _short(cls, value: str | None) -> str | None:
        # A crashed Lambda's Cause can be long; the summary must stay small.
        return value[:1000] if value else value


class RunSummary(BaseModel):
    run_id: str
    started_at: str
    finished_at: str
    targets: int
    by_status: dict[str, int]
    apis: int
    routes: int
    api_calls: int
    failed: list[TargetResult]
    changes: int = 0
    events: dict[str, int] = Field(default_factory=dict, description="Events this finalize sent, per detail-type")
