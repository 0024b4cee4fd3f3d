"""PSI and CSI: known values, and cross-checked against optbinning's divergence on the same bins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from optbinning.binning.metrics import jeffrey

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.monitoring import (
    STABILITY_BANDS,
    psi,
    psi_from_counts,
    stability_band,
    stability_by_month,
)


def test_psi_known_values():
    assert psi_from_counts([50, 50], [40, 60]) == pytest.approx(
        0.1 * np.log(0.6 / 0.5) - 0.1 * np.log(0.4 / 0.5)
    )
    rng = np.random.default_rng(0)
    a = rng.normal(size=20_000)
    assert psi(a, rng.normal(size=20_000)) < 0.01
    assert psi(a, rng.normal(loc=0.5, size=20_000)) > 0.2
    # missing values are a band of their own
    b = a.copy()
    b[:4_000] = np.nan
    assert psi(a, b) > 0.5
    with pytest.raises(DataError, match="same length"):
        psi_from_counts([1, 2], [1, 2, 3])
    with pytest.raises(DataError, match="non-empty"):
        psi([], [1.0])


def test_psi_matches_optbinning_on_the_same_bins():
    e = np.array([120.0, 300, 410, 170])
    a = np.array([100.0, 280, 450, 190])
    assert psi_from_counts(e, a) == pytest.approx(
        jeffrey(a / a.sum(), e / e.sum(), return_sum=True)
    )
    # psi() on raw samples: the same as optbinning's divergence over the deciles it used
    rng = np.random.default_rng(3)
    base, cur = rng.gamma(2.0, size=5_000), rng.gamma(2.3, size=4_000)
    edges = np.quantile(base, np.linspace(0, 1, 11)[1:-1])
    ce = np.bincount(np.searchsorted(edges, base, side="right"), minlength=10)
    ca = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=10)
    assert psi(base, cur) == pytest.approx(
        jeffrey(ca / ca.sum(), ce / ce.sum(), return_sum=True), rel=1e-9
    )


def test_bands_are_stable_watch_act():
    assert STABILITY_BANDS == (0.1, 0.25)
    got = [stability_band(v) for v in (0.0, 0.0999, 0.1, 0.2499, 0.25, 3.0)]
    assert got == ["stable", "stable", "watch", "watch", "act", "act"]
    assert stability_band(float("nan")) == ""
    assert stability_band(0.15, bands=(0.2, 0.3)) == "stable"
    with pytest.raises(ConfigError, match="bands"):
        stability_band(0.1, bands=(0.3, 0.2))


def test_stability_by_month_matches_optbinning_month_by_month():
    rng = np.random.default_rng(5)
    n = 3_000
    months = np.repeat(["2025-01", "2025-02", "2025-03"], n)
    shift = np.repeat([0.0, 0.0, 0.8], n)
    score_bin = np.clip((rng.normal(size=3 * n) + shift + 2.5).astype(int), 0, 4)
    char_bin = rng.integers(0, 3, size=3 * n)
    bins = pd.DataFrame({"(score)": score_bin, "age": char_bin})
    base = {"(score)": np.bincount(score_bin[:n], minlength=5), "age": [1000, 1000, 1000]}
    out = stability_by_month(months, bins, base)
    assert list(out.columns) == ["month", "variable", "n", "index", "band"]
    assert len(out) == 6
    for row in out.itertuples(index=False):
        sel = months == row.month
        b = np.asarray(base[row.variable], float)
        c = np.bincount(bins[row.variable].to_numpy()[sel], minlength=b.size)
        expected = jeffrey(c / c.sum(), b / b.sum(), return_sum=True)
        assert row.index == pytest.approx(expected, rel=1e-9)
        assert row.n == n
    score = out[out["variable"] == "(score)"].set_index("month")
    assert score.loc["2025-01", "index"] == pytest.approx(0.0, abs=1e-12)  # the baseline itself
    assert score.loc["2025-02", "band"] == "stable"
    assert score.loc["2025-03", "band"] == "act"


def test_stability_by_month_names_bad_input():
    bins = pd.DataFrame({"x": [0, 1, 2]})
    with pytest.raises(DataError, match="baseline: no counts for 'x'"):
        stability_by_month(["a", "a", "b"], bins, {})
    with pytest.raises(DataError, match=r"x: bin index outside 0\.\.1"):
        stability_by_month(["a", "a", "b"], bins, {"x": [5, 5]})
    with pytest.raises(DataError, match="months has 2 values"):
        stability_by_month(["a", "b"], bins, {"x": [1, 1, 1]})
