"""A portfolio at a glance: the figures the CLI and the demo print."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from creditfactory.data._portfolio import Portfolio


@dataclass(frozen=True)
class PortfolioSummary:
    """Headline figures and breakdowns of a simulated book.

    Attributes
    ----------
    overview : dict
        Applications, approval rate, booked loans, the share of approved offers taken up and the
        amount booked, bad rates (through the door, among approved, declined and booked, from
        the truth), fraud rates, and the lender's observed 90+ DPD rate on loans with at least 12
        months on book.
    by_cohort, by_channel : pandas.DataFrame
        Applications, approval rate, bad rate of all applications and of approved ones.
    """

    overview: dict[str, float]
    by_cohort: pd.DataFrame
    by_channel: pd.DataFrame


def _breakdown(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    grouped = frame.groupby(key, observed=True, sort=True)
    out = pd.DataFrame(
        {
            "applications": grouped.size(),
            "approval_rate": grouped["approved"].mean(),
            "bad_rate": grouped["bad"].mean(),
            "bad_rate_approved": grouped["bad_approved"].mean(),
        }
    )
    return out.reset_index()


def summarise(pf: Portfolio) -> PortfolioSummary:
    """Headline figures of a portfolio (a simulated one: it reads the truth).

    Examples
    --------
    >>> from creditfactory.data import SimulationConfig, simulate
    >>> s = summarise(simulate(SimulationConfig(n_applications=2_000, seed=2)))
    >>> 0.3 < s.overview["approval_rate"] < 0.8
    True
    """
    apps = pf.applications[["application_id", "customer_id", "channel"]]
    frame = apps.merge(pf.truth[["application_id", "bad", "is_fraud"]], on="application_id")
    frame = frame.merge(pf.incumbent_decisions[["application_id", "decision"]], on="application_id")
    frame = frame.merge(pf.customers[["customer_id", "cohort"]], on="customer_id", how="left")
    frame["approved"] = frame["decision"] == "approve"
    frame["bad_approved"] = frame["bad"].where(frame["approved"])
    approved = frame["approved"]

    booked = frame["application_id"].isin(pf.loans["application_id"])
    observed = pf.observed_outcomes(months=12, dpd=90)
    overview = {
        "applications": float(len(frame)),
        "approval_rate": float(approved.mean()),
        "loans": float(len(pf.loans)),
        "take_up_rate": float(booked[approved].mean()) if approved.any() else float("nan"),
        "amount_booked": float(pf.loans["principal"].sum()),
        "bad_rate_all": float(frame["bad"].mean()),
        "bad_rate_approved": float(frame.loc[approved, "bad"].mean()),
        "bad_rate_declined": float(frame.loc[~approved, "bad"].mean()),
        "bad_rate_booked": float(frame.loc[booked, "bad"].mean()),
        "observed_90dpd_12m": float(observed["bad"].mean()) if len(observed) else float("nan"),
        "fraud_rate": float(frame["is_fraud"].mean()),
        "fraud_rate_approved": float(frame.loc[approved, "is_fraud"].mean()),
        "rings": float(pf.truth["ring_id"].nunique()),
    }
    return PortfolioSummary(overview, _breakdown(frame, "cohort"), _breakdown(frame, "channel"))
