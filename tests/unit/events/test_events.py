"""The run's events: their details match the committed schemas, PutEvents is batched, retried and never drops."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from moto import mock_aws

from api_discovery.analysis.diff import Change
from api_discovery.blobs import LocalBlobStore
from api_discovery.events.models import (
    DETAILS,
    ApiChanged,
    ApiDiscovered,
    ApiSummary,
    Event,
    completed_event,
    target_events,
)
from api_discovery.events.notify import (
    FailedTarget,
    Ledger,
    MemoryLedger,
    PublishItem,
    TableLedger,
    announce,
    batch_events,
    publish_batch,
)
from api_discovery.events.publisher import (
    MAX_REQUEST_BYTES,
    EventDeliveryError,
    EventTooLargeError,
    Publisher,
    entry_size,
)
from api_discovery.inventory.results import RunSummary, TargetResult
from api_discovery.inventory.snapshots import write_snapshot
from api_discovery.store.state import create_table
from api_discovery.store.tracking import ChangeSet, changes_key, track
from tests.unit.estate_factory import api, domain, route, snapshot, stage

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "events"
RUN = "20260102T000000Z-bbbb"


class FakeEvents:
    """EventBridge's PutEvents: records every call; `fail` maps an event id to the error codes of its attempts."""

    def __init__(self, fail: dict[str, list[str]] | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.fail = fail or {}

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's spelling
        assert len(Entries) <= 10 and sum(entry_size(e) for e in Entries) <= MAX_REQUEST_BYTES
        self.calls.append(Entries)
        results = []
        for entry in Entries:
            pending = self.fail.get(json.loads(entry["Detail"])["event_id"])
            if pending:
                results.append({"ErrorCode": pending.pop(0), "ErrorMessage": "try again"})
            else:
                results.append({"EventId": f"e-{sum(map(len, self.calls))}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}

    def delivered(self) -> list[dict[str, Any]]:
        return [e for call in self.calls for e in call]


def _schema(detail_type: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{detail_type.lower().replace(' ', '-')}.v1.json").read_text())
    return schema


def _event(i: int, name_size: int = 10) -> Event:
    detail = ApiDiscovered(
        event_id=f"id-{i}",
        run_id=RUN,
        account_id="111111111111",
        region="eu-west-1",
        api=ApiSummary(kind="REST", id=f"a{i}", name="n" * name_size),
    )
    return Event(detail=detail)


def _publisher(client: FakeEvents, sleeps: list[float] | None = None) -> Publisher:
    return Publisher(client, "bus", max_attempts=4, sleep=(sleeps if sleeps is not None else []).append)


def _run(tmp_path: Path) -> tuple[LocalBlobStore, RunSummary, list[TargetResult]]:
    """Two complete scans of one target with changes between them, and a target that failed."""
    blobs = LocalBlobStore(tmp_path)
    before = snapshot(
        [
            api("r1", routes=[route("GET", "/a", auth="COGNITO_USER_POOLS")]),
            api("gone", stages=[stage(throttling=None)]),
        ],
        domains=[domain("d.example.com", ("", "r1", "prod"))],
    )
    after = snapshot(
        [api("r1", routes=[route("GET", "/a", auth="NONE")], stages=[stage(tracing_enabled=False)]), api("h1", "HTTP")],
        domains=[domain("d.example.com", ("", "r1", "prod"), security_policy="TLS_1_0")],
        run=RUN,
        at="2026-01-02T00:00:00.000000Z",
    )
    change_set = track(blobs, after, write_snapshot(blobs, after), write_snapshot(blobs, before).key)
    assert change_set is not None
    ok = TargetResult(
        run_id=RUN, account_id="111111111111", region="eu-west-1", status="complete", changes_key=changes_key(after)
    )
    failed = TargetResult(run_id=RUN, account_id="333333333333", region="eu-west-1", status="failed", reason="denied")
    summary = RunSummary(
        run_id=RUN,
        started_at="2026-01-02T00:00:00.000000Z",
        finished_at="2026-01-02T00:01:30.500000Z",
        targets=2,
        by_status={"complete": 1, "failed": 1},
        apis=2,
        routes=2,
        api_calls=20,
        failed=[failed],
        failed_count=1,
        change_types=dict(Counter(c.type for c in change_set.changes)),
    )
    return blobs, summary, [ok, failed]


def _item(results: list[TargetResult]) -> PublishItem:
    """The run's one publishing batch, as finalize cuts it."""
    return PublishItem(
        run_id=RUN,
        batch=0,
        change_sets=[r.changes_key for r in results if r.changes_key],
        failed=[
            FailedTarget(account_id=r.account_id, region=r.region, reason=r.reason)
            for r in results
            if r.status == "failed"
        ],
    )


def _emit(
    blobs: LocalBlobStore, summary: RunSummary, results: list[TargetResult], publisher: Publisher, ledger: Ledger
) -> dict[str, int]:
    """What the workflow does after finalize: every batch, then the announcement."""
    sent = Counter(publish_batch(_item(results), blobs=blobs, publisher=publisher, ledger=ledger))
    sent.update(announce(summary, publisher=publisher, ledger=ledger))
    return dict(sorted(sent.items()))


def test_every_detail_type_has_a_committed_schema() -> None:
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(
        f"{d.DETAIL_TYPE.lower().replace(' ', '-')}.v1.json" for d in DETAILS
    )


def test_a_run_emits_every_kind_of_event_and_each_matches_its_schema(tmp_path: Path) -> None:
    blobs, summary, results = _run(tmp_path)
    client = FakeEvents()
    sent = _emit(blobs, summary, results, _publisher(client), MemoryLedger())
    delivered = client.delivered()
    assert {e["DetailType"] for e in delivered} == {d.DETAIL_TYPE for d in DETAILS}
    for entry in delivered:
        assert entry["Source"] == "api-discovery" and entry["EventBusName"] == "bus"
        jsonschema.validate(json.loads(entry["Detail"]), _schema(entry["DetailType"]))
    assert sent == dict(sorted(Counter(e["DetailType"] for e in delivered).items()))
    (changed,) = [json.loads(e["Detail"]) for e in delivered if e["DetailType"] == "API Changed"]
    assert changed["api"]["id"] == "r1" and changed["api"]["name"] == "api-r1"
    assert changed["change_counts"] == {
        "domain_tls_changed": 1,
        "route_authorization_changed": 1,
        "route_exposure_changed": 1,
        "stage_settings_changed": 1,
    }
    assert {c["subject"] for c in changed["changes"]} == {"GET /a", "prod", "d.example.com"}
    (completed,) = [json.loads(e["Detail"]) for e in delivered if e["DetailType"] == "Scan Completed"]
    assert completed["duration_seconds"] == 90.5 and completed["failed_targets"][0]["account_id"] == "333333333333"
    assert completed["changes"] == len(read_changes(blobs, results)) > 0


def read_changes(blobs: LocalBlobStore, results: list[TargetResult]) -> list[Change]:
    return [
        c for r in results if r.changes_key for c in ChangeSet.model_validate_json(blobs.get(r.changes_key)).changes
    ]


def test_the_schemas_reject_what_the_models_reject() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"event_id": "x", "run_id": RUN}, _schema("API Changed"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**_event(1).detail.model_dump(), "surprise": 1}, _schema("API Discovered"))


def test_a_second_finalize_of_the_same_run_sends_nothing(tmp_path: Path) -> None:
    blobs, summary, results = _run(tmp_path)
    client, ledger = FakeEvents(), MemoryLedger()
    first = _emit(blobs, summary, results, _publisher(client), ledger)
    calls = len(client.calls)
    again = _emit(blobs, summary, results, _publisher(client), ledger)
    assert sum(first.values()) > 0 and again == {} and len(client.calls) == calls


def test_a_rerun_after_a_failed_delivery_sends_only_what_is_missing(tmp_path: Path) -> None:
    blobs, summary, results = _run(tmp_path)
    stubborn = completed_event(summary).id
    ledger = MemoryLedger()
    client = FakeEvents(fail={stubborn: ["InternalFailure"] * 4})
    with pytest.raises(EventDeliveryError) as raised:
        _emit(blobs, summary, results, _publisher(client), ledger)
    assert list(raised.value.failures) == [stubborn]
    retry_client = FakeEvents()
    sent = _emit(blobs, summary, results, _publisher(retry_client), ledger)
    assert sent == {"Scan Completed": 1} and len(retry_client.delivered()) == 1


def test_batches_hold_at_most_ten_entries() -> None:
    client = FakeEvents()
    sent = _publisher(client).publish([_event(i) for i in range(25)])
    assert [len(c) for c in client.calls] == [10, 10, 5] and sent == {"API Discovered": 25}


def test_batches_stay_within_256_kb() -> None:
    client = FakeEvents()
    _publisher(client).publish([_event(i, name_size=100_000) for i in range(5)])
    assert [len(c) for c in client.calls] == [2, 2, 1]


def test_only_failed_entries_are_resent_with_backoff() -> None:
    client = FakeEvents(fail={"id-1": ["ThrottlingException"], "id-3": ["ThrottlingException", "InternalFailure"]})
    sleeps: list[float] = []
    sent_batches: list[list[str]] = []
    _publisher(client, sleeps).publish(
        [_event(i) for i in range(5)], on_sent=lambda b: sent_batches.append([e.id for e in b])
    )
    ids = [[json.loads(e["Detail"])["event_id"] for e in call] for call in client.calls]
    assert ids == [["id-0", "id-1", "id-2", "id-3", "id-4"], ["id-1", "id-3"], ["id-3"]]
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.4 and 0 <= sleeps[1] <= 0.8
    assert sorted(i for batch in sent_batches for i in batch) == [f"id-{i}" for i in range(5)]


def test_entries_that_keep_failing_are_named_never_dropped() -> None:
    client = FakeEvents(fail={"id-2": ["InternalFailure"] * 10})
    accepted: list[str] = []
    with pytest.raises(EventDeliveryError, match="id-2"):
        _publisher(client).publish([_event(i) for i in range(4)], on_sent=lambda b: accepted.extend(e.id for e in b))
    assert sorted(accepted) == ["id-0", "id-1", "id-3"]
    assert len(client.calls) == 4  # the first call and three resends of the one failed entry


def test_a_too_large_event_is_trimmed_to_a_summary_that_still_matches_its_schema() -> None:
    big = [
        Change(type="route_added", api_kind="REST", api_id="r1", subject=f"GET /{i}", after={"x": "y" * 300})
        for i in range(1000)
    ]
    change_set = ChangeSet(
        account_id="111111111111",
        region="eu-west-1",
        run_id=RUN,
        scanned_at="2026-01-02T00:00:00.000000Z",
        status="complete",
        snapshot_key="snapshots/k",
        snapshot_uri="s3://bucket/snapshots/k",
        baseline="previous-complete",
        changes=big,
        apis=[{"kind": "REST", "id": "r1", "name": "orders"}],
    )
    (event,) = target_events(change_set, "s3://bucket/changes/k")
    assert entry_size(event.entry("bus")) > MAX_REQUEST_BYTES
    client = FakeEvents()
    _publisher(client).publish([event])
    (entry,) = client.delivered()
    detail = json.loads(entry["Detail"])
    jsonschema.validate(detail, _schema("API Changed"))
    assert detail["truncated"] is True and detail["changes"] == [] and detail["change_counts"] == {"route_added": 1000}
    assert detail["snapshot_uri"] == "s3://bucket/snapshots/k" and detail["changes_uri"] == "s3://bucket/changes/k"
    assert isinstance(event.detail, ApiChanged) and len(event.detail.changes) == 1000  # the original is untouched


def test_an_event_too_large_even_trimmed_raises() -> None:
    with pytest.raises(EventTooLargeError):
        _publisher(FakeEvents()).publish([_event(1, name_size=MAX_REQUEST_BYTES)])


def test_event_ids_are_deterministic(tmp_path: Path) -> None:
    blobs, _, results = _run(tmp_path)
    first = [e.id for e in batch_events(_item(results), blobs)]
    second = [e.id for e in batch_events(_item(results), blobs)]
    assert first == second and len(set(first)) == len(first) > 1


def test_a_batch_published_again_after_a_crash_sends_only_what_is_left(tmp_path: Path) -> None:
    blobs, _, results = _run(tmp_path)
    item = _item(results)
    many = item.model_copy(update={"change_sets": item.change_sets * 3})  # the same change set thrice: > 10 events
    every = [e.id for e in batch_events(many, blobs)]
    assert len(every) > 10

    class CrashAfterFirstCall(MemoryLedger):
        def record(self, run_id: str, batch: str, count: int) -> None:
            super().record(run_id, batch, count)
            raise RuntimeError("the Lambda died")

    ledger = CrashAfterFirstCall()
    client = FakeEvents()
    with pytest.raises(RuntimeError, match="died"):
        publish_batch(many, blobs=blobs, publisher=_publisher(client), ledger=ledger)
    plain = MemoryLedger()
    plain.counts = dict(ledger.counts)
    retry = FakeEvents()
    publish_batch(many, blobs=blobs, publisher=_publisher(retry), ledger=plain)
    ids = [json.loads(e["Detail"])["event_id"] for e in [*client.delivered(), *retry.delivered()]]
    assert ids == every  # each once, in order: the cursor picked up after the last recorded call


def test_the_table_ledger_remembers_what_was_sent() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "t")
        ledger = TableLedger(client, "t")
        assert ledger.sent(RUN, "0") == 0
        ledger.record(RUN, "0", 30)
        assert ledger.sent(RUN, "0") == 30 and ledger.sent(RUN, "1") == 0 and ledger.sent("other-run", "0") == 0
