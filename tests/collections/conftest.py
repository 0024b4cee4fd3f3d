"""Small simulated books shared by the collections tests (simulated once per session)."""

from __future__ import annotations

import pytest

from creditfactory.data import Portfolio, SimulationConfig, simulate


@pytest.fixture(scope="session")
def book() -> Portfolio:
    return simulate(SimulationConfig(n_applications=25_000, seed=21))
