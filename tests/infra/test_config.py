"""Context validation: every bad setting fails synthesis with a message naming its key."""

from __future__ import annotations

from typing import Any

import pytest

from infra.app_factory import cdk_json_context
from infra.config import LOG_RETENTION_DAYS, ConfigError, DiscoveryConfig, validate_schedule_expression
from infra.lambda_factory import RETENTION


def config(**overrides: Any) -> DiscoveryConfig:
    return DiscoveryConfig.from_context({**cdk_json_context(), **overrides})


def error_for(**overrides: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        config(**overrides)
    return str(caught.value)


def test_shipped_cdk_json_is_valid_and_matches_the_model_defaults() -> None:
    shipped = config()
    assert shipped.customer_role_name == "ApiDiscoveryReadOnly"
    assert shipped.event_bus_name == "api-discovery"
    assert shipped.schedule_expression == "rate(6 hours)"
    assert 1 <= shipped.map_max_concurrency <= shipped.scan_reserved_concurrency <= 900
    # Every setting of the model is spelled out in cdk.json, so a reader sees what can be changed.
    assert set(DiscoveryConfig.model_fields) <= set(cdk_json_context())


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(15 minutes)",
        "rate(1 day)",
        "cron(0 3 * * ? *)",
        "cron(0/30 8-18 ? * MON-FRI *)",
        "cron(15 2 L * ? 2026-2030)",
        "cron(0 6 ? * 2#1 *)",
        "cron(0 6 ? JAN,JUL 6L *)",
    ],
)
def test_valid_schedule_expressions_are_accepted(expression: str) -> None:
    assert validate_schedule_expression(expression) == expression


@pytest.mark.parametrize(
    ("expression", "hint"),
    [
        ("rate(6 hour)", "plural"),
        ("rate(1 hours)", "rate(1 hour)"),
        ("rate(0 minutes)", "at least 1"),
        ("rate(5 weeks)", "neither"),
        ("every 6 hours", "neither"),
        ("at(2026-01-01T00:00:00)", "neither"),
        ("cron(0 3 * * *)", "6 fields"),
        ("cron(0 3 * * * *)", "day-of-month and day-of-week"),
        ("cron(0 3 ? * ? *)", "day-of-month and day-of-week"),
        ("cron(61 3 * * ? *)", "minutes field"),
        ("cron(0 24 * * ? *)", "hours field"),
        ("cron(0 3 * 13 ? *)", "month field"),
        ("cron(0 3 ? * FUNDAY *)", "day-of-week field"),
        ("cron(0 3 ? * 8 *)", "day-of-week field"),
        ("cron(0 10-2 * * ? *)", "runs backwards"),
        ("cron(? 3 * * ? *)", "only allowed in day-of-month or day-of-week"),
    ],
)
def test_bad_schedule_expressions_name_the_key_and_the_problem(expression: str, hint: str) -> None:
    message = error_for(schedule_expression=expression)
    assert "schedule_expression" in message
    assert hint in message


def test_unknown_region_is_named() -> None:
    message = error_for(regions=["us-east-1", "us-middle-7"])
    assert "regions" in message
    assert "us-middle-7" in message
    assert "us-east-1," not in message


def test_regions_from_the_command_line_are_comma_separated() -> None:
    assert config(regions="us-east-1, eu-west-1").regions == ["us-east-1", "eu-west-1"]


def test_shipped_defaults_fit_a_ten_thousand_account_vendor() -> None:
    shipped = config()
    # 10,000 accounts x 17 regions is 170,000 targets.
    assert shipped.max_targets == 200_000 >= 10_000 * 17
    assert shipped.map_max_concurrency == 800
    assert shipped.change_max_concurrency == 10
    assert shipped.publish_max_concurrency == 50
    assert shipped.scan_reserved_concurrency == 850
    assert shipped.workflow_log_level == "ERROR"
    assert shipped.target_failure_rate_alarm_percent == 5
    assert shipped.sweep_alarm_hours == 8
    assert DiscoveryConfig() == shipped, "cdk.json and the model's defaults differ"


