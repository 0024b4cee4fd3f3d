"""Repayment schedules to the cent, cross-checked with numpy-financial."""

from __future__ import annotations

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditfactory.data import Portfolio, amortisation_schedule
from creditfactory.exceptions import DataError


@given(
    principal=st.integers(50_000, 50_000_000).map(lambda c: c / 100),
    apr=st.floats(0.0, 0.36),
    term=st.sampled_from([1, 3, 6, 12, 24, 36, 60]),
    method=st.sampled_from(["equal_instalment", "equal_principal", "interest_only"]),
)
@settings(max_examples=200, deadline=None)
def test_schedule_sums_to_principal_plus_interest_to_the_cent(principal, apr, term, method):
    s = amortisation_schedule(principal, apr, term, method)
    cents = (s[["payment", "principal", "interest"]] * 100).round().astype(np.int64)
    assert cents["principal"].sum() == round(principal * 100)
    assert cents["payment"].sum() == cents["principal"].sum() + cents["interest"].sum()
    assert (cents["payment"] == cents["principal"] + cents["interest"]).all()
    assert s["balance_after"].iloc[-1] == 0
    assert (s["principal"] >= 0).all()


@given(
    principal=st.integers(100_000, 20_000_000).map(lambda c: c / 100),
    apr=st.floats(0.001, 0.36),
    term=st.sampled_from([3, 6, 12, 24, 36]),
)
@settings(max_examples=200, deadline=None)
def test_equal_instalment_matches_numpy_financial(principal, apr, term):
    s = amortisation_schedule(principal, apr, term)
    rate = apr / 12
    pmt = -npf.pmt(rate, term, principal)
    # every instalment but the last is the annuity rounded to the cent
    assert np.abs(s["payment"].iloc[:-1] - pmt).max() <= 0.005 + 1e-9
    ipmt = -npf.ipmt(rate, np.arange(1, term + 1), term, principal)
    # interest differs from the exact annuity only by cent rounding, which accumulates slowly
    assert np.abs(s["interest"].to_numpy() - ipmt).max() <= 0.01 * term
    assert s["interest"].sum() == pytest.approx(ipmt.sum(), abs=0.01 * term)


def test_equal_principal_and_interest_only_shapes():
    ep = amortisation_schedule(12_000, 0.12, 12, "equal_principal")
    assert (ep["principal"] == 1_000).all()
    assert ep["interest"].iloc[0] == 120
    assert ep["interest"].iloc[-1] == 10
    io = amortisation_schedule(50_000, 0.10, 6, "interest_only")
    assert (io["principal"].iloc[:-1] == 0).all()
    assert io["principal"].iloc[-1] == 50_000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"principal": -5, "apr": 0.1, "term": 12}, "principal"),
        ({"principal": 100, "apr": -0.1, "term": 12}, "apr"),
        ({"principal": 100, "apr": 0.1, "term": 0}, "term"),
        ({"principal": 100, "apr": 0.1, "term": 12, "method": "balloon"}, "method"),
    ],
)
def test_bad_schedule_arguments_are_named(kwargs, message):
    with pytest.raises(DataError, match=message):
        amortisation_schedule(**kwargs)


def test_book_schedules_match_loans(book: Portfolio) -> None:
    sched = book.schedules.groupby("loan_id").agg(
        principal=("principal", "sum"), n=("instalment_no", "size")
    )
    loans = book.loans.set_index("loan_id")
    assert (sched["principal"].round(2) == loans.loc[sched.index, "principal"]).all()
    assert (sched["n"] == loans.loc[sched.index, "term"]).all()
    first = book.schedules[book.schedules["instalment_no"] == 1].set_index("loan_id")["payment"]
    assert (first == loans.loc[first.index, "first_instalment"]).all()


def test_performance_money_is_consistent(book: Portfolio) -> None:
    perf = book.performance
    assert (perf["amount_paid"] >= 0).all()
    assert (perf["arrears"] >= 0).all()
    paid = perf["status"] == "paid"
    assert (perf.loc[paid, "amount_paid"] == perf.loc[paid, "amount_due"]).all()
    missed = perf["status"] == "missed"
    assert (perf.loc[missed, "amount_paid"] == 0).all()
    assert (
        perf["dpd"]
        == 30 * perf["bucket"].astype(str).str.extract(r"M(\d)")[0].astype(float).fillna(0)
    ).all()
