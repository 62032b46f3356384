"""The synthesized workflow, executed end to end by moto's Step Functions interpreter over a seeded estate,
every Lambda task answered by the real handler of functions/.

Three executions, each in a state machine of its own region (moto copies the whole regional backend when it
starts an execution, and cannot copy one that has run an execution):
- a sweep over four registered accounts in two regions: one account's role refuses the scanner, one
  account's scan crashes, and one account's first scan is given less time than a scan keeps in reserve, so
  it continues in a second round of the map;
- a request naming an account nobody registered, which plan refuses;
- a request to rescan the healthy accounts with nothing changed since the sweep;
- a change event's targeted rescan of one REST API, to which a route was added since.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.config import DefaultConfig

from api_discovery.local.demo import register
from api_discovery.local.demo_estate import DemoEstate, account_session, seed_demo_estate
from api_discovery.local.emulator import install_moto_extensions
from api_discovery.store.registry import RegisteredAccount, Registry
from api_discovery.store.state import StateStore, create_table
from tests.infra.synth import TEST_CONTEXT, logical_id, statements_of_role, synthesized
from tests.workflow.definition import ACCOUNT, REGION, definition_text
from tests.workflow.harness import (
    STEPS,
    WORKFLOW,
    AwsCall,
    Invocations,
    PutEvent,
    capture_events,
    complete_result_writer,
    deny_assume_role,
    for_moto,
    record_aws_calls,
    route_lambda,
)
from tests.workflow.iam import allows, requests_for

pytestmark = [
    # moto's serializer knows no STS error shape for the AccessDenied the harness raises.
    pytest.mark.filterwarnings("ignore:Exception\\(STSClientError\\):UserWarning"),
    # plan's handler publishes no metric when it rejects a request.
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]

BUCKET = "api-discovery-e2e"
TABLE = "api-discovery-e2e"
# Registered, but its scan crashes: the map's catch must turn that into a failed result for each region.
CRASHING = "444444444444"
CRASH_MESSAGE = "simulated crash of the scan function"
UNREGISTERED = "999999999999"
# Its first invocation is given less time than a scan keeps in reserve: it must continue in a second round.
CONTINUING = "111111111111"
SHORT_FIRST_SCAN_MS = 1_000
OTHER_REGION = "us-west-2"
RERUN_REGION = "eu-central-1"
CHANGE_REGION = "ap-southeast-2"
BUS = TEST_CONTEXT["event_bus_name"]


class ScanCrashedError(RuntimeError):
    pass


@dataclass
class Execution:
    described: dict[str, Any]
    history: list[dict[str, Any]]
    seconds: float

    @property
    def output(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.described.get("output") or "{}")
        return parsed


@dataclass
class Run:
    estate: DemoEstate
    sweep: Execution
    rejected: Execution
    rerun: Execution
    change: Execution
    changed_api: str
    invocations: Invocations
    events: list[PutEvent]
    result_manifests: list[dict[str, Any]]
    s3: Any
    dynamodb: Any
    keys_before_rejection: list[str]
    keys_after_rejection: list[str]
    keys_before_rerun: list[str]
    keys_after_rerun: list[str]
    calls_before_rerun: int
    events_before_rerun: int
    calls_before_change: int
    events_before_change: int
    aws_calls: list[AwsCall]


def _keys(s3: Any) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return sorted(keys)


def _function_arns() -> dict[str, str]:
    built = synthesized().built.discovery
    return {f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id(getattr(built, step))}": step for step in STEPS}


def _function_properties(template: dict[str, Any], step: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical_id(getattr(synthesized().built.discovery, step))][
        "Properties"
    ]
    return props


def _environment(template: dict[str, Any]) -> dict[str, str]:
    """The functions' environment as synthesized, the bucket and the table named for this test."""
    storage = synthesized().built.discovery.storage
    names = {logical_id(storage.bucket): BUCKET, logical_id(storage.table): TABLE}
    variables = _function_properties(template, "scan")["Environment"]["Variables"]
    return {key: names[value["Ref"]] if isinstance(value, dict) else value for key, value in variables.items()}


