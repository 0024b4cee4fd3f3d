"""One simulated book shared by the servicing tests that need a realistic portfolio."""

from __future__ import annotations

import pytest

from creditfactory.data import Portfolio, SimulationConfig, simulate


@pytest.fixture(scope="session")
def twin() -> Portfolio:
    """20,000 applications, seed 11: about 5,900 loans and 39,000 performance rows."""
    return simulate(SimulationConfig(n_applications=20_000, seed=11))
