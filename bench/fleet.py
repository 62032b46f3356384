"""Scenario 4, the fleet: the real plan -> scan -> finalize -> publish code over a realistic estate of hundreds of
accounts x 17 regions, against the emulator enforcing AWS's API Gateway quotas per account, every vendor-side
request counted; then the same at 10,000 accounts, from those measurements, the price table and a simulation
of the Map's scheduling.

1. Measured fleet: two sweeps (a first one, and a steady-state one after about 1% of regions changed), each
   played from the synthesized state machine definition (bench.asl) with its Lambda tasks run by the real
   handlers in execution environments of their own (bench.lambda_pool). The customer's side (API Gateway,
   STS, with the quotas) is served by this process, the vendor's (S3, DynamoDB, EventBridge) by another
   (bench.vendor_emulator), and a few accounts are scanned at once, so that neither emulator paces a scan
   more than the machine must: each account's wall time is compared with its quota bound at the scanner's
   configured budget, beside the CPU it used.
2. Finalize at fleet scale: 10,000 accounts x 17 regions of synthetic Map results (bench.fleet_results),
   first-sweep-like and steady-state-like, through the finalize handler in a fresh environment (time, peak
   memory), then a few of the publishing batches it plans, and the announcement.
3. Plan at fleet scale: the plan handler over a registry of 10,000 accounts x 17 regions.
4. The model (bench.fleet_model): 10,000 accounts' scan times from their quota bounds (a line fitted to the
   measured accounts), the Map's rounds simulated, each step's measured cost, list prices.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import boto3

from api_discovery.local.emulator import Emulator
from api_discovery.local.quota_emulator import QuotaMiddleware, QuotaRates
from bench.asl import Machine, TaskFailedError, Trace, express_billed_gb_seconds
from bench.fleet_estate import (
    EstateMix,
    Fleet,
    account_bound,
    account_ids,
    account_minimum,
    apply_changes,
    build_fleet,
    change_summary,
    plan_changes,
    seed_fleet,
)
from bench.fleet_model import (
    MapSchedule,
    StepCost,
    SweepInputs,
    fit_wall_to_bound,
    lambda_gb_seconds,
    simulate_map,
    sweep_minutes,
    sweep_usage,
)
from bench.lambda_pool import FunctionConfig, FunctionPool, Invocation, process_env
from bench.meter import Meter, Usage
from bench.minimum import api_gateway_calls
from bench.prices import PriceTable, load_prices, monthly
from bench.vendor_emulator import VendorEmulator, speed_up_moto

Log = Callable[[str], None]
STEPS = ("plan", "scan", "finalize", "publish")
_STEP_ID = re.compile(r"^(Plan|Scan|Finalize|Publish)[0-9A-F]{8}$")
BUCKET_TOKEN = "bench-bucket-token"
VENDOR_ACCOUNT = "123456789012"  # moto's account for the fake credentials the vendor side uses
WALL_OVER_BOUND = 1.25
VCPU_MB = 1769  # https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
SWEEP_MINUTES = 30.0
STEADY_USD = 5.0
FIRST_USD = 10.0
FINALIZE_SECONDS = 300.0
FINALIZE_MB = 1024.0


def vendor_client(service: str, endpoint_url: str) -> Any:
    """A client of the vendor's side of the emulator, with the fake credentials its workers use."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


# A continued invocation stores its progress and the next reads it back; without one measured, this (model).
CONTINUATION_MODEL = {"s3.put_list": 1.0, "s3.get": 1.0}


@dataclass(frozen=True)
class FleetScale:
    accounts: int = 300
    regions: tuple[str, ...] = ()
    mix: EstateMix = field(default_factory=EstateMix)
    scan_environments: int = 12  # accounts scanned at once here: the emulator's capacity, not the Map's
    publish_environments: int = 4
    change_share: float = 0.01
    model_accounts: int = 10_000
    scale_accounts: int = 10_000  # finalize and plan at fleet scale
    publish_batches_measured: int = 3


# --------------------------------------------------------------------------------------------------
# The deployment, as synthesized
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    """What the benchmark reads from the synthesized template: the definition and the functions."""

    definition: dict[str, Any]
    functions: dict[str, dict[str, Any]]  # step -> logical_id, memory_mb, timeout_s, reserved, environment (raw)
    state_machine: dict[str, Any]
    bucket_ids: tuple[str, ...]
    table_id: str
    bus_id: str | None

    @classmethod
    def from_synth(cls, raw: Mapping[str, Any]) -> Deployment:
        return cls(
            definition=dict(raw["definition"]),
            functions=dict(raw["functions"]),
            state_machine=dict(raw["state_machine"]),
            bucket_ids=tuple(raw["bucket_ids"]),
            table_id=str(raw["table_id"]),
            bus_id=raw.get("bus_id"),
        )

    def definition_for(self, bucket: str) -> dict[str, Any]:
        resolved: dict[str, Any] = json.loads(json.dumps(self.definition).replace(BUCKET_TOKEN, bucket))
        return resolved

    def function(self, step: str, names: Names) -> FunctionConfig:
        raw = self.functions[step]
        refs = {self.table_id: names.table, **dict.fromkeys(self.bucket_ids, names.bucket)}
        if self.bus_id:
            refs[self.bus_id] = names.bus
        environment = {}
        for key, raw_value in raw["environment"].items():
            value = raw_value
            if isinstance(raw_value, dict):
                if set(raw_value) != {"Ref"} or raw_value["Ref"] not in refs:
                    raise ValueError(f"{step}: cannot resolve environment variable {key} = {raw_value}")
                value = refs[raw_value["Ref"]]
            environment[key] = str(value)
        return FunctionConfig(
            step=step,
            logical_id=str(raw["logical_id"]),
            arn=f"arn:aws:lambda:us-east-1:{VENDOR_ACCOUNT}:function:{raw['logical_id']}",
            memory_mb=int(raw["memory_mb"]),
            timeout_s=float(raw["timeout_s"]),
            reserved_concurrency=raw.get("reserved"),
            environment={**environment, "AWS_LAMBDA_FUNCTION_NAME": str(raw["logical_id"])},
            traced=bool(raw.get("traced", True)),
        )

    def map_state(self, label: str) -> tuple[str, dict[str, Any]]:
        for name, state in self.definition["States"].items():
            if state.get("Type") == "Map" and state.get("Label", name) == label:
                return name, state
        raise KeyError(f"no Map labelled {label} in the definition")