def _own_access_key() -> str:
    """mock_aws puts credentials of its own in the environment: the functions sign with those."""
    credentials = boto3.Session().get_credentials()
    assert credentials is not None
    return str(credentials.access_key)


def _crash_one_account(step: str, event: dict[str, Any]) -> None:
    if step == "scan" and event.get("account_id") == CRASHING:
        raise ScanCrashedError(CRASH_MESSAGE)


class ScanTime:
    """The Lambda's own timeout for every invocation, but for the first scan of CONTINUING."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.timeouts = {step: _function_properties(template, step)["Timeout"] * 1000 for step in STEPS}
        self.short = {CONTINUING}
        self.lock = threading.Lock()

    def __call__(self, step: str, event: dict[str, Any]) -> int:
        with self.lock:
            if step == "scan" and event.get("account_id") in self.short:
                self.short.remove(event["account_id"])
                return SHORT_FIRST_SCAN_MS
        return int(self.timeouts[step])


def _wait(sfn: Any, arn: str, started: float, timeout: float = 240) -> Execution:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            seconds = time.monotonic() - started
            events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            return Execution(described, [dict(event) for event in events], seconds)
        time.sleep(0.2)
    raise AssertionError(f"the execution did not finish within {timeout} s")


def _execute(sfn: Any, definition: str, name: str, payload: dict[str, Any]) -> Execution:
    machine = sfn.create_state_machine(
        name="api-discovery-e2e",
        definition=definition,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/api-discovery-workflow",
        type="STANDARD",
    )
    started = time.monotonic()
    # Named: moto names every unnamed execution "None".
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=name, input=json.dumps(payload))
    return _wait(sfn, execution["executionArn"], started)


@pytest.fixture(scope="module")
def run(discovery_json: dict[str, Any]) -> Iterator[Run]:
    env = {
        **_environment(discovery_json),
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
            boto3.client("events", region_name=REGION).create_event_bus(Name=BUS)
            registry = Registry(dynamodb, TABLE)
            register(estate, registry)
            registry.register(
                RegisteredAccount(
                    account_id=CRASHING,
                    name="crashing customer",
                    regions=list(estate.regions),
                    role_name=estate.role_name,
                    external_id="0123456789abcdef-crashing",
                )
            )

            original = definition_text(
                discovery_json, {logical_id(synthesized().built.discovery.storage.bucket): BUCKET}
            )
            definition = for_moto(original)
            invocations = Invocations(fault=_crash_one_account, remaining_ms=ScanTime(discovery_json))
            with (
                route_lambda(_function_arns(), invocations),
                complete_result_writer(original) as result_manifests,
                deny_assume_role({estate.role_arn(estate.denied_account)}),
                capture_events() as events,
                record_aws_calls(invocations, _own_access_key()) as aws_calls,
            ):
                sweep = _execute(
                    boto3.client("stepfunctions", region_name=REGION), definition, "sweep", {"source": "schedule"}
                )

                before_rejection = _keys(s3)
                rejected = _execute(
                    boto3.client("stepfunctions", region_name=OTHER_REGION),
                    definition,
                    "bad-request",
                    {"source": "request", "accounts": [UNREGISTERED]},
                )
                after_rejection = _keys(s3)

                calls_before_rerun, events_before_rerun = len(invocations.calls), len(events)
                rerun = _execute(
                    boto3.client("stepfunctions", region_name=RERUN_REGION),
                    definition,
                    "rerun",
                    {"source": "request", "accounts": sorted(estate.scannable_accounts)},
                )
                after_rerun = _keys(s3)

                changed_account, changed_region = estate.scannable_accounts[0], estate.regions[0]
                changed_api = _add_a_route(changed_account, changed_region)
                calls_before_change, events_before_change = len(invocations.calls), len(events)
                change = _execute(
                    boto3.client("stepfunctions", region_name=CHANGE_REGION),
                    definition,
                    "change",
                    {
                        "source": "change",
                        "accounts": [changed_account],
                        "regions": [changed_region],
                        "requested_at": "2026-12-02T12:00:00+00:00",
                        "resources": [{"kind": "rest_api", "id": changed_api}],
                    },
                )
            yield Run(
                estate=estate,
                sweep=sweep,
                rejected=rejected,
                rerun=rerun,
                change=change,
                changed_api=changed_api,
                invocations=invocations,
                events=events,
                result_manifests=result_manifests,
                s3=s3,
                dynamodb=dynamodb,
                keys_before_rejection=before_rejection,
                keys_after_rejection=after_rejection,
                keys_before_rerun=after_rejection,
                keys_after_rerun=after_rerun,
                calls_before_rerun=calls_before_rerun,
                events_before_rerun=events_before_rerun,
                calls_before_change=calls_before_change,
                events_before_change=events_before_change,
                aws_calls=aws_calls,
            )


def _add_a_route(account: str, region: str) -> str:
    """A customer's deploy: one new route on one REST API. Its id, as the change event names it."""
    client = account_session(None, account).client("apigateway", region_name=region)
    api = next(a for a in client.get_rest_apis()["items"] if a.get("name") == "orders")
    root = next(r for r in client.get_resources(restApiId=api["id"])["items"] if r["path"] == "/")
    added = client.create_resource(restApiId=api["id"], parentId=root["id"], pathPart="refunds")
    client.put_method(restApiId=api["id"], resourceId=added["id"], httpMethod="POST", authorizationType="AWS_IAM")
    client.put_integration(restApiId=api["id"], resourceId=added["id"], httpMethod="POST", type="MOCK")
    return str(api["id"])


