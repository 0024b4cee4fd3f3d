"""Servicing the book: delinquency by months on book, vintage curves and roll rates.

Pure functions over the ``performance`` table (one row per loan and month on book, with
``loan_id``, ``mob``, ``month``, ``dpd`` and ``bucket``), whether simulated or real.
"""

from creditfactory.servicing._delinquency import delinquency_by_mob, roll_rates, vintage_curves

__all__ = ["delinquency_by_mob", "roll_rates", "vintage_curves"]