@pytest.mark.parametrize("key", ["map_max_concurrency", "change_max_concurrency"])
def test_a_map_may_not_run_more_scans_than_scan_may_run_at_once(key: str) -> None:
    message = error_for(**{key: 851, "scan_reserved_concurrency": 850})
    assert key in message and "scan_reserved_concurrency" in message
    assert config(**{key: 850, "scan_reserved_concurrency": 850})


@pytest.mark.parametrize("value", [0, 901, "lots"])
def test_reserved_concurrency_leaves_the_account_its_unreserved_hundred(value: object) -> None:
    assert "- scan_reserved_concurrency:" in error_for(scan_reserved_concurrency=value)


@pytest.mark.parametrize("level", ["OFF", "ERROR", "FATAL", "ALL"])
def test_workflow_log_levels_are_those_of_step_functions(level: str) -> None:
    assert config(workflow_log_level=level).workflow_log_level == level


@pytest.mark.parametrize(
    ("schedule", "hours", "accepted"),
    [
        ("rate(6 hours)", 8, True),
        ("rate(6 hours)", 7, False),
        ("rate(30 minutes)", 3, True),
        ("rate(1 day)", 24, False),
        ("rate(1 day)", 26, True),
        ("cron(0 3 * * ? *)", 1, True),
    ],
)
def test_sweep_alarm_waits_for_the_schedule_and_the_workflow_timeout(schedule: str, hours: int, accepted: bool) -> None:
    if accepted:
        assert config(schedule_expression=schedule, sweep_alarm_hours=hours).sweep_alarm_hours == hours
    else:
        message = error_for(schedule_expression=schedule, sweep_alarm_hours=hours)
        assert "sweep_alarm_hours" in message and "workflow timeout" in message


@pytest.mark.parametrize("value", [0, 901, "-3", "lots"])
def test_concurrency_out_of_range_is_rejected(value: object) -> None:
    assert "map_max_concurrency" in error_for(map_max_concurrency=value)


def test_numbers_from_the_command_line_are_coerced() -> None:
    parsed = config(map_max_concurrency="25", tolerated_failure_percentage="12.5")
    assert (parsed.map_max_concurrency, parsed.tolerated_failure_percentage) == (25, 12.5)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("tolerated_failure_percentage", 101),
        ("schedule_time_zone", "Mars/Olympus_Mons"),
        ("customer_role_name", "has spaces"),
        ("event_bus_name", "default"),
        ("source_account_ids", ["12345"]),
        # Digits and letters by Python's `\d` and `\w`, not by AWS: Arabic-Indic digits, an accented letter.
        ("source_account_ids", ["\u0661" * 12]),
        ("customer_role_name", "Lecteur\u00e9"),
        ("organization_id", "org-123"),
        ("alarm_email", "not-an-address"),
        ("log_retention_days", 42),
        ("log_level", "CHATTY"),
        ("workflow_log_level", "INFO"),
        ("regions", []),
        ("publish_max_concurrency", 0),
        ("target_failure_rate_alarm_percent", 0),
        ("target_failure_rate_alarm_percent", 101),
        ("sweep_alarm_hours", 169),
        ("max_targets", 0),
    ],
)
def test_each_bad_setting_is_reported_under_its_own_key(key: str, value: object) -> None:
    message = error_for(**{key: value})
    assert f"- {key}:" in message


def test_all_problems_are_reported_at_once() -> None:
    message = error_for(map_max_concurrency=0, regions=["nowhere-1"], schedule_expression="hourly")
    assert all(key in message for key in ("map_max_concurrency", "regions", "schedule_expression"))


def test_empty_optional_settings_mean_unset() -> None:
    parsed = config(alarm_email="", organization_id="")
    assert parsed.alarm_email is None
    assert parsed.organization_id is None


def test_every_accepted_log_retention_maps_to_a_cdk_retention() -> None:
    assert set(LOG_RETENTION_DAYS) == set(RETENTION)
