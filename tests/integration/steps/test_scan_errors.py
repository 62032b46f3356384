"""A failure is 'unknown', never 'empty': permission gaps, refused roles, bad regions."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from api_discovery.blobs import LocalBlobStore, S3BlobStore
from api_discovery.local.emulator import Emulator
from api_discovery.local.runner import run_local
from api_discovery.steps.plan import PlanSettings, ScanRequest
from api_discovery.steps.target_scan import scan_target
from api_discovery.store.registry import RegisteredAccount
from api_discovery.store.state import StateStore, create_table
from api_discovery.targets import Target
from tests.integration.builders import Builder, options, scan_region

ACCOUNT, REGION = "410987654321", "eu-central-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ApiDiscoveryReadOnly"


def _target(run_id: str = "run-1", region: str = REGION) -> Target:
    return Target(run_id=run_id, account_id=ACCOUNT, region=region, role_arn=ROLE, external_id="ext-4")


@pytest.fixture
def estate(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    rest = b.rest_api("orders")
    b.resource(rest, "/orders")
    b.method(rest, "/orders", "GET", integration={"type": "MOCK"})
    b.v1.create_deployment(restApiId=rest.id, stageName="prod")
    http = b.http_api("shop")
    b.route(http, "GET /items")
    return {"rest": rest.id, "http": http}


def test_access_denied_on_one_operation_is_a_recorded_gap(estate: dict[str, str], fresh_emulator: Emulator) -> None:
    fresh_emulator.deny_operation(ACCOUNT, "apigateway:GetStages")
    snapshot = scan_target(_target(), session_factory=boto3.Session, options=options())
    assert snapshot.status == "partial"
    (gap,) = snapshot.errors
    assert (gap.kind, gap.operation, gap.resource) == (
        "permission",
        "apigateway:GetStages",
        f"restapis/{estate['rest']}",
    )
    assert gap.code == "AccessDeniedException"
    rest = next(a for a in snapshot.apis if a.id == estate["rest"])
    assert [r.path for r in rest.routes] == ["/orders"] and rest.stages == []
    assert {a.id for a in snapshot.apis} == set(estate.values())


def test_a_denied_api_list_is_not_an_empty_one(estate: dict[str, str], fresh_emulator: Emulator) -> None:
    fresh_emulator.deny_operation(ACCOUNT, "apigateway:GetRestApis")
    snapshot = scan_target(_target(), session_factory=boto3.Session, options=options())
    assert snapshot.status == "partial"
    assert [e.operation for e in snapshot.errors] == ["apigateway:GetRestApis"]
    assert [a.id for a in snapshot.apis] == [estate["http"]]


def test_unknown_region_fails_without_a_call(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    snapshot = scan_target(_target(region="zz-north-9"), session_factory=boto3.Session, options=options())
    assert snapshot.status == "failed" and snapshot.apis == []
    assert snapshot.errors[0].kind == "region" and "unknown region 'zz-north-9'" in snapshot.errors[0].message
    assert fresh_emulator.requests.entries() == []


def test_denied_role_fails_the_target_and_keeps_earlier_state(estate: dict[str, str], fresh_emulator: Emulator) -> None:
    vendor = boto3.Session(region_name="us-east-1")
    s3, dynamodb = vendor.client("s3"), vendor.client("dynamodb")
    s3.create_bucket(Bucket="vendor")
    create_table(dynamodb, "vendor")
    blobs, state = S3BlobStore(s3, "vendor"), StateStore(dynamodb, "vendor")

    first = scan_region(_target("run-1"), blobs=blobs, state=state, session_factory=boto3.Session, options=options())
    assert first.status == "complete" and first.api_count == 2

    fresh_emulator.deny_assume_role(ROLE)
    second = scan_region(_target("run-2"), blobs=blobs, state=state, session_factory=boto3.Session, options=options())
    assert second.status == "failed" and second.api_count == 0
    assert second.reason is not None and "cannot assume" in second.reason and "AccessDenied" in second.reason

    current = {i["api_id"]: i for i in state.apis(ACCOUNT, REGION)}
    assert set(current) == set(estate.values())
    assert all(i["state"] == "present" and i["run_id"] == "run-1" for i in current.values())
    target = state.target(ACCOUNT, REGION)
    assert target is not None
    assert (target["status"], target["complete_run_id"]) == ("failed", "run-1")
    assert "cannot assume" in target["reason"]


def test_the_local_runner_records_a_crashed_target_and_finishes_the_run(
    estate: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def crash(**_: object) -> boto3.Session:
        raise RuntimeError("simulated crash")

    run = run_local(
        ScanRequest(source="cli"),
        registered=[
            RegisteredAccount(
                account_id=ACCOUNT, role_name="ApiDiscoveryReadOnly", external_id="ext-4", regions=[REGION]
            )
        ],
        settings=PlanSettings(default_regions=[REGION], split_budget=False),
        blobs=LocalBlobStore(tmp_path),
        state=None,
        session_factory=crash,
        options=options(),
    )
    (result,) = run.results
    assert (result.status, result.reason) == ("failed", "RuntimeError: simulated crash")
    assert run.summary.by_status == {"failed": 1} and LocalBlobStore(tmp_path).keys("runs/")


@pytest.mark.parametrize(
    "denied", ["apigateway:GetStages", "apigateway:GetResources", "apigatewayv2:GetRoutes", "apigatewayv2:GetStages"]
)
def test_a_part_not_read_gets_no_fresh_verdict_and_no_finding(
    denied: str, estate: dict[str, str], fresh_emulator: Emulator
) -> None:
    Builder(fresh_emulator.url, ACCOUNT, REGION).v2.create_stage(ApiId=estate["http"], StageName="$default")
    clean = scan_target(_target("run-0"), session_factory=boto3.Session, options=options())
    read = {a.id: a for a in clean.apis}
    assert {r.exposure.verdict for a in clean.apis for r in a.routes if r.exposure} == {"public-unauthenticated"}
    assert {f.api_id for f in clean.findings if f.severity == "high"} == set(estate.values())

    fresh_emulator.deny_operation(ACCOUNT, denied)
    snapshot = scan_target(_target(), session_factory=boto3.Session, options=options())
    assert snapshot.status == "partial"
    (gap,) = snapshot.errors
    unread = gap.resource.rsplit("/", 1)[-1]
    for api in snapshot.apis:
        verdicts = {r.exposure.verdict for r in api.routes if r.exposure}
        if api.id == unread:
            # Not `unreachable` (no stage read) and no finding resolved or raised from what was not read.
            assert verdicts <= {"unknown"} and all(denied in r.exposure.reasons[0] for r in api.routes if r.exposure)
            assert [f for f in snapshot.findings if f.api_id == api.id] == []
        else:
            assert verdicts == {r.exposure.verdict for r in read[api.id].routes if r.exposure}
            assert {f.rule_id for f in snapshot.findings if f.api_id == api.id} == {
                f.rule_id for f in clean.findings if f.api_id == api.id
            }


def test_unread_custom_domains_withhold_only_verdicts_that_depend_on_them(
    estate: dict[str, str], fresh_emulator: Emulator
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    b.v2.create_stage(ApiId=estate["http"], StageName="$default")
    b.v2.update_api(ApiId=estate["http"], DisableExecuteApiEndpoint=True)
    fresh_emulator.deny_operation(ACCOUNT, "apigateway:GetDomainNames")
    snapshot = scan_target(_target(), session_factory=boto3.Session, options=options())
    verdicts = {a.id: {r.exposure.verdict for r in a.routes if r.exposure} for a in snapshot.apis}
    # The REST API's default endpoint is on: reachable whatever the domains. The HTTP API is reached only
    # through domains, which were not read.
    assert verdicts == {estate["rest"]: {"public-unauthenticated"}, estate["http"]: {"unknown"}}
    assert {f.api_id for f in snapshot.findings} == {estate["rest"]}


def test_reports_show_an_unread_api_as_its_last_complete_view_labelled_stale(
    estate: dict[str, str], fresh_emulator: Emulator, tmp_path: Path
) -> None:
    from api_discovery.local import cli_reports, html_report  # noqa: PLC0415
    from api_discovery.local.report import build_report, load_estate, to_csv, to_json  # noqa: PLC0415

    blobs = LocalBlobStore(tmp_path)
    registered = [
        RegisteredAccount(account_id=ACCOUNT, role_name="ApiDiscoveryReadOnly", external_id="ext-4", regions=[REGION])
    ]

    def run(run_id: str) -> None:
        run_local(
            ScanRequest(source="cli", run_id=run_id),
            registered=registered,
            settings=PlanSettings(default_regions=[REGION], split_budget=False),
            blobs=blobs,
            state=None,
            session_factory=boto3.Session,
            options=options(),
        )

    run("20260101T000000.000000Z-aaaa")
    fresh_emulator.deny_operation(ACCOUNT, "apigateway:GetStages")
    run("20260101T060000.000000Z-bbbb")
    report = build_report(load_estate(blobs))
    rest = next(a for a in report.apis if a["id"] == estate["rest"])
    http = next(a for a in report.apis if a["id"] == estate["http"])
    # The REST API's stages were refused: its last complete view stands, labelled, with its verdict and finding.
    assert rest["exposure"] == {"public-unauthenticated": 1} and http["stale"] is None
    assert rest["stale"]["as_of_run"] == "20260101T000000.000000Z-aaaa" and rest["stale"]["age"].endswith(" older")
    assert "apigateway:GetStages" in rest["stale"]["reason"]
    high = [f for f in report.findings if f["api_id"] == estate["rest"] and f["severity"] == "high"]
    assert high and all(f["stale"]["as_of_run"] == "20260101T000000.000000Z-aaaa" for f in high)
    assert '"as_of_run": "20260101T000000.000000Z-aaaa"' in to_json(report)
    for section in ("routes", "findings"):
        rows = [r for r in to_csv(report, section).splitlines() if estate["rest"] in r]
        assert rows and all("as of 20" in r and " older)" in r and "GetStages" in r for r in rows)
    with cli_reports.console.capture() as table:
        cli_reports.print_report(report)
    assert "stale: as of" in table.get().replace("\n", " ")
    page = html_report.write(report, tmp_path / "report.html").read_text()
    assert '"as_of_run":"20260101T000000.000000Z-aaaa"' in page and "stale: as of" in page
