"""The demo, end to end: what a newcomer runs first must discover exactly what it seeded."""

from __future__ import annotations

import gzip
from pathlib import Path

from typer.testing import CliRunner

from api_discovery.analysis import entry_map
from api_discovery.analysis.findings import CATALOGUE
from api_discovery.blobs import LocalBlobStore
from api_discovery.inventory.snapshots import read_snapshot
from api_discovery.local.cli import app
from api_discovery.local.demo_entry_points import OIDC_CLIENT_SECRET, ORIGIN_HEADER_SECRET
from api_discovery.local.demo_functions import WEBHOOK_SECRET

SURFACE_RULES = {
    "cors-wildcard-with-credentials",
    "cors-wildcard-on-authenticated-api",
    "stage-variable-secret",
    "integration-tls-verification-off",
    "rest-endpoint-legacy-tls",
    "method-logs-or-caches-data",
    "logging-without-cloudwatch-role",
    "dualstack-policy-ipv4-only",
    "private-domain-cross-account-access",
    "client-certificate-expiring",
    "function-url-public",
    "appsync-api-key-only",
    "appsync-without-waf",
    "elb-http-without-redirect",
    "elb-weak-tls-policy",
}
# Values the demo seeds that no output may hold: stage variables that look like credentials, a secret in a
# Lambda function's environment, an OIDC client secret of a load balancer, a custom origin header's value.
SECRETS = (
    "Pr0d-Ledger-2026!",
    "AKIAIOSFODNN7EXAMPLE",
    WEBHOOK_SECRET,
    "WEBHOOK_SIGNING_SECRET",
    OIDC_CLIENT_SECRET,
    ORIGIN_HEADER_SECRET,
)


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

    # The demo shows each rule of the 2024-2026 surface at least once; no secret value is stored.
    shown = {f.rule_id for s in snapshots for f in s.findings}
    assert set(CATALOGUE) >= SURFACE_RULES
    assert SURFACE_RULES - shown == set()
    assert [s for s in SECRETS if s in result.output] == []
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        assert [s for s in SECRETS if s.encode() in data] == [], path

    # Function URLs: the open webhook, the IAM report export and the URL left without its permission.
    urls = {(u.function_name, u.exposure.verdict if u.exposure else None) for s in snapshots for u in s.function_urls}
    assert urls == {
        ("webhooks", "public-unauthenticated"),
        ("reports-export", "public-authenticated"),
        ("legacy-upload", "unreachable"),
    }
    assert '"kind":"FUNCTION_URL"' in (tmp_path / "report.html").read_text()  # the report's embedded data
    assert "Lambda function URLs" in result.output and "public-unauthenticated" in result.output

    # The other entry points, and the map: both distributions' ways around them, and the origin unreachable
    # directly but reached through CloudFront.
    kinds = sorted(e.kind for s in snapshots for e in s.entry_points)
    assert kinds.count("CLOUDFRONT") == 3 and kinds.count("LOAD_BALANCER") == 3 and "APPSYNC_DOMAIN" in kinds
    assert result.output.count("Origin reachable around its CloudFront distribution") == 2
    notes = [e.note for e in entry_map.build(snapshots).entries if e.note]
    assert len(notes) == 1 and notes[0].startswith("unreachable directly; reached through CloudFront")
    page = (tmp_path / "report.html").read_text()
    assert '"kind":"LOAD_BALANCER"' in page and "cloudfront-origin-bypass" in page
