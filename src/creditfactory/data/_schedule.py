"""Repayment schedules to the cent: equal instalment (等额本息), equal principal (等额本金)
and interest-only with a bullet (先息后本).

Amounts are computed in integer cents: each month's interest is the outstanding balance times
the monthly rate, rounded to the cent; the last instalment takes whatever principal is left, so
the principal column always sums to the loan amount exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError

METHODS: tuple[str, ...] = ("equal_instalment", "equal_principal", "interest_only")


def schedule_arrays(
    principal_cents: np.ndarray, apr: np.ndarray, term: np.ndarray, method: np.ndarray
) -> dict[str, np.ndarray]:
    """Vectorised schedules of many loans, loan-major: one row per loan and instalment.

    ``method`` holds indices into :data:`METHODS`. Returns ``loan`` (index of the loan),
    ``instalment_no`` and, in cents, ``payment``, ``principal``, ``interest`` and
    ``balance_after``.
    """
    principal_cents = np.asarray(principal_cents, dtype=np.int64)
    term = np.asarray(term, dtype=np.int64)
    rate = np.asarray(apr, dtype=float) / 12.0
    method = np.asarray(method, dtype=np.int64)
    n = len(principal_cents)
    offsets = np.concatenate([[0], np.cumsum(term)])
    total = int(offsets[-1])
    out = {k: np.zeros(total, dtype=np.int64) for k in ("payment", "principal", "interest")}
    out["balance_after"] = np.zeros(total, dtype=np.int64)
    out["loan"] = np.repeat(np.arange(n), term)
    out["instalment_no"] = np.arange(total) - np.repeat(offsets[:-1], term) + 1

    # 1 - (1 + r)^-n, accurate for tiny rates too
    discount = -np.expm1(-term * np.log1p(rate))
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(
            discount > 0,
            principal_cents * rate / np.where(discount > 0, discount, 1.0),
            principal_cents / np.maximum(term, 1),
        )
    level_payment = np.rint(annuity).astype(np.int64)
    level_principal = np.rint(principal_cents / np.maximum(term, 1)).astype(np.int64)
    balance = principal_cents.copy()
    for k in range(1, int(term.max(initial=0)) + 1):
        live = np.flatnonzero(term >= k)
        rows = offsets[live] + k - 1
        bal = balance[live]
        interest = np.rint(bal * rate[live]).astype(np.int64)
        m = method[live]
        princ = np.where(
            m == 0, level_payment[live] - interest, np.where(m == 1, level_principal[live], 0)
        )
        princ = np.where(term[live] == k, bal, np.minimum(princ, bal))
        out["interest"][rows] = interest
        out["principal"][rows] = princ
        out["payment"][rows] = princ + interest
        balance[live] = bal - princ
        out["balance_after"][rows] = balance[live]
    return out


def amortisation_schedule(
    principal: float, apr: float, term: int, method: str = "equal_instalment"
) -> pd.DataFrame:
    """Repayment schedule of one loan, to the cent.

    Parameters
    ----------
    principal : float
        Loan amount (CNY), positive.
    apr : float
        Annual percentage rate as a fraction (0.18 for 18%); monthly rate is ``apr / 12``.
    term : int
        Number of monthly instalments, at least 1.
    method : str
        ``"equal_instalment"``, ``"equal_principal"`` or ``"interest_only"``.

    Returns
    -------
    pandas.DataFrame
        ``instalment_no``, ``payment``, ``principal``, ``interest``, ``balance_after`` (CNY).

    Examples
    --------
    >>> s = amortisation_schedule(12_000, 0.12, 12)
    >>> float(s["payment"].iloc[0]), round(float(s["principal"].sum()), 2)
    (1066.19, 12000.0)
    """
    if method not in METHODS:
        raise DataError(f"method: {method!r} is not one of {list(METHODS)}")
    if not np.isfinite(principal) or principal <= 0:
        raise DataError(f"principal: must be a positive amount, got {principal!r}")
    if not np.isfinite(apr) or apr < 0:
        raise DataError(f"apr: must be a non-negative fraction, got {apr!r}")
    if int(term) != term or term < 1:
        raise DataError(f"term: must be a whole number of months >= 1, got {term!r}")
    arrays = schedule_arrays(
        np.array([round(principal * 100)]),
        np.array([apr]),
        np.array([int(term)]),
        np.array([METHODS.index(method)]),
    )
    frame = pd.DataFrame({"instalment_no": arrays["instalment_no"]})
    for col in ("payment", "principal", "interest", "balance_after"):
        frame[col] = arrays[col] / 100.0
    return frame
