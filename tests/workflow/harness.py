"""Run the synthesized state machine under moto's Step Functions interpreter, its Lambda tasks answered by
the real handlers of functions/, in this process.

moto 5.2.1 needs four things taught, each as narrow as possible:
- ASL: moto's grammar reads `ToleratedFailurePercentage` only as a decimal token, so `20` is written `20.0`
  (the same JSON number) by `for_moto`.
- Lambda: with `use_docker: False` moto echoes the payload; `route_lambda` makes it call the handler of the
  function the ARN names, and report an exception the way Lambda does (FunctionError + errorType).
- Distributed Map ResultWriter: moto writes a manifest whose ResultFiles are empty ("TODO" in moto);
  `complete_result_writer` also writes the SUCCEEDED file, in the format AWS documents.
- STS: moto lets anyone assume any role; `deny_assume_role` refuses one, as a broken trust policy does.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from unittest import mock

from infra.lambda_factory import PROJECT_ROOT

STEPS = ("plan", "scan", "finalize")


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
    """The same definition, with every ToleratedFailurePercentage written as a decimal."""

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: float(value) if key == "ToleratedFailurePercentage" else visit(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [visit(item) for item in node]
        return node

    return json.dumps(visit(json.loads(definition_text)))


Fault = Callable[[str, dict[str, Any]], None]


@dataclass
class Invocations:
    """What each function was asked, in order; `fault` may raise inside an invocation to simulate a crash."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fault: Fault | None = None
    # The time an invocation is given, by step and event: less than a scan's reserve makes it continue later.
    remaining_ms: Callable[[str, dict[str, Any]], int] = lambda step, event: 600_000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, step: str) -> list[dict[str, Any]]:
        return [event for name, event in self.calls if name == step]


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
            return json.dumps(error).encode()
        return json.dumps(result).encode()

    with mock.patch.object(LambdaSimpleBackend, "invoke", invoke):
        yield


@contextmanager
def complete_result_writer() -> Iterator[None]:
    """The ResultWriter as AWS implements it: a manifest listing SUCCEEDED_0.json, which holds one entry per
    item with its output as a JSON string (all items succeed here: the workflow catches target failures)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (  # noqa: PLC0415
        resource_eval_s3,
    )

    evaluator = resource_eval_s3.ResourceEvalS3

    def put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        parameters = env.stack.pop()
        results = env.stack.pop()
        s3 = evaluator._get_s3_client(resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
        record = env.map_run_record_pool_manager.get_all().pop()
        run_id = record.map_run_arn.split(":")[-1]
        prefix = parameters["Prefix"].rstrip("/") + "/" if parameters["Prefix"] else ""
        now = datetime.now(UTC).isoformat()
        entries = [
            {
                "ExecutionArn": f"{record.map_run_arn}:{index}",
                "Name": str(index),
                "Output": json.dumps(output),
                "OutputDetails": {"Included": True},
                "StartDate": now,
                "StopDate": now,
                "Status": "SUCCEEDED",
            }
            for index, output in enumerate(results)
        ]
        body = json.dumps(entries).encode()
        results_key = f"{prefix}{run_id}/SUCCEEDED_0.json"
        s3.put_object(Bucket=parameters["Bucket"], Key=results_key, Body=body)
        manifest = {
            "DestinationBucket": parameters["Bucket"],
            "MapRunArn": record.map_run_arn,
            "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": [{"Key": results_key, "Size": len(body)}]},
        }
        manifest_key = f"{prefix}{run_id}/manifest.json"
        s3.put_object(Bucket=parameters["Bucket"], Key=manifest_key, Body=json.dumps(manifest).encode())
        env.stack.append(
            {
                "MapRunArn": record.map_run_arn,
                "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": manifest_key},
            }
        )

    with mock.patch.object(evaluator, "_handle_put_object", staticmethod(put_object)):
        yield


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
