"""The synthesized state machine, played in this process: every state the definition says, in the order it says,
with its Lambda tasks and its Distributed Maps' S3 reads and writes handed to a runner.

Only what the definition uses is implemented (JSONPath, not JSONata): Task (`lambda:invoke` or a function ARN)
with Retry and Catch, Choice, Pass, Wait, Succeed, Fail, and Map in DISTRIBUTED mode with an S3 JSON
ItemReader, MaxConcurrency(Path) and a ResultWriter; InputPath, Parameters, ResultSelector, ResultPath and
OutputPath; the context object; a few intrinsic functions. Anything else raises `UnsupportedError`, so that a
definition the benchmark cannot follow fails loudly instead of being counted wrong.

What it counts is what Step Functions bills: states entered (retries included) in STANDARD executions, one
more per child execution a Distributed Map starts, and each EXPRESS child's request and duration.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
S3_GET = "arn:aws:states:::s3:getObject"
S3_PUT = "arn:aws:states:::s3:putObject"
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:bench"


class UnsupportedError(NotImplementedError):
    """A feature of the definition this interpreter does not implement."""


class TaskFailedError(Exception):
    """A task's error as Step Functions sees it: `error` (the Lambda's errorType) and `cause`."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause[:200]}")
        self.error = error
        self.cause = cause


class ExecutionFailedError(Exception):
    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause[:500]}")
        self.error = error
        self.cause = cause


class Runner(Protocol):
    """What the machine delegates: Lambda invocations and the Distributed Maps' S3 objects."""

    def invoke(self, function_arn: str, payload: Any) -> Any:
        """The function's return value; raise TaskFailedError for a function error."""
        ...

    def get_object(self, bucket: str, key: str) -> bytes: ...

    def put_object(self, bucket: str, key: str, body: bytes) -> None: ...


@dataclass
class ChildRun:
    index: int
    seconds: float
    transitions: int
    failed: bool


@dataclass
class MapRun:
    state: str
    label: str
    arn: str
    execution_type: str
    items: int
    max_concurrency: int
    seconds: float = 0.0
    children: list[ChildRun] = field(default_factory=list)


@dataclass
class Trace:
    """One execution: the states it entered, and the map runs it started."""

    entered: list[str] = field(default_factory=list)
    retries: int = 0
    map_runs: list[MapRun] = field(default_factory=list)
    waited_seconds: float = 0.0

    @property
    def transitions(self) -> int:
        """States entered and retries of this execution (its children counted apart)."""
        return len(self.entered) + self.retries

    @property
    def map_child_transitions(self) -> int:
        """What a Distributed Map adds to its parent: one transition per child execution started."""
        return sum(len(run.children) for run in self.map_runs)


# --------------------------------------------------------------------------------------------------
# JSONPath (the subset ASL uses), intrinsic functions
# --------------------------------------------------------------------------------------------------

