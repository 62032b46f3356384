"""The synthesized template, shared with the infra tests (one synthesis per test process)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.synth import synthesized


@pytest.fixture(scope="session")
def discovery_json() -> dict[str, Any]:
    return synthesized().discovery_json
