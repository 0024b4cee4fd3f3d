"""Instalments, affordability and limits: closed-form formulas.

Every formula takes floats, NumPy arrays or Polars expressions (see ``_generic``), so the
decision engine evaluates the very same code online (floats) and in batch (Polars).

Conventions: rates are annual decimals (0.18 = 18% APR); monthly rate = APR / 12; terms in
months; amounts in the loan currency; ``pd`` is the 12-month probability of default and ``lgd`` the
share of exposure lost at default.
"""

from __future__ import annotations

import math
from typing import Any

from creditfactory.pricing._generic import maximum, minimum, where

#: Defaults of the loan economics (documented in docs/strategies.md; all overridable).
COST_OF_FUNDS = 0.04
TARGET_RETURN = 0.05
LGD = 0.75
MAX_APR = 0.24
DTI_CAP = 0.5
PD_CEILING = 0.999


def annuity_payment(amount: Any, apr: Any, term: Any) -> Any:
    """Monthly instalment of an equal-instalment (等额本息) loan.

    >>> round(annuity_payment(12_000.0, 0.12, 12), 2)
    1066.19
    >>> annuity_payment(1_200.0, 0.0, 12)
    100.0
    """
    i = apr / 12.0
    safe_i = where(i == 0, 1.0, i)
    paid = amount * safe_i / (1.0 - (1.0 + safe_i) ** (-1.0 * term))
    return where(i == 0, amount / term, paid)


def annuity_amount(payment: Any, apr: Any, term: Any) -> Any:
    """Principal that a monthly ``payment`` repays over ``term`` months at ``apr``.

    >>> round(annuity_amount(1066.19, 0.12, 12))
    12000
    """
    i = apr / 12.0
    safe_i = where(i == 0, 1.0, i)
    amount = payment * (1.0 - (1.0 + safe_i) ** (-1.0 * term)) / safe_i
    return where(i == 0, payment * term, amount)


def affordable_limit(
    monthly_income: Any,
    monthly_debt: Any,
    apr: Any,
    term: Any,
    dti_cap: Any = DTI_CAP,
) -> Any:
    """Largest loan whose instalment keeps total debt service within ``dti_cap`` of income.

    >>> round(affordable_limit(10_000.0, 3_000.0, 0.12, 12))
    22510
    >>> affordable_limit(10_000.0, 6_000.0, 0.12, 12)
    0.0
    """
    room = maximum(dti_cap * monthly_income - monthly_debt, 0.0)
    return annuity_amount(room, apr, term)


def expected_loss(pd: Any, lgd: Any, ead: Any) -> Any:
    """Expected loss ``PD x LGD x EAD`` (one period; the lifetime model's is
    ``loan_value(...).expected_loss``).

    >>> expected_loss(0.1, 0.5, 1000.0)
    50.0
    """
    return pd * lgd * ead


def assign_limit(
    monthly_income: Any,
    monthly_debt: Any,
    apr: Any,
    term: Any,
    income_multiple: Any,
    cap: Any,
    dti_cap: Any = DTI_CAP,
    step: float = 100.0,
) -> Any:
    """Credit limit: the least of an income multiple, the affordable amount and a product cap,
    rounded down to ``step``.

    >>> assign_limit(8_000.0, 1_000.0, 0.18, 12, 3.0, 50_000.0)
    24000.0
    """
    by_income = income_multiple * monthly_income
    by_dti = affordable_limit(monthly_income, monthly_debt, apr, term, dti_cap)
    raw = maximum(minimum(minimum(by_income, by_dti), cap), 0.0)
    return floor_to(raw, step)


def floor_to(x: Any, step: Any) -> Any:
    """Round ``x`` down to a multiple of ``step``.

    >>> floor_to(1234.5, 100.0)
    1200.0
    """
    q = x / step
    if isinstance(q, float | int):
        return float(math.floor(q)) * step
    if type(q).__module__.startswith("polars"):
        return q.floor() * step
    if hasattr(q, "__array__"):
        import numpy as np

        return np.floor(q) * step
    return float(math.floor(q)) * step