_STEP = re.compile(r"\.([A-Za-z_$@][\w$@-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_MISSING = object()


def _steps(path: str) -> list[str | int]:
    if not path.startswith("$"):
        raise UnsupportedError(f"not a JSONPath: {path!r}")
    rest, steps, at = path[1:], [], 0
    while at < len(rest):
        match = _STEP.match(rest, at)
        if not match:
            raise UnsupportedError(f"JSONPath beyond the ASL subset: {path!r}")
        name, index, quoted, double = match.groups()
        steps.append(int(index) if index is not None else (name or quoted or double or ""))
        at = match.end()
    return steps


def query(data: Any, path: str) -> Any:
    """The value at a reference path; a missing one raises KeyError (States.Runtime in AWS)."""
    value = data
    for step in _steps(path):
        found = (isinstance(step, int) and isinstance(value, list) and step < len(value)) or (
            isinstance(step, str) and isinstance(value, dict) and step in value
        )
        if not found:
            raise KeyError(f"{path} is not in the state's data")
        value = value[step]
    return value


def _present(data: Any, path: str) -> bool:
    try:
        query(data, path)
    except KeyError:
        return False
    return True


def assign(data: Any, path: str, value: Any) -> Any:
    """A copy of `data` with `value` at `path` (ResultPath), creating objects on the way."""
    steps = _steps(path)
    if not steps:
        return value
    root = json.loads(json.dumps(data)) if isinstance(data, dict) else {}
    node = root
    for step in steps[:-1]:
        if not isinstance(step, str):
            raise UnsupportedError(f"ResultPath into an array: {path!r}")
        child = node.get(step)
        if not isinstance(child, dict):
            child = node[step] = {}
        node = child
    last = steps[-1]
    if not isinstance(last, str):
        raise UnsupportedError(f"ResultPath into an array: {path!r}")
    node[last] = value
    return root


def _intrinsic(expression: str, data: Any, context: Mapping[str, Any]) -> Any:
    name, _, rest = expression.partition("(")
    if not rest.endswith(")"):
        raise UnsupportedError(f"intrinsic function call {expression!r}")
    args = [_argument(a, data, context) for a in _split_arguments(rest[:-1])]
    if name == "States.Format":
        template, *values = args
        pieces = str(template).split("{}")
        out = pieces[0]
        for value, piece in zip(values, pieces[1:], strict=True):
            out += (value if isinstance(value, str) else json.dumps(value)) + piece
        return out
    if name == "States.StringToJson":
        return json.loads(args[0])
    if name == "States.JsonToString":
        return json.dumps(args[0], separators=(",", ":"))
    if name == "States.Array":
        return list(args)
    if name == "States.ArrayLength":
        return len(args[0])
    if name == "States.MathAdd":
        return args[0] + args[1]
    if name == "States.UUID":
        return str(uuid.uuid4())
    raise UnsupportedError(f"intrinsic function {name}")


def _split_arguments(text: str) -> list[str]:
    args, depth, quoted, current = [], 0, False, ""
    for char in text:
        if char == "'" and not current.endswith("\\"):
            quoted = not quoted
        if not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "," and not quoted and depth == 0:
            args.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        args.append(current.strip())
    return args


def _argument(text: str, data: Any, context: Mapping[str, Any]) -> Any:
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("\\'", "'")
    if text.startswith("$$"):
        return query(context, text[1:])
    if text.startswith("$"):
        return query(data, text)
    if text.startswith("States."):
        return _intrinsic(text, data, context)
    return json.loads(text)


def render(template: Any, data: Any, context: Mapping[str, Any]) -> Any:
    """Parameters, ItemSelector, ResultSelector: keys ending in `.$` take a path or an intrinsic's value."""
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _argument(str(value), data, context)
            else:
                out[key] = render(value, data, context)
        return out
    if isinstance(template, list):
        return [render(item, data, context) for item in template]
    return template


# --------------------------------------------------------------------------------------------------
# Choice rules
# --------------------------------------------------------------------------------------------------

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_KINDS: dict[str, Callable[[Any], bool]] = {
    "String": lambda v: isinstance(v, str),
    "Numeric": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool),
    "Timestamp": lambda v: isinstance(v, str),
}
_RULE = re.compile(
    r"^(String|Numeric|Boolean|Timestamp)(Equals|LessThan|GreaterThan|LessThanEquals|GreaterThanEquals)(Path)?$"
)


