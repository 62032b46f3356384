"""Finalize over the Map's results: streamed, one bad item never stopping the rest, continuations in rounds,
the run recorded in S3, and its events cut into batches (with any earlier run's unfinished ones)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from api_discovery.blobs import LocalBlobStore
from api_discovery.events.notify import PublishItem
from api_discovery.inventory.results import AccountResult, TargetResult
from api_discovery.local.runner import write_map_results
from api_discovery.steps.finalize import BATCH_EVENTS, FinalizeResult, finalize, read_target_file
from api_discovery.steps.plan import ManifestRef, PlanResult, json_array, read_manifest
from api_discovery.store.outbox import Outbox
from api_discovery.store.state import create_table
from api_discovery.targets import AccountTarget

RUN = "20260301T000000Z-ffff"
A, B, C = "111111111111", "222222222222", "333333333333"
REGIONS = ["eu-west-1", "us-east-1"]


def _planned(blobs: LocalBlobStore, accounts: list[str]) -> PlanResult:
    items = [AccountTarget(run_id=RUN, account_id=a, regions=REGIONS) for a in accounts]
    key = f"manifests/run={RUN}.json"
    blobs.put(key, json_array(items))
    return PlanResult(
        run_id=RUN, started_at="2026-03-01T00:00:00.000000Z", count=len(items), manifest=ManifestRef(key=key)
    )


def _done(account: str, region: str, **fields: object) -> TargetResult:
    return TargetResult.model_validate(
        {"run_id": RUN, "account_id": account, "region": region, "status": "complete", "api_count": 2, **fields}
    )


def _results_file(blobs: LocalBlobStore, round_number: int, results: list[AccountResult], extra: bytes = b"") -> str:
    key = write_map_results(blobs, RUN, round_number, results)
    if extra:
        data_key = key.replace("manifest.json", "SUCCEEDED_0.jsonl")
        blobs.put(data_key, blobs.get(data_key) + extra)
    return key


@pytest.fixture
def outbox() -> Iterator[Outbox]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "t")
        yield Outbox(client, "t")


def test_rounds_continue_unfinished_accounts_and_the_run_counts_every_region_once(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    planned = _planned(blobs, [A, B, C])
    changed = _done(A, "us-east-1", changes_key="changes/a.json", change_count=3, change_types={"api_added": 3})
    first_round = [
        AccountResult(
            run_id=RUN, account_id=A, status="done", regions=REGIONS, targets=[_done(A, "eu-west-1"), changed]
        ),
        AccountResult(
            run_id=RUN,
            account_id=B,
            status="in_progress",
            regions=REGIONS,
            targets=[_done(B, "eu-west-1")],
            continuation=f"progress/run={RUN}/account={B}/invocation=1.json.gz",
        ),
    ]
    # A line that is no result, and A's result again (a redriven child): neither stops nor doubles anything.
    garbage = b'{"not": "a result"}\n[1, 2]\n' + first_round[0].model_dump_json().encode() + b"\n"
    # C returned nothing at all (its child execution timed out).
    after_first = finalize(planned, _results_file(blobs, 0, first_round, garbage), blobs=blobs)
    assert isinstance(after_first, PlanResult)
    assert (after_first.round, after_first.count, after_first.done) == (1, 1, False)
    assert after_first.manifest is not None
    (again,) = read_manifest(blobs, after_first.manifest.key)
    assert (again.account_id, again.regions, again.continuation) == (B, ["us-east-1"], first_round[1].continuation)

    second_round = [
        AccountResult(run_id=RUN, account_id=B, status="done", regions=["us-east-1"], targets=[_done(B, "us-east-1")])
    ]
    outcome = finalize(after_first, _results_file(blobs, 1, second_round), blobs=blobs)
    assert isinstance(outcome, FinalizeResult)
    record = json.loads(blobs.get(f"runs/run={RUN}.json"))
    targets = [t for key in record["target_files"] for t in read_target_file(blobs, key)]
    assert sorted((t.account_id, t.region, t.status) for t in targets) == [
        (A, "eu-west-1", "complete"),
        (A, "us-east-1", "complete"),
        (B, "eu-west-1", "complete"),
        (B, "us-east-1", "complete"),
        (C, "eu-west-1", "failed"),
        (C, "us-east-1", "failed"),
    ]
    summary = record["summary"]
    assert summary["by_status"] == {"complete": 4, "failed": 2} and summary["targets"] == 6
    assert summary["changes"] == 3 and summary["change_types"] == {"api_added": 3} and summary["failed_count"] == 2
    assert outcome.publish.count == 1 and outcome.publish.manifest is not None
    (batch,) = [PublishItem.model_validate(i) for i in json.loads(blobs.get(outcome.publish.manifest.key))]
    assert batch.change_sets == ["changes/a.json"]
    assert [(f.account_id, f.region) for f in batch.failed] == [(C, "eu-west-1"), (C, "us-east-1")]
    assert outcome.announce.runs == [RUN]


def test_an_account_still_unfinished_after_the_last_round_fails_with_the_reason(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    planned = _planned(blobs, [A])
    stuck = AccountResult(
        run_id=RUN,
        account_id=A,
        status="in_progress",
        regions=REGIONS,
        continuation=f"progress/run={RUN}/account={A}/invocation=1.json.gz",
    )
    outcome = finalize(planned, _results_file(blobs, 0, [stuck]), blobs=blobs, max_rounds=1)
    assert isinstance(outcome, FinalizeResult)
    record = json.loads(blobs.get(f"runs/run={RUN}.json"))
    targets = [t for key in record["target_files"] for t in read_target_file(blobs, key)]
    assert {t.status for t in targets} == {"failed"}
    assert all(t.reason == "not finished within 1 invocations" for t in targets)


def test_events_are_cut_into_batches_that_one_lambda_sends_quickly(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    accounts = [f"{i:012d}" for i in range(1, 41)]
    planned = _planned(blobs, accounts)
    per_region = BATCH_EVENTS // 20  # 40 accounts x 2 regions of changes: four batches' worth
    results = [
        AccountResult(
            run_id=RUN,
            account_id=a,
            status="done",
            regions=REGIONS,
            targets=[_done(a, r, changes_key=f"changes/{a}/{r}.json", change_count=per_region) for r in REGIONS],
        )
        for a in accounts
    ]
    outcome = finalize(planned, _results_file(blobs, 0, results), blobs=blobs)
    assert isinstance(outcome, FinalizeResult) and outcome.publish.manifest is not None
    batches = [PublishItem.model_validate(i) for i in json.loads(blobs.get(outcome.publish.manifest.key))]
    assert [b.batch for b in batches] == [0, 1, 2, 3]
    assert all(len(b.change_sets) * per_region == BATCH_EVENTS for b in batches)
    assert sorted(k for b in batches for k in b.change_sets) == sorted(
        f"changes/{a}/{r}.json" for a in accounts for r in REGIONS
    )


def test_an_earlier_run_left_unpublished_is_published_with_the_next_one(tmp_path: Path, outbox: Outbox) -> None:
    blobs = LocalBlobStore(tmp_path)
    earlier_run = "20260228T000000Z-eeee"
    earlier = [PublishItem(run_id=earlier_run, batch=0, change_sets=["changes/old.json"])]
    blobs.put(f"manifests/run={earlier_run}/publish.json", json_array(earlier))
    outbox.add(earlier_run, f"manifests/run={earlier_run}/publish.json")

    planned = _planned(blobs, [A])
    quiet = [
        AccountResult(run_id=RUN, account_id=A, status="done", regions=REGIONS, targets=[_done(A, r) for r in REGIONS])
    ]
    # While the earlier run may still be publishing (younger than the workflow's time limit), it is left alone.
    young = finalize(planned, _results_file(blobs, 0, quiet), blobs=blobs, outbox=outbox)
    assert isinstance(young, FinalizeResult) and young.publish.count == 0 and young.announce.runs == [RUN]
    outcome = finalize(planned, _results_file(blobs, 0, quiet), blobs=blobs, outbox=outbox, abandoned_after=0)
    assert isinstance(outcome, FinalizeResult) and outcome.publish.manifest is not None
    items = [PublishItem.model_validate(i) for i in json.loads(blobs.get(outcome.publish.manifest.key))]
    assert items == earlier  # under its own run id and batch: its cursor still applies
    assert outcome.announce.runs == [RUN, earlier_run]
    assert set(outbox.pending()) == {earlier_run, RUN}
    outbox.close(outcome.announce.runs)
    assert outbox.pending() == {}


def test_a_broken_line_or_a_repeated_region_among_the_results_stops_nothing(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    planned = _planned(blobs, [A, B, C])
    # A's result settles eu-west-1 twice, and names a region and an account it was not given.
    doubled = AccountResult(
        run_id=RUN,
        account_id=A,
        status="done",
        regions=REGIONS,
        targets=[
            _done(A, "eu-west-1"),
            _done(A, "eu-west-1", api_count=99),
            _done(A, "us-east-1"),
            _done(A, "ap-south-1"),
            _done(B, "us-east-1"),
        ],
    )
    b_line = AccountResult(
        run_id=RUN, account_id=B, status="done", regions=REGIONS, targets=[_done(B, r) for r in REGIONS]
    ).model_dump_json()
    c_line = AccountResult(
        run_id=RUN, account_id=C, status="done", regions=REGIONS, targets=[_done(C, r) for r in REGIONS]
    ).model_dump_json()
    # B's line cut short, a line that names no account, JSON deeper than the parser goes; C's result after them.
    broken = b_line[: len(b_line) // 2].encode() + b"\n\x00garbage\n" + b"[" * 100_000 + b"\n" + c_line.encode() + b"\n"
    failed_here: list[int] = []
    outcome = finalize(planned, _results_file(blobs, 0, [doubled], broken), blobs=blobs, on_failed=failed_here.append)
    assert isinstance(outcome, FinalizeResult)
    record = json.loads(blobs.get(f"runs/run={RUN}.json"))
    targets = [t for key in record["target_files"] for t in read_target_file(blobs, key)]
    assert sorted((t.account_id, t.region, t.status, t.api_count) for t in targets) == [
        (A, "eu-west-1", "complete", 2),  # the first of the two, once
        (A, "us-east-1", "complete", 2),
        (B, "eu-west-1", "failed", 0),
        (B, "us-east-1", "failed", 0),
        (C, "eu-west-1", "complete", 2),
        (C, "us-east-1", "complete", 2),
    ]
    (reason,) = {t.reason for t in targets if t.account_id == B}
    assert reason and reason.startswith("the scan's result for this account could not be read: JSONDecodeError")
    assert record["summary"]["targets"] == 6 and failed_here == [2]
