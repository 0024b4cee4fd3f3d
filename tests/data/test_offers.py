"""``offer_outcomes``: the twin's oracle for any offer agrees with what the simulator realised,
responds to price, amount and term the documented way, and refuses bad offers by column."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from creditfactory.data import Portfolio, SimulationConfig, offer_outcomes, simulate
from creditfactory.exceptions import DataError


@pytest.fixture(scope="module")
def other_book() -> Portfolio:
    return simulate(SimulationConfig(n_applications=20_000, seed=5))


def _incumbent_offers(pf: Portfolio, rows: pd.Series) -> pd.DataFrame:
    d = pf.incumbent_decisions[rows]
    return pd.DataFrame(
        {
            "application_id": d["application_id"],
            "amount": d["amount_approved"],
            "apr": d["apr"],
            "term": d["term"],
        }
    ).reset_index(drop=True)


def _within(realised: np.ndarray, p: np.ndarray, k: float = 4.0) -> tuple[float, float, float]:
    """Realised share, mean probability, and k standard errors of the realised share (a sum of
    independent Bernoullis with these probabilities)."""
    se = math.sqrt(float((p * (1 - p)).sum())) / len(p)
    return float(realised.mean()), float(p.mean()), k * se


@pytest.mark.parametrize("which", ["book", "other_book"])
def test_oracle_matches_the_realised_bad_rate_and_take_up(which: str, request) -> None:
    pf: Portfolio = request.getfixturevalue(which)
    decisions = pf.incumbent_decisions
    approved = decisions["decision"] == "approve"
    out = offer_outcomes(pf, _incumbent_offers(pf, approved))
    taken = decisions.loc[approved, "taken_up"].astype(bool).to_numpy()
    got, expected, tol = _within(taken, out["take_up"].to_numpy())
    assert got == pytest.approx(expected, abs=tol)
    assert 0.35 < got < 0.8  # drawdown of approved offers in online lending

    booked = pf.loans[["application_id"]].merge(pf.truth[["application_id", "bad"]])
    offers = _incumbent_offers(pf, decisions["application_id"].isin(pf.loans["application_id"]))
    pd_12m = offer_outcomes(pf, offers).set_index("application_id")["pd_12m"]
    got, expected, tol = _within(
        booked["bad"].to_numpy(), pd_12m.loc[booked["application_id"]].to_numpy()
    )
    assert got == pytest.approx(expected, abs=tol)
    # and on the loans seasoned 12 months, what the lender observed in performance
    seen = pf.observed_outcomes(months=12)
    got, expected, tol = _within(
        seen["bad"].to_numpy(), pd_12m.loc[seen["application_id"]].to_numpy()
    )
    assert got == pytest.approx(expected, abs=tol)


def test_oracle_reproduces_the_truth_table(book: Portfolio) -> None:
    decisions = book.incumbent_decisions
    approved = decisions["decision"] == "approve"
    out = offer_outcomes(book, _incumbent_offers(book, approved))
    truth = book.truth[approved.to_numpy()]
    np.testing.assert_allclose(out["pd_12m"], truth["pd_offer"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out["take_up"], truth["take_up_prob"], rtol=1e-12)
    # the reference offer (requested amount and term at 18%) gives pd_true
    apps = book.applications
    ref = pd.DataFrame(
        {
            "application_id": apps["application_id"],
            "amount": apps["amount_requested"],
            "apr": 0.18,
            "term": apps["term_requested"],
        }
    )
    np.testing.assert_allclose(
        offer_outcomes(book, ref)["pd_12m"], book.truth["pd_true"], rtol=1e-9, atol=1e-12
    )


def _grid(pf: Portfolio, n: int = 3_000, **offer: object) -> pd.DataFrame:
    apps = pf.applications[~pf.truth["is_fraud"]].head(n)
    frame = pd.DataFrame(
        {
            "application_id": apps["application_id"].to_numpy(),
            "amount": apps["amount_requested"].to_numpy(),
            "apr": 0.15,
            "term": apps["term_requested"].to_numpy(),
        }
    )
    for k, v in offer.items():
        frame[k] = v(frame) if callable(v) else v
    return offer_outcomes(pf, frame)


def test_price_amount_and_term_change_default(book: Portfolio) -> None:
    cheap, dear = _grid(book, apr=0.08), _grid(book, apr=0.24)
    assert (dear["pd_12m"] > cheap["pd_12m"]).all()  # a dearer loan is a heavier payment
    double = _grid(book, amount=lambda f: 2 * f["amount"])
    base = _grid(book)
    assert (double["pd_12m"] > base["pd_12m"]).all()
    # a longer term lowers the instalment but lengthens exposure: PD over 12 months changes
    longer = _grid(book, term=36)
    assert not np.allclose(longer["pd_12m"], base["pd_12m"])


def test_take_up_falls_with_price_and_overpricing_loses_the_good(book: Portfolio) -> None:
    prices = [0.06, 0.12, 0.18, 0.24, 0.30]
    outs = [_grid(book, apr=p) for p in prices]
    take = [o["take_up"].mean() for o in outs]
    assert all(a > b for a, b in itertools.pairwise(take))
    # adverse selection: the takers' PD (take-up weighted) rises above the offered pool's
    # own PD, and more so the higher the price
    gap = [float(np.average(o["pd_12m"], weights=o["take_up"]) / o["pd_12m"].mean()) for o in outs]
    assert gap[0] > 1.0
    assert all(a < b for a, b in itertools.pairwise(gap))
    # the safest fifth of the pool declines overpricing much more than the riskiest fifth
    o = outs[-1]
    q = o["pd_12m"].quantile([0.2, 0.8])
    assert o.loc[o["pd_12m"] <= q[0.2], "take_up"].mean() < 0.6 * (
        o.loc[o["pd_12m"] >= q[0.8], "take_up"].mean()
    )


def test_prime_applicants_are_the_most_price_sensitive(book: Portfolio) -> None:
    low, high = _grid(book, apr=0.12), _grid(book, apr=0.18)
    drop = 1.0 - high["take_up"] / low["take_up"]  # share of takers lost by +6 points
    q = low["pd_12m"].quantile([0.2, 0.8])
    safest, riskiest = low["pd_12m"] <= q[0.2], low["pd_12m"] >= q[0.8]
    assert drop[safest].mean() > 1.5 * drop[riskiest].mean()


def test_a_cut_limit_or_another_term_is_taken_up_less(book: Portfolio) -> None:
    base = _grid(book)
    cut = _grid(book, amount=lambda f: 0.5 * f["amount"])
    other = _grid(book, term=lambda f: np.where(f["term"] == 36, 3, 36))
    assert (cut["take_up"] < base["take_up"]).all()
    assert (other["take_up"] < base["take_up"]).all()


def test_order_and_repeats_are_kept(book: Portfolio) -> None:
    ids = book.applications["application_id"].iloc[[5, 3, 5, 0]].to_numpy()
    offers = pd.DataFrame(
        {"application_id": ids, "amount": [3e3, 3e3, 9e3, 3e3], "apr": 0.2, "term": 12}
    )
    out = offer_outcomes(book, offers)
    assert out["application_id"].tolist() == ids.tolist()
    assert out["pd_12m"].iloc[0] < out["pd_12m"].iloc[2]


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"application_id": "A999999999"}, "application_id"),
        ({"amount": -100.0}, "amount"),
        ({"amount": np.nan}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"apr": 1.5}, "apr"),
        ({"apr": -0.01}, "apr"),
        ({"term": 0}, "term"),
        ({"term": 12.0}, "term"),
        ({"term": "12"}, "term"),
    ],
)
def test_bad_offers_name_the_column(book: Portfolio, change: dict, column: str) -> None:
    offers = pd.DataFrame(
        {
            "application_id": book.applications["application_id"].iloc[:3].to_numpy(),
            "amount": 5_000.0,
            "apr": 0.18,
            "term": 12,
        }
    )
    for k, v in change.items():
        offers[k] = offers[k].astype(object) if isinstance(v, str) else offers[k]
        offers.loc[1, k] = v
        if k == "term" and isinstance(v, float):
            offers[k] = offers[k].astype(float)
    with pytest.raises(DataError, match=f"'{column}'"):
        offer_outcomes(book, offers)


def test_a_missing_column_is_named(book: Portfolio) -> None:
    offers = pd.DataFrame({"application_id": ["A000000001"], "amount": [1e3], "apr": [0.1]})
    with pytest.raises(DataError, match="'term'"):
        offer_outcomes(book, offers)
