"""The demo, end to end: what a newcomer runs first must discover exactly what it seeded."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api_discovery.blobs import LocalBlobStore
from api_discovery.inventory.snapshots import read_snapshot
from api_discovery.local.cli import app


def test_demo_discovers_the_seeded_estate_and_exits_zero(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "Discovery failed unexpectedly" not in result.output
    assert result.output.count("expected: cannot assume arn:aws:iam::333333333333:role/ApiDiscoveryReadOnly") == 2

    store = LocalBlobStore(tmp_path)
    keys = store.keys("snapshots/")
    assert len(keys) == 6
    snapshots = [read_snapshot(store, k) for k in keys]
    by_status = sorted((s.account_id, s.status) for s in snapshots)
    assert by_status.count(("333333333333", "failed")) == 2
    assert sum(s.status == "complete" for s in snapshots) == 4
    assert all(s.apis for s in snapshots if s.status == "complete")
    assert store.keys("runs/") and store.keys("manifests/")
    assert (tmp_path / "report.html").is_file() and len(store.keys("changes/")) == 4
    assert "Events on the emulator's bus:" in result.output and "Target Scan Failed 2" in result.output
