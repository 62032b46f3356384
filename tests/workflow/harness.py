"""Run the synthesized state machine under moto's Step Functions interpreter, its Lambda tasks answered by
the real handlers of functions/, in this process.

moto 5.2.1 needs these things taught, each as narrow as possible:
- ASL (`for_moto`): moto's grammar reads `ToleratedFailurePercentage` only as a decimal token, so `20` is
  written `20.0` (the same JSON number); it knows no `EXPRESS` child executions, so a Distributed Map's
  `ExecutionType` becomes `STANDARD` (the child's states run the same either way; the limits EXPRESS adds,
  five minutes and no history, are the definition's concern, tested in tests/infra); and it knows no
  `WriterConfig` in a `ResultWriter`, so that is left out. `MaxConcurrencyPath` it reads as AWS does.
- Lambda: with `use_docker: False` moto echoes the payload; `route_lambda` makes it call the handler of the
  function the ARN names, and report an exception the way Lambda does (FunctionError + errorType).
- Distributed Map ResultWriter: moto writes a manifest whose ResultFiles are empty ("TODO" in moto);
  `complete_result_writer` writes the result file too, in the format the original definition's
  `WriterConfig` asked AWS for.
- STS: moto lets anyone assume any role; `deny_assume_role` refuses one, as a broken trust policy does.
- EventBridge: `capture_events` keeps what was put on a bus, for the test to read.
- IAM: moto enforces none; `record_aws_calls` keeps every vendor-side call with who made it (the workflow,
  whose moto clients sign as "ak", or the one function whose invocations were under way), so that a test can
  check each against that principal's synthesized policy (tests/workflow/iam.py).
"""

from __future__ import annotations

import importlib.util
import json
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from unittest import mock

from infra.lambda_factory import PROJECT_ROOT

STEPS = ("plan", "scan", "finalize", "publish")
# What AWS writes for each WriterConfig the harness knows; anything else is refused rather than guessed.
JSONL_COMPACT = {"OutputType": "JSONL", "Transformation": "COMPACT"}


@dataclass
class LambdaContext:
    """What Powertools reads from the Lambda context object."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 600_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def load_handler(step: str) -> ModuleType:
    """functions/<step>/handler.py as its own module: the three files share the module name `handler`."""
    path = PROJECT_ROOT / "functions" / step / "handler.py"
    spec = importlib.util.spec_from_file_location(f"api_discovery_e2e_{step}_handler", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def for_moto(definition_text: str) -> str:
    """The same definition in moto's dialect: ToleratedFailurePercentage as a decimal, STANDARD children,
    no WriterConfig (see `writer_configs` for what it asked)."""

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            rewritten: dict[str, Any] = {}
            for key, value in node.items():
                if key == "WriterConfig":
                    continue
                if key == "ToleratedFailurePercentage":
                    rewritten[key] = float(value)
                elif key == "ExecutionType":
                    rewritten[key] = "STANDARD"
                else:
                    rewritten[key] = visit(value)
            return rewritten
        if isinstance(node, list):
            return [visit(item) for item in node]
        return node

    return json.dumps(visit(json.loads(definition_text)))


def writer_configs(definition_text: str) -> dict[str, dict[str, str] | None]:
    """Each Distributed Map with a ResultWriter, by label: the WriterConfig it asked for, None for none."""
    found: dict[str, dict[str, str] | None] = {}

    def visit(states: dict[str, Any]) -> None:
        for name, state in states.items():
            if "ResultWriter" in state:
                found[state.get("Label", name)] = state["ResultWriter"].get("WriterConfig")
            for nested in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])):
                if nested:
                    visit(nested["States"])

    visit(json.loads(definition_text)["States"])
    return found


Fault = Callable[[str, dict[str, Any]], None]


@dataclass
class Invocations:
    """What each function was asked, in order; `fault` may raise inside an invocation to simulate a crash."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # What each call returned (or the error Lambda reported), in the order the calls ended.
    returned: list[tuple[str, dict[str, Any], Any]] = field(default_factory=list)
    fault: Fault | None = None
    # Invocations under way, by step: a map runs one function at a time, so calls made meanwhile are its own.
    active: Counter[str] = field(default_factory=Counter)
    # The time an invocation is given, by step and event: less than a scan's reserve makes it continue later.
    remaining_ms: Callable[[str, dict[str, Any]], int] = lambda step, event: 600_000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, step: str) -> list[dict[str, Any]]:
        return [event for name, event in self.calls if name == step]

    def results_of(self, step: str) -> list[tuple[dict[str, Any], Any]]:
        return [(event, result) for name, event, result in self.returned if name == step]


