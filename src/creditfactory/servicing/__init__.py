"""Servicing the book: delinquency, vintages, roll and flow rates, loss, behaviour scores and
limit management.

Pure functions over the ``performance`` table (one row per loan and month on book, with
``loan_id``, ``mob``, ``month``, ``dpd``, ``bucket`` and balances) and the ``loans`` table,
whether simulated or real (see ``docs/servicing.md`` for the columns a real book needs).
"""

from creditfactory.servicing._delinquency import delinquency_by_mob, roll_rates, vintage_curves
from creditfactory.servicing._flows import (
    CHAIN,
    bucket_balances,
    charge_off_pd,
    delinquency_by_segment,
    expected_loss,
    expected_loss_by_bucket,
    exposure,
    flow_rates,
    net_flow_to_charge_off,
)

__all__ = [
    "CHAIN",
    "bucket_balances",
    "charge_off_pd",
    "delinquency_by_mob",
    "delinquency_by_segment",
    "expected_loss",
    "expected_loss_by_bucket",
    "exposure",
    "flow_rates",
    "net_flow_to_charge_off",
    "roll_rates",
    "vintage_curves",
]
