"""`api-discovery scan` refuses a bad argument with a message that names it (exit 2), never a traceback, and
before anything is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api_discovery.local.cli import app


@pytest.fixture(autouse=True)
def _nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    # Should a refused scan go ahead anyway, it reaches nothing: a closed local port, dummy credentials.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _refused(tmp_path: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["scan", *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, (result.output, result.exception)
    assert not (tmp_path / "out").exists()
    return re.sub(r"[\s│╭╮╰╯─]+", " ", result.output)  # the error panel's borders and line breaks


def test_an_unknown_region_is_named(tmp_path: Path) -> None:
    printed = _refused(tmp_path, "--account", "111111111111", "--region", "mars-north-1")
    assert "unknown region(s): 'mars-north-1'" in printed


def test_regions_of_two_partitions_are_refused_by_name(tmp_path: Path) -> None:
    printed = _refused(tmp_path, "--account", "111111111111", "--region", "us-east-1", "--region", "cn-north-1")
    assert "111111111111 (regions in aws and aws-cn)" in printed


@pytest.mark.parametrize("account", ["\u0661" * 12, "111111111111\n", "12345"])
def test_an_account_id_that_is_not_twelve_ascii_digits_is_named(tmp_path: Path, account: str) -> None:
    printed = _refused(tmp_path, "--account", account, "--region", "us-east-1")
    assert "account id must be 12 digits" in printed and "Traceback" not in printed
