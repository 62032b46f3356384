"""From a measured fleet to 10,000 accounts: the scan Map's scheduling, and a sweep's bill.

Pure functions, no I/O: every input is a number measured by the fleet scenario or a list price, and every
output says which it came from (bench/run.py prints both).

The Map's scheduling (`simulate_map`): the manifest's accounts start in order, as many at once as the Map's
MaxConcurrency, the scan function's reserved concurrency and Lambda's scaling rate allow (1,000 more execution
environments every 10 seconds, https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html). An account
runs as long as its own quota makes it (each account's API Gateway quota is its own: accounts never slow each
other down), but one invocation stops after `invocation_limit_s` (the scan's timeout less its reserve) and the
rest of the account continues in the next round, which starts when the whole round is done and finalized.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.asl import express_billed_gb_seconds

SCALING_STEP_S = 10.0
SCALING_PER_STEP = 1000


@dataclass(frozen=True)
class MapSchedule:
    max_concurrency: int
    reserved_concurrency: int | None = None
    invocation_limit_s: float = 210.0
    max_rounds: int = 8
    resume_overhead_s: float = 0.5  # a continued invocation reads its progress back first (model)
    scaling_per_step: int = SCALING_PER_STEP
    scaling_step_s: float = SCALING_STEP_S

    @property
    def ceiling(self) -> int:
        """Children that may run at once once Lambda has scaled up."""
        limits = [self.max_concurrency]
        if self.reserved_concurrency:
            limits.append(self.reserved_concurrency)
        return max(1, min(limits))

    def cap(self, t: float) -> int:
        """Children that may run at time t of a round: the ceiling, or less while Lambda scales up."""
        ramp = self.scaling_per_step * (1 + math.floor(t / self.scaling_step_s))
        return max(1, min(self.ceiling, ramp))


@dataclass
class Round:
    items: int
    makespan_s: float
    peak_concurrency: int
    invocation_s: list[float]
    finished_by: dict[float, float] = field(default_factory=dict)  # share of items done -> seconds


@dataclass
class MapSimulation:
    rounds: list[Round]
    unfinished: int  # accounts with work left after max_rounds

    @property
    def invocations(self) -> int:
        return sum(len(r.invocation_s) for r in self.rounds)

    @property
    def invocation_seconds(self) -> float:
        return sum(sum(r.invocation_s) for r in self.rounds)

    @property
    def peak_concurrency(self) -> int:
        return max((r.peak_concurrency for r in self.rounds), default=0)

    @property
    def makespan_s(self) -> float:
        return sum(r.makespan_s for r in self.rounds)


def simulate_round(durations: Sequence[float], schedule: MapSchedule) -> Round:
    """List scheduling in manifest order under the concurrency cap; returns the round's makespan."""
    running: list[float] = []
    ends: list[float] = []
    t, peak, i = 0.0, 0, 0
    hard_cap = schedule.ceiling
    while i < len(durations):
        while running and running[0] <= t:
            heapq.heappop(running)
        cap = schedule.cap(t)
        if len(running) < cap:
            end = t + durations[i]
            heapq.heappush(running, end)
            ends.append(end)
            i += 1
            peak = max(peak, len(running))
            continue
        next_end = running[0]
        next_step = (math.floor(t / schedule.scaling_step_s) + 1) * schedule.scaling_step_s
        t = min(next_end, next_step) if cap < hard_cap else next_end
    ends.sort()
    makespan = ends[-1] if ends else 0.0
    finished_by = {q: ends[max(0, math.ceil(q * len(ends)) - 1)] for q in (0.5, 0.9, 0.99)} if ends else {}
    return Round(len(durations), makespan, peak, list(durations), finished_by)


def simulate_map(work_s: Sequence[float], schedule: MapSchedule) -> MapSimulation:
    """Each account's whole scan (seconds, as if uninterrupted) through the rounds of the Map."""
    left = list(work_s)
    rounds: list[Round] = []
    for number in range(schedule.max_rounds):
        pending = [w for w in left if w > 0]
        if not pending:
            break
        overhead = schedule.resume_overhead_s if number else 0.0
        durations = [min(w + overhead, schedule.invocation_limit_s) for w in pending]
        rounds.append(simulate_round(durations, schedule))
        left = [w + overhead - d for w, d in zip(pending, durations, strict=True)]
    return MapSimulation(rounds=rounds, unfinished=sum(1 for w in left if w > 1e-9))


# --------------------------------------------------------------------------------------------------
# An account's scan time from its quota bound
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearFit:
    """wall = intercept + slope * bound, least squares over the measured accounts."""

    intercept: float
    slope: float
    points: int
    r2: float

    def predict(self, bound_s: float) -> float:
        return max(0.0, self.intercept + self.slope * bound_s)


def fit_wall_to_bound(bounds: Sequence[float], walls: Sequence[float]) -> LinearFit:
    n = len(bounds)
    if n != len(walls) or n == 0:
        raise ValueError("need as many walls as bounds, at least one")
    mean_b, mean_w = sum(bounds) / n, sum(walls) / n
    var_b = sum((b - mean_b) ** 2 for b in bounds)
    if var_b == 0:
        return LinearFit(intercept=mean_w - mean_b, slope=1.0, points=n, r2=0.0)
    slope = sum((b - mean_b) * (w - mean_w) for b, w in zip(bounds, walls, strict=True)) / var_b
    intercept = mean_w - slope * mean_b
    total = sum((w - mean_w) ** 2 for w in walls)
    residual = sum((w - intercept - slope * b) ** 2 for b, w in zip(bounds, walls, strict=True))
    return LinearFit(intercept=intercept, slope=slope, points=n, r2=1 - residual / total if total else 1.0)


