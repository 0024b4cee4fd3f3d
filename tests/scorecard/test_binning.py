"""Binning: tables, solvers, editing; WOE/IV cross-checked against optbinning."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from optbinning import OptimalBinning

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.scorecard import (
    Binner,
    BinningConstraints,
    BinningTable,
    available_binners,
    bin_feature,
    get_binner,
    register_binner,
)


@pytest.mark.filterwarnings("ignore:Setting an item of incompatible dtype")  # optbinning's build()
def test_woe_iv_match_optbinning_table(apps):
    X, y = apps
    t = bin_feature(X["monthly_income"], y, name="monthly_income")
    ob = OptimalBinning(
        dtype="numerical", user_splits=list(t.splits), user_splits_fixed=[True] * len(t.splits)
    )
    ob.fit(X["monthly_income"].to_numpy(), y.to_numpy())
    ref = ob.binning_table.build()
    n = t.n_regular
    np.testing.assert_array_equal(ref["Non-event"].iloc[:n].to_numpy(int), t.n_good[:n])
    np.testing.assert_array_equal(ref["Event"].iloc[:n].to_numpy(int), t.n_bad[:n])
    np.testing.assert_allclose(ref["WoE"].iloc[:n].to_numpy(float), t.woe[:n], atol=1e-9)
    assert float(ref.loc["Totals", "IV"]) == pytest.approx(t.iv, abs=1e-9)


def test_same_splits_as_optbinning_with_same_constraints(apps):
    X, y = apps
    c = BinningConstraints(monotonic_trend="descending", max_n_bins=5, min_bin_share=0.05)
    t = bin_feature(
        X["monthly_income"], y, name="monthly_income", constraints=c, solver="optbinning"
    )
    ob = OptimalBinning(
        dtype="numerical", monotonic_trend="descending", max_n_bins=5, min_bin_size=0.05
    )
    ob.fit(X["monthly_income"].to_numpy(), y.to_numpy())
    np.testing.assert_allclose(t.splits, ob.splits)
    assert t.trend() == "descending"
    assert 2 <= t.n_regular <= 5
    assert (t.count[: t.n_regular] / t.count[: t.n_regular].sum() >= 0.05 - 1e-9).all()


def test_missing_and_special_values_get_their_own_bins(apps):
    X, y = apps
    t = bin_feature(X["inquiries_3m"], y, name="inquiries_3m", special_codes=[-9])
    labels = t.labels()
    assert labels[-2:] == ["special -9", "missing"]
    assert t.count[-2] == (X["inquiries_3m"] == -9).sum()
    assert t.count[-1] == 0
    assert t.woe[-1] == 0.0  # empty bin is neutral
    u = bin_feature(X["utilisation"], y, name="utilisation")
    assert u.count[-1] == X["utilisation"].isna().sum()
    assert t.count.sum() == len(X)


def test_trend_options_are_honoured(apps):
    X, y = apps
    asc = bin_feature(X["utilisation"], y, name="u", constraints=BinningConstraints("ascending"))
    assert asc.trend() == "ascending"
    with pytest.raises(ConfigError, match="monotonic_trend"):
        BinningConstraints(monotonic_trend="sideways")
    with pytest.raises(ConfigError, match="min_bin_share"):
        BinningConstraints(min_bin_share=0.7)


def test_max_bins(apps):
    X, y = apps
    t = bin_feature(X["age"], y, name="age", constraints=BinningConstraints(max_n_bins=3))
    assert t.n_regular <= 3


def test_categorical_binning_and_unseen_categories(apps):
    X, y = apps
    t = bin_feature(X["channel"], y, name="channel")
    assert t.kind == "categorical"
    cats = sorted(c for g in t.groups for c in g)
    assert cats == sorted(X["channel"].unique())
    idx = t.bin_index(np.array(["education", "martian", None], dtype=object))
    assert idx[1] == t.missing_bin
    assert idx[2] == t.missing_bin
    h = bin_feature(X["housing"], y, name="housing")
    assert h.count[-1] == X["housing"].isna().sum()


def test_text_in_numeric_column_is_named():
    x = pd.Series(["1.5", "2", "3", "abc"] + ["4"] * 40, dtype=object)
    y = np.r_[[0, 1] * 22]
    with pytest.raises(DataError, match=r"column 'amount'.*'abc'"):
        bin_feature(x, y, name="amount")
    t = bin_feature(np.arange(44.0), y, name="amount")
    with pytest.raises(DataError, match="column 'amount' is numeric but holds non-numeric"):
        t.bin_index(np.array(["7", "oops"], dtype=object))


def test_merge_split_group_recompute(apps):
    X, y = apps
    t = bin_feature(X["monthly_income"], y, name="monthly_income")
    m = t.merge(0, 1)
    assert m.n_regular == t.n_regular - 1
    assert m.count.sum() == t.count.sum()
    recount = BinningTable.from_data(
        "monthly_income", "numerical", X["monthly_income"].to_numpy(), y.to_numpy(), splits=m.splits
    )
    assert recount.n_good == m.n_good
    assert recount.n_bad == m.n_bad
    s = m.split([5000.0], X["monthly_income"], y)
    assert 5000.0 in s.splits
    assert s.n_regular == m.n_regular + 1
    with pytest.raises(ConfigError, match="cannot merge"):
        t.merge(0, 99)
    c = bin_feature(X["channel"], y, name="channel")
    g = c.group(["branch", "app"])
    assert ("branch", "app") in g.groups
    g2 = c.group(["branch", "app"], X["channel"], y)
    assert g2.n_good == g.n_good
    assert g2.n_bad == g.n_bad
    assert g.iv == pytest.approx(g2.iv)
    with pytest.raises(ConfigError, match="unknown category 'mars'"):
        c.group(["mars"])


def test_render_export_plot_roundtrip(apps, tmp_path):
    X, y = apps
    t = bin_feature(X["utilisation"], y, name="utilisation")
    df = t.to_frame()
    assert df["bin"].iloc[-1] == "Totals"
    assert df["iv"].iloc[-1] == pytest.approx(t.iv)
    assert df["share"].iloc[:-1].sum() == pytest.approx(1.0)
    t.to_csv(tmp_path / "t.csv")
    assert pd.read_csv(tmp_path / "t.csv")["count"].iloc[-1] == len(X)
    back = BinningTable.from_dict(json.loads(t.to_json()))
    assert back == t
    fig = t.plot()
    assert len(fig.data) == 2
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(t)
    assert "utilisation" in console.export_text()


def test_solver_registry():
    assert "optbinning" in available_binners()
    assert isinstance(get_binner("optbinning"), Binner)
    with pytest.raises(ConfigError, match="not registered"):
        get_binner("nope")

    class Halves:
        def fit_numeric(self, x, y, constraints):
            return [float(np.median(x))]

        def fit_categorical(self, x, y, constraints):
            return [[c] for c in np.unique(x)]

    register_binner("halves", Halves)
    t = bin_feature(np.arange(100.0), np.r_[[0] * 50, [1] * 50], name="x", solver="halves")
    assert t.splits == (49.5,)
    assert t.bad_rate[:2].tolist() == [0.0, 1.0]


def test_a_solver_cannot_alter_the_callers_column():
    # a column with nothing missing reaches the solver without a copy: as a read-only view
    class Sorter:
        def fit_numeric(self, x, y, constraints):
            x.sort()  # a careless solver sorting in place
            return [0.5]

        def fit_categorical(self, x, y, constraints):
            return [[c] for c in np.unique(x)]

    register_binner("sorter", Sorter)
    x = np.random.default_rng(0).random(200)
    before = x.copy()
    with pytest.raises(ValueError, match="read-only"):
        bin_feature(x, np.r_[[0] * 100, [1] * 100], name="x", solver="sorter")
    np.testing.assert_array_equal(x, before)


def test_weights_equal_duplicated_rows(apps):
    X, y = apps
    x = X["utilisation"].to_numpy()[:1000]
    yy = y.to_numpy()[:1000]
    w = np.r_[np.full(500, 2.0), np.ones(500)]
    weighted = BinningTable.from_data("u", "numerical", x, yy, splits=[0.3, 0.8], sample_weight=w)
    dup = BinningTable.from_data(
        "u", "numerical", np.r_[x[:500], x], np.r_[yy[:500], yy], splits=[0.3, 0.8]
    )
    assert weighted.n_good == dup.n_good
    assert weighted.n_bad == dup.n_bad
    half = BinningTable.from_data("u", "numerical", x, yy, splits=[0.3], sample_weight=w / 4)
    assert any(isinstance(v, float) for v in half.n_good)
    assert half.woe == pytest.approx(
        BinningTable.from_data("u", "numerical", x, yy, splits=[0.3], sample_weight=w).woe
    )


@pytest.mark.parametrize("feature", ["monthly_income", "age", "utilisation", "channel"])
@pytest.mark.parametrize("trend", ["auto", "ascending", "descending"])
def test_dp_solver_reaches_optbinning_iv(apps, feature, trend):
    X, y = apps
    c = BinningConstraints(monotonic_trend=trend, max_n_bins=5, min_bin_share=0.05)
    dp = bin_feature(X[feature], y, name=feature, constraints=c, solver="dp")
    ob = bin_feature(X[feature], y, name=feature, constraints=c, solver="optbinning")
    assert dp.iv >= ob.iv - 1e-9
    shares = dp.count[: dp.n_regular] / dp.count[: dp.n_regular].sum()
    assert (shares >= 0.05 - 1e-9).all()
    assert dp.n_regular <= 5
    if trend != "auto" and dp.kind == "numerical":
        assert dp.trend() in {trend, "flat"}


def test_dp_partition_is_exact_against_brute_force():
    import itertools

    from creditfactory.scorecard import optimal_partition

    def iv_fn(gg: np.ndarray, bb: np.ndarray) -> float:
        # IV written here, not the module's: sum of (%good - %bad) * ln(%good / %bad); the
        # counts drawn below are all positive, so no smoothing is involved
        pg, pb = gg / gg.sum(), bb / bb.sum()
        return float(np.sum((pg - pb) * np.log(pg / pb)))

    rng = np.random.default_rng(3)
    for _ in range(25):
        P = int(rng.integers(3, 8))
        g = rng.integers(20, 200, P).astype(float)
        b = rng.integers(1, 40, P).astype(float)
        c = BinningConstraints(max_n_bins=int(rng.integers(2, 5)), min_bin_share=0.1)
        for direction in (1, -1, 0):
            best = -np.inf
            for k in range(0, c.max_n_bins):
                for cuts in itertools.combinations(range(1, P), k):
                    bounds = [0, *cuts, P]
                    gg = np.array([g[s:e].sum() for s, e in itertools.pairwise(bounds)])
                    bb = np.array([b[s:e].sum() for s, e in itertools.pairwise(bounds)])
                    if ((gg + bb) < 0.1 * (g.sum() + b.sum())).any():
                        continue
                    r = bb / (gg + bb)
                    if direction and not np.all(np.diff(r) * direction >= 0):
                        continue
                    best = max(best, iv_fn(gg, bb))
            _, value = optimal_partition(g, b, c, direction)
            assert value == pytest.approx(best), (P, direction)


def _partition_iv(g: np.ndarray, b: np.ndarray, bounds: list[int]):
    """IV (smoothed as the solver smooths an empty side) and bad rates of a partition of the
    pre-bins, or None when a bin holds under 5 % of the rows."""
    import itertools

    G, B = g.sum(), b.sum()
    gg = np.array([g[s:e].sum() for s, e in itertools.pairwise(bounds)])
    bb = np.array([b[s:e].sum() for s, e in itertools.pairwise(bounds)])
    if ((gg + bb) < 0.05 * (G + B) - 1e-9).any():
        return None
    deg = (gg == 0) | (bb == 0)
    pg = np.where(deg, gg + 0.5, gg) / G
    pb = np.where(deg, bb + 0.5, bb) / B
    return float(np.sum((gg / G - bb / B) * np.log(pg / pb))), bb / (gg + bb)


def test_dp_partition_cuts_reach_the_brute_force_optimum():
    # the cuts returned (not only the value) are an optimal feasible partition, on pre-bin
    # counts with zero goods or bads in places and up to 10 pre-bins
    import functools
    import itertools

    from creditfactory.scorecard import optimal_partition

    rng = np.random.default_rng(11)
    for _ in range(30):
        P = int(rng.integers(4, 11))
        g = rng.integers(0, 150, P).astype(float) + 1
        b = rng.integers(0, 30, P).astype(float)
        c = BinningConstraints(max_n_bins=int(rng.integers(2, 6)), min_bin_share=0.05)
        iv_of = functools.partial(_partition_iv, g, b)
        for direction in (1, -1, 0):
            best = -np.inf
            for k in range(1, c.max_n_bins):
                for cuts in itertools.combinations(range(1, P), k):
                    got = iv_of([0, *cuts, P])
                    if got is None or (direction and not np.all(np.diff(got[1]) * direction >= 0)):
                        continue
                    best = max(best, got[0])
            cuts, value = optimal_partition(g, b, c, direction)
            if not np.isfinite(best):
                assert cuts == []
                continue
            assert value == pytest.approx(best)
            got = iv_of([0, *cuts, P])
            assert got is not None
            assert got[0] == pytest.approx(best), (P, direction, cuts)
            assert not direction or np.all(np.diff(got[1]) * direction >= 0)


@pytest.mark.parametrize("trend", ["peak", "valley", "none"])
def test_other_trends_with_the_dp_solver(trend):
    rng = np.random.default_rng(2)
    x = rng.uniform(-3, 3, 4_000)
    logit = -2 - np.abs(x) if trend == "peak" else -2 + np.abs(x)  # peaked or U-shaped risk
    y = (rng.random(4_000) < 1 / (1 + np.exp(-logit))).astype(int)
    t = bin_feature(x, y, name="x", constraints=BinningConstraints(monotonic_trend=trend))
    r = t.bad_rate[: t.n_regular]
    assert t.n_regular >= 3
    if trend == "peak":
        assert r.argmax() not in (0, len(r) - 1)
    if trend == "valley":
        assert r.argmin() not in (0, len(r) - 1)


def test_distinct_values_from_sorts_match_np_unique():
    # the unweighted path (two sorts and run lengths) and the weighted one (np.unique) agree
    from creditfactory.scorecard._dp_binner import _distinct

    rng = np.random.default_rng(4)
    x = np.r_[rng.integers(-3, 4, 500).astype(float), -0.0, 0.0, np.inf, -np.inf, 2.5, 2.5]
    y = (rng.random(x.size) < 0.3).astype(float)
    u, g, b = _distinct(x, y, None)
    uw, gw, bw = _distinct(x, y, np.ones(x.size))
    np.testing.assert_array_equal(u, uw)
    np.testing.assert_array_equal(g, gw)
    np.testing.assert_array_equal(b, bw)
    ref_u, ref_n = np.unique(x, return_counts=True)
    np.testing.assert_array_equal(u, ref_u)
    np.testing.assert_array_equal(g + b, ref_n)
    assert b.sum() == y.sum()


def _unimodal(r: np.ndarray, shape: int) -> bool:
    """Bad rates rising then falling (shape +1) or falling then rising (-1), ties allowed."""
    d = np.diff(r) * shape
    turned = np.flatnonzero(d < 0)
    return turned.size == 0 or bool(np.all(d[turned[0] :] <= 0))


def test_unimodal_partition_reaches_the_brute_force_optimum():
    import functools
    import itertools

    from creditfactory.scorecard._dp_binner import optimal_partition, unimodal_partition

    rng = np.random.default_rng(5)
    for _ in range(30):
        P = int(rng.integers(4, 10))
        g = rng.integers(0, 150, P).astype(float) + 1
        b = rng.integers(0, 30, P).astype(float)
        c = BinningConstraints(max_n_bins=int(rng.integers(2, 6)), min_bin_share=0.05)
        iv_of = functools.partial(_partition_iv, g, b)
        for shape in (1, -1):
            best = -np.inf
            for k in range(1, c.max_n_bins):
                for cuts in itertools.combinations(range(1, P), k):
                    got = iv_of([0, *cuts, P])
                    if got is not None and _unimodal(got[1], shape):
                        best = max(best, got[0])
            cuts, value, mono, mono_cuts = unimodal_partition(g, b, c, shape)
            assert mono == pytest.approx(optimal_partition(g, b, c, shape)[1])
            assert mono_cuts == optimal_partition(g, b, c, shape)[0]
            if not np.isfinite(best):
                assert cuts == []
                continue
            assert value == pytest.approx(best), (P, shape)
            got = iv_of([0, *cuts, P])
            assert got is not None
            assert got[0] == pytest.approx(best)
            assert _unimodal(got[1], shape), (P, shape, cuts)


def test_auto_trend_takes_a_valley_only_when_the_book_shows_it():
    # a U-shaped risk on 40,000 rows gets a valley under "auto"; pure noise on 2,000 rows
    # stays monotone (the gain of a turn is not significant there)
    rng = np.random.default_rng(8)
    x = rng.uniform(18, 70, 40_000)
    y = (rng.random(x.size) < 1 / (1 + np.exp(3 - 0.002 * (x - 42) ** 2))).astype(int)
    t = bin_feature(x, y, name="age")
    r = t.bad_rate[: t.n_regular]
    assert 0 < r.argmin() < len(r) - 1
    assert _unimodal(r, -1)
    for seed in range(5):
        noise = np.random.default_rng(seed)
        xs, ys = noise.normal(size=2_000), (noise.random(2_000) < 0.1).astype(int)
        ts = bin_feature(xs, ys, name="noise")
        rs = ts.bad_rate[: ts.n_regular]
        assert np.all(np.diff(rs) >= 0) or np.all(np.diff(rs) <= 0), seed
