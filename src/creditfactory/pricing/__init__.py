"""Limits and risk-based pricing on one life-of-loan cash-flow model.

``loan_value`` follows a loan month by month until default, prepayment or maturity (funding,
costs, losses at exposure at default, recoveries) and gives its NPV and annual return;
``risk_based_apr`` solves that model for a target return; ``comprehensive_cost`` is the IRR-based
annual cost to the borrower, fees included, that the 24% line is held against. The closed-form
formulas (``annuity_payment``, ``affordable_limit``, ``assign_limit``, ``floor_to``) accept
floats, NumPy arrays or Polars expressions. Strategies call them as expression functions
(``loan_apr``, ``loan_profit``, ``loan_return``, ``affordable_limit``, ``assign_limit`` ...).

This package depends on nothing in creditfactory but ``exceptions``, so that the portfolio
twin (``creditfactory.data``) prices its incumbent with the very same model.
"""

import typing

from creditfactory import _lazy_exports

if typing.TYPE_CHECKING:
    from creditfactory.pricing._cost import comprehensive_cost
    from creditfactory.pricing._economics import DEFAULT_ECONOMICS, DEFAULT_TIMING, LoanEconomics
    from creditfactory.pricing._formulas import (
        COST_OF_FUNDS,
        DTI_CAP,
        LGD,
        MAX_APR,
        TARGET_RETURN,
        affordable_limit,
        annuity_amount,
        annuity_payment,
        assign_limit,
        expected_loss,
        floor_to,
    )
    from creditfactory.pricing._lifetime import (
        LoanValue,
        default_curve,
        loan_value,
        risk_based_apr,
    )
    from creditfactory.pricing._solve import APR_SEARCH_MAX

__all__ = [
    "APR_SEARCH_MAX",
    "COST_OF_FUNDS",
    "DEFAULT_ECONOMICS",
    "DEFAULT_TIMING",
    "DTI_CAP",
    "LGD",
    "MAX_APR",
    "TARGET_RETURN",
    "LoanEconomics",
    "LoanValue",
    "affordable_limit",
    "annuity_amount",
    "annuity_payment",
    "assign_limit",
    "comprehensive_cost",
    "default_curve",
    "expected_loss",
    "floor_to",
    "loan_value",
    "risk_based_apr",
]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
