"""The fleet model's arithmetic: the Map's scheduling, the fitted scan time, a sweep's bill and time."""

from __future__ import annotations

import pytest

from bench.fleet_model import (
    MapSchedule,
    StepCost,
    SweepInputs,
    fit_wall_to_bound,
    lambda_gb_seconds,
    simulate_map,
    simulate_round,
    sweep_minutes,
    sweep_usage,
)
from bench.prices import load_prices, monthly


def test_a_round_runs_as_many_at_once_as_allowed_in_manifest_order() -> None:
    schedule = MapSchedule(max_concurrency=2)
    round_ = simulate_round([10.0, 10.0, 10.0, 5.0], schedule)
    # Two at t=0 (both end at 10), two at t=10: the last one ends at 20.
    assert round_.makespan_s == 20.0
    assert round_.peak_concurrency == 2
    assert round_.finished_by[0.5] == 10.0


def test_reserved_concurrency_and_lambda_scaling_cap_the_map() -> None:
    assert MapSchedule(max_concurrency=800, reserved_concurrency=500).ceiling == 500
    ramped = MapSchedule(max_concurrency=5000, scaling_per_step=1000, scaling_step_s=10.0)
    assert ramped.cap(0.0) == 1000 and ramped.cap(9.9) == 1000 and ramped.cap(10.0) == 2000
    # 3,000 one-second scans: 1,000 per second until the ramp allows more at t=10; done at t=3.
    assert simulate_round([1.0] * 3000, ramped).makespan_s == pytest.approx(3.0)
    # 3,000 sixty-second scans: 1,000 at 0 s, 1,000 more at 10 s, the last 1,000 at 20 s.
    assert simulate_round([60.0] * 3000, ramped).makespan_s == pytest.approx(80.0)


def test_an_account_longer_than_one_invocation_continues_in_the_next_round() -> None:
    schedule = MapSchedule(max_concurrency=10, invocation_limit_s=100.0, resume_overhead_s=1.0, max_rounds=8)
    simulation = simulate_map([30.0, 250.0], schedule)
    assert len(simulation.rounds) == 3
    assert simulation.rounds[0].invocation_s == [30.0, 100.0]
    assert simulation.rounds[1].invocation_s == [100.0]  # 150 left + 1 to resume: capped again
    assert simulation.rounds[2].invocation_s == pytest.approx([52.0])  # 51 left + 1
    assert simulation.invocations == 4 and simulation.unfinished == 0
    assert simulation.makespan_s == pytest.approx(100 + 100 + 52)


def test_work_left_after_the_last_round_is_unfinished() -> None:
    simulation = simulate_map([500.0, 5.0], MapSchedule(max_concurrency=10, invocation_limit_s=100.0, max_rounds=2))
    assert simulation.unfinished == 1 and len(simulation.rounds) == 2


def test_the_fit_recovers_a_line_and_never_predicts_negative_time() -> None:
    fit = fit_wall_to_bound([0.0, 10.0, 20.0], [2.0, 12.5, 23.0])
    assert fit.slope == pytest.approx(1.05) and fit.intercept == pytest.approx(2.0) and fit.r2 == pytest.approx(1.0)
    assert fit.predict(100.0) == pytest.approx(107.0)
    assert fit_wall_to_bound([1.0, 2.0], [5.0, 1.0]).predict(100.0) == 0.0
    flat = fit_wall_to_bound([8.0, 8.0], [9.0, 11.0])
    assert flat.predict(8.0) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="as many"):
        fit_wall_to_bound([1.0], [])


def _inputs(durations: list[float], batches: int = 2) -> SweepInputs:
    simulation = simulate_map(durations, MapSchedule(max_concurrency=800, invocation_limit_s=210.0))
    step = StepCost(seconds=1.0, memory_mb=1024, usage={"s3.put_list": 2.0, "logs.bytes": 1e6}, init_s=0.5)
    return SweepInputs(
        accounts=len(durations),
        scan=simulation,
        scan_memory_mb=512,
        scan_init_s=2.0,
        scan_usage_per_account={"s3.put_list": 1.0, "dynamodb.wru": 17.0, "logs.bytes": 1000.0},
        scan_usage_per_continuation={"s3.put_list": 1.0, "s3.get": 1.0},
        plan=step,
        finalize=step,
        publish=step,
        publish_batches=batches,
        announce=step,
        publish_concurrency=50,
        transitions_one_round=9,
        transitions_per_round=3,
        map_run_usage={"s3.get": 1.0, "s3.put_list": 2.0},
        child_overhead_s=0.05,
    )


def test_a_sweeps_bill_adds_up_by_hand() -> None:
    usage = sweep_usage(_inputs([10.0] * 100))
    # Lambda: 100 scans + plan + finalize + 2 batches + announce.
    assert usage["lambda.requests"] == 100 + 1 + 1 + 2 + 1
    scan_gb_s = 100 * 10.0 * 0.5 + 100 * 2.0 * 0.5  # duration, and an init per environment (100 at once)
    others = 5 * 1.0 * 1.0 + 4 * 0.5 * 1.0  # five invocations of 1 s at 1 GB, four cold starts of 0.5 s
    assert usage["lambda.gb_seconds"] == pytest.approx(scan_gb_s + others)
    assert usage["states.transitions"] == 9 + 100 + 2  # the parent's states, one per child started
    assert usage["states.express_requests"] == 102
    # Each child: its invocation plus 0.05 s, rounded up to 100 ms, one 64 MB chunk.
    assert usage["states.express_gb_seconds"] == pytest.approx(100 * 10.1 * 0.0625 + 2 * 1.1 * 0.0625)
    assert usage["s3.put_list"] == pytest.approx(100 * 1.0 + 5 * 2.0 + 2 * 2.0)  # scans, steps, two map runs
    assert usage["dynamodb.wru"] == 1700
    assert usage["logs.ingested_gb"] == pytest.approx((100 * 1000 + 5 * 1e6) / 1e9)
    assert usage["xray.traces"] == 103
    costs = load_prices().cost(usage)
    assert costs["Lambda"] == pytest.approx(
        usage["lambda.requests"] * 0.0000002 + usage["lambda.gb_seconds"] * 0.0000133334
    )


def test_rounds_add_the_loops_states_and_the_continuations_usage() -> None:
    usage = sweep_usage(_inputs([10.0, 300.0]))
    assert usage["lambda.requests"] == 3 + 1 + 2 + 2 + 1  # three scans, finalize twice
    assert usage["states.transitions"] == 9 + 3 + 3 + 2
    assert usage["s3.get"] == pytest.approx(1.0 + 3 * 1.0)  # one continuation, three map runs


def test_minutes_of_a_sweep() -> None:
    minutes = sweep_minutes(_inputs([10.0] * 100, batches=120))
    assert minutes["scan_map_s"] == 10.0
    assert minutes["publish_s"] == 3 * 1.0  # 120 batches, 50 at once
    assert minutes["minutes"] == pytest.approx((1 + 10 + 1 + 3 + 1) / 60)


def test_gb_seconds_are_billed_by_the_millisecond() -> None:
    assert lambda_gb_seconds(0.0001, 1024) == pytest.approx(0.001)
    assert lambda_gb_seconds(1.5, 512) == pytest.approx(0.75)


def test_a_month_of_sweeps() -> None:
    assert monthly(1.0, 1) == 730 and monthly(1.0, 6) == pytest.approx(730 / 6)