def synth_deployment() -> dict[str, Any]:
    """Synthesize the CDK app (tests/infra/synth.py) and keep what the fleet needs (run in a worker)."""
    from tests.infra.synth import synthesized  # noqa: PLC0415 - CDK is heavy; only this task needs it
    from tests.workflow.definition import definition, state_machine_resource  # noqa: PLC0415

    template = synthesized().discovery_json
    resources = template["Resources"]
    buckets = [k for k, r in resources.items() if r["Type"] == "AWS::S3::Bucket"]
    tables = [k for k, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"]
    buses = [k for k, r in resources.items() if r["Type"] == "AWS::Events::EventBus"]
    functions = {}
    for logical_id, resource in resources.items():
        match = _STEP_ID.match(logical_id)
        if resource["Type"] != "AWS::Lambda::Function" or not match:
            continue
        props = resource["Properties"]
        functions[match.group(1).lower()] = {
            "logical_id": logical_id,
            "memory_mb": props.get("MemorySize", 128),
            "timeout_s": props.get("Timeout", 3),
            "reserved": props.get("ReservedConcurrentExecutions"),
            "environment": props.get("Environment", {}).get("Variables", {}),
            "traced": props.get("TracingConfig", {}).get("Mode") == "Active",
            "architectures": props.get("Architectures", ["x86_64"]),
            "log_format": props.get("LoggingConfig", {}).get("LogFormat", "Text"),
        }
    machine = state_machine_resource(template)["Properties"]
    return {
        "definition": definition(template, dict.fromkeys(buckets, BUCKET_TOKEN)),
        "functions": functions,
        "state_machine": {k: v for k, v in machine.items() if k in ("StateMachineType", "TracingConfiguration")}
        | {"logging": {k: v for k, v in machine.get("LoggingConfiguration", {}).items() if k != "Destinations"}},
        "bucket_ids": buckets,
        "table_id": tables[0],
        "bus_id": buses[0] if buses else None,
    }


# --------------------------------------------------------------------------------------------------
# The vendor's side of the emulator
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    bucket: str
    table: str
    bus: str = "api-discovery"


class Vendor:
    """Set-up and read-back on the vendor's side of the emulator, from this process (never measured)."""

    def __init__(self, endpoint_url: str, dynamodb_url: str | None = None) -> None:
        self.url = endpoint_url
        self.s3: Any = vendor_client("s3", endpoint_url)
        self.dynamodb: Any = vendor_client("dynamodb", dynamodb_url or endpoint_url)
        self.events: Any = vendor_client("events", endpoint_url)

    def create(self, names: Names) -> None:
        from api_discovery.store.state import create_table  # noqa: PLC0415 - the library's own table shape

        self.s3.create_bucket(Bucket=names.bucket)
        create_table(self.dynamodb, names.table)
        with suppress(self.events.exceptions.ResourceAlreadyExistsException):
            self.events.create_event_bus(Name=names.bus)

    def register(self, table: str, accounts: Sequence[str], regions: Sequence[str], role: str) -> float:
        """The registry, written as `Registry.register` writes each account (its item and its ExternalId's
        claim), 25 items per request."""
        from api_discovery.store.registry import RegisteredAccount, Registry  # noqa: PLC0415

        started = time.perf_counter()
        collected: list[dict[str, Any]] = []
        collector = _Collector(collected)
        registry = Registry(collector, table)
        for account in accounts:
            registry.register(
                RegisteredAccount(
                    account_id=account, regions=list(regions), role_name=role, external_id=f"bench-{account}"
                )
            )
        for start in range(0, len(collected), 25):
            requests = [{"PutRequest": {"Item": item}} for item in collected[start : start + 25]]
            pending: dict[str, Any] = {table: requests}
            while pending:
                pending = self.dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        return time.perf_counter() - started

    def get(self, bucket: str, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def keys(self, bucket: str, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


class _Collector:
    """A DynamoDB client that only keeps the items a registration puts, to write them in batches. Nothing is
    registered before, so every account reads as new."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {}

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> None:  # noqa: N803 - boto3's names
        self.items.extend(write["Put"]["Item"] for write in TransactItems if "Put" in write)


# --------------------------------------------------------------------------------------------------
# A sweep: the state machine, its Lambda tasks in environments, every request counted
# --------------------------------------------------------------------------------------------------


class Runner:
    """bench.asl's runner: Lambda tasks go to the function's pool of environments; the Maps' own reads and
    writes (ItemReader, ResultWriter) go through a counted S3 client, as Step Functions' requests."""

    def __init__(self, pools: Mapping[str, FunctionPool], endpoint_url: str) -> None:
        self.pools = {pool.config.arn: pool for pool in pools.values()}
        self.meter = Meter()
        self.s3: Any = self.meter.attach(vendor_client("s3", endpoint_url))
        self.invocations: list[Invocation] = []
        self._lock = threading.Lock()

    def invoke(self, function_arn: str, payload: Any) -> Any:
        pool = self.pools[function_arn]
        invocation = pool.invoke(payload, _key(pool.config.step, payload))
        with self._lock:
            self.invocations.append(invocation)
        if invocation.error:
            raise TaskFailedError(str(invocation.error.get("errorType", "Error")), json.dumps(invocation.error))
        return invocation.result

    def get_object(self, bucket: str, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def put_object(self, bucket: str, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)


def _key(step: str, payload: Any) -> str:
    if not isinstance(payload, dict):
        return step
    if "announce" in payload:
        return "announce"
    if "batch" in payload:
        return f"batch-{payload['batch']}"
    return str(payload.get("account_id") or payload.get("run_id") or step)


def _step_of(invocation: Invocation) -> str:
    return "announce" if invocation.key == "announce" else invocation.step


def summarize_step(invocations: Sequence[Invocation], memory_mb: int) -> dict[str, Any]:
    usage = Usage()
    for invocation in invocations:
        usage.add(invocation.usage)
    seconds = [i.seconds for i in invocations]
    inits = [i.init_s for i in invocations if i.init_s is not None]
    platform = sum(i.platform_log_bytes for i in invocations)
    gb_s = sum(lambda_gb_seconds(i.seconds + (i.init_s or 0.0), memory_mb) for i in invocations)
    return {
        "invocations": len(invocations),
        "memory_mb": memory_mb,
        "seconds_total": round(sum(seconds), 3),
        "cpu_seconds_total": round(sum(i.cpu_s for i in invocations), 3),
        "seconds_mean": round(statistics.fmean(seconds), 3) if seconds else 0.0,
        "seconds_max": round(max(seconds, default=0.0), 3),
        "gb_seconds": round(gb_s, 3),
        "cold_starts": len(inits),
        "init_s_mean": round(statistics.fmean(inits), 3) if inits else None,
        "peak_rss_mb": max((i.peak_rss_mb for i in invocations), default=0.0),
        "errors": sum(1 for i in invocations if i.error),
        "requests": dict(sorted(usage.requests.items())),
        "attempts": usage.attempts,
        "s3_put_list": usage.s3_put_list,
        "s3_get": usage.s3_get,
        "ddb_rru": round(usage.ddb_rru, 1),
        "ddb_wru": round(usage.ddb_wru, 1),
        "ddb_largest_item": usage.ddb_largest_item,
        "events": usage.events,
        "events_failed": usage.events_failed,
        "log_bytes_function": usage.log_bytes,
        "log_bytes_platform": platform,
        "log_bytes": usage.log_bytes + platform,
        "log_events": usage.log_events + sum(i.platform_log_events for i in invocations),
        "log_levels": dict(sorted(usage.log_levels.items())),
    }


def states_usage(trace: Trace, runner_usage: Usage, log_bytes: int) -> dict[str, Any]:
    children = [c for run in trace.map_runs for c in run.children]
    express = [c for run in trace.map_runs if run.execution_type == "EXPRESS" for c in run.children]
    return {
        "entered": trace.entered,
        "transitions": trace.transitions,
        "map_child_transitions": trace.map_child_transitions,
        "standard_transitions": trace.transitions + trace.map_child_transitions,
        "express_requests": len(express),
        "express_gb_seconds": round(sum(express_billed_gb_seconds(c.seconds) for c in express), 3),
        "child_failures": sum(1 for c in children if c.failed),
        "map_runs": [
            {
                "label": r.label,
                "items": r.items,
                "seconds": round(r.seconds, 2),
                "max_concurrency": r.max_concurrency,
                "execution_type": r.execution_type,
            }
            for r in trace.map_runs
        ],
        "s3_put_list": runner_usage.s3_put_list,
        "s3_get": runner_usage.s3_get,
        "requests": dict(sorted(runner_usage.requests.items())),
        "log_bytes": log_bytes,
    }


# Step Functions at ERROR level without execution data logs one event per failure: this many bytes (model).
STATES_ERROR_EVENT_BYTES = 600


def sweep_usage_measured(steps: Mapping[str, Mapping[str, Any]], states: Mapping[str, Any]) -> dict[str, float]:
    usage: defaultdict[str, float] = defaultdict(float)
    for step in steps.values():
        usage["lambda.requests"] += step["invocations"]
        usage["lambda.gb_seconds"] += step["gb_seconds"]
        usage["s3.put_list"] += step["s3_put_list"]
        usage["s3.get"] += step["s3_get"]
        usage["dynamodb.rru"] += step["ddb_rru"]
        usage["dynamodb.wru"] += step["ddb_wru"]
        usage["events.entries"] += step["events"]
        usage["logs.ingested_gb"] += step["log_bytes"] / 1e9
    usage["s3.put_list"] += states["s3_put_list"]
    usage["s3.get"] += states["s3_get"]
    usage["states.transitions"] += states["standard_transitions"]
    usage["states.express_requests"] += states["express_requests"]
    usage["states.express_gb_seconds"] += states["express_gb_seconds"]
    usage["logs.ingested_gb"] += states["log_bytes"] / 1e9
    usage["xray.traces"] += 1 + sum(r["items"] for r in states["map_runs"])
    return {k: float(v) for k, v in usage.items()}


@dataclass
class SweepContext:
    deployment: Deployment
    names: Names
    pools: dict[str, FunctionPool]
    emulator_url: str
    middleware: QuotaMiddleware
    budget: QuotaRates
    prices: PriceTable
    scan_environments: int
    publish_environments: int


def run_sweep(ctx: SweepContext, fleet: Fleet, label: str, log: Log) -> dict[str, Any]:
    """One scheduled sweep through the state machine; what every step and account did and cost."""
    ctx.middleware.quotas.reset()  # an hour apart, every account's quota is full again
    for pool in ctx.pools.values():
        pool.invocations.clear()
    runner = Runner(ctx.pools, ctx.emulator_url)
    machine = Machine(
        ctx.deployment.definition_for(ctx.names.bucket),
        runner,
        pool_limit={"ScanAccounts": ctx.scan_environments, "PublishEvents": ctx.publish_environments},
        name=str(ctx.deployment.state_machine.get("StateMachineName", "ApiDiscovery-workflow")),
    )
    log(f"fleet: {label} sweep of {len(fleet.accounts)} accounts x {len(fleet.regions) // len(fleet.accounts)}")
    started = time.perf_counter()
    output, trace = machine.execute({"source": "schedule"})
    wall = time.perf_counter() - started
    invocations = list(runner.invocations)
    steps: dict[str, dict[str, Any]] = {}
    for step in ("plan", "scan", "finalize", "publish", "announce"):
        chosen = [i for i in invocations if _step_of(i) == step]
        memory = ctx.pools["publish" if step == "announce" else step].config.memory_mb
        steps[step] = summarize_step(chosen, memory)
    failures = states_error_events(trace, invocations)
    states = states_usage(trace, runner.meter.take(), failures * STATES_ERROR_EVENT_BYTES)
    usage = sweep_usage_measured(steps, states)
    cost = ctx.prices.cost(usage)
    accounts = account_walls(ctx, fleet, invocations)
    plans = [i.result for i in invocations if i.step == "plan" and isinstance(i.result, dict)]
    plan_result: dict[str, Any] = plans[0] if plans else {}
    summary = output if isinstance(output, dict) else {}
    log(
        f"fleet: {label} sweep took {wall:.0f} s, {summary.get('targets')} targets {summary.get('by_status')}, "
        f"${sum(cost.values()):.4f}"
    )
    return {
        "run_id": summary.get("run_id") or plan_result.get("run_id"),
        "wall_seconds": round(wall, 1),
        "summary": {
            k: summary.get(k)
            for k in (
                "targets",
                "by_status",
                "apis",
                "routes",
                "changes",
                "unchanged",
                "events",
                "change_types",
                "failed_count",
            )
        },
        "targets_expected": len(fleet.regions),
        "max_concurrency": plan_result.get("max_concurrency"),
        "rounds": sum(1 for name in trace.entered if name == machine_map_name(ctx.deployment, "ScanAccounts")),
        "steps": steps,
        "states": states,
        "usage": {k: round(v, 6) for k, v in sorted(usage.items())},
        "cost": {k: round(v, 6) for k, v in cost.items()},
        "cost_total": round(sum(cost.values()), 6),
        "accounts": accounts,
        "invocations": [_invocation_record(i) for i in invocations],
        "errors": [dict(i.error, step=i.step, key=i.key) for i in invocations if i.error][:5],
    }


def _invocation_record(invocation: Invocation) -> dict[str, Any]:
    """One invocation, compactly: when, how long, what it asked of the vendor's services."""
    usage = invocation.usage
    return {
        "step": _step_of(invocation),
        "key": invocation.key,
        "environment": invocation.environment,
        "started_s": round(invocation.started_s, 2),
        "seconds": round(invocation.seconds, 3),
        "cpu_s": round(invocation.cpu_s, 3),
        "init_s": round(invocation.init_s, 3) if invocation.init_s is not None else None,
        "init_cpu_s": round(invocation.init_cpu_s, 3) if invocation.init_cpu_s is not None else None,
        "peak_rss_mb": invocation.peak_rss_mb,
        "requests": usage.get("requests", {}),
        "s3_put_list": usage.get("s3_put_list", 0),
        "s3_get": usage.get("s3_get", 0),
        "ddb_rru": usage.get("ddb_rru", 0),
        "ddb_wru": usage.get("ddb_wru", 0),
        "events": usage.get("events", 0),
        "log_bytes": usage.get("log_bytes", 0) + invocation.platform_log_bytes,
    }


def machine_map_name(deployment: Deployment, label: str) -> str:
    return deployment.map_state(label)[0]


def states_error_events(trace: Trace, invocations: Sequence[Invocation]) -> int:
    children = sum(1 for run in trace.map_runs for c in run.children if c.failed)
    return children + sum(1 for i in invocations if i.error) + trace.retries


def account_walls(ctx: SweepContext, fleet: Fleet, invocations: Sequence[Invocation]) -> dict[str, Any]:
    """Each account's scan time (its invocations added up) against its quota bound at the configured budget."""
    counts = ctx.middleware.quotas.counts()
    allowed: dict[str, Counter[str]] = {}
    throttled: Counter[str] = Counter()
    for c in counts:
        allowed.setdefault(c.scope, Counter())[c.operation] += c.allowed
        throttled[c.scope] += c.throttled
    walls: defaultdict[str, float] = defaultdict(float)
    cpus: defaultdict[str, float] = defaultdict(float)
    runs: Counter[str] = Counter()
    for invocation in invocations:
        if invocation.step == "scan":
            walls[invocation.key] += invocation.seconds
            cpus[invocation.key] += invocation.cpu_s
            runs[invocation.key] += 1
    per_account: list[dict[str, Any]] = []
    for account, regions in fleet.by_account().items():
        bound = account_bound(regions, ctx.budget)
        minimum = account_minimum(regions)
        made = api_gateway_calls(dict(allowed.get(account, {})))
        per_account.append(
            {
                "account": account,
                "apis": sum(r.apis for r in regions),
                "wall_s": round(walls[account], 3),
                "cpu_s": round(cpus[account], 3),
                "bound_s": round(bound.seconds, 3),
                "binding": bound.binding,
                "calls": sum(made.values()),
                "minimum": sum(minimum.values()),
                "throttled_429": throttled[account],
                "invocations": runs[account],
            }
        )
    ratios = sorted(a["wall_s"] / max(a["bound_s"], 1.0) for a in per_account)
    worst = sorted(per_account, key=lambda a: a["wall_s"] / max(a["bound_s"], 1.0))[-3:]

    def mean(key: str) -> float:
        return round(statistics.fmean(a[key] for a in per_account), 2) if per_account else 0.0

    return {
        "count": len(per_account),
        "means": {"wall_s": mean("wall_s"), "bound_s": mean("bound_s"), "cpu_s": mean("cpu_s")},
        "wall_vs_bound": {
            "p50": round(_quantile(ratios, 0.5), 3),
            "p95": round(_quantile(ratios, 0.95), 3),
            "max": round(ratios[-1], 3) if ratios else None,
            "within_1_25x": sum(1 for r in ratios if r <= WALL_OVER_BOUND),
        },
        "largest": max(per_account, key=lambda a: a["bound_s"]) if per_account else None,
        "worst": worst,
        "calls": sum(a["calls"] for a in per_account),
        "minimum": sum(a["minimum"] for a in per_account),
        "throttled_429": sum(a["throttled_429"] for a in per_account),
        "per_account": per_account,
    }


def _quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


# --------------------------------------------------------------------------------------------------
# Finalize and plan at fleet scale
# --------------------------------------------------------------------------------------------------


@contextmanager
def fresh_pool(config: FunctionConfig, env: Mapping[str, str], size: int = 1) -> Iterator[FunctionPool]:
    pool = FunctionPool(config, env, size, time.perf_counter())
    try:
        pool.warm()
        yield pool
    finally:
        pool.close()


def invocation_report(invocation: Invocation, memory_mb: int) -> dict[str, Any]:
    return summarize_step([invocation], memory_mb)


def finalize_at_scale(
    deployment: Deployment,
    vendor: Vendor,
    side: VendorEmulator,
    env: Mapping[str, str],
    spec: Mapping[str, Any],
    *,
    kind: str,
    changed: Sequence[tuple[str, str]],
    templates: tuple[str, str | None],
    batches_measured: int,
    log: Log,
) -> dict[str, Any]:
    """Finalize over a fleet-scale round of synthetic results (written where the vendor side's moto runs), then
    the first publishing batches it plans, and the announcement."""
    names = Names(bucket=f"bench-finalize-{kind}-{uuid.uuid4().hex[:8]}", table=f"bench-finalize-{kind}")
    vendor.create(names)
    run_id = f"bench-{kind}-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    synthetic: dict[str, Any] = side.command(
        "synthetic_round",
        **spec,
        run_id=run_id,
        bucket=names.bucket,
        first_sweep=kind == "first",
        changed=[list(c) for c in changed],
        templates_bucket=templates[0],
        templates_run_id=templates[1],
    )["round"]
    written = time.perf_counter() - started
    log(
        f"fleet: finalize at scale ({kind}): {synthetic['targets']:,} results, {synthetic['changed_regions']:,} "
        f"change sets ({synthetic['results_bytes'] / 2**20:.0f} MB of results, written in {written:.0f} s)"
    )
    finalize_config = deployment.function("finalize", names)
    with fresh_pool(finalize_config, env) as pool:
        finalized = pool.invoke(synthetic["event"], "finalize")
    if finalized.error:
        raise RuntimeError(f"finalize at scale failed: {json.dumps(finalized.error)[:3000]}")
    result: dict[str, Any] = finalized.result
    publish = result.get("publish") or {}
    items = json.loads(vendor.get(names.bucket, publish["manifest"]["key"])) if publish.get("manifest") else []
    publish_config = deployment.function("publish", names)
    measured: list[Invocation] = []
    with fresh_pool(publish_config, env) as pool:
        for item in items[:batches_measured]:
            measured.append(pool.invoke(item, f"batch-{item.get('batch')}"))
        announced = pool.invoke({"announce": result["announce"]}, "announce")
    log(
        f"fleet: finalize at scale ({kind}) took {finalized.seconds:.1f} s, peak {finalized.peak_rss_mb:.0f} MB; "
        f"{len(items)} publishing batches, {len(measured)} sent"
    )
    return {
        "kind": kind,
        "synthetic": synthetic | {"event": None, "write_seconds": round(written, 1)},
        "finalize": invocation_report(finalized, finalize_config.memory_mb),
        "summary": result.get("summary"),
        "publish_batches": len(items),
        "publish_measured": [invocation_report(i, publish_config.memory_mb) for i in measured],
        "announce": invocation_report(announced, publish_config.memory_mb),
        "errors": [i.error for i in [*measured, announced] if i.error][:3],
    }


def plan_at_scale(
    deployment: Deployment, vendor: Vendor, env: Mapping[str, str], accounts: int, regions: Sequence[str], log: Log
) -> dict[str, Any]:
    names = Names(bucket=f"bench-plan-{uuid.uuid4().hex[:8]}", table="bench-plan-scale")
    vendor.create(names)
    config = deployment.function("plan", names)
    registered = vendor.register(
        names.table, account_ids(accounts, first=400_000_000_000), regions, "ApiDiscoveryReadOnly"
    )
    log(f"fleet: plan at scale: {accounts:,} accounts x {len(regions)} registered in {registered:.0f} s")
    with fresh_pool(config, env) as pool:
        planned = pool.invoke({"source": "schedule"}, "plan")
    if planned.error:
        raise RuntimeError(f"plan at scale failed: {json.dumps(planned.error)[:3000]}")
    result: dict[str, Any] = planned.result
    manifest = result.get("manifest") or {}
    size = vendor.s3.head_object(Bucket=names.bucket, Key=manifest["key"])["ContentLength"] if manifest else 0
    log(f"fleet: plan at scale took {planned.seconds:.1f} s, peak {planned.peak_rss_mb:.0f} MB")
    return {
        "accounts": accounts,
        "regions": len(regions),
        "count": result.get("count"),
        "targets": result.get("targets"),
        "manifest_mb": round(size / 2**20, 2),
        "plan": invocation_report(planned, config.memory_mb),
    }


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------


def loop_length(definition: Mapping[str, Any], start: str) -> int:
    """States entered from one visit of `start` to the next (the definition's rounds loop)."""
    states = definition["States"]
    frontier: list[tuple[str, int]] = [(start, 0)]
    seen: set[str] = set()
    while frontier:
        name, depth = frontier.pop(0)
        state = states[name]
        following = [state["Next"]] if "Next" in state else []
        following += [c["Next"] for c in state.get("Choices", [])]
        following += [state["Default"]] if "Default" in state else []
        for nxt in following:
            if nxt == start:
                return depth + 1
            if nxt not in seen:
                seen.add(nxt)
                frontier.append((nxt, depth + 1))
    return 0


def step_cost(report: Mapping[str, Any], memory_mb: int) -> StepCost:
    invocations = max(1, int(report["invocations"]))
    usage = {
        "s3.put_list": report["s3_put_list"] / invocations,
        "s3.get": report["s3_get"] / invocations,
        "dynamodb.rru": report["ddb_rru"] / invocations,
        "dynamodb.wru": report["ddb_wru"] / invocations,
        "events.entries": report["events"] / invocations,
        "logs.bytes": report["log_bytes"] / invocations,
    }
    return StepCost(
        seconds=report["seconds_total"] / invocations,
        memory_mb=memory_mb,
        usage=usage,
        init_s=report["init_s_mean"] or 0.0,
    )


def mean_step(reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Several measured invocations as one step report (their sums)."""
    keys = ("invocations", "seconds_total", "s3_put_list", "s3_get", "ddb_rru", "ddb_wru", "events", "log_bytes")
    merged: dict[str, Any] = {k: sum(r[k] for r in reports) for k in keys}
    inits = [r["init_s_mean"] for r in reports if r.get("init_s_mean")]
    merged["init_s_mean"] = statistics.fmean(inits) if inits else 0.0
    return merged


def extrapolate(
    sweep: Mapping[str, Any],
    finalized: Mapping[str, Any],
    planned: Mapping[str, Any],
    *,
    ctx: SweepContext,
    fleet: Fleet,
    scan_settings: Mapping[str, Any],
    cold_start_s: float,
) -> dict[str, Any]:
    """One sweep of `fleet` (10,000 accounts), from one measured sweep of the same kind."""
    measured = sweep["accounts"]["per_account"]
    bounds = [a["bound_s"] for a in measured]
    fit = fit_wall_to_bound(bounds, [a["wall_s"] for a in measured])
    cpu_fit = fit_wall_to_bound(bounds, [a["cpu_s"] for a in measured])
    scan_config = ctx.pools["scan"].config
    # Lambda gives a function one vCPU at 1,769 MB, and a share in proportion below: what took one second of
    # CPU here takes 1 / share seconds there, however fast the quota would let it go.
    share = min(1.0, scan_config.memory_mb / VCPU_MB)
    work = [
        max(fit.predict(bound), cpu_fit.predict(bound) / share)
        for bound in (account_bound(regions, ctx.budget).seconds for regions in fleet.by_account().values())
    ]
    schedule = MapSchedule(
        max_concurrency=int(sweep.get("max_concurrency") or scan_settings["max_concurrency"]),
        reserved_concurrency=scan_config.reserved_concurrency,
        invocation_limit_s=scan_config.timeout_s - float(scan_settings["reserve_seconds"]),
        max_rounds=int(scan_settings["max_rounds"]),
    )
    simulation = simulate_map(work, schedule)
    steps = sweep["steps"]
    scan = steps["scan"]
    per_account = {k: v / max(1, len(measured)) for k, v in _scan_meters(scan).items()}
    continued = scan["invocations"] - len(measured)
    per_continuation = CONTINUATION_MODEL if continued <= 0 else {}
    states = sweep["states"]
    map_runs = max(1, len(states["map_runs"]))
    publish_reports = finalized["publish_measured"] or [steps["publish"]]
    publish_report = mean_step(publish_reports)
    transitions = states["transitions"]
    rounds = max(1, sweep["rounds"])
    per_round = loop_length(ctx.deployment.definition, machine_map_name(ctx.deployment, "ScanAccounts"))
    _, publish_state = ctx.deployment.map_state("PublishEvents")
    inputs = SweepInputs(
        accounts=len(work),
        scan=simulation,
        scan_memory_mb=scan_config.memory_mb,
        scan_init_s=cold_start_s,
        scan_usage_per_account=per_account,
        scan_usage_per_continuation=per_continuation,
        plan=_scaled(step_cost(planned["plan"], ctx.pools["plan"].config.memory_mb), len(work) / planned["accounts"]),
        finalize=_scaled(
            step_cost(finalized["finalize"], ctx.pools["finalize"].config.memory_mb),
            len(work) / finalized["synthetic"]["accounts"],
        ),
        publish=step_cost(publish_report, ctx.pools["publish"].config.memory_mb),
        publish_batches=math.ceil(finalized["publish_batches"] * len(work) / finalized["synthetic"]["accounts"]),
        announce=step_cost(finalized["announce"], ctx.pools["publish"].config.memory_mb),
        publish_concurrency=int(publish_state.get("MaxConcurrency") or 1),
        transitions_one_round=transitions - (rounds - 1) * per_round,
        transitions_per_round=per_round,
        map_run_usage={"s3.put_list": states["s3_put_list"] / map_runs, "s3.get": states["s3_get"] / map_runs},
    )
    usage = sweep_usage(inputs)
    cost = ctx.prices.cost(usage)
    minutes = sweep_minutes(inputs)
    first_round = simulation.rounds[0] if simulation.rounds else None
    return {
        "accounts": len(work),
        "scale_measured_at": {"finalize": finalized["synthetic"]["accounts"], "plan": planned["accounts"]},
        "fit": asdict(fit),
        "cpu_fit": asdict(cpu_fit),
        "vcpu_share": round(share, 3),
        "work_s": {
            "mean": round(statistics.fmean(work), 2) if work else 0.0,
            "p99": round(_quantile(sorted(work), 0.99), 1),
            "max": round(max(work, default=0.0), 1),
        },
        "schedule": asdict(schedule),
        "simulation": {
            "rounds": len(simulation.rounds),
            "invocations": simulation.invocations,
            "peak_concurrency": simulation.peak_concurrency,
            "unfinished": simulation.unfinished,
            "round_makespans_s": [round(r.makespan_s, 1) for r in simulation.rounds],
            "first_round_done_by_s": {
                str(k): round(v, 1) for k, v in (first_round.finished_by if first_round else {}).items()
            },
        },
        "inputs": {
            "scan_usage_per_account": {k: round(v, 4) for k, v in per_account.items()},
            "scan_usage_per_continuation": per_continuation,
            "plan": asdict(inputs.plan),
            "finalize": asdict(inputs.finalize),
            "publish": asdict(inputs.publish),
            "publish_batches": inputs.publish_batches,
            "announce": asdict(inputs.announce),
            "transitions_one_round": inputs.transitions_one_round,
            "transitions_per_round": per_round,
            "map_run_usage": dict(inputs.map_run_usage),
        },
        "usage": {k: round(v, 4) for k, v in sorted(usage.items())},
        "cost": {k: round(v, 4) for k, v in cost.items()},
        "cost_total": round(sum(cost.values()), 4),
        "time": {k: round(v, 1) for k, v in minutes.items()},
    }


def cold_start(sweep: Mapping[str, Any], share: float) -> dict[str, Any]:
    """What a scan environment's first invocation costs beyond a warm one, in Lambda: its init and the extra
    CPU of its first scan (what the handler loads on first use), measured as CPU on the first sweep's fresh
    environments (their wall time here is that of several inits sharing two cores) and run at the function's
    vCPU share. The model charges it to every environment the Map ramps up to, in every sweep: an hour apart,
    Lambda has let the environments go."""
    measured = sweep["accounts"]["per_account"]
    fit = fit_wall_to_bound([a["bound_s"] for a in measured], [a["cpu_s"] for a in measured])
    bounds = {a["account"]: a["bound_s"] for a in measured}
    cold = [i for i in sweep.get("invocations", []) if i["step"] == "scan" and i["init_s"] is not None]
    extra = [max(0.0, i["cpu_s"] - fit.predict(bounds[i["key"]])) for i in cold if i["key"] in bounds]
    inits = [float(i.get("init_cpu_s") or i["init_s"]) for i in cold]
    init_cpu = statistics.fmean(inits) if inits else 0.0
    extra_cpu = statistics.fmean(extra) if extra else 0.0
    return {
        "environments": len(cold),
        "init_cpu_s": round(init_cpu, 3),
        "first_invocation_extra_cpu_s": round(extra_cpu, 3),
        "vcpu_share": round(share, 3),
        "seconds_in_lambda": round((init_cpu + extra_cpu) / share, 2),
    }


def _scaled(step: StepCost, ratio: float) -> StepCost:
    """A step measured on a smaller fleet (bench-quick), its time and reads in proportion to the accounts."""
    if ratio == 1:
        return step
    usage = {k: v * ratio if k in ("dynamodb.rru", "s3.get") else v for k, v in step.usage.items()}
    return replace(step, seconds=step.seconds * ratio, usage=usage)


def _scan_meters(scan: Mapping[str, Any]) -> dict[str, float]:
    return {
        "s3.put_list": float(scan["s3_put_list"]),
        "s3.get": float(scan["s3_get"]),
        "dynamodb.rru": float(scan["ddb_rru"]),
        "dynamodb.wru": float(scan["ddb_wru"]),
        "events.entries": float(scan["events"]),
        "logs.bytes": float(scan["log_bytes"]),
    }


# --------------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------------


def scan_settings(scan: FunctionConfig) -> dict[str, Any]:
    """The scanner's configured budget and limits, as the library and the scan function's environment set them."""
    from api_discovery.collect.budget import Rates  # noqa: PLC0415
    from api_discovery.steps.settings import LambdaSettings  # noqa: PLC0415
    from api_discovery.steps.target_scan import ScanOptions  # noqa: PLC0415

    options = ScanOptions()
    settings = LambdaSettings.from_env(dict(scan.environment))
    return {
        # What the scan handler spends: the synthesized function's quota share of AWS's quota.
        "budget": asdict(Rates.of_quota(settings.quota_share)),
        "quota_share": settings.quota_share,
        "reserve_seconds": options.reserve_seconds,
        "max_rounds": settings.max_rounds,
        "max_concurrency": settings.max_concurrency,
    }


def fleet_scenario(config: FleetScale, deployment: Deployment, log: Log) -> dict[str, Any]:
    speed_up_moto()
    middleware = QuotaMiddleware(QuotaRates(), scope="account")
    report: dict[str, Any] = {"config": _config(config)}
    with Emulator(middlewares=[middleware]) as customer, vendor_side() as side:
        customer.reset()
        env = process_env(side.url, customer_url=customer.url, dynamodb_url=side.dynamodb_url)
        vendor = Vendor(side.url, side.dynamodb_url)
        ctx, settings = measure_sweeps(
            config, deployment, report, customer=customer, middleware=middleware, side=side, log=log
        )
        scale = {"accounts": config.scale_accounts, "first_account": 500_000_000_000, "regions": list(config.regions)}
        big = build_fleet(account_ids(config.scale_accounts, first=500_000_000_000), config.regions, config.mix)
        steady_changes = [(c.account, c.region) for c in plan_changes(big, config.change_share)]
        runs = {kind: report["sweeps"][kind]["run_id"] for kind in ("first", "steady")}
        report["finalize_scale"] = {
            kind: finalize_at_scale(
                deployment,
                vendor,
                side,
                env,
                scale | {"mix": asdict(config.mix)},
                kind=kind,
                changed=steady_changes if kind == "steady" else [],
                templates=(ctx.names.bucket, runs[kind]),
                batches_measured=config.publish_batches_measured,
                log=log,
            )
            for kind in ("first", "steady")
        }
        report["plan_scale"] = plan_at_scale(deployment, vendor, env, config.scale_accounts, config.regions, log)
        customer.reset()
    report["model"] = model(report, ctx=ctx, settings=settings, config=config)
    report["prices"] = {p.id: asdict(p) for p in ctx.prices.prices.values()}
    report["checks"] = fleet_checks(report)
    return report


@contextmanager
def vendor_side() -> Iterator[VendorEmulator]:
    side = VendorEmulator(process_env("http://127.0.0.1"))
    try:
        yield side
    finally:
        side.close()


def measure_sweeps(
    config: FleetScale,
    deployment: Deployment,
    report: dict[str, Any],
    *,
    customer: Emulator,
    middleware: QuotaMiddleware,
    side: VendorEmulator,
    log: Log,
) -> tuple[SweepContext, dict[str, Any]]:
    """Seed the estate, register it, and run a first and a steady-state sweep over it."""
    names = Names(bucket="bench-fleet", table="bench-fleet")
    accounts = account_ids(config.accounts)
    fleet = build_fleet(accounts, config.regions, config.mix)
    env = process_env(side.url, customer_url=customer.url, dynamodb_url=side.dynamodb_url)
    vendor = Vendor(side.url, side.dynamodb_url)
    vendor.create(names)
    scan_config = deployment.function("scan", names)
    settings = scan_settings(scan_config)
    seeded = seed_fleet(fleet)
    registered = vendor.register(names.table, accounts, config.regions, _role_name(scan_config))
    log(
        f"fleet: seeded {seeded.apis:,} APIs in {seeded.regions:,} regions ({seeded.classes}) in "
        f"{seeded.seconds:.0f} s, registered {len(accounts)} accounts in {registered:.1f} s"
    )
    sizes = {"plan": 1, "scan": config.scan_environments, "finalize": 1, "publish": config.publish_environments}
    pools = {
        step: FunctionPool(
            scan_config if step == "scan" else deployment.function(step, names), env, size, time.perf_counter()
        )
        for step, size in sizes.items()
    }
    ctx = SweepContext(
        deployment=deployment,
        names=names,
        pools=pools,
        emulator_url=side.url,
        middleware=middleware,
        budget=QuotaRates(**settings["budget"]),
        prices=load_prices(),
        scan_environments=config.scan_environments,
        publish_environments=config.publish_environments,
    )
    try:
        started = time.perf_counter()
        for pool in pools.values():
            pool.warm()
        up = sum(len(p.environments()) for p in pools.values())
        log(f"fleet: {up} Lambda environments up in {time.perf_counter() - started:.0f} s")
        first = run_sweep(ctx, fleet, "first", log)
        changes = plan_changes(fleet, config.change_share)
        steady = run_sweep(ctx, apply_changes(fleet, changes), "steady-state", log)
    finally:
        for pool in pools.values():
            pool.close()
    report["estate"] = asdict(seeded) | {"accounts": len(accounts), "regions_per_account": len(config.regions)}
    report["changes"] = {"regions": len(changes), "kinds": change_summary(changes)}
    report["sweeps"] = {"first": first, "steady": steady}
    report["deployment"] = _deployment(deployment, pools, settings)
    return ctx, settings


def model(
    report: Mapping[str, Any], *, ctx: SweepContext, settings: Mapping[str, Any], config: FleetScale
) -> dict[str, Any]:
    """The extrapolated fleet's first and steady-state sweeps, and a month of the latter."""
    fleet = build_fleet(account_ids(config.model_accounts, first=600_000_000_000), config.regions, config.mix)
    share = min(1.0, ctx.pools["scan"].config.memory_mb / VCPU_MB)
    cold = cold_start(report["sweeps"]["first"], share)
    result: dict[str, Any] = {
        kind: extrapolate(
            report["sweeps"][kind],
            report["finalize_scale"][kind],
            report["plan_scale"],
            ctx=ctx,
            fleet=fleet,
            scan_settings=settings,
            cold_start_s=cold["seconds_in_lambda"],
        )
        for kind in ("first", "steady")
    }
    result["cold_start"] = cold
    steady = result["steady"]["cost_total"]
    result["monthly"] = {"hourly": round(monthly(steady, 1), 2), "every_6_hours": round(monthly(steady, 6), 2)}
    return result


def _role_name(scan: FunctionConfig) -> str:
    return str(scan.environment.get("ROLE_NAME", "ApiDiscoveryReadOnly"))


def _config(config: FleetScale) -> dict[str, Any]:
    raw = asdict(config)
    raw["regions"] = len(config.regions)
    return raw


def _deployment(
    deployment: Deployment, pools: Mapping[str, FunctionPool], settings: Mapping[str, Any]
) -> dict[str, Any]:
    functions = {
        step: {
            "memory_mb": pool.config.memory_mb,
            "timeout_s": pool.config.timeout_s,
            "reserved_concurrency": pool.config.reserved_concurrency,
            "log_level": pool.config.environment.get("LOG_LEVEL")
            or pool.config.environment.get("POWERTOOLS_LOG_LEVEL"),
            "architectures": deployment.functions[step].get("architectures"),
            "log_format": deployment.functions[step].get("log_format"),
        }
        for step, pool in pools.items()
    }
    _, scan_map = deployment.map_state("ScanAccounts")
    _, publish_map = deployment.map_state("PublishEvents")
    return {
        "functions": functions,
        "state_machine": deployment.state_machine,
        "scan_map": {
            "execution_type": scan_map.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("ExecutionType"),
            "max_concurrency": settings["max_concurrency"],
            "tolerated_failure_percentage": scan_map.get("ToleratedFailurePercentage"),
        },
        "publish_map": {"max_concurrency": publish_map.get("MaxConcurrency")},
        "scan_settings": dict(settings),
    }


def fleet_checks(report: Mapping[str, Any]) -> dict[str, bool]:
    sweeps, model = report["sweeps"], report["model"]
    checks: dict[str, bool] = {}
    for kind, sweep in sweeps.items():
        summary = sweep["summary"]
        statuses = summary.get("by_status") or {}
        checks[f"every_target_scanned_{kind}"] = summary.get("targets") == sweep["targets_expected"] and set(
            statuses
        ) <= {"complete"}
        accounts = sweep["accounts"]
        checks[f"wall_within_1_25x_bound_{kind}"] = accounts["wall_vs_bound"]["within_1_25x"] == accounts["count"]
    checks["model_every_target_scanned"] = all(model[k]["simulation"]["unfinished"] == 0 for k in ("first", "steady"))
    checks["steady_under_5_usd"] = model["steady"]["cost_total"] < STEADY_USD
    checks["steady_under_30_min"] = model["steady"]["time"]["minutes"] < SWEEP_MINUTES
    checks["first_under_10_usd"] = model["first"]["cost_total"] < FIRST_USD
    checks["first_under_30_min"] = model["first"]["time"]["minutes"] < SWEEP_MINUTES
    for kind, scale in report["finalize_scale"].items():
        finalize = scale["finalize"]
        checks[f"finalize_{kind}_under_5_min"] = finalize["seconds_total"] < FINALIZE_SECONDS
        checks[f"finalize_{kind}_under_1_gb"] = finalize["peak_rss_mb"] < FINALIZE_MB
        publish = [*scale["publish_measured"], scale["announce"]]
        checks[f"publish_{kind}_under_5_min_1_gb"] = all(
            p["seconds_total"] < FINALIZE_SECONDS and p["peak_rss_mb"] < FINALIZE_MB for p in publish
        )
    plan = report["plan_scale"]
    checks["plan_all_accounts"] = (
        plan["count"] == plan["accounts"] and plan["targets"] == plan["accounts"] * plan["regions"]
    )
    return checks