@contextmanager
def route_lambda(function_steps: Mapping[str, str], invocations: Invocations) -> Iterator[None]:
    """Answer moto's Lambda Invoke by running the handler; `function_steps` maps function ARN -> step."""
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415 - moto is heavy

    handlers = {step: load_handler(step) for step in set(function_steps.values())}

    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        step = function_steps[function_name]
        event = json.loads(body) if body else {}
        with invocations.lock:
            invocations.calls.append((step, event))
        context = LambdaContext(
            function_name=function_name.rsplit(":", 1)[-1],
            invoked_function_arn=function_name,
            remaining_ms=invocations.remaining_ms(step, event),
        )
        with invocations.lock:
            invocations.active[step] += 1
        try:
            if invocations.fault:
                invocations.fault(step, event)
            result = handlers[step].handler(event, context)
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            error = {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc)[-3:],
            }
            with invocations.lock:
                invocations.returned.append((step, event, error))
            return json.dumps(error).encode()
        finally:
            with invocations.lock:
                invocations.active[step] -= 1
        with invocations.lock:
            invocations.returned.append((step, event, result))
        return json.dumps(result).encode()

    with mock.patch.object(LambdaSimpleBackend, "invoke", invoke):
        yield


def result_file(config: dict[str, str] | None, map_run_arn: str, outputs: list[Any]) -> tuple[str, bytes]:
    """The file AWS writes for the children's outputs (all succeeded: the workflow catches scan failures)."""
    if config == JSONL_COMPACT:
        # One child output per line, without execution metadata.
        return "SUCCEEDED_0.jsonl", b"".join(json.dumps(output).encode() + b"\n" for output in outputs)
    if config is None:
        # Transformation NONE, a JSON array: each child with its output as a JSON string.
        now = datetime.now(UTC).isoformat()
        entries = [
            {
                "ExecutionArn": f"{map_run_arn}:{index}",
                "Name": str(index),
                "Output": json.dumps(output),
                "OutputDetails": {"Included": True},
                "StartDate": now,
                "StopDate": now,
                "Status": "SUCCEEDED",
            }
            for index, output in enumerate(outputs)
        ]
        return "SUCCEEDED_0.json", json.dumps(entries).encode()
    raise NotImplementedError(f"the harness does not know what AWS writes for WriterConfig {config}")


