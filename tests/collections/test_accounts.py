"""Account-months: the amounts a collector sees reconcile with what the book says was paid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditfactory.collections import FEATURES, account_months, last_month, month_start
from creditfactory.data import Portfolio
from creditfactory.exceptions import DataError


def test_a_cure_pays_everything_due_and_a_partial_one_instalment(book: Portfolio) -> None:
    acc = account_months(book)
    cured = acc[acc["cured"] == 1]
    assert len(cured) > 500
    # the book's own record of the month's cash, to the cent
    assert np.allclose(cured["amount_recovered"], cured["amount_due"], atol=0.011)
    partial = acc[(acc["paid"] == 1) & (acc["cured"] == 0)]
    assert len(partial) > 20
    assert np.allclose(partial["amount_recovered"], partial["instalment"], atol=0.011)
    assert (acc.loc[acc["paid"] == 0, "amount_recovered"] == 0).all()


def test_one_row_per_delinquent_month_before_charge_off(book: Portfolio) -> None:
    acc = account_months(book)
    coll = book.collections
    live = coll[coll["bucket"].astype(str).isin(["M1", "M2", "M3", "M4", "M5", "M6+"])]
    assert len(acc) == len(live)
    assert not acc.duplicated(["loan_id", "mob"]).any()
    assert set(FEATURES) <= set(acc.columns)
    assert acc["bucket_number"].between(1, 6).all()


def test_history_counts_only_earlier_months(book: Portfolio) -> None:
    acc = account_months(book)
    coll = book.collections.sort_values(["loan_id", "mob"])
    # a loan with several delinquent months: recount by hand from the raw table
    counts = coll.groupby("loan_id").size()
    loan = counts[counts >= 6].index[0]
    raw = coll[coll["loan_id"] == loan]
    raw = raw[raw["bucket"].astype(str) != "charged_off"].reset_index(drop=True)
    mine = acc[acc["loan_id"] == loan].reset_index(drop=True)
    outcome = raw["outcome"].astype(str)
    for i in range(len(raw)):
        assert mine.loc[i, "prior_delinquent_months"] == i
        assert mine.loc[i, "prior_cures"] == int((outcome[:i] == "cured").sum())
        assert mine.loc[i, "prior_partials"] == int((outcome[:i] == "partial").sum())
        assert mine.loc[i, "prior_contacts"] == int(raw["right_party_contact"][:i].sum())


def test_months() -> None:
    assert month_start("2025-11") == pd.Timestamp("2025-11-01").date()
    assert month_start("2025-11-17") == pd.Timestamp("2025-11-01").date()
    with pytest.raises(DataError, match="as_of: 'soon' is not a month"):
        month_start("soon")


def test_last_month_is_the_latest_delinquent_month(book: Portfolio) -> None:
    latest = pd.Timestamp(book.collections["month"].max())
    assert last_month(book) == latest.replace(day=1).date()


def test_a_book_without_its_tables_is_refused(book: Portfolio) -> None:
    class Bare:
        collections = book.collections.drop(columns=["outcome"])

    with pytest.raises(DataError, match=r"collections: missing column\(s\) \['outcome'\]"):
        account_months(Bare())
    with pytest.raises(DataError, match="book: no collections table"):
        account_months(object())
