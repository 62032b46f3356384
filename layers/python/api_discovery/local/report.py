"""What a store of runs says about the estate: the inventory, the exposure and the open findings of one run.

Works on any BlobStore: the demo's folder, a `scan` output folder, or the vendor's bucket. A target whose scan
failed in the chosen run is shown as of its last run that saw it (the previous snapshot stays the truth).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api_discovery.analysis import entry_map
from api_discovery.analysis.diff import compute_changes
from api_discovery.analysis.exposure import VERDICTS
from api_discovery.analysis.findings import CATALOGUE, SEVERITIES
from api_discovery.blobs import BlobStore
from api_discovery.inventory.model import Api, EntryPoint, Finding, FunctionUrl, Snapshot
from api_discovery.inventory.snapshots import read_snapshot
from api_discovery.local.stale import StaleApi, stale_apis
from api_discovery.steps.finalize import RUNS_PREFIX, read_target_file
from api_discovery.store.tracking import ChangeSet, read_change_set

MAX_LOOKBACK_RUNS = 50  # older runs searched for the last good snapshot of a target that failed
_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}


class ReportError(Exception):
    """The store holds no run, or not the one asked for."""


@dataclass(frozen=True)
class TargetView:
    account_id: str
    region: str
    status: str  # in the chosen run
    reason: str | None
    snapshot: Snapshot | None  # the latest snapshot that saw the target, at or before the chosen run
    change_set: ChangeSet | None  # this run's tracked changes
    # A partial scan's unread APIs, as the last complete scan saw them (shown in their place, labelled stale).
    stale: Mapping[str, StaleApi] = field(default_factory=dict)

    @property
    def as_of_run(self) -> str | None:
        return self.snapshot.run_id if self.snapshot else None


@dataclass(frozen=True)
class Estate:
    run_id: str
    started_at: str
    finished_at: str
    targets: list[TargetView]


@dataclass(frozen=True)
class Filters:
    accounts: Sequence[str] = ()
    regions: Sequence[str] = ()
    min_severity: str | None = None
    exposures: Sequence[str] = ()

    def target(self, view: TargetView) -> bool:
        return (not self.accounts or view.account_id in self.accounts) and (
            not self.regions or view.region in self.regions
        )

    def severity(self, finding: Finding) -> bool:
        if not self.min_severity:
            return True
        return _RANK[finding.severity] <= _RANK[self.min_severity]


@dataclass
class Report:
    """The rows every output format is made from."""

    run_id: str
    started_at: str
    targets: list[dict[str, Any]] = field(default_factory=list)
    apis: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    entry_points: list[dict[str, Any]] = field(default_factory=list)
    entry_map: list[dict[str, Any]] = field(default_factory=list)

    def exposure_summary(self) -> dict[str, int]:
        counts = Counter(r["exposure"] for a in self.apis for r in a["routes"])
        return {v: counts[v] for v in VERDICTS if counts[v]}

    def severity_summary(self) -> dict[str, int]:
        counts = Counter(f["severity"] for f in self.findings)
        return {s: counts[s] for s in SEVERITIES if counts[s]}

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "exposure_summary": self.exposure_summary(),
            "severity_summary": self.severity_summary(),
            "targets": self.targets,
            "apis": self.apis,
            "findings": self.findings,
            "changes": self.changes,
            "entry_points": self.entry_points,
            "entry_map": self.entry_map,
        }


def run_ids(blobs: BlobStore) -> list[str]:
    """Runs with a record, newest first (run ids start with their UTC start time)."""
    keys = [k for k in blobs.keys(RUNS_PREFIX) if k.endswith(".json")]
    return sorted((k.removeprefix(f"{RUNS_PREFIX}run=").removesuffix(".json") for k in keys), reverse=True)


def run_record(blobs: BlobStore, run_id: str) -> dict[str, Any]:
    """The run's summary, with its targets read from the run's target files."""
    record: dict[str, Any] = json.loads(blobs.get(f"{RUNS_PREFIX}run={run_id}.json"))
    if "targets" not in record:
        files = record.get("target_files") or []
        record["targets"] = [t.model_dump() for key in files for t in read_target_file(blobs, key)]
    return record


def load_estate(blobs: BlobStore, run_id: str | None = None) -> Estate:
    runs = run_ids(blobs)
    if not runs:
        raise ReportError(f"no run record under {blobs.uri(RUNS_PREFIX)}")
    chosen = run_id or runs[0]
    if chosen not in runs:
        raise ReportError(f"no run {chosen!r}; known: {', '.join(runs[:10])}")
    record = run_record(blobs, chosen)
    older = iter(runs[runs.index(chosen) + 1 :][:MAX_LOOKBACK_RUNS])
    history: list[dict[str, Any]] = []
    views = []
    for result in record["targets"]:
        snapshot = _snapshot(blobs, result) or _last_good(blobs, result, older, history)
        change_set = read_change_set(blobs, result["changes_key"]) if result.get("changes_key") else None
        stale = stale_apis(blobs, snapshot, result.get("previous_snapshot_key")) if snapshot else {}
        views.append(
            TargetView(
                account_id=result["account_id"],
                region=result["region"],
                status=result["status"],
                reason=result.get("reason"),
                snapshot=snapshot,
                change_set=change_set,
                stale=stale,
            )
        )
    summary = record["summary"]
    return Estate(chosen, summary["started_at"], summary["finished_at"], views)


def _snapshot(blobs: BlobStore, result: dict[str, Any]) -> Snapshot | None:
    if result.get("status") == "failed" or not result.get("snapshot_key"):
        return None
    return read_snapshot(blobs, result["snapshot_key"])


def _last_good(
    blobs: BlobStore, result: dict[str, Any], older: Iterator[str], history: list[dict[str, Any]]
) -> Snapshot | None:
    """The newest earlier snapshot of the target; older run records are read once and shared across targets."""
    target = (result["account_id"], result["region"])
    index = 0
    while True:
        if index == len(history):
            run = next(older, None)
            if run is None:
                return None
            history.append(run_record(blobs, run))
        for earlier in history[index]["targets"]:
            if (earlier["account_id"], earlier["region"]) == target:
                found = _snapshot(blobs, earlier)
                if found:
                    return found
        index += 1


def build_report(estate: Estate, filters: Filters | None = None) -> Report:
    filters = filters or Filters()
    report = Report(run_id=estate.run_id, started_at=estate.started_at)
    seen: list[Snapshot] = []
    for view in estate.targets:
        if not filters.target(view):
            continue
        report.targets.append(_target_row(view))
        for change in view.change_set.changes if view.change_set else []:
            report.changes.append({"account_id": view.account_id, "region": view.region, **change.model_dump()})
        snapshot = view.snapshot
        if snapshot is None:
            continue
        kept: set[str] = set()
        names = {a.id: a.name for a in snapshot.apis} | {i: s.api.name for i, s in view.stale.items()}
        read: list[tuple[Snapshot, Api, dict[str, object] | None]]
        read = [(snapshot, api, None) for api in snapshot.apis if api.id not in view.stale]
        for source, api, label in read + [(s.view, s.api, s.label()) for s in view.stale.values()]:
            row = api_row(source, api, filters.exposures)
            if row is not None:
                report.apis.append(row | {"stale": label})
                kept.add(api.id)
        report.entry_points += [
            row for url in snapshot.function_urls if (row := entry_point_row(snapshot, url, filters.exposures))
        ]
        report.entry_points += [
            row for entry in snapshot.entry_points if (row := other_entry_row(snapshot, entry, filters.exposures))
        ]
        seen.append(snapshot)
        findings: list[tuple[Finding, dict[str, object] | None]]
        findings = [(f, None) for f in snapshot.findings if f.api_id not in view.stale]
        findings += [(f, s.label()) for s in view.stale.values() for f in s.findings]
        for finding, label in findings:
            in_scope = not filters.exposures or (finding.api_id in kept)
            if in_scope and filters.severity(finding):
                report.findings.append(finding_row(view, finding, names.get(finding.api_id or "")) | {"stale": label})
    _add_map(report, seen, filters)
    report.findings.sort(key=lambda f: (SEVERITIES.index(f["severity"]), f["rule_id"], f["account_id"], f["resource"]))
    return report


def _add_map(report: Report, snapshots: list[Snapshot], filters: Filters) -> None:
    """The entry-point map of the targets shown, and the findings only the map can judge."""
    built = entry_map.build(snapshots)
    report.entry_map = [r for r in built.rows() if not filters.exposures or r["exposure"] in filters.exposures]
    for account, region, finding in built.findings:
        if filters.severity(finding):
            rule = CATALOGUE[finding.rule_id]
            report.findings.append(
                {
                    "account_id": account,
                    "region": region,
                    "api_name": None,
                    **finding.model_dump(mode="json"),
                    "remediation": rule.remediation,
                    "stale": None,
                }
            )


def diff_runs(blobs: BlobStore, old_run: str, new_run: str) -> list[dict[str, Any]]:
    """What changed from one run to another, target by target, as each run saw the estate. A target the newer
    run could not scan has no changes; one the older run never saw is compared with nothing (all added)."""
    before = {(v.account_id, v.region): v.snapshot for v in load_estate(blobs, old_run).targets}
    rows = []
    for view in load_estate(blobs, new_run).targets:
        if view.snapshot is None or view.snapshot.run_id != new_run:
            continue
        for change in compute_changes(before.get((view.account_id, view.region)), view.snapshot):
            rows.append({"account_id": view.account_id, "region": view.region, **change.model_dump()})
    return rows


def _target_row(view: TargetView) -> dict[str, Any]:
    snapshot = view.snapshot
    return {
        "account_id": view.account_id,
        "region": view.region,
        "status": view.status,
        "reason": view.reason,
        "as_of_run": view.as_of_run,
        "apis": len(snapshot.apis) if snapshot else 0,
    }


def api_row(snapshot: Snapshot, api: Api, exposures: Sequence[str] = ()) -> dict[str, Any] | None:
    routes = [
        {
            "method": r.method,
            "path": r.path,
            "authorization": r.authorization_type,
            "api_key_required": r.api_key_required,
            "exposure": r.exposure.verdict if r.exposure else "unknown",
            "reasons": r.exposure.reasons if r.exposure else [],
            "urls": r.urls,
        }
        for r in api.routes
    ]
    if exposures:
        routes = [r for r in routes if r["exposure"] in exposures]
        if not routes:
            return None
    domains = sorted({d.name for d in snapshot.domains for m in d.mappings if m.api_id == api.id})
    return {
        "account_id": snapshot.account_id,
        "region": snapshot.region,
        "kind": api.kind,
        "id": api.id,
        "name": api.name,
        "endpoint_type": api.endpoint_type,
        "default_endpoint_enabled": api.default_endpoint_enabled,
        "stages": [s.name for s in api.stages],
        "domains": domains,
        "exposure": dict(Counter(r["exposure"] for r in routes)),
        "routes": routes,
    }


def entry_point_row(snapshot: Snapshot, url: FunctionUrl, exposures: Sequence[str] = ()) -> dict[str, Any] | None:
    """An entry point outside API Gateway (a Lambda function URL), with its exposure in the routes' vocabulary."""
    verdict = url.exposure.verdict if url.exposure else "unknown"
    if exposures and verdict not in exposures:
        return None
    return {
        "account_id": snapshot.account_id,
        "region": snapshot.region,
        "kind": "FUNCTION_URL",
        "url": url.url,
        "resource": url.function_arn,
        "name": url.key,
        "authentication": url.auth_type,
        "exposure": verdict,
        "reasons": url.exposure.reasons if url.exposure else [],
    }


