"""`report` and `diff` over stored runs: inventory, exposure, findings, filters, formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api_discovery.blobs import LocalBlobStore
from api_discovery.local.cli import app
from api_discovery.local.report import Filters, ReportError, build_report, diff_runs, load_estate, to_csv
from tests.unit.report_store import HOSTILE, OTHER_ACCOUNT, RUN1, RUN2, build


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return build(tmp_path)


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_latest_run_is_reported_and_a_failed_target_shows_its_last_good_scan(store: LocalBlobStore) -> None:
    estate = load_estate(store)
    assert estate.run_id == RUN2
    views = {v.account_id: v for v in estate.targets}
    assert views[OTHER_ACCOUNT].status == "failed" and views[OTHER_ACCOUNT].as_of_run == RUN1
    assert views["111111111111"].as_of_run == RUN2
    report = build_report(estate)
    assert sorted(a["name"] for a in report.apis) == sorted(["orders", "ledger", "payments", HOSTILE])


def test_an_earlier_run_can_be_chosen(store: LocalBlobStore) -> None:
    report = build_report(load_estate(store, RUN1))
    assert sorted(a["name"] for a in report.apis) == ["ledger", "orders", "payments"]
    with pytest.raises(ReportError, match="no run"):
        load_estate(store, "nope")


def test_filters_account_region_severity_and_exposure(store: LocalBlobStore) -> None:
    estate = load_estate(store)
    mine = build_report(estate, Filters(accounts=["111111111111"]))
    assert {a["account_id"] for a in mine.apis} == {"111111111111"} and len(mine.apis) == 3
    assert build_report(estate, Filters(regions=["us-west-2"])).apis == []
    high = build_report(estate, Filters(min_severity="high"))
    assert high.findings and {f["severity"] for f in high.findings} <= {"critical", "high"}
    everything = build_report(estate)
    assert len(everything.findings) > len(high.findings)
    public = build_report(estate, Filters(exposures=["public-unauthenticated"]))
    routes = [(a["name"], r["path"]) for a in public.apis for r in a["routes"]]
    assert ("orders", "/orders") in routes and ("payments", "/items") in routes
    assert all(r["exposure"] == "public-unauthenticated" for a in public.apis for r in a["routes"])
    assert "ledger" not in {a["name"] for a in public.apis}


def test_the_exposure_and_severity_summaries_count_routes_and_findings(store: LocalBlobStore) -> None:
    report = build_report(load_estate(store))
    routes = sum(len(a["routes"]) for a in report.apis)
    assert sum(report.exposure_summary().values()) == routes
    assert sum(report.severity_summary().values()) == len(report.findings)
    assert report.exposure_summary()["private"] == 1


def test_csv_has_one_row_per_route_or_per_finding(store: LocalBlobStore) -> None:
    report = build_report(load_estate(store))
    routes = list(csv.DictReader(io.StringIO(to_csv(report, "routes"))))
    assert len(routes) == sum(len(a["routes"]) for a in report.apis)
    assert {"api_name", "method", "path", "exposure"} <= set(routes[0])
    findings = list(csv.DictReader(io.StringIO(to_csv(report, "findings"))))
    assert len(findings) == len(report.findings) and json.loads(findings[0]["evidence"]) is not None


def test_the_report_command_prints_tables_json_and_csv(store: LocalBlobStore, tmp_path: Path) -> None:
    table = _invoke("report", "--data", str(tmp_path))
    assert "orders" in table and "public-route-unauthenticated" in table and "Routes by exposure" in table
    data = json.loads(_invoke("report", "--data", str(tmp_path), "--format", "json", "--account", OTHER_ACCOUNT))
    assert [a["name"] for a in data["apis"]] == ["payments"]
    rows = _invoke("report", "--data", str(tmp_path), "--format", "csv", "--section", "findings", "--severity", "high")
    assert rows.splitlines()[0].startswith("account_id,region,severity")
    assert all(",high," in line for line in rows.splitlines()[1:])


def test_the_report_command_refuses_what_it_cannot_do(store: LocalBlobStore, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["report", "--data", str(tmp_path), "--format", "csv"]).exit_code == 2
    assert runner.invoke(app, ["report", "--data", str(tmp_path), "--exposure", "bogus"]).exit_code == 2
    assert runner.invoke(app, ["report", "--data", str(tmp_path / "missing")]).exit_code == 2


def test_diff_between_two_runs(store: LocalBlobStore, tmp_path: Path) -> None:
    rows = diff_runs(store, RUN1, RUN2)
    kinds = {(r["type"], r["subject"]) for r in rows if not r["type"].startswith("finding")}
    assert ("route_authorization_changed", "GET /orders") in kinds
    assert any(t == "api_added" for t, _ in kinds)
    assert all(r["account_id"] == "111111111111" for r in rows)  # the other target failed in run 2
    printed = _invoke("diff", "--data", str(tmp_path))
    assert "route_authorization_changed" in printed and RUN1 in printed
    as_json = json.loads(_invoke("diff", "--data", str(tmp_path), "--from", RUN1, "--to", RUN2, "--format", "json"))
    assert len(as_json["changes"]) == len(rows)


def test_diff_needs_two_runs(tmp_path: Path) -> None:
    store = build(tmp_path)
    result = CliRunner().invoke(app, ["diff", "--data", str(tmp_path), "--to", RUN1])
    assert result.exit_code == 2 and store.keys("runs/")