def matches(rule: Mapping[str, Any], data: Any) -> bool:
    if "And" in rule:
        return all(matches(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(matches(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], data)
    if "Condition" in rule:
        raise UnsupportedError("JSONata conditions")
    variable = str(rule["Variable"])
    comparisons = [(k, v) for k, v in rule.items() if k not in ("Variable", "Next")]
    if len(comparisons) != 1:
        raise UnsupportedError(f"choice rule with {len(comparisons)} comparisons: {rule}")
    return _compare(*comparisons[0], variable, data)


def _compare(key: str, expected: Any, variable: str, data: Any) -> bool:
    if key == "IsPresent":
        return _present(data, variable) is bool(expected)
    value = query(data, variable) if _present(data, variable) else _MISSING
    if key == "IsNull":
        return (value is None) is bool(expected)
    if key in ("IsString", "IsNumeric", "IsBoolean", "IsTimestamp"):
        return _KINDS[key[2:]](value) is bool(expected)
    parsed = _RULE.match(key)
    if not parsed:
        raise UnsupportedError(f"choice rule {key}")
    kind, comparison, by_path = parsed.groups()
    if kind == "Boolean" and comparison != "Equals":
        raise UnsupportedError(f"choice rule {key}")
    other = query(data, str(expected)) if by_path else expected
    if value is _MISSING or not _KINDS[kind](value) or not _KINDS[kind](other):
        return False
    return _COMPARE[comparison](value, other)


def _error_matches(names: list[str], error: str) -> bool:
    return any(n in (error, "States.ALL") or (n == "States.TaskFailed" and error != "States.Timeout") for n in names)


# --------------------------------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------------------------------


class Machine:
    """One state machine (or a Map's item processor); `pool_limit` caps how many children run at once here,
    whatever MaxConcurrency the definition allows (the Map's own concurrency is reported beside it)."""

    def __init__(
        self,
        definition: Mapping[str, Any],
        runner: Runner,
        *,
        pool_limit: Mapping[str, int] | None = None,
        name: str = "bench",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if definition.get("QueryLanguage", "JSONPath") != "JSONPath":
            raise UnsupportedError(f"query language {definition['QueryLanguage']}")
        self.definition = definition
        self.runner = runner
        self.pool_limit = dict(pool_limit or {})
        self.name = name
        self.clock = clock

    def execute(self, data: Any, *, context: Mapping[str, Any] | None = None) -> tuple[Any, Trace]:
        trace = Trace()
        execution_id = f"{STATE_MACHINE_ARN}:{uuid.uuid4()}"
        base = dict(context or {})
        base.setdefault(
            "Execution",
            {"Id": execution_id, "Name": execution_id.rsplit(":", 1)[-1], "StartTime": _now(), "Input": data},
        )
        base.setdefault("StateMachine", {"Id": STATE_MACHINE_ARN, "Name": self.name})
        states = self.definition["States"]
        name: str | None = str(self.definition["StartAt"])
        while name is not None:
            state = states[name]
            trace.entered.append(name)
            ctx = {**base, "State": {"Name": name, "EnteredTime": _now()}}
            data, name = self._state(name, state, data, ctx, trace)
        return data, trace

    def _state(
        self, name: str, state: Mapping[str, Any], data: Any, ctx: Mapping[str, Any], trace: Trace
    ) -> tuple[Any, str | None]:
        kind = state["Type"]
        if "QueryLanguage" in state and state["QueryLanguage"] != "JSONPath":
            raise UnsupportedError(f"{name}: query language {state['QueryLanguage']}")
        if kind in ("Choice", "Succeed", "Fail", "Wait"):
            return _flow(name, state, data, trace)
        effective = _select(data, state.get("InputPath", "$"))
        if kind == "Pass":
            if "Parameters" in state:
                effective = render(state["Parameters"], effective, ctx)
            result = state.get("Result", effective)
            return self._output(state, data, result, ctx), _next(state)
        if kind == "Task":
            return self._task(name, state, data, effective, ctx, trace)
        if kind == "Map":
            result = self._map(name, state, effective, ctx, trace)
            return self._output(state, data, result, ctx), _next(state)
        raise UnsupportedError(f"{name}: state type {kind}")

    def _output(self, state: Mapping[str, Any], raw: Any, result: Any, ctx: Mapping[str, Any]) -> Any:
        if "ResultSelector" in state:
            result = render(state["ResultSelector"], result, ctx)
        result_path = state.get("ResultPath", "$")
        combined = raw if result_path is None else assign(raw, result_path, result)
        return _select(combined, state.get("OutputPath", "$"))

    def _task(
        self, name: str, state: Mapping[str, Any], raw: Any, effective: Any, ctx: Mapping[str, Any], trace: Trace
    ) -> tuple[Any, str | None]:
        arguments = render(state["Parameters"], effective, ctx) if "Parameters" in state else effective
        resource = str(state["Resource"])
        attempts: dict[int, int] = {}
        while True:
            try:
                if resource == LAMBDA_INVOKE:
                    payload = arguments.get("Payload", effective) if isinstance(arguments, dict) else effective
                    returned = self.runner.invoke(str(arguments["FunctionName"]), payload)
                    result: Any = {"ExecutedVersion": "$LATEST", "Payload": returned, "StatusCode": 200}
                elif resource.startswith("arn:aws:lambda:"):
                    result = self.runner.invoke(resource, arguments)
                else:
                    raise UnsupportedError(f"{name}: task resource {resource}")
                return self._output(state, raw, result, ctx), _next(state)
            except TaskFailedError as failure:
                retry = _retrier(state, failure.error, attempts)
                if retry is not None:
                    trace.retries += 1
                    continue
                for catcher in state.get("Catch", []):
                    if _error_matches(list(catcher["ErrorEquals"]), failure.error):
                        error = {"Error": failure.error, "Cause": failure.cause}
                        path = catcher.get("ResultPath", "$")
                        return (raw if path is None else assign(raw, path, error)), str(catcher["Next"])
                raise ExecutionFailedError(failure.error, failure.cause) from failure

    def _map(self, name: str, state: Mapping[str, Any], effective: Any, ctx: Mapping[str, Any], trace: Trace) -> Any:
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if not processor:
            raise UnsupportedError(f"{name}: a Map without an item processor")
        config = processor.get("ProcessorConfig", {})
        if config.get("Mode") != "DISTRIBUTED":
            raise UnsupportedError(f"{name}: Map in {config.get('Mode', 'INLINE')} mode")
        items = self._items(name, state, effective, ctx)
        limit = int(query(effective, state["MaxConcurrencyPath"])) if "MaxConcurrencyPath" in state else 0
        limit = limit or int(state.get("MaxConcurrency", 0)) or 10_000  # 0: Step Functions' own maximum
        label = str(state.get("Label", name))
        run = MapRun(
            state=name,
            label=label,
            arn=f"arn:aws:states:us-east-1:123456789012:mapRun:{self.name}/{label}:{uuid.uuid4()}",
            execution_type=str(config.get("ExecutionType", "STANDARD")),
            items=len(items),
            max_concurrency=limit,
        )
        child = Machine(
            processor, self.runner, pool_limit=self.pool_limit, name=f"{self.name}/{label}", clock=self.clock
        )
        outputs: list[Any] = [None] * len(items)
        failures: list[tuple[int, ExecutionFailedError]] = []
        lock = threading.Lock()
        selector = state.get("ItemSelector") or state.get("Parameters")

        def one(index: int) -> None:
            item = items[index]
            item_ctx = {**ctx, "Map": {"Item": {"Index": index, "Value": item}}}
            child_input = render(selector, effective, item_ctx) if selector else item
            started = self.clock()
            failed = False
            try:
                outputs[index], child_trace = child.execute(child_input, context={"Map": item_ctx["Map"]})
                transitions = child_trace.transitions
            except ExecutionFailedError as exc:
                failed, transitions = True, 0
                with lock:
                    failures.append((index, exc))
            with lock:
                run.children.append(ChildRun(index, self.clock() - started, transitions, failed))

        started = self.clock()
        workers = max(1, min(limit, self.pool_limit.get(label, limit), len(items) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"map-{label}") as pool:
            for future in [pool.submit(one, i) for i in range(len(items))]:
                future.result()
        run.seconds = self.clock() - started
        run.children.sort(key=lambda c: c.index)
        trace.map_runs.append(run)
        tolerated = float(state.get("ToleratedFailurePercentage", 0))
        if failures and 100 * len(failures) / max(1, len(items)) > tolerated:
            raise ExecutionFailedError(
                "States.ExceedToleratedFailureThreshold", f"{len(failures)} of {len(items)} failed"
            )
        if "ResultWriter" in state:
            return self._write_results(name, state, run, items, outputs, failures, effective, ctx)
        return outputs

    def _items(self, name: str, state: Mapping[str, Any], effective: Any, ctx: Mapping[str, Any]) -> list[Any]:
        reader = state.get("ItemReader")
        if reader is None:
            found = query(effective, state.get("ItemsPath", "$"))
            if not isinstance(found, list):
                raise ExecutionFailedError("States.Runtime", f"{name}: items are not an array")
            return found
        if reader.get("Resource") != S3_GET or reader.get("ReaderConfig", {}).get("InputType") != "JSON":
            raise UnsupportedError(f"{name}: ItemReader {reader.get('Resource')} {reader.get('ReaderConfig')}")
        where = render(reader["Parameters"], effective, ctx)
        items = json.loads(self.runner.get_object(str(where["Bucket"]), str(where["Key"])))
        if not isinstance(items, list):
            raise ExecutionFailedError("States.ItemReaderFailed", f"{name}: the item source is not a JSON array")
        return items

    def _write_results(
        self,
        name: str,
        state: Mapping[str, Any],
        run: MapRun,
        items: list[Any],
        outputs: list[Any],
        failures: list[tuple[int, ExecutionFailedError]],
        effective: Any,
        ctx: Mapping[str, Any],
    ) -> dict[str, Any]:
        writer = state["ResultWriter"]
        if writer.get("Resource") != S3_PUT:
            raise UnsupportedError(f"{name}: ResultWriter {writer.get('Resource')}")
        config = writer.get("WriterConfig")
        if config and (config.get("OutputType"), config.get("Transformation")) != ("JSONL", "COMPACT"):
            raise UnsupportedError(f"{name}: WriterConfig {config}")
        where = render(writer["Parameters"], effective, ctx)
        bucket = str(where["Bucket"])
        prefix = str(where.get("Prefix") or "").rstrip("/")
        map_run_id = run.arn.rsplit(":", 1)[-1]
        base = f"{prefix}/{map_run_id}" if prefix else map_run_id
        failed = {index for index, _ in failures}
        succeeded = [outputs[i] for i in range(len(items)) if i not in failed]
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        if config:
            body = b"".join(json.dumps(o).encode() + b"\n" for o in succeeded)
            key = f"{base}/SUCCEEDED_0.jsonl"
        else:
            body = json.dumps(
                [
                    _record(run.arn, i, items[i], {"Output": json.dumps(outputs[i])})
                    for i in range(len(items))
                    if i not in failed
                ]
            ).encode()
            key = f"{base}/SUCCEEDED_0.json"
        self.runner.put_object(bucket, key, body)
        files["SUCCEEDED"].append({"Key": key, "Size": len(body)})
        if failures:
            records = [
                _record(run.arn, i, items[i], {"Error": e.error, "Cause": e.cause, "Status": "FAILED"})
                for i, e in failures
            ]
            body = b"".join(json.dumps(r).encode() + b"\n" for r in records)
            key = f"{base}/FAILED_0.jsonl"
            self.runner.put_object(bucket, key, body)
            files["FAILED"].append({"Key": key, "Size": len(body)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": run.arn, "ResultFiles": files}
        manifest_key = f"{base}/manifest.json"
        self.runner.put_object(bucket, manifest_key, json.dumps(manifest).encode())
        return {"MapRunArn": run.arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}


def _record(map_run_arn: str, index: int, item: Any, extra: Mapping[str, Any]) -> dict[str, Any]:
    now = _now()
    return {
        "ExecutionArn": f"{map_run_arn}:{index}",
        "Input": json.dumps(item),
        "Name": str(index),
        "StartDate": now,
        "StopDate": now,
        "Status": "SUCCEEDED",
        **extra,
    }


def _flow(name: str, state: Mapping[str, Any], data: Any, trace: Trace) -> tuple[Any, str | None]:
    """The states that only decide where to go: Choice, Succeed, Fail, Wait."""
    kind = state["Type"]
    effective = _select(data, state.get("InputPath", "$"))
    if kind == "Choice":
        for rule in state.get("Choices", []):
            if matches(rule, effective):
                return _select(effective, state.get("OutputPath", "$")), str(rule["Next"])
        if "Default" not in state:
            raise ExecutionFailedError("States.NoChoiceMatched", f"no choice of {name} matched")
        return _select(effective, state.get("OutputPath", "$")), str(state["Default"])
    if kind == "Fail":
        cause = query(data, state["CausePath"]) if "CausePath" in state else state.get("Cause", "")
        error = query(data, state["ErrorPath"]) if "ErrorPath" in state else state.get("Error", "States.Fail")
        raise ExecutionFailedError(str(error), str(cause))
    if kind == "Wait":
        # Not slept: the wait is reported, and a sweep never passes through one.
        trace.waited_seconds += float(state.get("Seconds", 0))
    return _select(effective, state.get("OutputPath", "$")), None if kind == "Succeed" else _next(state)


def _retrier(state: Mapping[str, Any], error: str, attempts: dict[int, int]) -> Mapping[str, Any] | None:
    for index, retrier in enumerate(state.get("Retry", [])):
        if _error_matches(list(retrier["ErrorEquals"]), error):
            attempts[index] = attempts.get(index, 0) + 1
            return retrier if attempts[index] <= int(retrier.get("MaxAttempts", 3)) else None
    return None


def _select(data: Any, path: str | None) -> Any:
    if path is None:
        return {}
    return query(data, path)


def _next(state: Mapping[str, Any]) -> str | None:
    return None if state.get("End") else str(state["Next"])


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def express_billed_gb_seconds(seconds: float, memory_mb: int = 64) -> float:
    """EXPRESS duration as billed: rounded up to 100 ms, memory in 64 MB chunks (a small child uses one)."""
    tenths = -(-round(seconds * 1000) // 100)
    chunks = -(-memory_mb // 64)
    return tenths / 10 * chunks * 64 / 1024