def other_entry_row(snapshot: Snapshot, entry: EntryPoint, exposures: Sequence[str] = ()) -> dict[str, Any] | None:
    """An AppSync API or domain, a load balancer or a distribution, in the same row shape as a function URL."""
    verdict = entry.exposure.verdict if entry.exposure else "unknown"
    if exposures and verdict not in exposures:
        return None
    return {
        "account_id": snapshot.account_id,
        "region": snapshot.region,
        "kind": entry.kind,
        "url": ", ".join(entry.hosts),
        "resource": entry.arn or entry.id,
        "name": entry.name,
        "authentication": ", ".join(entry.authentication) or "none",
        "exposure": verdict,
        "reasons": entry.exposure.reasons if entry.exposure else [],
    }


def finding_row(view: TargetView, finding: Finding, api_name: str | None = None) -> dict[str, Any]:
    rule = CATALOGUE.get(finding.rule_id)
    return {
        "account_id": view.account_id,
        "region": view.region,
        "api_name": api_name,
        **finding.model_dump(mode="json"),
        "remediation": rule.remediation if rule else "",
    }


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n"


# A spreadsheet runs a cell that starts with one of these as a formula (`=HYPERLINK(...)`, `@SUM(...)`, a DDE
# call): a leading quote makes it text (the OWASP rule for CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# RFC 4180's line end. The writer quotes a cell holding any character of it, so a name with a bare CR or LF
# stays inside its cell instead of starting a row of its own.
_ROW_END = "\r\n"


