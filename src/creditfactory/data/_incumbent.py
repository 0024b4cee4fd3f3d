"""The incumbent lender's older approval policy: knock-out rules, a crude points score, a
cut-off that hits the configured approval rate, limits and APRs by score band.

Only the applications it approved have performance: the reject-inference setting every real
lender lives in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.data._config import SimulationConfig
from creditfactory.data._fraud_signals import linked_to_earlier
from creditfactory.data._identity import valid_id_mask
from creditfactory.data._reference import PRODUCT_LIMIT_CAP

KNOCK_OUTS: tuple[tuple[str, str], ...] = (
    ("KO_AGE", "age outside 20-60"),
    ("KO_ID", "resident ID number invalid (checked in own channels only)"),
    ("KO_BLACKLIST", "over 20% of contacts blacklisted"),
    ("KO_DELINQUENT", "3 or more delinquencies in 24 months"),
    ("KO_INQUIRIES", "more than 8 bureau inquiries in 3 months"),
    ("KO_INCOME", "declared income below 2,000 CNY"),
    ("KO_LINKED", "device, phone or emergency contact used by another customer in 30 days"),
)
"""The incumbent's knock-out rules, in the order they are checked."""

SCORE_BANDS = 6


def incumbent_score(apps: pd.DataFrame) -> np.ndarray:
    """The incumbent's points score (higher = safer, roughly 300-900): a hand-set linear
    combination of a few bureau and application fields, as older scorecards were."""
    inq = apps["inquiries_3m"].to_numpy(float)
    util = np.nan_to_num(apps["utilisation"].to_numpy(float), nan=0.6)
    tps = np.nan_to_num(apps["third_party_score"].to_numpy(float), nan=600.0)
    income = np.maximum(apps["monthly_income"].to_numpy(float), 500.0)
    age = apps["age"].to_numpy(float)
    return (
        600.0
        - 18.0 * np.minimum(inq, 8)
        - 40.0 * np.minimum(apps["delinquencies_24m"].to_numpy(float), 3)
        - 60.0 * util
        - 30.0 * apps["thin_file"].to_numpy(bool)
        - 25.0 * (age < 23)
        + 35.0 * np.log(income / 6000.0)
        + 40.0 * (apps["relationship"].to_numpy() != "none")
        + 0.9 * (tps - 600.0)
        - 25.0 * (apps["contacts_blacklisted_share"].to_numpy(float) > 0.05)
    )


def incumbent_decisions(apps: pd.DataFrame, cfg: SimulationConfig) -> pd.DataFrame:
    """Decide every application with the incumbent policy."""
    n = len(apps)
    age = apps["age"].to_numpy()
    own_channel = np.isin(apps["channel"].to_numpy(), ["branch", "app"])
    checks = [
        (age < 20) | (age > 60),
        own_channel & ~valid_id_mask(apps["id_number"].to_numpy()),
        apps["contacts_blacklisted_share"].to_numpy(float) > 0.2,
        apps["delinquencies_24m"].to_numpy() >= 3,
        apps["inquiries_3m"].to_numpy() > 8,
        apps["monthly_income"].to_numpy(float) < 2000,
        linked_to_earlier(apps, days=30.0),
    ]
    reason = np.full(n, None, dtype=object)
    for (code, _), hit in zip(KNOCK_OUTS[::-1], checks[::-1], strict=True):
        reason[hit] = code  # reversed, so the first rule that fires wins
    knocked = np.array([r is not None for r in reason])
    score = np.round(incumbent_score(apps), 1)
    passing = score[~knocked]
    share = min(cfg.approval_rate / max((~knocked).mean(), 1e-9), 1.0)
    cutoff = np.quantile(passing, 1.0 - share) if len(passing) else np.inf
    approve = ~knocked & (score >= cutoff)
    reason[~knocked & ~approve] = "SCORE_BELOW_CUTOFF"

    # score bands among approved: band 0 is the best
    edges = (
        np.quantile(score[approve], np.linspace(0, 1, SCORE_BANDS + 1)[1:-1])
        if approve.any()
        else np.zeros(SCORE_BANDS - 1)
    )
    band = (SCORE_BANDS - 1) - np.searchsorted(edges, score, side="right")
    multiple = np.array([8.0, 6.0, 5.0, 4.0, 3.0, 2.0])[band]
    income = apps["monthly_income"].to_numpy(float)
    cap = np.array([PRODUCT_LIMIT_CAP[p] for p in apps["product"].to_numpy()])
    limit = np.round(np.minimum(income * multiple, cap), -2)
    limit = np.where(
        apps["product"].to_numpy() == "micro_business", np.minimum(limit * 3, cap), limit
    )
    apr_grid = np.linspace(cfg.apr_floor, cfg.apr_cap, SCORE_BANDS)
    apr = np.round(apr_grid[band], 4)
    amount = np.minimum(apps["amount_requested"].to_numpy(float), limit)
    too_small = approve & (amount < 500)
    approve &= ~too_small
    reason[too_small] = "LIMIT_TOO_SMALL"
    return pd.DataFrame(
        {
            "application_id": apps["application_id"].to_numpy(),
            "decision": np.where(approve, "approve", "decline"),
            # numpy's stubs reject None, which np.where takes as an object scalar
            "decline_reason": np.where(approve, None, reason),  # type: ignore[call-overload]
            "score": score,
            "score_band": np.where(approve, band + 1, 0).astype(np.int64),
            "limit": np.where(approve, limit, np.nan),
            "apr": np.where(approve, apr, np.nan),
            "amount_approved": np.where(approve, amount, np.nan),
            "term": np.where(approve, apps["term_requested"].to_numpy(), 0).astype(np.int64),
        }
    )
