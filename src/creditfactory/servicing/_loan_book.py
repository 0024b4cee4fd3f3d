"""A simulated (or real) book's loans and payments as the service's loans, to replay them.

The mapping between the twin's conventions and the service's (``docs/servicing.md``, "Loans in
the service"):

- the twin's month-``k`` performance row is a snapshot on the ``k``-th due date, after that
  day's payment, counting the instalment due that day as missed when unpaid: it is the
  service's position **as of the day after** the ``k``-th due date;
- the twin's ``dpd`` is 30 per missed monthly cycle: it is ``30 x cycles`` of the position,
  and its bucket is the position's bucket;
- the twin collects penalty interest only when an account cures or settles, never from a
  partial payment, whereas the service takes penalty first: the replay leaves penalty out
  (penalty rate 0) and posts each payment net of the penalty it paid in the twin
  (``penalty_outstanding`` before, plus ``penalty_interest``, minus ``penalty_outstanding``);
- the twin rounds interest in floating point (a tie at half a fen falls either way), the
  service half up exactly: the replay counts an instalment with at most ``TOLERANCE`` fen unpaid
  as paid;
- the twin charges off at once when an M6+ account misses again; the service flags it
  (``write_off_due``) and writes off when told.

Two conventions of the twin the service does not follow, so their rows differ: a partial
payment of an equal-principal loan pays the *current* instalment (smaller than the oldest one
still owed, which the service pays first), and past maturity a partial payment holds the
twin's cycle count (the service counts every month the oldest arrears stay unpaid).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError
from creditfactory.servicing._loan import LoanTerms, decimal_rate, to_fen
from creditfactory.servicing._loan_position import Payment

TOLERANCE = 100
"""Fen left unpaid on an instalment that the replay of a twin's book still counts as paid."""


@dataclass(frozen=True)
class BookLoan:
    """One loan of a book as the service sees it: its terms, its payments and the days the
    book's performance rows correspond to (the day after each due date)."""

    loan_id: str
    terms: LoanTerms
    payments: tuple[Payment, ...]
    snapshots: tuple[date, ...]
    mobs: tuple[int, ...]


def book_loans(
    loans: pd.DataFrame, performance: pd.DataFrame, loan_ids: list[str] | None = None
) -> Iterator[BookLoan]:
    """The loans of a book (``loans`` and ``performance`` tables of :mod:`creditfactory.data`)
    with the payments of their performance rows, mapped as the module's docstring says.

    Raises
    ------
    DataError
        A column the mapping needs is missing.
    """
    need_l = ("loan_id", "principal", "apr", "term", "repayment_method", "disbursed_at")
    need_p = ("loan_id", "mob", "month", "amount_paid", "penalty_interest",
              "penalty_outstanding", "bucket")  # fmt: skip
    for name, frame, cols in (("loans", loans, need_l), ("performance", performance, need_p)):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataError(f"{name}: missing column(s) {', '.join(missing)}")
    if loan_ids is not None:
        loans = loans[loans["loan_id"].isin(loan_ids)]
        performance = performance[performance["loan_id"].isin(loan_ids)]
    perf = performance.sort_values(["loan_id", "mob"])
    groups = dict(tuple(perf.groupby("loan_id", sort=False, observed=True)))
    for row in loans.itertuples(index=False):
        g = groups.get(row.loan_id)
        terms = LoanTerms(
            principal=to_fen(round(float(row.principal), 2), "principal"),
            apr=decimal_rate(row.apr, "apr"),
            term=int(row.term),
            method=str(row.repayment_method),
            disbursed_on=pd.Timestamp(row.disbursed_at).date(),
            penalty_rate=Decimal(0),
        )
        if g is None:
            yield BookLoan(str(row.loan_id), terms, (), (), ())
            continue
        owed_before = g["penalty_outstanding"].shift(fill_value=0.0).to_numpy(float)
        off = g["bucket"].astype(str).to_numpy() == "charged_off"
        penalty_paid = np.where(
            off, 0.0, owed_before + g["penalty_interest"].to_numpy(float)
            - g["penalty_outstanding"].to_numpy(float),
        )  # fmt: skip
        days = [pd.Timestamp(m).date() for m in g["month"]]
        paid = np.rint(g["amount_paid"].to_numpy(float) * 100).astype(np.int64)
        net = paid - np.rint(penalty_paid * 100).astype(np.int64)
        pays = tuple(Payment(d, int(a)) for d, a in zip(days, net, strict=True) if a > 0)
        snaps = tuple(d + timedelta(days=1) for d in days)
        yield BookLoan(str(row.loan_id), terms, pays, snaps, tuple(int(m) for m in g["mob"]))