def _failure(execution: Execution) -> str:
    return json.dumps(execution.history[-3:], default=str)[:3000]


def _sweep_calls(run: Run, step: str) -> list[dict[str, Any]]:
    """The sweep's invocations of a step (the sweep runs first, the rerun last)."""
    sweep_run_ids = {event["run_id"] for event in _sweep_scans(run)}
    return [e for e in run.invocations.of(step) if _run_id(e) in sweep_run_ids]


def _run_id(event: dict[str, Any]) -> str | None:
    value = event.get("run_id") or event.get("announce", {}).get("run_id")
    return str(value) if value else None


def _sweep_scans(run: Run) -> list[dict[str, Any]]:
    return run.invocations.of("scan")[: _scan_count_before_rerun(run)]


def _scan_count_before_rerun(run: Run) -> int:
    return sum(1 for step, _ in run.invocations.calls[: run.calls_before_rerun] if step == "scan")


def _sweep_run_id(run: Run) -> str:
    (run_id,) = {str(event["run_id"]) for event in _sweep_scans(run)}
    return run_id


def _targets(run: Run, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every target result of a run, from the files its run record names (one per round)."""
    report = json.loads(run.s3.get_object(Bucket=BUCKET, Key=f"runs/run={run_id}.json")["Body"].read())
    targets = {}
    for key in report["target_files"]:
        body = run.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        for line in gzip.decompress(body).decode().splitlines():
            target = json.loads(line)
            targets[(target["account_id"], target["region"])] = target
    return targets


def _healthy(run: Run) -> list[tuple[str, str]]:
    return [(account, region) for account in run.estate.scannable_accounts for region in run.estate.regions]


# The sweep


def test_the_sweep_succeeds(run: Run) -> None:
    assert run.sweep.described["status"] == "SUCCEEDED", _failure(run.sweep)
    print(f"end-to-end sweep: {run.sweep.seconds:.1f} s")


def test_plan_picks_the_sweep_concurrency(run: Run) -> None:
    (planned,) = [result for event, result in run.invocations.results_of("plan") if event == {"source": "schedule"}]
    assert planned["max_concurrency"] == TEST_CONTEXT["map_max_concurrency"]
    assert planned["count"] == len(run.estate.accounts) + 1
    assert planned["targets"] == planned["count"] * len(run.estate.regions)
    assert planned["manifest"]["key"] == f"manifests/run={planned['run_id']}.json"
    assert (planned["round"], planned["rounds"], planned["done"]) == (0, [], False)


def test_each_account_is_one_map_item_with_all_its_regions(run: Run) -> None:
    first = [e for e in _sweep_scans(run) if not e.get("continuation")]
    assert sorted(e["account_id"] for e in first) == sorted([*run.estate.accounts, CRASHING])
    assert all(sorted(e["regions"]) == sorted(run.estate.regions) for e in first)


def test_no_external_id_travels_through_the_state(run: Run) -> None:
    secrets = [*run.estate.external_ids.values(), "0123456789abcdef-crashing"]
    for execution in (run.sweep, run.rerun):
        history = json.dumps(execution.history, default=str)
        assert not [secret for secret in secrets if secret in history]
    payloads = json.dumps([event for _, event in run.invocations.calls])
    assert not [secret for secret in secrets if secret in payloads]
    assert "external_id" not in payloads.lower()


def test_an_account_out_of_time_continues_in_a_second_round(run: Run) -> None:
    scans = _sweep_scans(run)
    (resumed,) = [e for e in scans if e.get("continuation")]
    assert resumed["account_id"] == CONTINUING
    assert resumed["continuation"].startswith("progress/")
    (first,) = [
        result
        for event, result in run.invocations.results_of("scan")
        if event["account_id"] == CONTINUING and not event.get("continuation") and event in scans
    ]
    assert first["status"] == "in_progress" and first["continuation"] == resumed["continuation"]
    # Round 0 over every account, round 1 over the one that continued.
    rounds = _sweep_calls(run, "finalize")
    assert [event["round"] for event in rounds] == [0, 1]
    assert rounds[1]["count"] == 1
    assert rounds[1]["manifest"]["key"] == f"manifests/run={_sweep_run_id(run)}/round=1.json"
    # One record of what round 0 settled, carried to the round after it.
    assert len(rounds[1]["rounds"]) == 1
    for region in run.estate.regions:
        state = StateStore(run.dynamodb, TABLE).target(CONTINUING, region)
        assert state is not None and state["status"] == "complete", (region, state)
        assert state["api_count"] == run.estate.expected[(CONTINUING, region)].apis


def test_finalize_reads_jsonl_results_the_map_wrote(run: Run) -> None:
    for event in _sweep_calls(run, "finalize"):
        details = event["results"]["ResultWriterDetails"]
        assert details["Bucket"] == BUCKET
        assert details["Key"].startswith("results/") and details["Key"].endswith("/manifest.json")
        manifest = json.loads(run.s3.get_object(Bucket=BUCKET, Key=details["Key"])["Body"].read())
        (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
        assert succeeded["Key"].endswith("/SUCCEEDED_0.jsonl")
        lines = run.s3.get_object(Bucket=BUCKET, Key=succeeded["Key"])["Body"].read().decode().splitlines()
        results = [json.loads(line) for line in lines]
        assert len(results) == event["count"]
        assert {r["status"] for r in results} <= {"done", "in_progress", "failed"}
    assert {m["label"] for m in run.result_manifests} == {"ScanAccounts", "PublishEvents"}


def test_run_report_counts_healthy_and_failed_targets(run: Run) -> None:
    targets = _targets(run, _sweep_run_id(run))
    expected = {(account, region) for account in [*run.estate.accounts, CRASHING] for region in run.estate.regions}
    assert set(targets) == expected
    statuses = Counter(t["status"] for t in targets.values())
    assert statuses == {"complete": len(_healthy(run)), "failed": len(expected) - len(_healthy(run))}
    for region in run.estate.regions:
        denied = targets[(run.estate.denied_account, region)]
        assert denied["status"] == "failed" and "AccessDenied" in denied["reason"]
        # The Lambda error reaches the record through the map's catch.
        crashed = targets[(CRASHING, region)]
        assert crashed["status"] == "failed" and CRASH_MESSAGE in crashed["reason"]


def test_snapshots_exist_for_the_healthy_targets_only(run: Run) -> None:
    keys = [k for k in run.keys_before_rerun if k.startswith("snapshots/")]
    for account, region in _healthy(run):
        assert [k for k in keys if f"account={account}/region={region}/" in k], (account, region)
    # A refused role is recorded as a failed snapshot; a crashed scan wrote nothing.
    for key in [k for k in keys if f"account={run.estate.denied_account}/" in k]:
        snapshot = json.loads(gzip.decompress(run.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
        assert snapshot["status"] == "failed", key
    assert not [k for k in keys if f"account={CRASHING}/" in k]


def test_current_state_matches_the_seeded_estate(run: Run) -> None:
    state = StateStore(run.dynamodb, TABLE)
    for account, region in _healthy(run):
        target = state.target(account, region)
        assert target is not None and target["status"] == "complete", (account, region, target)
        present = [a for a in state.apis(account, region) if a.get("state") == "present"]
        assert len(present) == run.estate.expected[(account, region)].apis, (account, region)


def test_the_sweep_publishes_its_changes_and_failures_in_batches_then_announces(run: Run) -> None:
    run_id = _sweep_run_id(run)
    sent = run.events[: run.events_before_rerun]
    assert {(e.bus, e.source) for e in sent} == {(BUS, "api-discovery")}
    kinds = Counter(e.detail_type for e in sent)
    assert kinds["Scan Completed"] == 1
    assert kinds["Target Scan Failed"] == len(run.estate.regions) * 2
    # A function URL, an AppSync API, a load balancer or a distribution is discovered as an API is, in the same event.
    expected = run.estate.expected
    discovered = sum(expected[t].apis + expected[t].function_urls + expected[t].entry_points for t in _healthy(run))
    assert kinds["API Discovered"] == discovered
    batches = [
        (e, r) for e, r in run.invocations.results_of("publish") if "announce" not in e and e["run_id"] == run_id
    ]
    assert batches, "the publish map ran no batch"
    # Each batch reports what it sent; together with the announcement that is every event, each once.
    reported = Counter[str]()
    for _, result in batches:
        reported.update(result["sent"])
    assert reported + Counter({"Scan Completed": 1}) == kinds
    (announced,) = [e for e in run.invocations.of("publish") if "announce" in e and e["announce"]["run_id"] == run_id]
    assert run_id in announced["announce"]["runs"]


def test_the_announcement_releases_the_sweep_lease(run: Run) -> None:
    lease = run.dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": "SWEEP"}, "sk": {"S": "LEASE"}}, ConsistentRead=True
    )
    assert "Item" not in lease


# The rejected request


def test_a_bad_request_fails_with_the_plan_error_and_writes_nothing(run: Run) -> None:
    assert run.rejected.described["status"] == "FAILED"
    assert run.rejected.described["error"] == "InvalidScanRequestError"
    assert UNREGISTERED in run.rejected.described["cause"]
    assert "not registered" in run.rejected.described["cause"]
    assert run.keys_after_rejection == run.keys_before_rejection
    assert {"source": "request", "accounts": [UNREGISTERED]} in run.invocations.of("plan")
    assert not [e for e in run.invocations.of("scan") if e.get("account_id") == UNREGISTERED]


# The rerun with nothing changed


def test_the_rerun_succeeds(run: Run) -> None:
    assert run.rerun.described["status"] == "SUCCEEDED", _failure(run.rerun)


def test_the_rerun_writes_no_snapshot_and_no_change_set(run: Run) -> None:
    def history(keys: list[str]) -> list[str]:
        return [k for k in keys if k.startswith(("snapshots/", "changes/"))]

    assert history(run.keys_after_rerun) == history(run.keys_before_rerun)


def test_the_rerun_publishes_nothing_but_scan_completed(run: Run) -> None:
    rerun_calls = run.invocations.calls[run.calls_before_rerun : run.calls_before_change]
    (finalized,) = [
        result for event, result in run.invocations.results_of("finalize") if (("finalize", event) in rerun_calls)
    ]
    assert finalized["done"] is True and finalized["publish"]["count"] == 0
    assert [event for step, event in rerun_calls if step == "publish"] == [{"announce": finalized["announce"]}]
    sent = run.events[run.events_before_rerun : run.events_before_change]
    assert [e.detail_type for e in sent] == ["Scan Completed"]
    assert sent[0].detail["run_id"] == finalized["run_id"]


# The change event's targeted rescan


def test_the_change_run_succeeds(run: Run) -> None:
    assert run.change.described["status"] == "SUCCEEDED", _failure(run.change)


def test_the_change_run_scans_only_what_the_event_named(run: Run) -> None:
    calls = run.invocations.calls[run.calls_before_change :]
    (scan,) = [event for step, event in calls if step == "scan"]
    assert scan["resources"] == [{"kind": "rest_api", "id": run.changed_api}]
    assert len(scan["regions"]) == 1


def test_the_change_run_announces_the_route_and_nothing_else(run: Run) -> None:
    sent = run.events[run.events_before_change :]
    kinds = Counter(e.detail_type for e in sent)
    assert kinds["Scan Completed"] == 1
    changed = [e for e in sent if e.detail_type == "API Changed"]
    assert [e.detail["api"]["id"] for e in changed] == [run.changed_api]
    assert not [e for e in sent if e.detail_type in ("API Discovered", "API Removed")]


# The roles


def _template_values(template: dict[str, Any]) -> dict[str, str]:
    """What each resource the policies name is called in this test's moto account."""
    stack = synthesized().built.discovery
    storage = stack.storage
    values = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        logical_id(storage.bucket): BUCKET,
        f"{logical_id(storage.bucket)}.Arn": f"arn:aws:s3:::{BUCKET}",
        logical_id(storage.table): TABLE,
        f"{logical_id(storage.table)}.Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}",
        logical_id(stack.triggers.bus): BUS,
        f"{logical_id(stack.triggers.bus)}.Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{BUS}",
    }
    for step in STEPS:
        function_id = logical_id(getattr(stack, step))
        values[f"{function_id}.Arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_id}"
    return values


def test_every_call_of_the_run_is_one_its_role_allows(run: Run, discovery_json: dict[str, Any]) -> None:
    """Each function, and the state machine, did only what its synthesized policy allows."""
    stack = synthesized().built.discovery
    roles = {step: logical_id(getattr(stack, step).role) for step in STEPS}
    roles[WORKFLOW] = logical_id(stack.workflow.role)
    values = _template_values(discovery_json)
    assert {call.principal for call in run.aws_calls} == set(roles), "every principal must have been exercised"
    refused = set()
    for call in run.aws_calls:
        statements = statements_of_role(discovery_json, roles[call.principal])
        for request in requests_for(call, region=REGION, account=ACCOUNT):
            if not allows(statements, request, values):
                context = tuple(sorted((key, ",".join(v)) for key, v in request.context.items()))
                refused.add((call.principal, request.action, request.resource, context))
    assert not refused, "\n".join(map(str, sorted(refused)))
    # The check saw what matters most: the scanner reading the registry, the workflow invoking every function.
    assert any(
        c.principal == "scan" and c.operation == "GetItem" and c.params["Key"]["pk"]["S"] == "REGISTRY"
        for c in run.aws_calls
    )
    invoked = {c.params["FunctionName"] for c in run.aws_calls if c.principal == WORKFLOW and c.operation == "Invoke"}
    assert invoked == set(_function_arns())
