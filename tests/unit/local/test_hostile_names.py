"""Names a customer chose (APIs, stages, routes, domains) and reasons that quote them are shown, never
interpreted: not as Rich markup or emoji codes in the terminal, not as formulas in a spreadsheet, not as HTML."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from api_discovery.blobs import LocalBlobStore
from api_discovery.inventory.model import Snapshot
from api_discovery.inventory.results import RunSummary, TargetResult
from api_discovery.inventory.snapshots import write_snapshot
from api_discovery.local import cli, html_report
from api_discovery.local.report import Report, build_report, csv_cell, load_estate, to_csv
from api_discovery.local.runner import LocalRun
from api_discovery.steps.finalize import Announcement, FinalizeResult, PublishPlan
from api_discovery.steps.plan import PlanResult
from tests.unit.estate_factory import api, domain, route, snapshot, stage
from tests.unit.report_store import _record

RUN1, RUN2 = "20260101T000000Z-aaaa", "20260102T000000Z-bbbb"
CLOSE = "[/bold]"  # an unmatched closing tag: Rich raised MarkupError and the command crashed
LINK = "[link=https://e.vil]x"  # rendered as a clickable `x`
EMOJI = ":thumbs_up:"  # rendered as an emoji
SCRIPT = "</script><script>alert(1)</script>"
FORMULAS = ["=HYPERLINK(1)", "+1+1", "-1+1", "@SUM(1)", "\tx", "\rx"]


def _hostile_snapshot(run: str, at: str) -> Snapshot:
    return snapshot(
        [
            api("r1", name=CLOSE, routes=[route("GET", f"/{LINK}")], stages=[stage(EMOJI)]),
            api("r2", name=LINK),
            api("r3", name=EMOJI),
        ],
        domains=[domain(f"{CLOSE}.example.com", ("", "r1", EMOJI), security_policy="TLS_1_0")],
        run=run,
        at=at,
    )


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    """Run 1 sees a plain API; run 2 sees the hostile ones (so the diff lists them too)."""
    blobs = LocalBlobStore(tmp_path)
    first = snapshot([api("r0", name="plain")], run=RUN1)
    second = _hostile_snapshot(RUN2, "2026-01-02T00:00:00.000000Z")
    _record(blobs, RUN1, [(first, None)])
    _record(blobs, RUN2, [(second, first)])
    return blobs


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_the_report_table_shows_markup_in_names_as_text(store: LocalBlobStore, tmp_path: Path) -> None:
    printed = _invoke("report", "--data", str(tmp_path))
    for name in (CLOSE, LINK, EMOJI):
        assert name in printed
    assert "\N{THUMBS UP SIGN}" not in printed


def test_the_diff_table_shows_markup_in_names_as_text(store: LocalBlobStore, tmp_path: Path) -> None:
    printed = _invoke("diff", "--data", str(tmp_path))
    assert "api_added" in printed and "\N{THUMBS UP SIGN}" not in printed
    # The diff's columns fold long text: compare without the table's line breaks and borders.
    flat = re.sub(r"\s*[│┃|]\s*|\n", "", printed)
    assert CLOSE in flat and EMOJI in flat


def _local_run(blobs: LocalBlobStore) -> LocalRun:
    scanned = _hostile_snapshot("r", "2026-01-02T00:00:00.000000Z")
    ref = write_snapshot(blobs, scanned)
    results = [
        TargetResult(
            run_id="r", account_id="111111111111", region="eu-west-1", status="complete", snapshot_key=ref.key
        ),
        TargetResult(
            run_id="r", account_id="222222222222", region="eu-west-1", status="failed", reason=f"denied {CLOSE} {LINK}"
        ),
    ]
    summary = RunSummary(
        run_id="r", started_at="t", finished_at="t", targets=2, by_status={}, apis=0, routes=0, api_calls=0, failed=[]
    )
    finalized = FinalizeResult(
        run_id="r",
        started_at="t",
        summary={},
        publish=PublishPlan(count=0),
        announce=Announcement(run_id="r", runs=["r"]),
    )
    plan = PlanResult(run_id="r", count=2, manifest={"key": "m"}, started_at="t")
    return LocalRun(plan=plan, results=results, summary=summary, finalized=finalized)


def test_the_scan_and_demo_tables_show_markup_in_names_and_reasons_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=out, width=250))
    run = _local_run(LocalBlobStore(tmp_path))
    cli.print_targets(run, set())
    cli.print_inventory(LocalBlobStore(tmp_path), run)
    printed = out.getvalue()
    assert f"denied {CLOSE} {LINK}" in printed  # the failed target's reason
    for name in (f"{CLOSE} (r1)", f"{LINK} (r2)", f"{EMOJI} (r3)", f"{CLOSE}.example.com"):
        assert name in printed
    assert "\N{THUMBS UP SIGN}" not in printed


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    apis = [api(f"f{i}", name=name) for i, name in enumerate(FORMULAS)] + [api("ok", name="orders-v2")]
    _record(blobs, RUN1, [(snapshot(apis, run=RUN1), None)])
    rows = list(csv.DictReader(io.StringIO(to_csv(build_report(load_estate(blobs)), "routes"), newline="")))
    names = sorted(r["api_name"] for r in rows)
    assert names == sorted(["'" + n for n in FORMULAS] + ["orders-v2"])  # a dash inside a name is left alone
    assert {r["path"] for r in rows} == {"/items"}


def test_csv_findings_cells_are_quoted_too() -> None:
    finding = {
        "account_id": "111111111111",
        "region": "eu-west-1",
        "severity": "high",
        "rule_id": "r",
        "title": "=1+1",
        "resource": "@SUM(1)",
        "api_id": "-1",
        "evidence": {"name": "=x"},
    }
    report = Report(run_id="r", started_at="t", findings=[finding])
    (row,) = csv.DictReader(io.StringIO(to_csv(report, "findings")))
    assert (row["title"], row["resource"], row["api_id"]) == ("'=1+1", "'@SUM(1)", "'-1")
    assert json.loads(row["evidence"]) == {"name": "=x"}  # starts with `{`: left as it is
    assert csv_cell(12) == 12 and csv_cell("plain") == "plain"


def test_the_html_report_never_ends_its_script_element_on_a_name(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    _record(blobs, RUN1, [(snapshot([api("s1", name=SCRIPT)], run=RUN1), None)])
    page = html_report.render(build_report(load_estate(blobs)))
    assert SCRIPT not in page and "<script>alert" not in page
    # The page's own two script elements, and no third one opened by the name.
    assert page.count("<script") == 2 and page.count("</script>") == 2
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.DOTALL)
    assert data is not None
    assert [a["name"] for a in json.loads(data.group(1))["apis"]] == [SCRIPT]
