"""The twin's headline figures (docs/data.md, "Defaults land in ...") at their stated values.

One small book (the session's 30,000 applications, seed 11; simulated in about a second). Each
tolerance is 4 standard errors of the figure on a book this size: binomial ``sqrt(p(1-p)/n)``
for a share, the seed-to-seed standard deviation (10 books of 30,000, seeds 20-29, measured once
and written beside the check) where the figure is not a plain share (AUCs).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from creditfactory.data import Portfolio
from creditfactory.data._risk import true_log_odds


def share_within(values: object, documented: float, k: float = 4.0) -> tuple[float, float]:
    """The realised share and its k-sigma binomial tolerance around the documented share."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), k * math.sqrt(documented * (1 - documented) / v.size)


def test_bad_rates_through_the_door_among_approved_and_declined(book: Portfolio) -> None:
    bad = book.truth["bad"].to_numpy()
    decision = book.incumbent_decisions["decision"].to_numpy()
    booked = book.incumbent_decisions["taken_up"].fillna(False).to_numpy(bool)
    for rows, documented in [  # "about 8% bad through the door (about 3.0% ..., 14% ...)"
        (slice(None), 0.08),  # n 30,000: se 0.16 points (10 books: 7.90%)
        (decision == "approve", 0.030),  # n ~16,500: se 0.13 points (10 books: 2.98%)
        (decision == "decline", 0.14),  # n ~13,500: se 0.30 points (10 books: 13.9%)
        (booked, 0.040),  # "4.0% among booked loans", n ~8,700: se 0.21 points (10 books: 4.05%)
    ]:
        got, tol = share_within(bad[rows], documented)
        assert got == pytest.approx(documented, abs=tol), (documented, got)


def test_fraud_rings_thin_file_and_approval(book: Portfolio) -> None:
    truth, apps = book.truth, book.applications
    got, tol = share_within(truth["is_fraud"], 0.03)  # "3% fraud"
    assert got == pytest.approx(0.03, abs=tol)
    ring = truth["ring_id"].notna()  # ~540 ring members: se 1.7 points
    got, tol = share_within(truth.loc[ring, "fpd"], 0.80)  # "ring FPD around 80%"
    assert got == pytest.approx(0.80, abs=tol)
    got, tol = share_within(apps["thin_file"], 0.36)  # "36% thin-file": se 0.28 points
    assert got == pytest.approx(0.36, abs=tol)
    approved = book.incumbent_decisions["decision"] == "approve"
    got, tol = share_within(approved, 0.55)  # "55% approval"
    assert got == pytest.approx(0.55, abs=tol)
    taken = book.incumbent_decisions.loc[approved, "taken_up"].astype(bool)
    # "53% of approved offers taken up": se 0.39 points (10 books: 52.9%)
    got, tol = share_within(taken, 0.53)
    assert got == pytest.approx(0.53, abs=tol)


def test_apr_range(book: Portfolio) -> None:
    apr = book.loans["apr"]
    # "APR 9.2%-24%": the lifetime model's costs keep the best loans above apr_floor (7.2%);
    # the cap is reached. 10 books of 30,000: lowest 0.0923 sd 0.0004, highest 0.2399 sd 0.0001
    assert apr.min() > book.config.apr_floor
    assert apr.min() == pytest.approx(0.092, abs=4 * 0.0004 + 0.0005)  # + rounding of 0.092
    assert apr.max() == pytest.approx(book.config.apr_cap, abs=4 * 0.0001 + 1e-4)


def test_rank_power_of_the_truth_and_of_the_observable_part(book: Portfolio) -> None:
    genuine = ~book.truth["is_fraud"].to_numpy()
    bad = book.truth["bad"].to_numpy()[genuine]
    truth_auc = roc_auc_score(bad, book.truth["pd_true"].to_numpy()[genuine])
    # "truth AUC about 0.86": 10 books of 30,000 gave 0.861 mean, sd 0.0057 -> 4 sd 0.023
    assert truth_auc == pytest.approx(0.86, abs=0.023)
    # "a perfect model of the observable data reaches about 0.76": the observable part of the
    # true log-odds (the unobservable part set to 0, declared income in place of the true);
    # 10 books: 0.757 mean, sd 0.0073 -> 4 sd 0.029
    z = true_log_odds(book.applications, np.zeros(len(book.applications)), book.config)
    observable_auc = roc_auc_score(bad, z[genuine])
    assert observable_auc == pytest.approx(0.76, abs=0.029)
    assert observable_auc < truth_auc - 0.05


def test_booked_genuine_bad_take_up_by_kind_and_median_apr(book: Portfolio) -> None:
    d = book.incumbent_decisions.merge(
        book.truth[["application_id", "bad", "is_fraud"]], on="application_id"
    )
    booked = d["taken_up"].fillna(False).to_numpy(bool)
    approved = (d["decision"] == "approve").to_numpy()
    genuine = ~d["is_fraud"].to_numpy(bool)
    # "4.0% among booked loans - 2.9% of the genuine ones": n ~8,600, se 0.18 points
    # (10 books of 30,000, seeds 20-29: 3.01%, sd 0.22)
    got, tol = share_within(d["bad"].to_numpy()[booked & genuine], 0.029)
    assert got == pytest.approx(0.029, abs=tol)
    # "fraudsters take 97% of offers": n ~110 approved fraudsters, se 1.6 points (10 books:
    # 97.4%, sd 1.2)
    got, tol = share_within(booked[approved & ~genuine], 0.97)
    assert got == pytest.approx(0.97, abs=tol)
    # "honest applicants 53%": n ~16,400, se 0.39 points (10 books: 52.6%)
    got, tol = share_within(booked[approved & genuine], 0.53)
    assert got == pytest.approx(0.53, abs=tol)
    # "APR ... median 15%": 10 books: 15.13%, sd 0.077 points -> 4 sd, + 0.5 points for the
    # rounding of "15%"
    assert float(book.loans["apr"].median()) == pytest.approx(0.15, abs=4 * 0.00077 + 0.005)
