"""The benchmark's player of state machines: data flow, choices, retries, catches, Distributed Maps, and what
Step Functions would bill for each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.asl import (
    LAMBDA_INVOKE,
    ExecutionFailedError,
    Machine,
    TaskFailedError,
    UnsupportedError,
    assign,
    express_billed_gb_seconds,
    matches,
    query,
    render,
)

FN = "arn:aws:lambda:us-east-1:123456789012:function:Work"


class FakeRunner:
    def __init__(self, answer: Any = None, fail_times: int = 0, error: str = "Boom") -> None:
        self.answer = answer
        self.fail_times = fail_times
        self.error = error
        self.calls: list[Any] = []
        self.objects: dict[tuple[str, str], bytes] = {}

    def invoke(self, function_arn: str, payload: Any) -> Any:
        self.calls.append(payload)
        if self.fail_times:
            self.fail_times -= 1
            raise TaskFailedError(self.error, json.dumps({"errorMessage": "it broke"}))
        return self.answer(payload) if callable(self.answer) else self.answer

    def get_object(self, bucket: str, key: str) -> bytes:
        return self.objects[bucket, key]

    def put_object(self, bucket: str, key: str, body: bytes) -> None:
        self.objects[bucket, key] = body


def _task(**extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": FN, "Payload.$": "$"},
        "OutputPath": "$.Payload",
        **extra,
    }


def test_paths_and_parameters() -> None:
    data: dict[str, Any] = {"a": {"b": [1, {"c": "x"}]}, "n": 2}
    assert query(data, "$.a.b[1].c") == "x" and query(data, "$['n']") == 2
    with pytest.raises(KeyError):
        query(data, "$.missing")
    assert assign(data, "$.a.d.e", 5)["a"]["d"] == {"e": 5} and "d" not in data["a"]
    assert assign(data, "$", 7) == 7
    rendered = render(
        {"k.$": "$.n", "fixed": 1, "nested": {"f.$": "States.Format('run {}-{}', $.n, $.a.b[1].c)"}, "ctx.$": "$$.Id"},
        data,
        {"Id": "exec"},
    )
    assert rendered == {"k": 2, "fixed": 1, "nested": {"f": "run 2-x"}, "ctx": "exec"}
    with pytest.raises(UnsupportedError):
        query(data, "$..deep")


def test_choice_rules() -> None:
    data = {"count": 0, "done": False, "source": "schedule", "publish": {"count": 3}}
    assert matches({"Variable": "$.count", "NumericEquals": 0}, data)
    assert matches({"Variable": "$.done", "BooleanEquals": False}, data)
    assert not matches({"Variable": "$.source", "StringEquals": "change"}, data)
    assert matches({"Variable": "$.publish.count", "NumericGreaterThan": 0}, data)
    assert not matches({"Variable": "$.missing", "NumericGreaterThan": 0}, data)
    assert matches({"Variable": "$.missing", "IsPresent": False}, data)
    assert matches(
        {
            "And": [
                {"Variable": "$.count", "NumericLessThan": 1},
                {"Not": {"Variable": "$.done", "BooleanEquals": True}},
            ]
        },
        data,
    )
    assert not matches({"Variable": "$.done", "NumericEquals": 0}, data)  # a boolean is not a number


def test_a_machine_counts_every_state_it_enters() -> None:
    definition = {
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Work"}],
                "Default": "Skip",
            },
            "Work": _task(
                ResultSelector={"value.$": "$.Payload.value"}, ResultPath="$.out", OutputPath="$", Next="Done"
            ),
            "Skip": {"Type": "Succeed"},
            "Done": {"Type": "Pass", "Parameters": {"got.$": "$.out.value"}, "End": True},
        },
    }
    runner = FakeRunner(answer={"value": 42})
    output, trace = Machine(definition, runner).execute({"go": True})
    assert output == {"got": 42}
    assert trace.entered == ["Start", "Work", "Done"] and trace.transitions == 3
    assert runner.calls == [{"go": True}]
    _, skipped = Machine(definition, runner).execute({"go": False})
    assert skipped.entered == ["Start", "Skip"]


def test_retries_count_as_transitions_and_catches_record_the_error() -> None:
    retried = {
        "StartAt": "Work",
        "States": {"Work": _task(Retry=[{"ErrorEquals": ["Boom"], "MaxAttempts": 2}], End=True)},
    }
    output, trace = Machine(retried, FakeRunner(answer="ok", fail_times=2)).execute({})
    assert output == "ok" and trace.retries == 2 and trace.transitions == 3
    with pytest.raises(ExecutionFailedError, match="Boom"):
        Machine(retried, FakeRunner(fail_times=3)).execute({})
    caught = {
        "StartAt": "Work",
        "States": {
            "Work": _task(Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Record"}], End=True),
            "Record": {"Type": "Pass", "Parameters": {"status": "failed", "reason.$": "$.error.Cause"}, "End": True},
        },
    }
    output, trace = Machine(caught, FakeRunner(fail_times=1)).execute({"id": 1})
    assert output["status"] == "failed" and "it broke" in output["reason"]
    assert trace.entered == ["Work", "Record"]


def test_a_distributed_map_reads_s3_writes_jsonl_and_bills_one_transition_per_child() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "Work",
        "States": {"Work": _task(End=True)},
    }
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "Label": "Each",
                "ItemProcessor": processor,
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": "b", "Key.$": "$.key"},
                },
                "MaxConcurrencyPath": "$.limit",
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "b", "Prefix": "results"},
                    "WriterConfig": {"OutputType": "JSONL", "Transformation": "COMPACT"},
                },
                "ResultPath": "$.results",
                "End": True,
            }
        },
    }
    runner = FakeRunner(answer=lambda item: {"done": item["n"]})
    runner.objects["b", "items.json"] = json.dumps([{"n": i} for i in range(5)]).encode()
    output, trace = Machine(definition, runner, pool_limit={"Each": 2}).execute({"key": "items.json", "limit": 800})
    written = output["results"]["ResultWriterDetails"]
    manifest = json.loads(runner.objects["b", written["Key"]])
    [succeeded] = manifest["ResultFiles"]["SUCCEEDED"]
    lines = [json.loads(line) for line in runner.objects["b", succeeded["Key"]].splitlines()]
    assert sorted(line["done"] for line in lines) == [0, 1, 2, 3, 4]
    assert succeeded["Key"].startswith("results/") and succeeded["Key"].endswith("/SUCCEEDED_0.jsonl")
    [run] = trace.map_runs
    assert run.items == 5 and run.max_concurrency == 800 and run.execution_type == "EXPRESS"
    assert trace.transitions == 1 and trace.map_child_transitions == 5


def test_what_it_cannot_follow_it_refuses() -> None:
    with pytest.raises(UnsupportedError):
        Machine({"QueryLanguage": "JSONata", "StartAt": "x", "States": {}}, FakeRunner())
    inline = {
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "ItemProcessor": {"StartAt": "x", "States": {}}, "End": True}},
    }
    with pytest.raises(UnsupportedError, match="INLINE"):
        Machine(inline, FakeRunner()).execute({})


def test_express_duration_is_billed_in_tenths_of_a_second_and_64_mb_chunks() -> None:
    assert express_billed_gb_seconds(0.01) == pytest.approx(0.1 * 0.0625)
    assert express_billed_gb_seconds(1.0) == pytest.approx(1.0 * 0.0625)
    assert express_billed_gb_seconds(1.01, memory_mb=100) == pytest.approx(1.1 * 0.125)
