"""`python -m bench` in miniature: every scenario through the same code, tiny estates, quotas 20 times faster."""

from __future__ import annotations

import json
from pathlib import Path

from api_discovery.local.quota_emulator import QuotaRates
from bench.estate import EstateSpec
from bench.run import BenchConfig, MultiTarget, PlanScale, SingleTarget, markdown, run_bench, write_results

FAST = QuotaRates().scaled(20)
SMOKE = BenchConfig(
    name="smoke",
    single=SingleTarget(
        EstateSpec(
            rest_apis=2,
            resources_per_api=3,
            methods_per_resource=2,
            http_apis=2,
            routes_per_http_api=3,
            websocket_apis=1,
            domains=1,
            mappings_per_domain=2,
            functions=2,
            function_urls=1,
            appsync_apis=1,
            load_balancers=1,
            distributions=1,
        ),
        rates=FAST,
        account="616161616161",
        naive_workers=2,
    ),
    multi=MultiTarget(
        EstateSpec(rest_apis=1, resources_per_api=2, methods_per_resource=1, http_apis=1, routes_per_http_api=2),
        rates=FAST,
        accounts=2,
        regions=("eu-west-1", "us-east-1"),
        first_account=626262626201,
    ),
    plan=PlanScale(accounts=40, trace_memory=False),
    worker_timeout=120.0,
)


def test_the_smallest_benchmark_reports_every_measure(tmp_path: Path) -> None:
    report = run_bench(SMOKE)

    single = report["scenarios"]["single_target"]
    assert single["scan"]["status"] == "complete"
    assert single["calls"] == single["minimum"]  # on a tiny estate, not a call more than the rules need
    assert single["calls_vs_minimum"] == 1.0
    assert single["unthrottled"]["content_matches"] is True
    assert single["requests"] == single["calls_total"] + single["retries"]
    assert single["retries"] >= single["throttled_429"] >= 0
    assert single["quota_bound"]["binding"] in ("general", "GetResources")
    assert single["wall_seconds"] > 0 and single["memory"]["peak_rss_mb"] > single["memory"]["baseline_rss_mb"] > 0
    naive = single["naive"]
    assert naive["calls_total"] == naive["calls_seen_by_emulator"]
    assert naive["calls"]["apigateway:GetMethod"] == naive["calls"]["apigateway:GetIntegration"] == 2 * 3 * 2
    assert single["naive_over_ours"] > 1
    other = single["entry_points"]
    assert other["found"] == other["seeded"] == 3 and other["calls"] == other["minimum"]
    assert set(other["quota_bound_seconds"]) == {"appsync", "elbv2", "cloudfront"}
    assert set(single["checks"]) == {
        "complete",
        "calls_within_5pct_of_minimum",
        "function_urls_found",
        "lambda_calls_within_5pct_of_minimum",
        "entry_points_found",
        "entry_point_calls_within_5pct_of_minimum",
        "wall_within_1_25x_bound",
        "peak_memory_under_256mb",
        "content_matches_unthrottled",
    }

    multi = report["scenarios"]["multi_target"]
    assert multi["by_status"] == {"complete": 4} and multi["not_complete"] == []
    assert multi["checks"]["no_failed_or_partial_targets"]
    assert multi["calls_total"] == multi["minimum_total"]

    plan = report["scenarios"]["plan"]
    assert plan["targets"] == 40 * 17 and plan["checks"]["all_targets_planned"]

    results, table = write_results(report, tmp_path)
    assert json.loads(results.read_text()) == json.loads(json.dumps(report))
    text = table.read_text()
    assert text == markdown(report)
    assert "| scenario | measure | result | target | met |" in text
    assert all(f"| {n} " in text for n in ("1 single target", "2 2 accounts x 2 regions", "3 plan 40 x 17"))
