"""The events a run publishes on the discovery bus (source `api-discovery`), and their detail models.

| detail-type          | one per                                     |
|----------------------|---------------------------------------------|
| `API Discovered`     | API seen for the first time                 |
| `API Changed`        | API whose routes, stages, policy, endpoint or mapped domains changed (route-level summary) |
| `API Removed`        | API gone, per a complete scan               |
| `Finding Opened`     | finding not in the previous complete scan   |
| `Finding Resolved`   | finding gone, per a complete scan           |
| `Target Scan Failed` | (account, region) whose scan failed         |
| `Scan Completed`     | run: counts, duration, failed targets       |

Every detail carries a deterministic `event_id` (run, target, type, subject): finalize records the ids it has
sent and never sends one twice, and subscribers can deduplicate on it. The JSON Schemas of the details are
generated from these models (`schemas/events/`). A detail too large for EventBridge is trimmed to a summary
that points to the snapshot and the change set in S3 (`truncated: true`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from api_discovery.analysis.diff import FUNCTION_URL_KIND, Change
from api_discovery.analysis.findings import CATALOGUE
from api_discovery.inventory.model import Finding
from api_discovery.inventory.results import MAX_FAILED_LISTED
from api_discovery.inventory.snapshots import canonical_json
from api_discovery.store.tracking import ChangeSet

if TYPE_CHECKING:
    from api_discovery.inventory.results import RunSummary, TargetResult

SOURCE = "api-discovery"
EVENT_SCHEMA_VERSION: Literal[1] = 1


class Detail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    DETAIL_TYPE: ClassVar[str]

    schema_version: Literal[1] = EVENT_SCHEMA_VERSION
    event_id: str = Field(description="Deterministic: the same change in the same run always has this id")
    run_id: str
    truncated: bool = Field(default=False, description="Too large for EventBridge: the full data is in S3")

    def trimmed(self) -> Detail:
        """A smaller version that still says what happened and where the rest is."""
        return self.model_copy(update={"truncated": True})


class TargetDetail(Detail):
    account_id: str
    region: str
    scanned_at: str | None = None
    snapshot_uri: str | None = Field(default=None, description="The snapshot this event comes from")
    changes_uri: str | None = Field(default=None, description="The target's change set for this run")


class ApiSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    id: str
    name: str
    endpoint_type: str | None = None
    default_endpoint_enabled: bool | None = None
    stages: list[str] = Field(default_factory=list)
    route_count: int | None = None
    exposure: dict[str, int] = Field(default_factory=dict, description="Routes per exposure verdict")
    arn: str | None = Field(default=None, description="AppSync, load balancer, CloudFront: the resource's ARN")
    hosts: list[str] = Field(default_factory=list, description="AppSync, load balancer, CloudFront: its hosts")


class ChangeView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    subject: str = Field(description="Route ('GET /pets', '$connect'), stage, domain or the API's name")
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    drift: bool = Field(default=False, description="Found by a sweep: no change event had announced it")
    note: str | None = Field(default=None, description="The change in words, e.g. renamed from 'a' to 'b'")


class ApiDiscovered(TargetDetail):
    DETAIL_TYPE: ClassVar[str] = "API Discovered"
    api: ApiSummary


class ApiRemoved(TargetDetail):
    DETAIL_TYPE: ClassVar[str] = "API Removed"
    api: ApiSummary


class ApiChanged(TargetDetail):
    DETAIL_TYPE: ClassVar[str] = "API Changed"
    api: ApiSummary
    change_counts: dict[str, int] = Field(description="Changes per type, always complete")
    changes: list[ChangeView] = Field(description="The route-level changes; empty when truncated")

    def trimmed(self) -> Detail:
        return self.model_copy(update={"truncated": True, "changes": []})


class FindingEvent(TargetDetail):
    finding: Finding
    remediation: str

    def trimmed(self) -> Detail:
        lean = self.finding.model_copy(update={"evidence": {}})
        return self.model_copy(update={"truncated": True, "finding": lean})


class FindingOpened(FindingEvent):
    DETAIL_TYPE: ClassVar[str] = "Finding Opened"


class FindingResolved(FindingEvent):
    DETAIL_TYPE: ClassVar[str] = "Finding Resolved"
    cause: Literal["resolved", "rule-changed"] = Field(
        default="resolved",
        description="resolved: the fact is gone; rule-changed: a newer findings catalogue no longer raises it",
    )


class TargetScanFailed(TargetDetail):
    DETAIL_TYPE: ClassVar[str] = "Target Scan Failed"
    reason: str


class FailedTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str
    region: str
    reason: str | None = None


class ScanCompleted(Detail):
    DETAIL_TYPE: ClassVar[str] = "Scan Completed"
    started_at: str
    finished_at: str
    duration_seconds: float
    targets: int
    by_status: dict[str, int]
    apis: int
    routes: int
    api_calls: int
    changes: int
    findings_opened: int
    findings_resolved: int
    failed_count: int
    failed_targets: list[FailedTarget] = Field(description=f"At most {MAX_FAILED_LISTED}; all are in the run record")
    run_record_uri: str | None = None

    def trimmed(self) -> Detail:
        return self.model_copy(update={"truncated": True, "failed_targets": []})


DETAILS: tuple[type[Detail], ...] = (
    ApiDiscovered,
    ApiChanged,
    ApiRemoved,
    FindingOpened,
    FindingResolved,
    TargetScanFailed,
    ScanCompleted,
)


class Event(BaseModel):
    """One entry for PutEvents."""

    detail: Detail
    resources: list[str] = Field(default_factory=list)

    @property
    def id(self) -> str:
        return self.detail.event_id

    @property
    def detail_type(self) -> str:
        return self.detail.DETAIL_TYPE

    def entry(self, bus_name: str) -> dict[str, Any]:
        return {
            "Source": SOURCE,
            "DetailType": self.detail_type,
            "Detail": self.detail.model_dump_json(),
            "Resources": self.resources,
            "EventBusName": bus_name,
        }

    def trimmed(self) -> Event:
        return self.model_copy(update={"detail": self.detail.trimmed()})


def event_id(*parts: str | None) -> str:
    return hashlib.sha256(canonical_json(list(parts))).hexdigest()[:32]


def api_arn(region: str, kind: str | None, api_id: str, account_id: str = "") -> str:
    """The ARN of what an event is about: an API Gateway API, or the function (and alias) behind a function URL."""
    if kind == FUNCTION_URL_KIND:
        return f"arn:aws:lambda:{region}:{account_id}:function:{api_id}"
    path = "restapis" if kind == "REST" else "apis"
    return f"arn:aws:apigateway:{region}::/{path}/{api_id}"


def target_events(change_set: ChangeSet, changes_uri: str | None = None) -> list[Event]:
    """The API and finding events of one target's change set."""
    cs = change_set
    base = {
        "run_id": cs.run_id,
        "account_id": cs.account_id,
        "region": cs.region,
        "scanned_at": cs.scanned_at,
        "snapshot_uri": cs.snapshot_uri,
        "changes_uri": changes_uri,
    }

    def ident(detail_type: str, subject: str | None) -> str:
        return event_id(cs.run_id, cs.account_id, cs.region, detail_type, subject)

    events: list[Event] = []
    grouped: dict[str, list[Change]] = {}
    whole = {c.api_id for c in cs.changes if c.type in ("api_added", "api_removed")}
    for change in cs.changes:
        if change.type in ("api_added", "api_removed"):
            whole_api = ApiDiscovered if change.type == "api_added" else ApiRemoved
            api = ApiSummary.model_validate(change.after or change.before)
            detail: Detail = whole_api(event_id=ident(whole_api.DETAIL_TYPE, api.id), api=api, **base)
            arn = api.arn or api_arn(cs.region, api.kind, api.id, cs.account_id)
            events.append(Event(detail=detail, resources=[arn]))
        elif change.type in ("finding_opened", "finding_resolved"):
            events.append(_finding_event(change, ident, base, cs.region))
        else:
            # A domain change is a change of every API it maps; an API just discovered or removed is
            # described whole by its own event.
            for api_id in change.domain_api_ids or [change.api_id or ""]:
                if api_id and api_id not in whole:
                    grouped.setdefault(api_id, []).append(change)
    names = {a["id"]: a for a in cs.apis}
    for api_id, changes in grouped.items():
        ref = names.get(api_id) or {"id": api_id, "kind": "UNKNOWN", "name": ""}
        detail = ApiChanged(
            event_id=ident(ApiChanged.DETAIL_TYPE, api_id),
            api=ApiSummary.model_validate(ref),
            change_counts=dict(sorted(Counter(c.type for c in changes).items())),
            changes=[
                ChangeView(type=c.type, subject=c.subject, before=c.before, after=c.after, drift=c.drift, note=_note(c))
                for c in changes
            ],
            **base,
        )
        arn = ref.get("arn") or api_arn(cs.region, ref.get("kind"), api_id, cs.account_id)
        events.append(Event(detail=detail, resources=[arn]))
    return events


