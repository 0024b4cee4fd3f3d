"""Outcomes as they mature: which loans have been on book long enough to be called good or bad."""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError, DataError

__all__ = ["matured_outcomes"]

_BUCKETS = ("M1", "M2", "M3", "M4", "M5", "M6+")


def _need(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{name}: column '{missing[0]}' is missing")


def matured_outcomes(
    loans: pd.DataFrame, performance: pd.DataFrame, window: int = 6, bad_bucket: int = 2
) -> pd.Series:
    """Each loan's outcome over its first ``window`` months on book, once it is known.

    A loan is *bad* when it reaches ``bad_bucket`` missed instalments (M2 = 60+ days past due
    by default) or is charged off within ``window`` months on book; *good* when it has had
    ``window`` due dates before the observation date without that; NaN (not matured) while
    it has had fewer, even if it has gone bad already.

    Parameters
    ----------
    loans : DataFrame
        ``application_id``, ``loan_id`` and ``months_observed`` (due dates before the
        observation date), as in the twin's ``loans`` table.
    performance : DataFrame
        ``loan_id``, ``mob`` and ``bucket`` (M0 … M5, M6+, charged_off), one row per loan and
        observed month on book.

    Returns
    -------
    Series
        Indexed by ``application_id``: 1.0 bad, 0.0 good, NaN not matured.
    """
    if not 1 <= window <= 60:
        raise ConfigError(f"window: months on book must lie in 1..60, got {window}")
    if not 1 <= bad_bucket <= 6:
        raise ConfigError(f"bad_bucket: missed instalments must lie in 1..6, got {bad_bucket}")
    _need(loans, "loans", ("application_id", "loan_id", "months_observed"))
    _need(performance, "performance", ("loan_id", "mob", "bucket"))
    bad_set = {*_BUCKETS[bad_bucket - 1 :], "charged_off"}
    early = performance[performance["mob"].to_numpy() <= window]
    bad_loans = set(early.loc[early["bucket"].astype(str).isin(bad_set), "loan_id"])
    is_bad = loans["loan_id"].isin(bad_loans).to_numpy()
    matured = loans["months_observed"].to_numpy() >= window
    # an early bad is not counted before the window is over: counting it would overstate the
    # bad rate of the young months (their goods are not known yet)
    out = np.where(matured, is_bad.astype(float), np.nan)
    return pd.Series(out, index=pd.Index(loans["application_id"], name="application_id"),
                     name="bad")  # fmt: skip
