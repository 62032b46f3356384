"""What the workflow's steps pass along: each region's small summary, each account's invocation result, and
what a run adds up to."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_FAILED_LISTED = 100  # failed targets a run summary names; the run's target file has them all


class TargetResult(BaseModel):
    """What one scan of one (account, region) returns: small (well under 4 KB), the detail is in the snapshot."""

    run_id: str
    account_id: str
    region: str
    status: Literal["complete", "partial", "failed"]
    reason: str | None = None
    api_count: int = 0
    route_count: int = 0
    function_url_count: int = 0
    entry_point_count: int = 0  # AppSync APIs and domains, load balancers, CloudFront distributions
    error_count: int = 0
    api_calls: int = 0
    retries: int = 0
    snapshot_key: str | None = Field(default=None, description="The snapshot that holds this scan's content")
    content_hash: str | None = None
    unchanged: bool = Field(
        default=False, description="Same content as the last complete snapshot: nothing new was written"
    )
    stale: bool = False
    previous_snapshot_key: str | None = Field(default=None, description="Last complete snapshot before this scan")
    changes_key: str | None = Field(default=None, description="This scan's change set (api_discovery.store.tracking)")
    change_count: int = 0
    change_types: dict[str, int] = Field(default_factory=dict, description="Changes in the change set, by type")
    drift_count: int = Field(default=0, description="Changes a sweep found that no change event announced")

    @field_validator("reason")
    @classmethod
    def _short(cls, value: str | None) -> str | None:
        # A crashed Lambda's Cause can be long; the summary must stay small.
        return value[:1000] if value else value


class AccountResult(BaseModel):
    """What one scan invocation returns for one account: the regions it finished, and where to continue."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    account_id: str
    status: Literal["done", "in_progress", "failed"]
    regions: list[str] = Field(default_factory=list, description="The regions this invocation was given")
    targets: list[TargetResult] = Field(default_factory=list, description="Regions finished in this invocation")
    continuation: str | None = Field(default=None, description="Progress key of the regions still to finish")
    reason: str | None = Field(default=None, description="Why the invocation failed (status failed)")

    @field_validator("reason")
    @classmethod
    def _short(cls, value: str | None) -> str | None:
        return value[:1000] if value else value

    def finished(self) -> list[TargetResult]:
        """Every region this invocation settled; a failed invocation fails each region it was given."""
        if self.status != "failed":
            return self.targets
        done = {t.region for t in self.targets}
        return [
            *self.targets,
            *(
                TargetResult(
                    run_id=self.run_id,
                    account_id=self.account_id,
                    region=region,
                    status="failed",
                    reason=self.reason or "the scan of this account failed",
                )
                for region in self.regions
                if region not in done
            ),
        ]


class RunSummary(BaseModel):
    run_id: str
    started_at: str
    finished_at: str
    targets: int
    by_status: dict[str, int]
    apis: int
    routes: int
    api_calls: int
    failed: list[TargetResult] = Field(description=f"The first {MAX_FAILED_LISTED} failed targets")
    failed_count: int = 0
    changes: int = 0
    change_types: dict[str, int] = Field(default_factory=dict)
    drift: int = Field(default=0, description="Changes found that no change event had announced")
    unchanged: int = Field(default=0, description="Targets whose content was the same as their last snapshot")
    events: dict[str, int] = Field(default_factory=dict, description="Events this finalize sent, per detail-type")