def csv_cell(value: object) -> object:
    """A cell as a spreadsheet shows it and never runs it: a text that could start a formula gets a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _safe(row: Mapping[str, object]) -> dict[str, object]:
    return {k: csv_cell(v) for k, v in row.items()}


def stale_text(label: Mapping[str, Any] | None) -> str:
    """How a row from a last complete view is labelled: empty for one this run read."""
    if not label:
        return ""
    return f"as of {label['as_of']} ({label['age']}): {label['reason']}"


def to_csv(report: Report, section: str) -> str:
    """One CSV table: `routes` (one row per route, with its API) or `findings`. Every cell from the estate
    (names, paths, resources, evidence) is neutralised against formula injection."""
    out = io.StringIO()
    if section == "routes":
        columns = ["account_id", "region", "kind", "api_id", "api_name", "endpoint_type", "method", "path"]
        columns += ["authorization", "api_key_required", "exposure", "stale"]
        writer = csv.DictWriter(out, columns, lineterminator=_ROW_END)
        writer.writeheader()
        for api in report.apis:
            for route in api["routes"]:
                row = {k: api[k] for k in ("account_id", "region", "kind", "endpoint_type")}
                row |= {"api_id": api["id"], "api_name": api["name"]}
                row |= {k: route[k] for k in ("method", "path", "authorization", "api_key_required", "exposure")}
                row["stale"] = stale_text(api.get("stale"))
                writer.writerow(_safe(row))
    else:
        columns = ["account_id", "region", "severity", "rule_id", "title", "resource", "api_id", "evidence", "stale"]
        writer = csv.DictWriter(out, columns, lineterminator=_ROW_END, extrasaction="ignore")
        writer.writeheader()
        for finding in report.findings:
            evidence = json.dumps(finding["evidence"], sort_keys=True)
            writer.writerow(_safe({**finding, "evidence": evidence, "stale": stale_text(finding.get("stale"))}))
    return out.getvalue()
