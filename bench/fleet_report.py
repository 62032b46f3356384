"""The fleet scenario in bench/results/results.md: rows of the main table, then tables a reader can check by hand
(each dollar is a quantity in one table times a price in another), each saying what was measured and what
comes from the model or the price list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.prices import SERVICES

Row = tuple[str, str, str, str, bool | None]
STEP_NAMES = ("plan", "scan", "finalize", "publish", "announce")


def _usd(value: float) -> str:
    return f"${value:,.4f}" if value < 10 else f"${value:,.2f}"


def _n(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _qty(value: float) -> str:
    return f"{value:.6f}" if 0 < value < 1 else f"{value:,.2f}".removesuffix(".00")


def _mb(value: float) -> str:
    return f"{value:,.0f} MB"


def rows(fleet: Mapping[str, Any]) -> list[Row]:
    """The fleet's lines of the main table: its targets, met or not."""
    checks = fleet["checks"]
    estate = fleet["estate"]
    measured = f"4 fleet {estate['accounts']} x {estate['regions_per_account']} (measured)"
    out: list[Row] = []
    for kind, label in (("first", "first sweep"), ("steady", "steady-state sweep")):
        sweep = fleet["sweeps"][kind]
        summary = sweep["summary"]
        statuses = ", ".join(f"{k} {v:,}" for k, v in (summary.get("by_status") or {}).items())
        out.append(
            (
                measured,
                f"{label}: targets scanned",
                f"{summary.get('targets') or 0:,} of {sweep['targets_expected']:,} ({statuses})",
                "every target",
                checks[f"every_target_scanned_{kind}"],
            )
        )
        accounts = sweep["accounts"]
        ratio = accounts["wall_vs_bound"]
        out.append(
            (
                measured,
                f"{label}: wall per account / its quota bound at the configured budget "
                f"({fleet['deployment']['scan_settings']['quota_share']:.0%} of AWS's quota)",
                f"p50 {ratio['p50']}x, p95 {ratio['p95']}x, max {ratio['max']}x "
                f"({ratio['within_1_25x']} of {accounts['count']} within; mean {accounts['means']['wall_s']} s "
                f"against {accounts['means']['bound_s']} s, {accounts['means']['cpu_s']} s of CPU)",
                "<= 1.25x each",
                checks[f"wall_within_1_25x_bound_{kind}"],
            )
        )
        out.append(
            (
                measured,
                f"{label}: API Gateway calls / minimum, 429s",
                f"{accounts['calls']:,} / {accounts['minimum']:,}, {accounts['throttled_429']:,} 429s",
                "",
                None,
            )
        )
        out.append(
            (
                measured,
                f"{label}: vendor cost of the measured sweep (list prices)",
                f"{_usd(sweep['cost_total'])} in {sweep['wall_seconds']:.0f} s "
                f"({_usd(sweep['cost_total'] / max(1, estate['accounts']))} per account)",
                "",
                None,
            )
        )
    model = fleet["model"]
    name = f"5 fleet {model['steady']['accounts']:,} x {estate['regions_per_account']} (model)"
    for kind, label, usd_target, usd_check in (
        ("steady", "steady-state sweep", "< $5", "steady_under_5_usd"),
        ("first", "first sweep", "< $10", "first_under_10_usd"),
    ):
        sweep = model[kind]
        simulated = sweep["simulation"]
        out.append((name, f"{label}: $ per sweep", _usd(sweep["cost_total"]), usd_target, checks[usd_check]))
        out.append(
            (
                name,
                f"{label}: minutes per sweep",
                f"{sweep['time']['minutes']:.1f} min ({simulated['rounds']} Map round(s), "
                f"{simulated['invocations']:,} scans, peak {simulated['peak_concurrency']:,} at once)",
                "< 30 min",
                checks[f"{kind}_under_30_min"],
            )
        )
    out.append(
        (
            name,
            "every target scanned in every sweep (simulated rounds)",
            f"{model['steady']['simulation']['unfinished']} + {model['first']['simulation']['unfinished']} accounts "
            "left unfinished",
            "0",
            checks["model_every_target_scanned"],
        )
    )
    monthly = model["monthly"]
    out.append(
        (
            name,
            "$ per month, steady state",
            f"{_usd(monthly['hourly'])} hourly, {_usd(monthly['every_6_hours'])} 6-hourly",
            "",
            None,
        )
    )
    for kind in ("first", "steady"):
        scale = fleet["finalize_scale"][kind]
        synthetic = scale["synthetic"]
        finalize = scale["finalize"]
        label = f"6 finalize {synthetic['targets']:,} results ({kind})"
        out.append(
            (
                label,
                "wall time / peak memory (RSS) of the finalize invocation",
                f"{finalize['seconds_total']:.1f} s / {_mb(finalize['peak_rss_mb'])} "
                f"({synthetic['changed_regions']:,} regions with changes, {synthetic['changes']:,} changes)",
                "< 5 min, < 1 GB",
                checks[f"finalize_{kind}_under_5_min"] and checks[f"finalize_{kind}_under_1_gb"],
            )
        )
        publish = scale["publish_measured"]
        if publish:
            slowest = max(publish, key=lambda p: p["seconds_total"])
            out.append(
                (
                    label,
                    f"what it fans out to: {scale['publish_batches']:,} publish batches "
                    f"(slowest of {len(publish)} sent)",
                    f"{slowest['seconds_total']:.1f} s / {_mb(max(p['peak_rss_mb'] for p in publish))}, "
                    f"{slowest['events']:,} events",
                    "< 5 min, < 1 GB",
                    checks[f"publish_{kind}_under_5_min_1_gb"],
                )
            )
    plan = fleet["plan_scale"]
    planned = plan["plan"]
    limits = fleet["deployment"]["functions"]["plan"]
    out.append(
        (
            f"7 plan {plan['accounts']:,} x {plan['regions']} (handler, registry in DynamoDB)",
            "manifest items (accounts) / targets / wall time / peak memory",
            f"{plan['count']:,} / {plan['targets']:,} / {planned['seconds_total']:.1f} s / "
            f"{_mb(planned['peak_rss_mb'])} ({plan['manifest_mb']} MB manifest)",
            f"< {limits['timeout_s']:.0f} s, < {limits['memory_mb']} MB (its Lambda)",
            checks["plan_all_accounts"]
            and planned["seconds_total"] < limits["timeout_s"]
            and planned["peak_rss_mb"] < limits["memory_mb"],
        )
    )
    return out


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in body),
    ]


