"""asl-validator (the project's own, from package.json) accepts the synthesized state machine definition."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.lambda_factory import PROJECT_ROOT
from tests.workflow.definition import definition

ASL_VALIDATOR = PROJECT_ROOT / "node_modules" / ".bin" / "asl-validator"


def validate(states: dict[str, Any], folder: Path) -> subprocess.CompletedProcess[str]:
    if not ASL_VALIDATOR.exists():
        pytest.fail("node_modules/.bin/asl-validator is missing: run `npm ci` (make test does)")
    path = folder / "definition.asl.json"
    path.write_text(json.dumps(states, indent=2))
    return subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_asl_validator_accepts_the_synthesized_definition(discovery_json: dict[str, Any], tmp_path: Path) -> None:
    result = validate(definition(discovery_json), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout


def test_asl_validator_rejects_a_definition_with_a_dangling_transition(
    discovery_json: dict[str, Any], tmp_path: Path
) -> None:
    broken = definition(discovery_json)
    broken["States"]["Plan"]["Next"] = "NoSuchState"
    result = validate(broken, tmp_path)
    assert result.returncode != 0
