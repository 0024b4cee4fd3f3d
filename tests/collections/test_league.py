"""The league table: risk-adjusted, so that harder accounts do not sink a collector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from statsmodels.stats.proportion import proportion_confint

from creditfactory.collections import PERSONAL, league_table, wilson
from creditfactory.data import Portfolio
from creditfactory.exceptions import DataError


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def test_a_collector_given_harder_accounts_is_not_ranked_lower() -> None:
    rng = np.random.default_rng(12)
    n = 3000
    # "hard" gets accounts that cure a third of the time, "easy" two thirds; "hard" is the
    # better collector (+0.2 log-odds), "easy" the weaker (-0.2)
    p_hard = rng.uniform(0.2, 0.45, n)
    p_easy = rng.uniform(0.55, 0.8, n)
    rows = []
    for who, p, skill in (("hard", p_hard, 0.2), ("easy", p_easy, -0.2)):
        true = 1 / (1 + np.exp(-(_logit(p) + skill)))
        rows.append(
            pd.DataFrame(
                {"collector_id": who, "p_cure": p, "cured": (rng.random(n) < true).astype(int),
                 "taken_action": "agent_call"}
            )
        )  # fmt: skip
    table = league_table(pd.concat(rows, ignore_index=True))
    raw = table.set_index("collector_id")["cure_rate"]
    assert raw["hard"] < raw["easy"]  # the raw rate punishes the hard book ...
    ranks = table.set_index("collector_id")["rank"]
    assert ranks["hard"] == 1  # ... the risk-adjusted rank does not
    hard = table.set_index("collector_id").loc["hard"]
    assert hard["vs_expected_low"] > 0  # and the interval says it is no accident


def test_equal_collectors_with_unequal_books_are_within_each_others_intervals() -> None:
    rng = np.random.default_rng(3)
    frames = []
    for who, lo, hi in (("a", 0.1, 0.3), ("b", 0.4, 0.6), ("c", 0.7, 0.9)):
        p = rng.uniform(lo, hi, 800)
        frames.append(
            pd.DataFrame({"collector_id": who, "p_cure": p,
                          "cured": (rng.random(800) < p).astype(int)})
        )  # fmt: skip
    table = league_table(pd.concat(frames, ignore_index=True), pool=None)
    assert (table["vs_expected_low"] < 0).all()
    assert (table["vs_expected_high"] > 0).all()


def test_wilson_matches_statsmodels() -> None:
    k, n = np.array([0, 3, 40, 99]), np.array([10, 10, 50, 100])
    lo, hi = wilson(k, n, 0.9)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=0.1, method="wilson")
    assert np.allclose(lo, ref_lo)
    assert np.allclose(hi, ref_hi)


def test_on_the_twin_the_adjusted_rank_follows_true_skill(
    book: Portfolio, history: pd.DataFrame
) -> None:
    worked = history[history["taken_action"].astype(str).isin(PERSONAL)]
    table = league_table(worked)
    calls = table[table["pool"] == "agent_call"]
    skill = book.meta["collector_skill"]["call"]
    true = [skill[int(c.split("-")[1]) - 1] for c in calls["collector_id"]]
    rho = spearmanr(true, calls["cure_rate_vs_expected"]).statistic
    assert rho > 0.3
    assert set(table.columns) >= {"contact_rate", "ptp_rate", "kept_rate", "amount_recovered"}
    assert (table["contact_rate"].between(0, 1)).all()


def test_bad_history() -> None:
    frame = pd.DataFrame({"collector_id": ["a"], "cured": [1], "p_cure": [1.5]})
    with pytest.raises(DataError, match="p_cure must be a probability"):
        league_table(frame, pool=None)
    with pytest.raises(DataError, match=r"missing column\(s\) \['taken_action'\]"):
        league_table(frame.assign(p_cure=0.5))
    with pytest.raises(DataError, match="cured must be 0 or 1"):
        league_table(frame.assign(p_cure=0.5, cured=2), pool=None)
