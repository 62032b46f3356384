"""Lambda, played by processes: each function gets a pool of execution environments (bench.lambda_env), as many
as may run it at once, each serving one invocation at a time and staying warm for the next, as Lambda's do.

Every invocation comes back with what it cost (bench.meter.Usage as a dict), its duration and its environment's
peak memory, and the Lambda service's own START/END/REPORT log lines are added as the service would write them.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench.meter import platform_lines, platform_log_bytes

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class FunctionConfig:
    """A workflow function as the synthesized template configures it."""

    step: str
    logical_id: str
    arn: str
    memory_mb: int
    timeout_s: float
    reserved_concurrency: int | None
    environment: Mapping[str, str]
    traced: bool = True

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]


@dataclass
class Invocation:
    step: str
    key: str  # the account, batch or "announce" the invocation was for
    environment: int
    started_s: float  # since the pool's clock started
    seconds: float
    cpu_s: float  # CPU time the environment used during the invocation, all its threads
    init_s: float | None  # the environment's init, on its first invocation only
    init_cpu_s: float | None
    usage: dict[str, Any]
    peak_rss_mb: float
    error: dict[str, Any] | None = None
    platform_log_bytes: int = 0
    platform_log_events: int = 0
    result: Any = field(default=None, repr=False)


class Environment:
    def __init__(self, config: FunctionConfig, env: Mapping[str, str], index: int) -> None:
        self.config = config
        self.index = index
        self.invocations = 0
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - kept for the process's lifetime
        spec = {
            "step": config.step,
            "env": dict(config.environment),
            "memory_mb": config.memory_mb,
            "timeout_s": config.timeout_s,
            "function_name": config.name,
            "function_arn": config.arn,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.lambda_env", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=ROOT,
            env={**env},
        )
        self._lock = threading.Lock()
        self._counter = 0
        ready = self._read()
        self.init_s = float(ready["init_seconds"])
        self.init_cpu_s = float(ready.get("init_cpu_seconds", self.init_s))
        self.init_usage: dict[str, Any] = ready.get("init_usage", {})

    def _read(self) -> dict[str, Any]:
        out: IO[str] | None = self.process.stdout
        line = out.readline() if out else ""
        if not line:
            self._stderr.seek(0)
            raise RuntimeError(f"the {self.config.step} environment died:\n{self._stderr.read()[-4000:]}")
        message: dict[str, Any] = json.loads(line)
        return message

    def invoke(self, event: Any) -> dict[str, Any]:
        with self._lock:
            self._counter += 1
            request = {"id": self._counter, "event": event}
            stdin = self.process.stdin
            if stdin is None:
                raise RuntimeError("environment has no stdin")
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
            reply = self._read()
            self.invocations += 1
            return reply

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._stderr.close()


class FunctionPool:
    """Up to `size` environments of one function, started when first needed (or all at once by `warm`)."""

    def __init__(self, config: FunctionConfig, env: Mapping[str, str], size: int, clock_start: float) -> None:
        self.config = config
        self.env = env
        self.size = size
        self.clock_start = clock_start
        self._idle: queue.Queue[Environment] = queue.Queue()
        self._all: list[Environment] = []
        self._starting = 0
        self._indexes = itertools.count()
        self._lock = threading.Lock()
        self.invocations: list[Invocation] = []

    def warm(self, count: int | None = None) -> None:
        """Start environments in parallel, so that a run does not wait for each init in turn."""
        wanted = min(self.size, count or self.size) - len(self.environments())
        threads = [threading.Thread(target=self._add) for _ in range(max(0, wanted))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _add(self) -> None:
        with self._lock:
            if len(self._all) + self._starting >= self.size:
                return
            self._starting += 1
            index = next(self._indexes)
        try:
            environment = Environment(self.config, self.env, index)
        finally:
            with self._lock:
                self._starting -= 1
        with self._lock:
            self._all.append(environment)
        self._idle.put(environment)

    def _take(self) -> Environment:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            self._add()
        return self._idle.get()

    def invoke(self, event: Any, key: str) -> Invocation:
        environment = self._take()
        cold = environment.invocations == 0
        started = time.perf_counter() - self.clock_start
        try:
            reply = environment.invoke(json.loads(json.dumps(event)))
        finally:
            self._idle.put(environment)
        seconds = float(reply["seconds"])
        init = environment.init_s if cold else None
        lines = platform_lines(
            str(reply.get("request_id", "")),
            seconds,
            self.config.memory_mb,
            reply["peak_rss_mb"],
            init,
            self.config.traced,
        )
        log_bytes, log_events = platform_log_bytes(lines)
        invocation = Invocation(
            step=self.config.step,
            key=key,
            environment=environment.index,
            started_s=started,
            seconds=seconds,
            cpu_s=float(reply.get("cpu_seconds", 0.0)),
            init_s=init,
            init_cpu_s=environment.init_cpu_s if cold else None,
            usage=reply["usage"],
            peak_rss_mb=float(reply["peak_rss_mb"]),
            error=reply.get("error"),
            platform_log_bytes=log_bytes,
            platform_log_events=log_events,
            result=reply.get("result"),
        )
        if invocation.error and reply.get("stderr"):
            invocation.error = {**invocation.error, "stderr": reply["stderr"]}
        with self._lock:
            self.invocations.append(invocation)
        return invocation

    def environments(self) -> list[Environment]:
        with self._lock:
            return list(self._all)

    def close(self) -> None:
        for environment in self.environments():
            environment.close()


def process_env(
    endpoint_url: str, *, customer_url: str | None = None, dynamodb_url: str | None = None
) -> dict[str, str]:
    """A Lambda environment's process environment: fake credentials and the emulator only, never a real AWS
    account, plus what the Lambda service sets that the code reads. With `customer_url`, API Gateway and STS
    (the customer's side) are reached there, with `dynamodb_url` DynamoDB there, everything else at
    `endpoint_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    path = [str(ROOT), str(ROOT / "layers" / "python"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {
        **env,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_ENDPOINT_URL": endpoint_url,
        # X-Ray is modelled, not sent: there is no daemon here to send segments to.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join(path),
        **(
            {f"AWS_ENDPOINT_URL_{service}": customer_url for service in ("API_GATEWAY", "APIGATEWAYV2", "STS")}
            if customer_url
            else {}
        ),
        **({"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url} if dynamodb_url else {}),
    }
