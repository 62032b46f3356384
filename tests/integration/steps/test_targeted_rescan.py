"""A change event's targeted rescan reads only what it names, merges it into the last complete snapshot, and
reports exactly what changed there, with a full scan's contracts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from api_discovery.analysis.diff import compute_changes
from api_discovery.blobs import S3BlobStore
from api_discovery.inventory.results import TargetResult
from api_discovery.inventory.snapshots import read_snapshot
from api_discovery.local.emulator import Emulator
from api_discovery.steps.scan import scan_account
from api_discovery.store.state import StateStore, create_table
from api_discovery.store.tracking import read_change_set
from api_discovery.targets import AccountTarget, Resource
from tests.integration.builders import Builder, RestApi, options

ACCOUNT = "530000000001"
REGION = "eu-west-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ApiDiscoveryReadOnly"
Vendor = tuple[S3BlobStore, StateStore]


class Estate:
    def __init__(self, builder: Builder) -> None:
        self.b = builder
        self.rest: list[RestApi] = []
        self.http: list[str] = []
        for i in range(3):
            api = builder.rest_api(f"rest-{i}")
            builder.resource(api, "/items")
            builder.method(api, "/items", "GET", integration={"type": "MOCK"})
            builder.v1.create_deployment(restApiId=api.id, stageName="prod")
            self.rest.append(api)
            self.http.append(builder.http_api(f"http-{i}"))
            builder.route(self.http[-1], "GET /items")
            builder.v2.create_stage(ApiId=self.http[-1], StageName="$default")
        self.ws = builder.http_api("ws", protocol="WEBSOCKET")
        builder.route(self.ws, "$connect")
        builder.v2.create_stage(ApiId=self.ws, StageName="live")


@pytest.fixture
def estate(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Estate:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    return Estate(Builder(fresh_emulator.url, ACCOUNT, REGION))


@pytest.fixture
def vendor(estate: Estate) -> Vendor:
    session = boto3.Session(region_name="us-east-1")
    session.client("s3").create_bucket(Bucket="vendor")
    create_table(session.client("dynamodb"), "vendor")
    blobs, state = S3BlobStore(session.client("s3"), "vendor"), StateStore(session.client("dynamodb"), "vendor")
    (first,) = _scan(vendor=(blobs, state), run_id="20261202T000000.000000Z-sweep001").finished()
    assert first.status == "complete" and first.change_count > 0
    return blobs, state


def _scan(vendor: Vendor, run_id: str, *resources: Resource, drift: bool = False) -> Any:
    blobs, state = vendor
    item = AccountTarget(
        run_id=run_id,
        account_id=ACCOUNT,
        regions=[REGION],
        role_arn=ROLE,
        resources=list(resources) or None,
        drift=drift,
    )
    return scan_account(
        item, blobs=blobs, state=state, session_factory=boto3.Session, external_id="ext-530", options=options()
    )


_RUNS = iter(f"20261202T0{i:05d}.000000Z-change{i:02d}" for i in range(1, 99))


def _rescan(fresh_emulator: Emulator, vendor: Vendor, *resources: Resource) -> tuple[TargetResult, Counter[str]]:
    fresh_emulator.requests.clear()
    (result,) = _scan(vendor, next(_RUNS), *resources).finished()
    calls = Counter({op: n for op, n in fresh_emulator.requests.counts(ACCOUNT).items() if op.startswith("apigateway")})
    return result, calls


def _changes(vendor: Vendor, result: TargetResult) -> list[tuple[str, str | None, str]]:
    if not result.changes_key:
        return []
    return sorted((c.type, c.api_id, c.subject) for c in read_change_set(vendor[0], result.changes_key).changes)


def _inventory(vendor: Vendor, result: TargetResult) -> list[tuple[str, str | None, str]]:
    """The changes to the inventory itself, findings left out; each names only the API it is about."""
    return [c for c in _changes(vendor, result) if not c[0].startswith("finding_")]


def _full_diff(vendor: Vendor, result: TargetResult) -> list[tuple[str, str | None, str]]:
    """What a full scan at this moment would report against the same baseline."""
    blobs, _ = vendor
    merged = read_snapshot(blobs, str(result.snapshot_key))
    assert merged.rescan is not None
    base = read_snapshot(blobs, merged.rescan.base)
    return sorted((c.type, c.api_id, c.subject) for c in compute_changes(base, merged))


def test_a_rest_route_added_costs_four_calls_and_reports_only_that_route(
    fresh_emulator: Emulator, estate: Estate, vendor: Vendor
) -> None:
    api = estate.rest[1]
    estate.b.resource(api, "/orders")
    estate.b.method(api, "/orders", "POST", integration={"type": "MOCK"})
    result, calls = _rescan(fresh_emulator, vendor, Resource(kind="rest_api", id=api.id))

    assert result.status == "complete"
    assert calls == Counter(
        {
            "apigateway:GetRestApis": 1,
            "apigateway:GetResources": 1,
            "apigateway:GetStages": 1,
            "apigateway:GetAuthorizers": 1,
        }
    )
    assert _inventory(vendor, result) == [("route_added", api.id, "POST /orders")]
    assert {api_id for _, api_id, _ in _changes(vendor, result)} == {api.id}  # its findings too, nothing else
    snapshot = read_snapshot(vendor[0], str(result.snapshot_key))
    assert snapshot.rescan is not None and snapshot.rescan.read == [f"rest_api#{api.id}"]
    # The merged snapshot is the whole region: every other API is still in it.
    assert len(snapshot.apis) == 7


@pytest.mark.parametrize("protocol", ["HTTP", "WEBSOCKET"])
def test_a_v2_route_added_costs_five_calls(
    fresh_emulator: Emulator, estate: Estate, vendor: Vendor, protocol: str
) -> None:
    api_id = estate.http[0] if protocol == "HTTP" else estate.ws
    key = "POST /orders" if protocol == "HTTP" else "sendMessage"
    estate.b.route(api_id, key)
    result, calls = _rescan(fresh_emulator, vendor, Resource(kind="v2_api", id=api_id))
    assert sum(calls.values()) == 5
    assert {op.split(":")[0] for op in calls} == {"apigatewayv2"}
    assert _inventory(vendor, result) == [("route_added", api_id, key)]
    assert {a for _, a, _ in _changes(vendor, result)} == {api_id}


def test_a_created_api_is_discovered(fresh_emulator: Emulator, estate: Estate, vendor: Vendor) -> None:
    api = estate.b.rest_api("new-one")
    result, _ = _rescan(fresh_emulator, vendor, Resource(kind="rest_api", id=api.id))
    assert _inventory(vendor, result) == [("api_added", api.id, "new-one")]


def test_a_deleted_api_is_removed_once_a_read_confirms_it(
    fresh_emulator: Emulator, estate: Estate, vendor: Vendor
) -> None:
    gone = estate.http[2]
    estate.b.v2.delete_api(ApiId=gone)
    result, _ = _rescan(fresh_emulator, vendor, Resource(kind="v2_api", id=gone))
    assert [c for c in _inventory(vendor, result) if c[0] == "api_removed"] == [("api_removed", gone, "http-2")]
    assert {a for _, a, _ in _changes(vendor, result)} == {gone}
    assert read_snapshot(vendor[0], str(result.snapshot_key)).rescan.removed == [f"v2_api#{gone}"]  # type: ignore[union-attr]
    removed = [i for i in vendor[1].apis(ACCOUNT, REGION) if i["api_id"] == gone]
    assert [i["state"] for i in removed] == ["removed"]


def test_a_delete_event_for_an_api_that_still_exists_removes_nothing(
    fresh_emulator: Emulator, estate: Estate, vendor: Vendor
) -> None:
    api = estate.rest[0]
    result, _ = _rescan(fresh_emulator, vendor, Resource(kind="rest_api", id=api.id))
    assert result.unchanged and _changes(vendor, result) == []
    assert {i["state"] for i in vendor[1].apis(ACCOUNT, REGION)} == {"present"}


def test_a_stage_and_a_deployment_are_read_with_their_api(
    fresh_emulator: Emulator, estate: Estate, vendor: Vendor
) -> None:
    api = estate.rest[2]
    estate.b.v1.create_deployment(restApiId=api.id, stageName="beta")
    result, _ = _rescan(fresh_emulator, vendor, Resource(kind="rest_api", id=api.id))
    assert ("stage_added", api.id, "beta") in _inventory(vendor, result)


def test_a_domain_mapping_reaches_the_mapped_api(fresh_emulator: Emulator, estate: Estate, vendor: Vendor) -> None:
    estate.b.v1.create_domain_name(
        domainName="api.example.com", regionalCertificateArn="arn:aws:acm:eu-west-1:1:certificate/x"
    )
    api = estate.rest[0]
    estate.b.v1.create_base_path_mapping(domainName="api.example.com", restApiId=api.id, stage="prod", basePath="v1")
    result, calls = _rescan(fresh_emulator, vendor, Resource(kind="domain", id="api.example.com"))
    changes = _changes(vendor, result)
    assert any(kind == "domain_added" and subject == "api.example.com" for kind, _, subject in changes)
    assert {api_id for _, api_id, _ in changes} <= {None, api.id}
    assert calls["apigateway:GetDomainNames"] == 1 and calls["apigateway:GetResources"] == 0


def test_what_a_targeted_rescan_reports_is_what_a_full_diff_of_its_view_reports(
    fresh_emulator: Emulator, estate: Estate, vendor: Vendor
) -> None:
    api = estate.rest[1]
    estate.b.v1.delete_resource(restApiId=api.id, resourceId=api.resources["/items"])
    result, _ = _rescan(fresh_emulator, vendor, Resource(kind="rest_api", id=api.id))
    assert _changes(vendor, result) == _full_diff(vendor, result) != []


def test_a_read_older_than_the_last_sweep_changes_nothing(
    fresh_emulator: Emulator, estate: Estate, vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = estate.rest[1]
    estate.b.resource(api, "/late")
    estate.b.method(api, "/late", "GET", integration={"type": "MOCK"})
    (sweep,) = _scan(vendor, "20261202T090000.000000Z-sweep002").finished()
    assert [c[2] for c in _inventory(vendor, sweep)] == ["GET /late"]
    pointer = vendor[1].target(ACCOUNT, REGION)
    assert pointer is not None
    # A rescan whose read began before that sweep, and saw the API without the route, settles only now.
    estate.b.v1.delete_resource(restApiId=api.id, resourceId=api.resources["/late"])
    monkeypatch.setattr("api_discovery.steps.rescan.utc_now", lambda: "2000-01-01T00:00:00Z")
    (late,) = _scan(vendor, next(_RUNS), Resource(kind="rest_api", id=api.id)).finished()
    assert late.stale and late.change_count == 0 and late.changes_key is None
    after = vendor[1].target(ACCOUNT, REGION)
    assert after is not None and after["complete_snapshot_key"] == pointer["complete_snapshot_key"]
    assert {i["api_id"]: i["route_count"] for i in vendor[1].apis(ACCOUNT, REGION)}[api.id] == 2


def test_without_a_complete_view_the_rescan_scans_the_whole_region(
    fresh_emulator: Emulator, estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = boto3.Session(region_name="us-east-1")
    session.client("s3").create_bucket(Bucket="empty")
    create_table(session.client("dynamodb"), "empty")
    blobs, state = S3BlobStore(session.client("s3"), "empty"), StateStore(session.client("dynamodb"), "empty")
    fresh_emulator.requests.clear()
    (result,) = _scan((blobs, state), next(_RUNS), Resource(kind="rest_api", id=estate.rest[0].id)).finished()
    assert result.status == "complete" and result.api_count == 7
    assert fresh_emulator.requests.counts(ACCOUNT)["apigateway:GetUsagePlans"] == 1  # region-wide: a full scan


def test_a_sweep_reports_what_no_event_announced_as_drift(
    fresh_emulator: Emulator, estate: Estate, vendor: Vendor
) -> None:
    announced, missed = estate.rest[0], estate.rest[2]
    estate.b.resource(announced, "/announced")
    estate.b.method(announced, "/announced", "GET", integration={"type": "MOCK"})
    event_run, _ = _rescan(fresh_emulator, vendor, Resource(kind="rest_api", id=announced.id))
    estate.b.resource(missed, "/missed")  # its event was lost
    estate.b.method(missed, "/missed", "GET", integration={"type": "MOCK"})
    (sweep,) = _scan(vendor, "20261202T100000.000000Z-sweep003", drift=True).finished()

    assert event_run.drift_count == 0
    assert _inventory(vendor, sweep) == [("route_added", missed.id, "GET /missed")]
    change_set = read_change_set(vendor[0], str(sweep.changes_key))
    assert {c.drift for c in change_set.changes} == {True}
    assert sweep.drift_count == sweep.change_count > 0


def test_an_updated_route_is_reported_as_its_authorization_change(
    fresh_emulator: Emulator, estate: Estate, vendor: Vendor
) -> None:
    api_id = estate.http[1]
    (route,) = estate.b.v2.get_routes(ApiId=api_id)["Items"]
    estate.b.v2.update_route(ApiId=api_id, RouteId=route["RouteId"], AuthorizationType="AWS_IAM")
    result, _ = _rescan(fresh_emulator, vendor, Resource(kind="v2_api", id=api_id))
    assert ("route_authorization_changed", api_id, "GET /items") in _inventory(vendor, result)
    assert {a for _, a, _ in _changes(vendor, result)} == {api_id}


def test_a_v2_stage_deleted_is_reported_removed(fresh_emulator: Emulator, estate: Estate, vendor: Vendor) -> None:
    estate.b.v2.delete_stage(ApiId=estate.ws, StageName="live")
    result, _ = _rescan(fresh_emulator, vendor, Resource(kind="v2_api", id=estate.ws))
    assert ("stage_removed", estate.ws, "live") in _inventory(vendor, result)


def test_a_domain_and_its_mapping_removed(fresh_emulator: Emulator, estate: Estate, vendor: Vendor) -> None:
    name, api = "shop.example.com", estate.rest[2]
    estate.b.v1.create_domain_name(domainName=name, regionalCertificateArn="arn:aws:acm:eu-west-1:1:certificate/y")
    estate.b.v1.create_base_path_mapping(domainName=name, restApiId=api.id, stage="prod", basePath="shop")
    added, _ = _rescan(fresh_emulator, vendor, Resource(kind="domain", id=name))
    assert any(t == "domain_added" for t, _, _ in _inventory(vendor, added))
    estate.b.v1.delete_base_path_mapping(domainName=name, basePath="shop")
    unmapped, _ = _rescan(fresh_emulator, vendor, Resource(kind="domain", id=name))
    assert [t for t, _, s in _inventory(vendor, unmapped) if s == name] == ["domain_mappings_changed"]
    estate.b.v1.delete_domain_name(domainName=name)
    removed, _ = _rescan(fresh_emulator, vendor, Resource(kind="domain", id=name))
    assert [t for t, _, s in _inventory(vendor, removed) if s == name] == ["domain_removed"]
    snapshot = read_snapshot(vendor[0], str(removed.snapshot_key))
    assert snapshot.rescan is not None and snapshot.rescan.removed == [f"domain#{name}"]


def test_a_read_that_settles_after_a_later_rescan_of_another_api_is_still_reported(
    fresh_emulator: Emulator, estate: Estate, vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two rescans race: A's read begins first, B's read of another API lands first. A's change is not older
    news than B's view, which never read A: it is merged in and reported."""
    first, second = estate.rest[0], estate.rest[1]
    for api in (first, second):
        estate.b.resource(api, "/raced")
        estate.b.method(api, "/raced", "GET", integration={"type": "MOCK"})
    swept = vendor[1].target(ACCOUNT, REGION)
    assert swept is not None
    swept_at = datetime.strptime(str(swept["complete_scanned_at"]), "%Y-%m-%dT%H:%M:%S.%fZ")
    began = (swept_at + timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # after the sweep, before B
    landed, _ = _rescan(fresh_emulator, vendor, Resource(kind="rest_api", id=second.id))
    assert _inventory(vendor, landed) == [("route_added", second.id, "GET /raced")]
    monkeypatch.setattr("api_discovery.steps.rescan.utc_now", lambda: began)
    late, _ = _rescan(fresh_emulator, vendor, Resource(kind="rest_api", id=first.id))
    assert not late.stale
    assert _inventory(vendor, late) == [("route_added", first.id, "GET /raced")]
    view = read_snapshot(vendor[0], str(late.snapshot_key))
    raced = {a.id for a in view.apis if any(r.path == "/raced" for r in a.routes)}
    assert raced == {first.id, second.id}