def sections(fleet: Mapping[str, Any]) -> list[str]:
    """The fleet's own tables, after the main one."""
    out: list[str] = []
    out += _measured_steps(fleet)
    out += _measured_costs(fleet)
    out += _model(fleet)
    out += _at_scale(fleet)
    out += _prices(fleet)
    out += _provenance(fleet)
    return out


def _measured_steps(fleet: Mapping[str, Any]) -> list[str]:
    estate = fleet["estate"]
    deployment = fleet["deployment"]
    body = []
    for kind in ("first", "steady"):
        sweep = fleet["sweeps"][kind]
        for step in STEP_NAMES:
            s = sweep["steps"][step]
            if not s["invocations"]:
                continue
            n = s["invocations"]
            body.append(
                [
                    kind,
                    step,
                    f"{n:,}",
                    f"{s['seconds_mean']:.2f} / {s['seconds_max']:.2f} ({s['cpu_seconds_total'] / n:.2f} CPU)",
                    f"{s['memory_mb']}",
                    f"{s['gb_seconds']:,.1f}",
                    f"{s['s3_put_list']:,} ({s['s3_put_list'] / n:.1f})",
                    f"{s['s3_get']:,} ({s['s3_get'] / n:.1f})",
                    f"{s['ddb_rru']:,.1f} ({s['ddb_rru'] / n:.1f})",
                    f"{s['ddb_wru']:,.0f} ({s['ddb_wru'] / n:.1f})",
                    f"{s['events']:,}",
                    f"{s['log_bytes'] / 1024:,.0f} ({s['log_bytes'] / n / 1024:.1f})",
                ]
            )
        states = sweep["states"]
        runs = ", ".join(f"{r['label']} {r['items']:,} items" for r in states["map_runs"])
        body.append(
            [
                kind,
                "Step Functions",
                runs,
                f"{states['transitions']} parent states + {states['map_child_transitions']:,} children = "
                f"{states['standard_transitions']:,} transitions",
                "",
                f"EXPRESS {states['express_requests']:,} requests, {states['express_gb_seconds']:,.1f} GB-s",
                f"{states['s3_put_list']:,}",
                f"{states['s3_get']:,}",
                "",
                "",
                "",
                f"{states['log_bytes'] / 1024:,.0f}",
            ]
        )
    header = [
        "sweep",
        "step",
        "invocations",
        "duration mean / max (s) (CPU per inv.)",
        "memory (MB)",
        "Lambda GB-s",
        "S3 PUT+LIST (per inv.)",
        "S3 GET (per inv.)",
        "DynamoDB RRU (per inv.)",
        "DynamoDB WRU (per inv.)",
        "EventBridge events",
        "log KB (per inv.)",
    ]
    functions = deployment["functions"]
    levels = ", ".join(f"{step} {f['log_level']}" for step, f in functions.items())
    return [
        "",
        f"### Fleet, measured: {estate['accounts']} accounts x {estate['regions_per_account']} regions, per step",
        "",
        f"Estate: {estate['apis']:,} APIs in {estate['regions']:,} regions ({_classes(estate['classes'])}); "
        f"the steady-state sweep follows {fleet['changes']['regions']} changed regions "
        f"({', '.join(f'{k} {v}' for k, v in fleet['changes']['kinds'].items())}). "
        f"Every figure here is counted while the real handlers run (log levels as configured: {levels}); "
        "log KB include the Lambda service's START/END/REPORT lines (modelled on its text format) and 26 bytes "
        "per log event; GB-s are configured memory x measured duration (init included on a cold start).",
        "",
        *_table(header, body),
    ]


