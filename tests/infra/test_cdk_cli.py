"""`cdk synth` through the project's own CDK CLI: offline, without Docker or credentials, nag enforced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from infra.lambda_factory import PROJECT_ROOT
from tests.infra.synth import Synthesized

CDK = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
DEAD_PROXY = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path, float]:
    if not CDK.exists():
        pytest.fail("node_modules/.bin/cdk is missing: run `npm ci` (make test does)")
    outdir = tmp_path_factory.mktemp("cdk.out")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CDK_")) and key not in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")
    }
    env |= {
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        # Any network call would go to a closed port and fail: synthesis must not need one.
        "HTTPS_PROXY": DEAD_PROXY,
        "HTTP_PROXY": DEAD_PROXY,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        # No Docker either: a bundling step would fail on this.
        "CDK_DOCKER": "/nonexistent/docker",
    }
    started = time.monotonic()
    result = subprocess.run(
        [str(CDK), "synth", "--no-notices", "--no-version-reporting", "--no-lookups", "--output", str(outdir)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result, outdir, time.monotonic() - started


def test_cdk_cli_synthesizes_both_stacks_offline(
    cli_synth: tuple[subprocess.CompletedProcess[str], Path, float],
) -> None:
    result, outdir, seconds = cli_synth
    assert result.returncode == 0, result.stderr[-4000:]
    assert (outdir / "ApiDiscovery.template.json").is_file()
    assert (outdir / "ApiDiscoveryCustomerAccess.template.json").is_file()
    print(f"cdk synth via the CLI took {seconds:.1f} s")


def test_cdk_cli_ran_cdk_nag_and_it_passed(cli_synth: tuple[subprocess.CompletedProcess[str], Path, float]) -> None:
    _, outdir, _ = cli_synth
    # A finding would have failed the synthesis above; a passing run leaves no plugin report behind.
    report: dict[str, Any] = json.loads((outdir / "validation-report.json").read_text())
    assert [p for p in report["pluginReports"] if p.get("pluginName") == "AwsSolutions"] == []
    # The acknowledgements app.py's cdk-nag wrote into the template prove the pack ran.
    template = json.loads((outdir / "ApiDiscovery.template.json").read_text())
    suppressed = {
        rule["id"]
        for resource in template["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    assert "AwsSolutions-S1" in suppressed
    assert "AwsSolutions-SQS3" in suppressed


def test_cli_and_in_process_synthesis_build_the_same_resources(
    cli_synth: tuple[subprocess.CompletedProcess[str], Path, float], synth: Synthesized
) -> None:
    _, outdir, _ = cli_synth
    from_cli = json.loads((outdir / "ApiDiscovery.template.json").read_text())
    # The test context adds the optional bus policies and the alarm e-mail subscription; nothing else differs.
    optional = {"AWS::Events::EventBusPolicy", "AWS::SNS::Subscription"}
    in_process = {k for k, v in synth.discovery_json["Resources"].items() if v["Type"] not in optional}
    assert {k for k in from_cli["Resources"] if k != "CDKMetadata"} == in_process


def test_bad_context_stops_the_app_with_a_clear_message(tmp_path: Path) -> None:
    # CDK_CONTEXT_JSON is how the CDK CLI hands `-c key=value` to the app.
    context = {"map_max_concurrency": 0, "regions": "us-east-1,xx-nowhere-1"}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "app.py")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Invalid CDK context" in result.stderr
    assert "map_max_concurrency" in result.stderr
    assert "xx-nowhere-1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir()), "nothing is synthesized from a bad configuration"
