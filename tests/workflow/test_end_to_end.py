"""The synthesized workflow, executed end to end by moto's Step Functions interpreter over a seeded estate:
three customer accounts in two regions, one account's role refusing the scanner, one scan crashing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.config import DefaultConfig

from api_discovery.local.demo import register
from api_discovery.local.demo_estate import DemoEstate, seed_demo_estate
from api_discovery.local.emulator import install_moto_extensions
from api_discovery.store.registry import Registry
from api_discovery.store.state import StateStore, create_table
from tests.infra.synth import TEST_CONTEXT, logical_id, synthesized
from tests.workflow.definition import ACCOUNT, REGION, definition_text
from tests.workflow.harness import Invocations, complete_result_writer, deny_assume_role, for_moto, route_lambda

pytestmark = [
    # moto's serializer knows no STS error shape for the AccessDenied the harness raises.
    pytest.mark.filterwarnings("ignore:Exception\\(STSClientError\\):UserWarning"),
    # plan's handler publishes no metric when it rejects a request.
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]

BUCKET = "api-discovery-e2e"
TABLE = "api-discovery-e2e"
CRASHING = ("222222222222", "eu-west-1")
CRASH_MESSAGE = "simulated crash of the scan function"
UNREGISTERED = "999999999999"
# Its first invocation is given less time than a scan keeps in reserve: it must continue in a second one.
CONTINUING = ("111111111111", "us-east-1")
OTHER_REGION = "us-west-2"


class ScanCrashedError(RuntimeError):
    pass


@dataclass
class Run:
    estate: DemoEstate
    execution: dict[str, Any]
    history: list[dict[str, Any]]
    output: dict[str, Any]
    invocations: Invocations
    seconds: float
    s3: Any
    dynamodb: Any
    rejected: dict[str, Any]
    keys_before_rejection: list[str]
    keys_after_rejection: list[str]


def _keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def _function_arns(template: dict[str, Any]) -> dict[str, str]:
    built = synthesized().built.discovery
    return {
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id(getattr(built, step))}": step
        for step in ("plan", "scan", "finalize")
    }


def _crash_one_target(step: str, event: dict[str, Any]) -> None:
    if step == "scan" and (event.get("account_id"), event.get("region")) == CRASHING:
        raise ScanCrashedError(CRASH_MESSAGE)


def _short_first_scan(step: str, event: dict[str, Any]) -> int:
    first = step == "scan" and "continuation" not in event
    return 1_000 if first and (event.get("account_id"), event.get("region")) == CONTINUING else 600_000


def _wait(sfn: Any, arn: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.2)
    raise AssertionError(f"the execution did not finish within {timeout} s")


@pytest.fixture(scope="module")
def run(discovery_json: dict[str, Any]) -> Iterator[Run]:
    env = {
        "TABLE_NAME": TABLE,
        "BUCKET_NAME": BUCKET,
        "ROLE_NAME": TEST_CONTEXT["customer_role_name"],
        "DEFAULT_REGIONS": ",".join(TEST_CONTEXT["regions"]),
        "MAX_TARGETS": str(TEST_CONTEXT["max_targets"]),
        "EVENT_BUS_NAME": TEST_CONTEXT["event_bus_name"],
        "POWERTOOLS_SERVICE_NAME": "api-discovery",
        "POWERTOOLS_METRICS_NAMESPACE": "ApiDiscovery",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    config: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        with mock_aws(config=config):
            install_moto_extensions()
            estate = seed_demo_estate(None)
            s3 = boto3.client("s3", region_name=REGION)
            dynamodb = boto3.client("dynamodb", region_name=REGION)
            s3.create_bucket(Bucket=BUCKET)
            create_table(dynamodb, TABLE)
            boto3.client("events", region_name=REGION).create_event_bus(Name=TEST_CONTEXT["event_bus_name"])
            register(estate, Registry(dynamodb, TABLE))

            text = definition_text(discovery_json, {logical_id(synthesized().built.discovery.storage.bucket): BUCKET})
            invocations = Invocations(fault=_crash_one_target, remaining_ms=_short_first_scan)
            sfn = boto3.client("stepfunctions", region_name=REGION)
            with (
                route_lambda(_function_arns(discovery_json), invocations),
                complete_result_writer(),
                deny_assume_role({estate.role_arn(estate.denied_account)}),
            ):
                # moto copies the whole regional backend when it starts an execution, and cannot copy one that
                # has run an execution: the second execution runs in a machine of another region.
                other_sfn = boto3.client("stepfunctions", region_name=OTHER_REGION)
                machine, rejecting = (
                    client.create_state_machine(
                        name="api-discovery-e2e",
                        definition=for_moto(text),
                        roleArn=f"arn:aws:iam::{ACCOUNT}:role/api-discovery-workflow",
                        type="STANDARD",
                    )
                    for client in (sfn, other_sfn)
                )
                started = time.monotonic()
                # Named: moto names every unnamed execution "None".
                execution = sfn.start_execution(
                    stateMachineArn=machine["stateMachineArn"],
                    name="scheduled",
                    input=json.dumps({"source": "schedule"}),
                )
                described = _wait(sfn, execution["executionArn"])
                seconds = time.monotonic() - started
                events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
                history = [dict(event) for event in events]

                # A request naming an account nobody registered.
                before = _keys(s3)
                bad = other_sfn.start_execution(
                    stateMachineArn=rejecting["stateMachineArn"],
                    name="bad-request",
                    input=json.dumps({"source": "request", "accounts": [UNREGISTERED]}),
                )
                rejected = _wait(other_sfn, bad["executionArn"])
                after = _keys(s3)
            output = json.loads(described.get("output") or "{}")
            yield Run(estate, described, history, output, invocations, seconds, s3, dynamodb, rejected, before, after)


def test_the_run_succeeds(run: Run) -> None:
    assert run.execution["status"] == "SUCCEEDED", json.dumps(run.history[-3:], default=str)[:3000]
    print(f"end-to-end workflow run: {run.seconds:.1f} s")


def test_every_target_was_scanned_once(run: Run) -> None:
    first = sorted((e["account_id"], e["region"]) for e in run.invocations.of("scan") if "continuation" not in e)
    assert first == sorted((a, r) for a in run.estate.accounts for r in run.estate.regions)
    # plan receives each execution's input unchanged (the second is the rejected request).
    assert run.invocations.of("plan") == [
        {"source": "schedule"},
        {"source": "request", "accounts": [UNREGISTERED]},
    ]
    assert len(run.invocations.of("finalize")) == 1


def test_finalize_received_the_plan_and_the_map_results(run: Run) -> None:
    (event,) = run.invocations.of("finalize")
    assert set(event) >= {"run_id", "count", "manifest", "results"}
    assert event["count"] == 6
    assert event["manifest"]["key"] == f"manifests/run={event['run_id']}.json"
    details = event["results"]["ResultWriterDetails"]
    assert details["Bucket"] == BUCKET
    assert details["Key"].startswith("results/") and details["Key"].endswith("/manifest.json")


def test_run_summary_counts_healthy_and_failed_targets(run: Run) -> None:
    summary = run.output
    assert summary["targets"] == 6
    assert summary["by_status"] == {"complete": 3, "failed": 3}
    failed = {(f["account_id"], f["region"]): f["reason"] for f in summary["failed"]}
    denied = run.estate.denied_account
    assert set(failed) == {(denied, "us-east-1"), (denied, "eu-west-1"), CRASHING}
    for region in run.estate.regions:
        assert "AccessDenied" in failed[(denied, region)]
    assert CRASH_MESSAGE in failed[CRASHING]


def _healthy(run: Run) -> list[tuple[str, str]]:
    return [
        (account, region)
        for account in run.estate.scannable_accounts
        for region in run.estate.regions
        if (account, region) != CRASHING
    ]


def test_snapshots_exist_for_the_healthy_targets_only(run: Run) -> None:
    keys = [o["Key"] for o in run.s3.list_objects_v2(Bucket=BUCKET, Prefix="snapshots/").get("Contents", [])]
    for account, region in _healthy(run):
        assert [k for k in keys if f"account={account}/region={region}/" in k], (account, region)
    assert not [k for k in keys if f"account={CRASHING[0]}/region={CRASHING[1]}/" in k]


def test_current_state_matches_the_seeded_estate(run: Run) -> None:
    state = StateStore(run.dynamodb, TABLE)
    for account, region in _healthy(run):
        target = state.target(account, region)
        assert target is not None and target["status"] == "complete", (account, region, target)
        present = [a for a in state.apis(account, region) if a.get("state") == "present"]
        assert len(present) == run.estate.expected[(account, region)].apis, (account, region)


def test_the_run_record_keeps_each_failed_target_with_its_reason(run: Run) -> None:
    (key,) = [o["Key"] for o in run.s3.list_objects_v2(Bucket=BUCKET, Prefix="runs/").get("Contents", [])]
    record = json.loads(run.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    by_target = {(t["account_id"], t["region"]): t for t in record["targets"]}
    assert by_target[CRASHING]["status"] == "failed"
    # The Lambda error reaches the record through the map's catch: its type and its message.
    assert "ScanCrashedError" in by_target[CRASHING]["reason"]
    assert CRASH_MESSAGE in by_target[CRASHING]["reason"]
    for region in run.estate.regions:
        assert by_target[(run.estate.denied_account, region)]["status"] == "failed"


def test_a_bad_request_fails_with_the_plan_error_and_writes_nothing(run: Run) -> None:
    assert run.rejected["status"] == "FAILED"
    assert run.rejected["error"] == "InvalidScanRequestError"
    assert UNREGISTERED in run.rejected["cause"]
    assert "not registered" in run.rejected["cause"]
    assert run.keys_after_rejection == run.keys_before_rejection
    assert len(run.invocations.of("scan")) == 7, "no scan started for the rejected request"


def test_a_target_out_of_time_continues_in_a_second_invocation(run: Run) -> None:
    (resumed,) = [e for e in run.invocations.of("scan") if "continuation" in e]
    assert (resumed["account_id"], resumed["region"]) == CONTINUING
    assert resumed["continuation"].startswith("progress/")
    assert resumed["scan"]["summary"]["status"] == "in_progress"  # what the first invocation returned
    state = StateStore(run.dynamodb, TABLE).target(*CONTINUING)
    assert state is not None and state["status"] == "complete"
    assert state["api_count"] == run.estate.expected[CONTINUING].apis
