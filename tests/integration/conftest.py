"""One emulator (moto on loopback) for the whole integration session; tests that need a clean estate reset it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api_discovery.local.emulator import Emulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """The running emulator, shared: its state is whatever earlier tests left. Stopped at session end."""
    with Emulator() as running:
        yield running


@pytest.fixture
def fresh_emulator(emulator: Emulator) -> Emulator:
    """The shared emulator with no AWS resources, no access rules and an empty request log."""
    emulator.reset()
    return emulator
