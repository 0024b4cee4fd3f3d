"""Limit management: run a strategy over the accounts on book and judge it by what happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError
from creditfactory.servicing._behaviour import _timestamp, behaviour_features, behaviour_outcome
from creditfactory.servicing._book import ServicingBook
from creditfactory.servicing._bscore import BehaviourScore

if TYPE_CHECKING:
    from creditfactory.data import Portfolio
    from creditfactory.decision import Strategy

ACTIONS = ("increase", "hold", "decrease", "freeze")


@dataclass(frozen=True)
class LimitSimulation:
    """A limit strategy run over the accounts open at ``as_of``, judged ``horizon`` months on.

    ``accounts``: one row per account with its features, ``b_score``, ``b_pd``, ``action``,
    ``current_limit``, ``new_limit`` (NaN when frozen), ``reasons`` and ``bad`` (90+ DPD or
    charge-off in the ``horizon`` months after ``as_of``: on the twin, the truth).
    ``summary``: per action, accounts, share, mean score, predicted bad rate (mean ``b_pd``),
    realised bad rate with a 95% Wilson interval, limits before and after, and on a simulated
    book ``true_pd_at_booking`` (the twin's ``truth.pd_offer``, which no lender sees).
    """

    as_of: pd.Timestamp
    horizon: int
    accounts: pd.DataFrame
    summary: pd.DataFrame


def _wilson(bads: np.ndarray, n: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    n = np.maximum(n, 1)
    p = bads / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def limit_decisions(
    strategy: Strategy, features: pd.DataFrame, score: BehaviourScore, loans: pd.DataFrame
) -> pd.DataFrame:
    """Score ``features`` (:func:`behaviour_features`) with the B-score and run the limit
    ``strategy`` over them (batch mode). The current limit is the loan's ``limit`` (its
    principal where none is known). Returns the features with ``b_score``, ``b_pd``,
    ``current_limit``, ``action`` (``freeze`` for a decline), ``new_limit`` and ``reasons``."""
    frame = features.reset_index(drop=True).copy()
    frame[["b_score", "b_pd"]] = score.score(frame).to_numpy()
    info = loans.set_index("loan_id").reindex(frame["loan_id"])
    limit = info["limit"] if "limit" in info else info["principal"]
    frame["current_limit"] = limit.fillna(info["principal"]).to_numpy(float)
    decided = strategy.decide_batch(frame)
    bad_rows = decided["error"].notna()
    if bad_rows.any():
        first = decided.loc[bad_rows, "error"].iloc[0]
        raise DataError(f"limit strategy: {int(bad_rows.sum())} accounts not decided: {first}")
    declined = (decided["decision"] == "decline").to_numpy()
    if "action" not in decided:
        raise DataError("limit strategy: it has no 'action' output (increase, hold, decrease)")
    action = np.where(declined, "freeze", decided["action"].astype(object).to_numpy())
    unknown = set(pd.unique(action)) - set(ACTIONS)
    if unknown:
        raise DataError(f"limit strategy: unknown action(s) {sorted(map(str, unknown))}")
    frame["action"] = action
    frame["new_limit"] = decided["limit"].to_numpy(float)
    frame["reasons"] = decided["reasons"].to_numpy()
    return frame


def simulate_limit_strategy(
    strategy: Strategy,
    book: ServicingBook,
    score: BehaviourScore,
    as_of: object,
    horizon: int | None = None,
    portfolio: Portfolio | None = None,
) -> LimitSimulation:
    """Run the limit ``strategy`` over the accounts open at ``as_of`` and follow them for
    ``horizon`` months (default: the B-score's): does the increase segment go bad less?

    Use an ``as_of`` after the B-score's training dates (out of time). With the simulated
    ``portfolio`` the summary adds the twin's true PD at booking per action."""
    horizon = score.horizon if horizon is None else horizon
    features = behaviour_features(book.performance, book.loans, as_of)
    accounts = limit_decisions(strategy, features, score, book.loans)
    cut = _timestamp(as_of)
    accounts["bad"] = behaviour_outcome(
        book.performance, accounts["loan_id"], cut, horizon
    ).to_numpy()
    if portfolio is not None:
        app_of = portfolio.loans.set_index("loan_id")["application_id"]
        true_pd = portfolio.truth.set_index("application_id")["pd_offer"]
        accounts["true_pd_at_booking"] = true_pd.reindex(
            app_of.reindex(accounts["loan_id"]).to_numpy()
        ).to_numpy()
    g = accounts.groupby("action")
    summary = pd.DataFrame(
        {
            "accounts": g.size(),
            "mean_b_score": g["b_score"].mean(),
            "predicted_bad_rate": g["b_pd"].mean(),
            "bads": g["bad"].sum(),
            "current_limit": g["current_limit"].sum(),
            "new_limit": g["new_limit"].sum(min_count=1),
        }
    ).reindex([a for a in ACTIONS if a in g.groups])
    summary.insert(1, "share", summary["accounts"] / summary["accounts"].sum())
    summary["bad_rate"] = summary["bads"] / summary["accounts"]
    lo, hi = _wilson(summary["bads"].to_numpy(float), summary["accounts"].to_numpy(float))
    summary["bad_rate_low"], summary["bad_rate_high"] = lo, hi
    if "true_pd_at_booking" in accounts:
        summary["true_pd_at_booking"] = g["true_pd_at_booking"].mean()
    return LimitSimulation(
        as_of=cut,
        horizon=horizon,
        accounts=accounts,
        summary=summary.rename_axis("action").reset_index(),
    )
