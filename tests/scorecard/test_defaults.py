"""Defaults that adapt to the book: the documented end points and the log-scale rule."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from tests.scorecard.conftest import make_applications

from creditfactory.exceptions import ConfigError
from creditfactory.scorecard import Scorecard, resolve_defaults
from creditfactory.scorecard._defaults import STEPWISE_MIN_BADS

AUTO = {"min_bin_n_bad": "auto", "max_iv_pvalue": "auto", "min_iv": "auto"}


@pytest.mark.parametrize(
    ("bads", "expected"),
    [
        (40, {"min_bin_n_bad": 5, "max_iv_pvalue": 0.2, "min_iv": 0.0}),
        (300, {"min_bin_n_bad": 5, "max_iv_pvalue": 0.2, "min_iv": 0.0}),
        (50_000, {"min_bin_n_bad": 20, "max_iv_pvalue": 0.001, "min_iv": 0.01}),
    ],
)
def test_end_points_are_the_documented_values(bads, expected):
    assert resolve_defaults(AUTO, bads) == expected


def test_between_the_end_points_the_rule_is_log_linear():
    # 1,000 bads: log(1000/300)/log(10000/300) of the way from 5 to 20 bads per bin
    t_bins = math.log(1000 / 300) / math.log(10_000 / 300)
    t_p = math.log(1000 / 300) / math.log(3000 / 300)  # 0.5229
    got = resolve_defaults(AUTO, 1000)
    assert got["min_bin_n_bad"] == round(5 + 15 * t_bins) == 10
    assert got["max_iv_pvalue"] == pytest.approx(
        0.2 * (0.001 / 0.2) ** t_p, rel=5e-3
    )  # 3 significant figures
    assert got["min_iv"] == 0.0  # the IV floor starts at 1,000 bads
    # more bads never relax a filter or shrink a bin's minimum
    seq = [resolve_defaults(AUTO, b) for b in np.geomspace(10, 1e6, 40)]
    for a, b in itertools.pairwise(seq):
        assert b["min_bin_n_bad"] >= a["min_bin_n_bad"]
        assert b["max_iv_pvalue"] <= a["max_iv_pvalue"]
        assert b["min_iv"] >= a["min_iv"]


@pytest.mark.parametrize(
    ("bads", "expected"),
    [(45, None), (450, None), (999, None), (1_000, "forward"), (16_000, "forward")],
)
def test_stepwise_runs_from_a_thousand_bads_on(bads, expected):
    assert STEPWISE_MIN_BADS == 1_000
    assert resolve_defaults({"selection": "auto"}, bads) == {"selection": expected}
    # a method or None given by the user is kept at any size
    for given in ("both", "backward", None):
        assert resolve_defaults({"selection": given}, bads) == {"selection": given}


def test_explicit_values_pass_through_and_other_strings_are_refused():
    assert resolve_defaults({"min_bin_n_bad": None, "max_iv_pvalue": 0.05}, 10) == {
        "min_bin_n_bad": None,
        "max_iv_pvalue": 0.05,
    }
    with pytest.raises(ConfigError, match="max_iv_pvalue: 'strict' is not a number"):
        resolve_defaults({"max_iv_pvalue": "strict"}, 10)
    with pytest.raises(ConfigError, match="min_bin_n_bad"):
        Scorecard(min_bin_n_bad="many").fit(*make_applications(n=500))
    # an unknown selection is refused on any book, small ones (no stepwise) included
    for bogus in ("Auto", "stepwise", 3):
        with pytest.raises(ConfigError, match=rf"selection: {bogus!r} is not one of"):
            resolve_defaults({"selection": bogus}, 10)
    with pytest.raises(ConfigError, match="selection: 'forwards'"):
        Scorecard(selection="forwards").fit(*make_applications(n=500))


def test_fit_reads_the_book_and_records_the_values_in_force():
    X, y = make_applications(n=600, seed=4)  # about 180 bads: a small book
    small = Scorecard().fit(X, y)
    assert small.defaults_ == {
        "min_bin_n_bad": 5,
        "max_iv_pvalue": 0.2,
        "min_iv": 0.0,
        "selection": None,
    }
    assert not any(r["step"].startswith("stepwise") for r in small.selection_report_.records)
    # the same rows with weight 40 are a book of about 7,000 bads
    big = Scorecard().fit(X, y, sample_weight=np.full(len(y), 40.0))
    assert big.defaults_ == resolve_defaults({**AUTO, "selection": "auto"}, 40.0 * y.sum())
    assert big.defaults_["selection"] == "forward"
    assert any(r["step"] == "stepwise-forward" for r in big.selection_report_.records)
    assert big.defaults_["min_bin_n_bad"] > 15
    # the bins obey the value in force: no regular bin of the small book under 5 bads
    for t in small.binning_tables_.values():
        regular = np.asarray(t.n_bad[: t.n_regular])
        assert (regular >= 5).all() or t.n_regular == 1
