"""Limits and risk-based pricing: affordability, APR from risk, expected loss and profit.

The formulas accept floats, NumPy arrays or Polars expressions, so the decision engine uses the
same code online and in batch; strategies call them as expression functions (``risk_apr``,
``affordable_limit``, ``assign_limit``, ``annuity_payment``, ``expected_loss``,
``expected_profit``, ``floor_to``).
"""

from creditfactory.pricing._formulas import (
    COST_OF_FUNDS,
    DTI_CAP,
    LGD,
    MAX_APR,
    OPERATING_COST,
    TARGET_RETURN,
    affordable_limit,
    annuity_amount,
    annuity_payment,
    assign_limit,
    balance_factor,
    expected_loss,
    expected_profit,
    floor_to,
    risk_based_apr,
)

__all__ = [
    "COST_OF_FUNDS",
    "DTI_CAP",
    "LGD",
    "MAX_APR",
    "OPERATING_COST",
    "TARGET_RETURN",
    "affordable_limit",
    "annuity_amount",
    "annuity_payment",
    "assign_limit",
    "balance_factor",
    "expected_loss",
    "expected_profit",
    "floor_to",
    "risk_based_apr",
]
