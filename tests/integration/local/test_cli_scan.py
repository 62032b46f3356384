"""`api-discovery scan`: the caller's own credentials, standard boto3 configuration, snapshots to a folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api_discovery.blobs import LocalBlobStore
from api_discovery.inventory.snapshots import read_snapshot
from api_discovery.local.cli import app
from api_discovery.local.emulator import Emulator
from tests.integration.builders import Builder

OWN_ACCOUNT = "123456789012"  # what the emulator files the test's dummy credentials under


def test_scan_own_account_through_aws_endpoint_url(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    Builder(fresh_emulator.url, OWN_ACCOUNT, "eu-west-1").rest_api("mine")
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    result = CliRunner().invoke(app, ["scan", "--region", "eu-west-1", "--region", "us-east-1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    store = LocalBlobStore(tmp_path)
    snapshots = {s.region: s for s in (read_snapshot(store, k) for k in store.keys("snapshots/"))}
    assert set(snapshots) == {"eu-west-1", "us-east-1"}
    assert [a.name for a in snapshots["eu-west-1"].apis] == ["mine"]
    assert snapshots["us-east-1"].status == "complete" and snapshots["us-east-1"].apis == []
    assert all(s.account_id == OWN_ACCOUNT for s in snapshots.values())


def test_scan_prints_names_that_look_like_markup_as_they_are(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `[/bold]` made Rich raise MarkupError after the scan had run; `[link=...]` printed a clickable link.
    for name in ("[/bold]", "[link=https://e.vil]x"):
        Builder(fresh_emulator.url, OWN_ACCOUNT, "eu-west-1").rest_api(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    result = CliRunner().invoke(app, ["scan", "--region", "eu-west-1", "--out", str(tmp_path)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "[/bold]" in result.output and "[link=https://e.vil]x" in result.output


def test_scan_names_a_bad_account_id(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    result = CliRunner().invoke(app, ["scan", "--account", "12345", "--region", "eu-west-1", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "account id must be 12 digits" in result.output
    assert not (tmp_path / "snapshots").exists()


def test_scan_exits_non_zero_when_a_role_is_refused(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    fresh_emulator.deny_assume_role("arn:aws:iam::222222222222:role/Reader")
    result = CliRunner().invoke(
        app,
        [
            "scan",
            "--account",
            "222222222222",
            "--role-name",
            "Reader",
            "--external-id",
            "ext-xyz",
            "--region",
            "eu-west-1",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    assert "failed" in result.output and "cannot assume" in result.output
