"""A small simulated book shared by the fraud tests (simulated once per session)."""

from __future__ import annotations

import pytest

from creditfactory.data import Portfolio, SimulationConfig, simulate


@pytest.fixture(scope="session")
def book() -> Portfolio:
    return simulate(SimulationConfig(n_applications=20_000, seed=5))
