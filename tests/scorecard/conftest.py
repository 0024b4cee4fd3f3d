"""Small synthetic application data shared by the scorecard tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_applications(n: int = 4_000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Raw characteristics (numeric, text, missing, special -9) and a 0/1 bad flag."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.5, 0.5, n)
    age = rng.integers(18, 60, n).astype(float)
    util = rng.uniform(0, 1.3, n)
    util[rng.random(n) < 0.2] = np.nan  # thin file
    inquiries = rng.poisson(1.5, n).astype(float)
    inquiries[rng.random(n) < 0.05] = -9  # special: bureau not reached
    channel = rng.choice(["branch", "app", "education", "beauty", "ecommerce"], n)
    housing = rng.choice(["own", "rent", "family"], n).astype(object)
    housing[rng.random(n) < 0.03] = None
    noise = rng.normal(size=n)
    logit = (
        -2.4
        - 0.8 * (np.log(income) - 8.5)
        - 0.03 * (age - 35)
        + 1.2 * np.nan_to_num(util, nan=0.6)
        + 0.25 * np.where(inquiries < 0, 1, inquiries)
        + np.select([channel == "education", channel == "beauty"], [0.7, 0.5], 0.0)
        + 0.3 * (housing == "rent")
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame(
        {
            "monthly_income": income,
            "age": age,
            "utilisation": util,
            "inquiries_3m": inquiries,
            "channel": channel,
            "housing": housing,
            "noise": noise,
        }
    )
    return X, pd.Series(y, name="bad")


@pytest.fixture(scope="session")
def apps() -> tuple[pd.DataFrame, pd.Series]:
    return make_applications()
