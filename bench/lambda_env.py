"""One Lambda execution environment: `python -m bench.lambda_env` loads one function's handler as Lambda does
(its environment set, `functions/<step>/handler.py` imported once: the init phase), then serves invocations
one at a time, as JSON lines on stdin and stdout.

Its vendor-side clients are the handler module's own `default_clients()`, replaced by clients whose every
request is counted (bench.meter); the customer side is the handler's default (boto3.Session), and both reach
the emulator through AWS_ENDPOINT_URL. What the function prints, Powertools' JSON log lines and its metrics
alike, goes to streams that count it as CloudWatch Logs would ingest it.

Request: {"id": n, "event": {...}}. Reply: {"id": n, "result": ... | "error": {...}, "seconds": s,
"usage": {...}, "peak_rss_mb": m}. The first line written is {"ready": true, "init_seconds": s, ...}.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Context:
    """The Lambda context object, as Powertools and the scan handler read it."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    deadline: float  # time.monotonic() at which the invocation times out
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def load_handler(step: str) -> ModuleType:
    """functions/<step>/handler.py as a module of its own, as tests/workflow/harness.py loads it."""
    path = ROOT / "functions" / step / "handler.py"
    spec = importlib.util.spec_from_file_location(f"bench_lambda_{step}_handler", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would: dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def die_with_parent() -> None:
    """Stop when the benchmark that started this process stops, even in the middle of an invocation: a process
    whose parent is gone is handed to another, and that is noticed within a second."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> None:
    die_with_parent()
    config = json.loads(sys.argv[1])
    protocol: IO[str] = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.environ.update(config["env"])
    from bench.meter import LogStream, Meter  # noqa: PLC0415 - after the environment is set, as Lambda's init

    meter = Meter()
    stdout, stderr = LogStream(meter), LogStream(meter)
    sys.stdout, sys.stderr = stdout, stderr
    started, cpu = time.perf_counter(), time.process_time()
    module = load_handler(config["step"])
    init_seconds, init_cpu = time.perf_counter() - started, time.process_time() - cpu
    import boto3  # noqa: PLC0415 - loaded by the handler already

    from api_discovery.steps.settings import AwsClients  # noqa: PLC0415

    clients = AwsClients(
        s3=meter.attach(boto3.client("s3")),
        dynamodb=meter.attach(boto3.client("dynamodb")),
        events=meter.attach(boto3.client("events")),
    )
    # The handler calls its module's default_clients() on each invocation: these clients are counted.
    setattr(module, "default_clients", lambda: clients)  # noqa: B010
    init_usage = meter.take()
    _send(
        protocol,
        {
            "ready": True,
            "init_seconds": init_seconds,
            "init_cpu_seconds": init_cpu,
            "init_usage": init_usage.as_dict(),
            "rss_mb": peak_rss_mb(),
        },
    )
    for line in sys.stdin:
        request = json.loads(line)
        context = Context(
            function_name=config["function_name"],
            invoked_function_arn=config["function_arn"],
            memory_limit_in_mb=int(config["memory_mb"]),
            deadline=time.monotonic() + float(config["timeout_s"]),
        )
        reply: dict[str, Any] = {"id": request["id"], "request_id": context.aws_request_id}
        started, cpu = time.perf_counter(), time.process_time()
        try:
            reply["result"] = module.handler(request["event"], context)
        except Exception as exc:
            reply["error"] = {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc)[-4:],
            }
        reply["seconds"] = time.perf_counter() - started
        reply["cpu_seconds"] = time.process_time() - cpu  # every thread of the environment
        stdout.flush()
        stderr.flush()
        reply["usage"] = meter.take().as_dict()
        reply["peak_rss_mb"] = peak_rss_mb()
        if "error" in reply:
            reply["stderr"] = list(stderr.last)[-10:]
        _send(protocol, reply)


def _send(protocol: IO[str], message: dict[str, Any]) -> None:
    protocol.write(json.dumps(message, default=str) + "\n")
    protocol.flush()


if __name__ == "__main__":
    main()