def _classes(classes: Mapping[str, int]) -> str:
    total = sum(classes.values()) or 1
    return ", ".join(f"{k} {v:,} ({100 * v / total:.0f}%)" for k, v in classes.items())


def _measured_costs(fleet: Mapping[str, Any]) -> list[str]:
    sweeps = fleet["sweeps"]
    body = []
    meters = sorted({m for s in sweeps.values() for m in s["usage"]})
    prices = fleet["prices"]
    for meter in meters:
        price = prices[meter]
        body.append(
            [
                price["service"],
                f"{meter} ({price['unit']})",
                *(_qty(sweeps[k]["usage"].get(meter, 0)) for k in ("first", "steady")),
                f"{price['usd']:.10f}".rstrip("0"),
                *(_usd(sweeps[k]["usage"].get(meter, 0) * price["usd"]) for k in ("first", "steady")),
            ]
        )
    body.append(["**total**", "", "", "", "", *(f"**{_usd(sweeps[k]['cost_total'])}**" for k in ("first", "steady"))])
    return [
        "",
        "### Fleet, measured: each sweep's usage, at list prices",
        "",
        "Quantities measured (Step Functions transitions and EXPRESS time counted from the synthesized definition's "
        "path for each item, X-Ray traces = executions, all sampled: an upper bound); prices from bench/prices.json.",
        "",
        *_table(["service", "meter", "first (qty)", "steady (qty)", "USD per unit", "first ($)", "steady ($)"], body),
    ]


def _model(fleet: Mapping[str, Any]) -> list[str]:
    model = fleet["model"]
    first, steady = model["first"], model["steady"]
    services = [s for s in SERVICES if first["cost"].get(s) or steady["cost"].get(s)]
    body = [[s, _usd(first["cost"].get(s, 0.0)), _usd(steady["cost"].get(s, 0.0))] for s in services]
    body.append(["**total per sweep**", f"**{_usd(first['cost_total'])}**", f"**{_usd(steady['cost_total'])}**"])
    time_rows = [
        [part, f"{first['time'][key]:,.1f}", f"{steady['time'][key]:,.1f}"]
        for part, key in (
            ("plan (s, measured at scale)", "plan_s"),
            ("scan Map, all rounds (s, simulated)", "scan_map_s"),
            ("finalize, each round (s, measured at scale)", "finalize_s"),
            ("publish Map (s, measured batches x batches / MaxConcurrency)", "publish_s"),
            ("announce (s, measured)", "announce_s"),
        )
    ]
    time_rows.append(
        ["**minutes per sweep**", f"**{first['time']['minutes']:.1f}**", f"**{steady['time']['minutes']:.1f}**"]
    )
    usage_rows = []
    for meter in sorted(set(first["usage"]) | set(steady["usage"])):
        usage_rows.append([meter, _qty(first["usage"].get(meter, 0)), _qty(steady["usage"].get(meter, 0))])
    fit, cpu = steady["fit"], steady["cpu_fit"]
    cold = model["cold_start"]
    schedule = steady["schedule"]
    monthly = model["monthly"]
    return [
        "",
        f"### Fleet, model: {steady['accounts']:,} accounts x {fleet['estate']['regions_per_account']} regions",
        "",
        f"Scan time per account = the larger of {fit['intercept']:.2f} s + {fit['slope']:.3f} x its quota bound at "
        f"the configured budget (wall, r² {fit['r2']:.3f}) and ({cpu['intercept']:.2f} s + {cpu['slope']:.3f} x "
        f"bound) of CPU / {steady['vcpu_share']} (the vCPU share of the scan function's memory: 1 vCPU at 1,769 MB), "
        f"both least squares over the {fit['points']} measured accounts of the steady sweep (the first sweep's own "
        f"for the first); the {steady['accounts']:,} accounts are the same estate mix, "
        f"their bounds computed from their APIs (mean scan {steady['work_s']['mean']} s, "
        f"p99 {steady['work_s']['p99']} s, largest {steady['work_s']['max']} s). "
        f"Map simulated: MaxConcurrency {schedule['max_concurrency']}, scan "
        f"reserved concurrency {schedule['reserved_concurrency']}, Lambda scaling 1,000 environments / 10 s, "
        f"{schedule['invocation_limit_s']:.0f} s per invocation before an account continues in the next round, at "
        f"most {schedule['max_rounds']} rounds; every environment it ramps up to starts cold, each sweep: "
        f"{cold['init_cpu_s']} s of init CPU and {cold['first_invocation_extra_cpu_s']} s more CPU in its first scan "
        f"(measured on the first sweep's {cold['environments']} fresh environments), "
        f"{cold['seconds_in_lambda']} s at the vCPU share. "
        "Per-account S3, DynamoDB, EventBridge and log usage: the measured "
        "sweep's mean; plan, finalize, publish and announce: measured at fleet scale (tables below)"
        + _scaled_note(steady)
        + "; prices: the list.",
        "",
        *_table(["service", "first sweep", "steady-state sweep"], body),
        "",
        *_table(["part of a sweep", "first", "steady"], time_rows),
        "",
        f"A month of steady-state sweeps: {_usd(monthly['hourly'])} hourly (730 sweeps), "
        f"{_usd(monthly['every_6_hours'])} every 6 hours (121.7 sweeps); the first sweep is once.",
        "",
        "<details><summary>The model's quantities per sweep</summary>",
        "",
        *_table(["meter", "first", "steady"], usage_rows),
        "",
        "</details>",
    ]