# --------------------------------------------------------------------------------------------------
# A sweep's bill
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepCost:
    """One Lambda step of a sweep, measured per invocation."""

    seconds: float
    memory_mb: int
    usage: Mapping[str, float]  # s3.put_list, s3.get, dynamodb.rru, dynamodb.wru, events.entries, logs.bytes
    init_s: float = 0.0


@dataclass(frozen=True)
class SweepInputs:
    """A sweep of the extrapolated fleet: the scan Map's simulation and each step's measured costs."""

    accounts: int
    scan: MapSimulation
    scan_memory_mb: int
    scan_init_s: float
    scan_usage_per_account: Mapping[str, float]  # everything but Lambda time, which the simulation gives
    scan_usage_per_continuation: Mapping[str, float]  # what resuming costs (progress read and written)
    plan: StepCost
    finalize: StepCost  # once per round
    publish: StepCost  # once per batch
    publish_batches: int
    announce: StepCost
    publish_concurrency: int
    transitions_one_round: int  # parent states entered by a sweep of one round (measured on the definition)
    transitions_per_round: int  # states each further round enters (the definition's loop)
    map_run_usage: Mapping[str, float]  # Step Functions' own S3 requests per map run (ItemReader, ResultWriter)
    child_overhead_s: float = 0.05  # an EXPRESS child lasts its Lambda invocation plus this (model)


def lambda_gb_seconds(seconds: float, memory_mb: int) -> float:
    """Billed: rounded up to the millisecond."""
    return math.ceil(seconds * 1000) / 1000 * memory_mb / 1024


def sweep_usage(inputs: SweepInputs) -> dict[str, float]:
    """The sweep's quantities per price-table meter. Environments are assumed cold at the start of each sweep
    (an hour apart, Lambda has recycled them): one init per scan environment the Map ramps up to, one per
    other function."""
    usage: dict[str, float] = {}

    def add(meter: str, amount: float) -> None:
        usage[meter] = usage.get(meter, 0.0) + amount

    scan = inputs.scan
    rounds = len(scan.rounds)
    continuations = scan.invocations - (scan.rounds[0].items if scan.rounds else 0)
    steps = (
        (inputs.plan, 1),
        (inputs.finalize, max(1, rounds)),
        (inputs.publish, inputs.publish_batches),
        (inputs.announce, 1),
    )
    add("lambda.requests", scan.invocations)
    add(
        "lambda.gb_seconds",
        sum(lambda_gb_seconds(d, inputs.scan_memory_mb) for r in scan.rounds for d in r.invocation_s),
    )
    add("lambda.gb_seconds", scan.peak_concurrency * lambda_gb_seconds(inputs.scan_init_s, inputs.scan_memory_mb))
    for step, count in steps:
        if not count:
            continue
        add("lambda.requests", count)
        add("lambda.gb_seconds", count * lambda_gb_seconds(step.seconds, step.memory_mb))
        add("lambda.gb_seconds", lambda_gb_seconds(step.init_s, step.memory_mb))
        for meter, amount in step.usage.items():
            add(meter, amount * count)
    for meter, amount in inputs.scan_usage_per_account.items():
        add(meter, amount * inputs.accounts)
    for meter, amount in inputs.scan_usage_per_continuation.items():
        add(meter, amount * continuations)
    map_runs = rounds + (1 if inputs.publish_batches else 0)
    for meter, amount in inputs.map_run_usage.items():
        add(meter, amount * map_runs)
    children = scan.invocations + inputs.publish_batches
    add("states.transitions", inputs.transitions_one_round + max(0, rounds - 1) * inputs.transitions_per_round)
    add("states.transitions", children)  # a Distributed Map: one transition per child execution started
    add("states.express_requests", children)
    overhead = inputs.child_overhead_s
    express = sum(express_billed_gb_seconds(d + overhead) for r in scan.rounds for d in r.invocation_s)
    express += inputs.publish_batches * express_billed_gb_seconds(inputs.publish.seconds + overhead)
    add("states.express_gb_seconds", express)
    # Every execution traced and every trace kept: the most X-Ray can record (its default sampling keeps fewer).
    add("xray.traces", 1 + children)
    add("logs.ingested_gb", usage.pop("logs.bytes", 0.0) / 1e9)
    return usage


def sweep_minutes(inputs: SweepInputs) -> dict[str, float]:
    """Seconds of each part of a sweep, and the whole in minutes."""
    batches = inputs.publish_batches
    publish_s = math.ceil(batches / max(1, inputs.publish_concurrency)) * inputs.publish.seconds if batches else 0.0
    parts = {
        "plan_s": inputs.plan.seconds,
        "scan_map_s": inputs.scan.makespan_s,
        "finalize_s": max(1, len(inputs.scan.rounds)) * inputs.finalize.seconds,
        "publish_s": publish_s,
        "announce_s": inputs.announce.seconds,
    }
    parts["minutes"] = sum(parts.values()) / 60
    return parts
