"""Approval, referral and override rates over time, from a frame of stored decisions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError

__all__ = ["decision_rates"]

_DECISIONS = ("approve", "decline", "refer")


def decision_rates(decisions: pd.DataFrame) -> pd.DataFrame:
    """Monthly rates of the engine's decisions and of the underwriters' overrides.

    Parameters
    ----------
    decisions : DataFrame
        One row per decision: ``month`` (label), ``decision`` (approve, decline or refer) and
        ``review_outcome`` (approve or decline once an underwriter has worked it; empty
        otherwise).

    Returns
    -------
    DataFrame
        Per month: ``n``, ``approval_rate``, ``referral_rate``, ``decline_rate`` (the engine's
        own decisions), ``reviewed`` (reviews completed), ``override_rate`` (share of all
        decisions where an underwriter reversed an approve or decline), ``final_approval_rate``
        (approvals after review: an approved referral counts, an overturned approval does not).
    """
    missing = [c for c in ("month", "decision", "review_outcome") if c not in decisions.columns]
    if missing:
        raise DataError(f"decisions: column '{missing[0]}' is missing")
    d = decisions["decision"].astype(str).to_numpy()
    bad = sorted(set(d) - set(_DECISIONS))
    if bad:
        raise DataError(f"decision: {bad[0]!r} is not one of {', '.join(_DECISIONS)}")
    r = decisions["review_outcome"].astype(object).where(decisions["review_outcome"].notna(), "")
    r = r.astype(str).to_numpy()
    bad = sorted(set(r) - {"", "approve", "decline"})
    if bad:
        raise DataError(f"review_outcome: {bad[0]!r} is not approve, decline or empty")
    reviewed = r != ""
    override = reviewed & (d != "refer") & (r != d)
    final = np.where(reviewed, r, d)
    frame = pd.DataFrame(
        {
            "month": decisions["month"].to_numpy(),
            "approve": d == "approve",
            "refer": d == "refer",
            "decline": d == "decline",
            "reviewed": reviewed,
            "override": override,
            "final": final == "approve",
        }
    )
    g = frame.groupby("month", sort=True)
    out = pd.DataFrame(
        {
            "n": g.size(),
            "approval_rate": g["approve"].mean(),
            "referral_rate": g["refer"].mean(),
            "decline_rate": g["decline"].mean(),
            "reviewed": g["reviewed"].sum(),
            "override_rate": g["override"].mean(),
            "final_approval_rate": g["final"].mean(),
        }
    )
    return out.reset_index()