def _scaled_note(model: Mapping[str, Any]) -> str:
    measured = model.get("scale_measured_at") or {}
    if all(n == model["accounts"] for n in measured.values()):
        return ""
    return (
        f", at {measured.get('finalize'):,} accounts and scaled to {model['accounts']:,} in proportion "
        "(time, reads and publishing batches)"
    )


def _at_scale(fleet: Mapping[str, Any]) -> list[str]:
    body = []
    for kind in ("first", "steady"):
        scale = fleet["finalize_scale"][kind]
        for label, inv in (
            ("finalize", scale["finalize"]),
            *((f"publish batch {i}", p) for i, p in enumerate(scale["publish_measured"])),
            ("announce", scale["announce"]),
        ):
            body.append(_inv_row(f"finalize-scale {kind}", label, inv))
    body.append(_inv_row("plan-scale", "plan", fleet["plan_scale"]["plan"]))
    return [
        "",
        "### Finalize and plan at fleet scale, measured (one fresh Lambda environment each)",
        "",
        *_table(
            [
                "scenario",
                "invocation",
                "seconds",
                "init (s)",
                "peak RSS",
                "S3 PUT+LIST",
                "S3 GET",
                "RRU",
                "WRU",
                "events",
                "log KB",
            ],
            body,
        ),
    ]


def _inv_row(scenario: str, label: str, inv: Mapping[str, Any]) -> list[str]:
    return [
        scenario,
        label,
        f"{inv['seconds_total']:.2f}",
        f"{inv['init_s_mean'] or 0:.2f}",
        _mb(inv["peak_rss_mb"]),
        f"{inv['s3_put_list']:,}",
        f"{inv['s3_get']:,}",
        f"{inv['ddb_rru']:,.1f}",
        f"{inv['ddb_wru']:,.0f}",
        f"{inv['events']:,}",
        f"{inv['log_bytes'] / 1024:,.1f}",
    ]


def _prices(fleet: Mapping[str, Any]) -> list[str]:
    body = [
        [p["service"], p["item"], p["unit"], f"{p['usd']:.10f}".rstrip("0"), p["quoted"], p["source"], p["checked"]]
        for p in fleet["prices"].values()
    ]
    return [
        "",
        "### Price table (bench/prices.json, us-east-1 list prices)",
        "",
        *_table(["service", "item", "unit", "USD per unit", "as quoted", "source", "checked"], body),
    ]


def _provenance(fleet: Mapping[str, Any]) -> list[str]:
    return [
        "",
        "**Measured** (this run): every Lambda invocation's duration, init and peak memory, every S3, DynamoDB and "
        "EventBridge request the handlers make, their log bytes, the API Gateway calls and 429s per account, the "
        "states entered on the definition's path and each EXPRESS child's duration; finalize, publish and plan at "
        "fleet scale. **Computed from measurements**: DynamoDB request units (item sizes, DynamoDB's rules), "
        "EventBridge 64 KB chunks, GB-seconds. **Modelled**: the Lambda service's START/END/REPORT lines, Step "
        "Functions' ERROR-level log events (none unless something fails), X-Ray (every execution traced), "
        "EXPRESS memory (one 64 MB chunk), the 10,000-account fleet's scan times (the fitted line) and the Map's "
        "scheduling, a continued invocation's progress object. **List prices**: bench/prices.json.",
    ]
