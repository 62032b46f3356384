"""The fleet benchmark's machinery on the real things: the synthesized state machine played state by state, and
a handler run in a Lambda environment of its own with every vendor-side request counted."""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

import pytest

from api_discovery.local.emulator import Emulator
from bench.asl import Machine
from bench.fleet import Deployment, Names, Vendor, loop_length, synth_deployment
from bench.lambda_pool import FunctionPool, process_env

BUCKET = "bench-fleet-test"


@cache
def deployment() -> Deployment:
    return Deployment.from_synth(synth_deployment())


class Workflow:
    """The four functions as a runner answers them: one account needs two rounds, one batch is published."""

    def __init__(self) -> None:
        self.steps = {cfg["logical_id"]: step for step, cfg in deployment().functions.items()}
        self.objects: dict[tuple[str, str], bytes] = {}
        self.called: list[str] = []
        self.round = 0

    def invoke(self, function_arn: str, payload: Any) -> Any:
        step = self.steps[function_arn.rsplit(":", 1)[-1]]
        self.called.append("announce" if "announce" in payload else step)
        if step == "plan":
            self.objects[BUCKET, "manifests/run=r.json"] = json.dumps(
                [{"account_id": "1"}, {"account_id": "2"}]
            ).encode()
            return {
                "run_id": "r",
                "count": 2,
                "manifest": {"bucket": BUCKET, "key": "manifests/run=r.json"},
                "max_concurrency": 800,
                "done": False,
            }
        if step == "scan":
            return {"account_id": payload["account_id"], "status": "done"}
        if step == "finalize":
            assert payload["results"]["ResultWriterDetails"]["Key"].endswith("/manifest.json")
            self.round += 1
            if self.round == 1:
                self.objects[BUCKET, "manifests/run=r/round=1.json"] = json.dumps([{"account_id": "2"}]).encode()
                return {**payload, "count": 1, "manifest": {"bucket": BUCKET, "key": "manifests/run=r/round=1.json"}}
            self.objects[BUCKET, "manifests/run=r/publish.json"] = json.dumps([{"batch": 0}]).encode()
            return {
                "done": True,
                "publish": {"count": 1, "manifest": {"bucket": BUCKET, "key": "manifests/run=r/publish.json"}},
                "announce": {"run_id": "r"},
            }
        if "announce" in payload:
            return {"run_id": "r", "targets": 34}
        return {"sent": {"API Discovered": 3}}

    def get_object(self, bucket: str, key: str) -> bytes:
        return self.objects[bucket, key]

    def put_object(self, bucket: str, key: str, body: bytes) -> None:
        self.objects[bucket, key] = body


def test_the_synthesized_definition_is_played_state_by_state_and_billed_as_step_functions_bills() -> None:
    definition = deployment().definition_for(BUCKET)
    workflow = Workflow()
    output, trace = Machine(definition, workflow).execute({"source": "schedule"})
    assert output == {"run_id": "r", "targets": 34}
    assert workflow.called == ["plan", "scan", "scan", "finalize", "scan", "finalize", "publish", "announce"]
    scan_map, _ = deployment().map_state("ScanAccounts")
    publish_map, _ = deployment().map_state("PublishEvents")
    assert trace.entered.count(scan_map) == 2 and publish_map in trace.entered
    assert loop_length(definition, scan_map) == 3  # the map, finalize, and the choice that loops back
    # Children of the Distributed Maps: EXPRESS, and one parent transition each.
    assert [(r.label, r.items, r.execution_type) for r in trace.map_runs] == [
        ("ScanAccounts", 2, "EXPRESS"),
        ("ScanAccounts", 1, "EXPRESS"),
        ("PublishEvents", 1, "EXPRESS"),
    ]
    assert trace.map_child_transitions == 4
    assert trace.map_runs[0].max_concurrency == 800
    assert {key for _, key in workflow.objects if key.startswith("results/")} >= {
        k for _, k in workflow.objects if k.endswith("SUCCEEDED_0.jsonl")
    }


@pytest.mark.usefixtures("fresh_emulator")
def test_a_handler_runs_in_its_own_environment_and_every_request_it_makes_is_counted(emulator: Emulator) -> None:
    names = Names(bucket="bench-fleet-env", table="bench-fleet-env")
    vendor = Vendor(emulator.url)
    vendor.create(names)
    vendor.register(names.table, ["111122223333", "444455556666"], ["eu-west-1", "us-east-1"], "ApiDiscoveryReadOnly")
    config = deployment().function("plan", names)
    pool = FunctionPool(config, process_env(emulator.url), 1, time.perf_counter())
    try:
        first = pool.invoke({"source": "schedule"}, "plan")
        second = pool.invoke({"source": "request", "accounts": ["111122223333"]}, "plan")
    finally:
        pool.close()
    assert first.error is None, first.error
    assert first.result["count"] == 2 and first.result["targets"] == 4
    assert first.init_s is not None and first.init_s > 0 and second.init_s is None  # a cold start, then warm
    usage = first.usage
    assert usage["requests"]["dynamodb:Query"] >= 1 and usage["requests"]["s3:PutObject"] == 1
    assert usage["s3_put_list"] == 1 and usage["ddb_rru"] >= 0.5 and usage["ddb_wru"] >= 1  # the sweep's lease
    assert usage["log_events"] >= 1 and usage["log_bytes"] > 100 and "INFO" in usage["log_levels"]
    assert first.platform_log_events == 3 and first.platform_log_bytes > 200
    assert second.result["count"] == 1 and "dynamodb:PutItem" not in second.usage["requests"]  # requests take no lease
