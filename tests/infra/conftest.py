"""The synthesized templates, built once per session (synthesis takes seconds)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.customer_access_stack import render_customer_template
from tests.infra.synth import Synthesized, synthesized

VENDOR = "210987654321"
EXTERNAL_ID = "c0ffee00-1234-4abc-8def-0123456789ab"


@pytest.fixture(scope="session")
def synth() -> Synthesized:
    return synthesized()


@pytest.fixture(scope="session")
def discovery(synth: Synthesized) -> Template:
    return synth.discovery


@pytest.fixture(scope="session")
def discovery_json(synth: Synthesized) -> dict[str, Any]:
    return synth.discovery_json


@pytest.fixture(scope="session")
def customer(synth: Synthesized) -> Template:
    return synth.customer


@pytest.fixture(scope="session")
def customer_json(synth: Synthesized) -> dict[str, Any]:
    return synth.customer_json


@pytest.fixture(scope="session")
def rendered() -> dict[str, Any]:
    """The customer template as the CLI prints it for one vendor and one customer."""
    parsed: dict[str, Any] = json.loads(render_customer_template(VENDOR, EXTERNAL_ID, forward_change_events=True))
    return parsed
