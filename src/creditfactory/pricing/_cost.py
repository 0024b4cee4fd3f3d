"""The borrower's side: the comprehensive annual cost (综合融资成本) of a loan."""

from __future__ import annotations

from typing import Any

import numpy as np

from creditfactory.pricing._economics import DEFAULT_ECONOMICS, LoanEconomics
from creditfactory.pricing._formulas import annuity_payment
from creditfactory.pricing._lifetime import _ops_for, _valid_term


def comprehensive_cost(
    amount: Any, apr: Any, term: Any, economics: LoanEconomics = DEFAULT_ECONOMICS
) -> Any:
    """Comprehensive annual cost to the borrower (综合融资成本): the IRR of what the borrower
    receives (the amount less the upfront fee) and pays (instalments plus monthly fees), as a
    monthly rate times 12, the convention of the APR itself. Without fees it is the APR. The
    24% line is held against this figure.

    >>> round(comprehensive_cost(10_000.0, 0.18, 12, LoanEconomics(fee_monthly=0.003)), 4)
    0.2425
    """
    o, (amount, apr, term) = _ops_for(amount, apr, term)
    with np.errstate(all="ignore"):
        term = _valid_term(o, term)
        i = apr / 12.0
        pay = annuity_payment(1.0, apr, term) + economics.fee_monthly
        received = 1.0 - economics.fee_upfront

        def pv(j: Any) -> Any:  # present value of the payments at monthly rate j, less received
            safe = o.where(o.abs(j) < 1e-12, 1.0, j)
            annuity = o.where(o.abs(j) < 1e-12, term, -o.expm1(-term * o.log1p(safe)) / safe)
            return pay * annuity - received

        zero = i * 0.0  # the inputs' shape
        hi = zero + 1.0  # monthly rates up to 100%
        # with a non-negative APR and fees the payments sum to at least what was received, so
        # the rate is >= 0; a negative APR (not a loan anyone prices) gets a lower bracket
        lo = o.where(pv(zero) < 0.0, zero - 0.5, zero)
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            above = pv(mid) > 0.0  # payments still worth more than received: rate is higher
            lo, hi = o.where(above, mid, lo), o.where(above, hi, mid)
        return 6.0 * (lo + hi)
