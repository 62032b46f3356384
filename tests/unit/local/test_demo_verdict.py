"""The demo's own verdict: it exits non-zero when discovery went wrong anywhere it should not have."""

from __future__ import annotations

from api_discovery.inventory.results import RunSummary, TargetResult
from api_discovery.local.demo import unexpected_outcomes
from api_discovery.local.demo_estate import DemoEstate, TargetCounts
from api_discovery.local.runner import LocalRun
from api_discovery.steps.finalize import Announcement, FinalizeResult, PublishPlan
from api_discovery.steps.plan import PlanResult

ESTATE = DemoEstate(
    accounts=["111111111111", "333333333333"],
    regions=["us-east-1"],
    denied_account="333333333333",
    role_name="ApiDiscoveryReadOnly",
    external_ids={},
    expected={
        ("111111111111", "us-east-1"): TargetCounts(rest_apis=1, rest_methods=2),
        ("333333333333", "us-east-1"): TargetCounts(rest_apis=1, rest_methods=1),
    },
)


def _run(*results: TargetResult) -> LocalRun:
    plan = PlanResult(run_id="r", count=len(results), manifest={"key": "m"}, started_at="t")
    summary = RunSummary(
        run_id="r",
        started_at="t",
        finished_at="t",
        targets=len(results),
        by_status={},
        apis=0,
        routes=0,
        api_calls=0,
        failed=[],
    )
    finalized = FinalizeResult(
        run_id="r",
        started_at="t",
        summary={},
        publish=PublishPlan(count=0),
        announce=Announcement(run_id="r", runs=["r"]),
    )
    return LocalRun(plan=plan, results=list(results), summary=summary, finalized=finalized)


def _result(account: str, status: str, apis: int = 0, routes: int = 0) -> TargetResult:
    return TargetResult(
        run_id="r",
        account_id=account,
        region="us-east-1",
        status=status,
        api_count=apis,
        route_count=routes,
    )


def test_the_expected_outcome_is_not_a_problem() -> None:
    run = _run(_result("111111111111", "complete", 1, 2), _result("333333333333", "failed"))
    assert unexpected_outcomes(run, ESTATE) == []


def test_a_partial_scan_a_missed_route_or_an_unrefused_role_is() -> None:
    run = _run(_result("111111111111", "partial", 1, 1), _result("333333333333", "complete", 1, 1))
    problems = unexpected_outcomes(run, ESTATE)
    assert any("111111111111/us-east-1 partial" in p for p in problems)
    assert any("found 1 APIs and 1 routes, seeded 1 and 2" in p for p in problems)
    assert any("333333333333/us-east-1 should have been refused" in p for p in problems)
