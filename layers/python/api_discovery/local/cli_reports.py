"""`api-discovery report` and `api-discovery diff`: read what runs stored, in a folder or a bucket."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api_discovery.analysis.exposure import VERDICTS
from api_discovery.analysis.findings import SEVERITIES
from api_discovery.blobs import BlobStore, LocalBlobStore, S3BlobStore
from api_discovery.errors import DiscoveryError
from api_discovery.local import html_report
from api_discovery.local.report import Filters, Report, ReportError, build_report, diff_runs, load_estate, run_ids
from api_discovery.local.report import to_csv as report_csv
from api_discovery.local.report import to_json as report_json

console = Console(width=None if sys.stdout.isatty() else 160)
REPORT_FILE = "report.html"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    html = "html"


class Section(StrEnum):
    all = "all"
    routes = "routes"
    findings = "findings"


DataOption = Annotated[Path, typer.Option("--data", help="Folder a run stored into (the demo's --out, scan's --out)")]
BucketOption = Annotated[str | None, typer.Option(help="Read from this S3 bucket instead of --data")]


def _cells(*values: object) -> list[Text]:
    """Table cells of what the estate holds (names, paths, resources, reasons): shown as they are, never read
    as Rich markup (`[/bold]` would end the output, `[link=...]` would make a link) or as emoji codes."""
    return [Text(str(v)) for v in values]


def _store(data: Path, bucket: str | None) -> BlobStore:
    if bucket:
        return S3BlobStore(boto3.Session().client("s3"), bucket)
    if not data.is_dir():
        raise typer.BadParameter(f"{data} is not a folder", param_hint="--data")
    return LocalBlobStore(data)


def _check(values: list[str] | None, allowed: tuple[str, ...], hint: str) -> list[str]:
    bad = [v for v in values or [] if v not in allowed]
    if bad:
        raise typer.BadParameter(f"{', '.join(bad)}: choose from {', '.join(allowed)}", param_hint=hint)
    return list(values or [])


def report_command(
    data: DataOption = Path("demo-output"),
    bucket: BucketOption = None,
    run: Annotated[str | None, typer.Option(help="Run id; default: the latest")] = None,
    account: Annotated[list[str] | None, typer.Option(help="Only this account (repeat)")] = None,
    region: Annotated[list[str] | None, typer.Option(help="Only this region (repeat)")] = None,
    severity: Annotated[str | None, typer.Option(help=f"Findings of at least: {', '.join(SEVERITIES)}")] = None,
    exposure: Annotated[
        list[str] | None, typer.Option(help=f"Only routes with: {', '.join(VERDICTS)} (repeat)")
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", help="Output format")] = Format.table,
    section: Annotated[Section, typer.Option(help="For csv: routes or findings")] = Section.all,
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of the terminal")] = None,
) -> None:
    """The inventory (per account, region and API: kind, endpoint, routes, exposure) and the open findings."""
    filters = Filters(
        accounts=account or [],
        regions=region or [],
        min_severity=_check([severity], SEVERITIES, "--severity")[0] if severity else None,
        exposures=_check(exposure, VERDICTS, "--exposure"),
    )
    store = _store(data, bucket)
    try:
        report = build_report(load_estate(store, run), filters)
    except (ReportError, DiscoveryError) as exc:  # no such run, or a stored file the product cannot read
        raise typer.BadParameter(str(exc)[:1000], param_hint="--data/--bucket/--run") from exc
    if output_format is Format.table:
        print_report(report)
        return
    if output_format is Format.csv and section is Section.all:
        raise typer.BadParameter("csv holds one table: pass --section routes or --section findings")
    text = {
        Format.json: lambda: report_json(report),
        Format.csv: lambda: report_csv(report, section.value),
        Format.html: lambda: html_report.render(report),
    }[output_format]()
    _emit(text, output)


def diff_command(
    data: DataOption = Path("demo-output"),
    bucket: BucketOption = None,
    from_run: Annotated[str | None, typer.Option("--from", help="Older run; default: the one before --to")] = None,
    to_run: Annotated[str | None, typer.Option("--to", help="Newer run; default: the latest")] = None,
    output_format: Annotated[Format, typer.Option("--format", help="table or json")] = Format.table,
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of the terminal")] = None,
) -> None:
    """What changed between two runs: APIs, routes, authorization, integrations, stages, domains, findings."""
    store = _store(data, bucket)
    runs = run_ids(store)
    newer = to_run or (runs[0] if runs else None)
    if newer not in runs:
        raise typer.BadParameter(f"no run {newer!r} in the store", param_hint="--to")
    older = from_run or next(iter(runs[runs.index(newer) + 1 :]), None)
    if older is None or older not in runs:
        raise typer.BadParameter(f"no earlier run to compare {newer} with", param_hint="--from")
    rows = diff_runs(store, older, newer)
    if output_format is Format.json:
        _emit(json.dumps({"from": older, "to": newer, "changes": rows}, indent=2, sort_keys=True) + "\n", output)
        return
    if output_format is not Format.table:
        raise typer.BadParameter("diff prints a table or json", param_hint="--format")
    table = Table(title=Text(f"Changes from run {older} to run {newer}"))
    for column in ("account", "region", "change", "API", "subject", "before → after"):
        table.add_column(column, overflow="fold")
    for row in rows:
        api = f"{row['api_kind']} {row['api_id']}" if row["api_id"] else ""
        table.add_row(*_cells(row["account_id"], row["region"], row["type"], api, row["subject"], _before_after(row)))
    console.print(table if rows else Text(f"No change from run {older} to run {newer}."))


def write_html(store: BlobStore, folder: Path, run: str | None = None) -> Path:
    """The HTML report of a run (default: the latest), written into the folder."""
    return html_report.write(build_report(load_estate(store, run)), folder / REPORT_FILE)


def print_report(report: Report) -> None:
    inventory = Table(title=Text(f"Inventory, run {report.run_id}"))
    for column in ("account", "region", "kind", "API", "endpoint", "routes", "exposure"):
        inventory.add_column(column)
    for api in report.apis:
        endpoint = api["endpoint_type"] + ("" if api["default_endpoint_enabled"] else " (default off)")
        exposure = ", ".join(f"{v} {n}" for v, n in sorted(api["exposure"].items()))
        if api.get("stale"):
            exposure += f" (stale: as of {api['stale']['as_of']}, {api['stale']['age']}; {api['stale']['reason']})"
        inventory.add_row(
            *_cells(
                api["account_id"],
                api["region"],
                api["kind"],
                f"{api['name']} ({api['id']})",
                endpoint,
                len(api["routes"]),
                exposure,
            )
        )
    console.print(inventory)
    exposure_table = Table(title="Routes by exposure")
    exposure_table.add_column("verdict")
    exposure_table.add_column("routes", justify="right")
    for verdict, count in report.exposure_summary().items():
        exposure_table.add_row(*_cells(verdict, count))
    console.print(exposure_table)
    findings = Table(title=f"Open findings ({len(report.findings)})")
    for column in ("severity", "rule", "resource", "account", "region"):
        findings.add_column(column, overflow="fold")
    for finding in report.findings:
        findings.add_row(
            *_cells(
                finding["severity"], finding["rule_id"], finding["resource"], finding["account_id"], finding["region"]
            )
        )
    console.print(findings)


def _before_after(row: dict[str, Any]) -> str:
    def short(value: dict[str, Any] | None) -> str:
        text = json.dumps(value, sort_keys=True) if value is not None else "—"
        return text if len(text) <= 80 else text[:77] + "..."

    if row["type"] in ("finding_opened", "finding_resolved"):
        return str((row["after"] or row["before"] or {}).get("title", ""))
    return f"{short(row['before'])} → {short(row['after'])}"


def _emit(text: str, output: Path | None) -> None:
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        console.print(Text(f"wrote {output}"))
    else:
        sys.stdout.write(text)