@contextmanager
def complete_result_writer(definition_text: str) -> Iterator[list[dict[str, Any]]]:
    """The ResultWriter as AWS implements it, for each map of the original definition as it was configured:
    a manifest listing one SUCCEEDED file. Yields the manifests written, in order."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (  # noqa: PLC0415
        resource_eval_s3,
    )

    evaluator = resource_eval_s3.ResourceEvalS3
    configs = writer_configs(definition_text)
    written: list[dict[str, Any]] = []

    def put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        parameters = env.stack.pop()
        outputs = env.stack.pop()
        s3 = evaluator._get_s3_client(resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
        record = env.map_run_record_pool_manager.get_all().pop()
        # arn:aws:states:<region>:<account>:mapRun:<state machine>/<label>:<id>
        *_, name_and_label, run_id = record.map_run_arn.split(":")
        label = name_and_label.split("/", 1)[1]
        prefix = parameters["Prefix"].rstrip("/") + "/" if parameters["Prefix"] else ""
        file_name, body = result_file(configs[label], record.map_run_arn, outputs)
        results_key = f"{prefix}{run_id}/{file_name}"
        s3.put_object(Bucket=parameters["Bucket"], Key=results_key, Body=body)
        manifest = {
            "DestinationBucket": parameters["Bucket"],
            "MapRunArn": record.map_run_arn,
            "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": [{"Key": results_key, "Size": len(body)}]},
        }
        manifest_key = f"{prefix}{run_id}/manifest.json"
        s3.put_object(Bucket=parameters["Bucket"], Key=manifest_key, Body=json.dumps(manifest).encode())
        written.append({"label": label, "key": manifest_key, **manifest})
        env.stack.append(
            {
                "MapRunArn": record.map_run_arn,
                "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": manifest_key},
            }
        )

    with mock.patch.object(evaluator, "_handle_put_object", staticmethod(put_object)):
        yield written


@contextmanager
def deny_assume_role(role_arns: set[str]) -> Iterator[None]:
    """AssumeRole on these roles fails with AccessDenied, as AWS answers when the trust policy refuses."""
    from moto.sts.exceptions import STSClientError  # noqa: PLC0415
    from moto.sts.models import STSBackend  # noqa: PLC0415

    original = STSBackend.assume_role

    def assume_role(self: STSBackend, **kwargs: Any) -> Any:
        if kwargs["role_arn"] in role_arns:
            raise STSClientError(
                "AccessDenied", f"User is not authorized to perform: sts:AssumeRole on resource: {kwargs['role_arn']}"
            )
        return original(self, **kwargs)

    with mock.patch.object(STSBackend, "assume_role", assume_role):
        yield


@dataclass(frozen=True)
class PutEvent:
    bus: str
    source: str
    detail_type: str
    detail: dict[str, Any]


@contextmanager
def capture_events() -> Iterator[list[PutEvent]]:
    """Every entry a PutEvents call handed to moto's EventBridge, in order (moto still delivers them)."""
    from moto.events.models import EventsBackend  # noqa: PLC0415

    original = EventsBackend.put_events
    captured: list[PutEvent] = []
    lock = threading.Lock()

    def put_events(self: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with lock:
            captured.extend(
                PutEvent(
                    bus=entry.get("EventBusName", "default"),
                    source=entry.get("Source", ""),
                    detail_type=entry.get("DetailType", ""),
                    detail=json.loads(entry.get("Detail") or "{}"),
                )
                for entry in events
            )
        return original(self, events)

    with mock.patch.object(EventsBackend, "put_events", put_events):
        yield captured


# The services whose calls the vendor's roles must allow; a customer session only reads API Gateway.
CHECKED_SERVICES = ("s3", "dynamodb", "events", "sts", "lambda")
# How moto's Step Functions interpreter signs its own calls (ItemReader, ResultWriter, Lambda tasks).
WORKFLOW_ACCESS_KEY = "ak"
WORKFLOW = "workflow"


@dataclass(frozen=True)
class AwsCall:
    principal: str  # WORKFLOW, or the step whose function made the call
    service: str
    operation: str
    params: dict[str, Any]


@contextmanager
def record_aws_calls(invocations: Invocations, access_key: str) -> Iterator[list[AwsCall]]:
    """Every call to a checked service made by the workflow or by a function (signed with `access_key`,
    from a thread other than the test's own). A call made while two different steps run is kept with the
    principal "ambiguous", for the test to refuse."""
    from botocore.client import BaseClient  # noqa: PLC0415

    original = BaseClient._make_api_call  # type: ignore[attr-defined]
    recorded: list[AwsCall] = []
    main = threading.main_thread()

    def make_api_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        credentials = self._get_credentials()  # type: ignore[attr-defined]
        key = credentials.access_key if credentials else None
        if service in CHECKED_SERVICES and threading.current_thread() is not main:
            principal: str | None = None
            if key == WORKFLOW_ACCESS_KEY:
                principal = WORKFLOW
            elif key == access_key:
                with invocations.lock:
                    running = {step for step, count in invocations.active.items() if count > 0}
                principal = running.pop() if len(running) == 1 else "ambiguous" if running else None
            if principal is not None:
                params = {k: v for k, v in api_params.items() if k != "Body"}
                recorded.append(
                    AwsCall(principal, service, operation_name, json.loads(json.dumps(params, default=str)))
                )
        return original(self, operation_name, api_params)

    with mock.patch.object(BaseClient, "_make_api_call", make_api_call):
        yield recorded