def _note(change: Change) -> str | None:
    if change.type == "api_renamed":
        # JSON-quoted: a name is the customer's text, shown as data whatever characters it holds.
        before, after = (change.before or {}).get("name"), (change.after or {}).get("name")
        return f"renamed from {json.dumps(before)} to {json.dumps(after)}"
    return None


def _finding_event(change: Change, ident: Any, base: dict[str, Any], region: str) -> Event:
    cls = FindingOpened if change.type == "finding_opened" else FindingResolved
    finding = Finding.model_validate(change.after or change.before)
    rule = CATALOGUE.get(finding.rule_id)
    extra = {"cause": "rule-changed"} if change.rule_changed else {}
    detail = cls(
        event_id=ident(cls.DETAIL_TYPE, change.subject),
        finding=finding,
        remediation=rule.remediation if rule else "",
        **base,
        **extra,
    )
    resources = [api_arn(region, change.api_kind, finding.api_id)] if finding.api_id else []
    return Event(detail=detail, resources=resources)


def failed_event(result: TargetResult) -> Event:
    detail = TargetScanFailed(
        event_id=event_id(result.run_id, result.account_id, result.region, TargetScanFailed.DETAIL_TYPE),
        run_id=result.run_id,
        account_id=result.account_id,
        region=result.region,
        snapshot_uri=None,
        reason=result.reason or "unknown",
    )
    return Event(detail=detail)


def completed_event(summary: RunSummary, run_record_uri: str | None = None) -> Event:
    counts: Counter[str] = Counter(summary.change_types)
    failed = [FailedTarget(account_id=r.account_id, region=r.region, reason=r.reason) for r in summary.failed]
    detail = ScanCompleted(
        event_id=event_id(summary.run_id, ScanCompleted.DETAIL_TYPE),
        run_id=summary.run_id,
        started_at=summary.started_at,
        finished_at=summary.finished_at,
        duration_seconds=_seconds_between(summary.started_at, summary.finished_at),
        targets=summary.targets,
        by_status=summary.by_status,
        apis=summary.apis,
        routes=summary.routes,
        api_calls=summary.api_calls,
        changes=sum(counts.values()),
        findings_opened=counts["finding_opened"],
        findings_resolved=counts["finding_resolved"],
        failed_count=max(summary.failed_count, len(failed)),
        failed_targets=failed[:MAX_FAILED_LISTED],
        run_record_uri=run_record_uri,
    )
    return Event(detail=detail)


def _seconds_between(start: str, end: str) -> float:
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except ValueError:
        return 0.0
    return round(max(delta.total_seconds(), 0.0), 3)
