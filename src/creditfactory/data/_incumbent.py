"""The incumbent lender's older approval policy: knock-out rules, a crude points score, a
cut-off that hits the configured approval rate among what it can price, limits by score band
within affordability, and APRs from the same lifetime cash-flow model every strategy prices
with (:func:`creditfactory.pricing.risk_based_apr`), at the incumbent's own cruder risk
estimate.

The incumbent turns its score into a 12-month PD with a fixed slope (40 points double the
odds, about what its hand-set points are worth) and an intercept that matches, on average over
all applications, the through-the-door bad rate it knows from its history
(``target_bad_rate``). It asks the same return as the reference strategy
(``creditfactory.pricing.TARGET_RETURN``, 5% a year on the balance), charges at least
``apr_floor`` and declines what it cannot price under ``apr_cap`` (``PRICE_ABOVE_CAP``): a
strategy that beats it must choose better, not merely charge more than an under-priced rival.
Fixed costs (booking, servicing, acquisition) make small, short loans unpriceable under the cap,
so, as lenders set minimum terms, it offers such a loan over the shortest longer term of the
product at which it can price it (the applicant may turn that down); what no term makes
priceable it declines. The score cut-off is set among what it can price, so it approves
``approval_rate`` of all applications (fewer only if too few can be priced). Where the score
band's limit lends less than the amount priced, it prices the smaller loan.

Only the applications it approved have performance: the reject-inference setting every real
lender lives in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.data._config import SimulationConfig
from creditfactory.data._fraud_signals import linked_to_earlier
from creditfactory.data._identity import valid_id_mask
from creditfactory.data._reference import PRODUCT_LIMIT_CAP, PRODUCT_TERMS, PRODUCTS
from creditfactory.pricing import DTI_CAP, TARGET_RETURN, affordable_limit, risk_based_apr

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
POINTS_TO_DOUBLE_ODDS = 40.0
"""Slope of the incumbent's score-to-PD mapping."""


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


def incumbent_pd(score: np.ndarray, mean_pd: float) -> np.ndarray:
    """The incumbent's 12-month PD from its score: log-odds falling by ``log 2`` every
    :data:`POINTS_TO_DOUBLE_ODDS` points, the intercept set (by bisection) so that the mean
    over ``score`` is ``mean_pd``.

    >>> p = incumbent_pd(np.array([500.0, 600.0, 700.0]), 0.05)
    >>> round(float(p.mean()), 6), bool(p[0] > p[1] > p[2])
    (0.05, True)
    """
    slope = -np.log(2.0) / POINTS_TO_DOUBLE_ODDS
    rel = slope * (np.asarray(score, float) - 600.0)
    lo, hi = -30.0, 30.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if np.mean(1.0 / (1.0 + np.exp(-(mid + rel)))) < mean_pd:
            lo = mid
        else:
            hi = mid
    return 1.0 / (1.0 + np.exp(-(0.5 * (lo + hi) + rel)))


def incumbent_price(
    apps: pd.DataFrame, cfg: SimulationConfig, amount: np.ndarray, term: np.ndarray
) -> np.ndarray:
    """The incumbent's lifetime-model APR for each application of ``apps`` (a whole book: the
    PD mapping is calibrated over it) at ``amount`` and ``term`` (row-aligned; NaN rows give
    NaN): before the APR floor and cap, so a price above the cap means it would not lend."""
    pd_est = incumbent_pd(np.round(incumbent_score(apps), 1), cfg.target_bad_rate)
    return _price(pd_est, amount, term)


def _price(pd_est: np.ndarray, amount: np.ndarray, term: np.ndarray) -> np.ndarray:
    amount = np.asarray(amount, dtype=float)
    term = np.broadcast_to(np.asarray(term, dtype=float), amount.shape)
    rows = np.isfinite(amount) & np.isfinite(term)
    out = np.full(amount.shape, np.nan)
    out[rows] = risk_based_apr(pd_est[rows], amount[rows], term[rows], TARGET_RETURN)
    return out


def _offer_terms(
    apps: pd.DataFrame, cfg: SimulationConfig, pd_est: np.ndarray, knocked: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The term the incumbent offers, its APR there (before floor and cap; NaN where knocked
    out) and the amount that APR was priced at. It prices the amount asked over the term asked,
    cuts the amount to what a 50% debt-service ratio affords at that price and prices again
    where that cut it. A loan it
    cannot price under the cap over the term asked (fixed costs weigh on small, short loans) is
    offered over the product's next longer term, and so on: the shortest term at which it can
    lend, as lenders set minimum terms. Where no term works the price stays above the cap."""
    income = apps["monthly_income"].to_numpy(float)
    debt = apps["bureau_monthly_debt"].to_numpy(float)
    requested = apps["amount_requested"].to_numpy(float)
    asked = apps["term_requested"].to_numpy(np.int64)
    product = pd.Categorical(apps["product"].to_numpy(), categories=PRODUCTS).codes
    term = asked.copy()
    price = np.full(len(apps), np.nan)
    priced = requested.copy()

    def offer(rows: np.ndarray, t: np.ndarray) -> None:
        first = _price(pd_est[rows], requested[rows], t)
        afford = affordable_limit(income[rows], debt[rows], np.minimum(first, cfg.apr_cap), t)
        cut = afford < requested[rows]
        at = np.where(cut, np.maximum(afford, 500.0), requested[rows])
        if cut.any():
            first[cut] = _price(pd_est[rows][cut], at[cut], t[cut])
        price[rows], term[rows], priced[rows] = first, t, at

    offer(np.flatnonzero(~knocked), asked[~knocked])
    for t in sorted({t for terms, _ in PRODUCT_TERMS.values() for t in terms}):
        has = np.array([t in PRODUCT_TERMS[p][0] for p in PRODUCTS] + [False])
        rows = np.flatnonzero(~knocked & ~(price <= cfg.apr_cap) & has[product] & (t > asked))
        if len(rows):
            offer(rows, np.full(len(rows), t))
    return term, price, priced


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
    income = apps["monthly_income"].to_numpy(float)
    debt = apps["bureau_monthly_debt"].to_numpy(float)
    requested = apps["amount_requested"].to_numpy(float)
    pd_est = incumbent_pd(score, cfg.target_bad_rate)
    term, price, priced = _offer_terms(apps, cfg, pd_est, knocked)
    unpriceable = ~knocked & ~(price <= cfg.apr_cap)
    reason[unpriceable] = "PRICE_ABOVE_CAP"
    passing = score[~knocked & ~unpriceable]
    share = min(cfg.approval_rate / max((~knocked & ~unpriceable).mean(), 1e-9), 1.0)
    cutoff = np.quantile(passing, 1.0 - share) if len(passing) else np.inf
    approve = ~knocked & ~unpriceable & (score >= cutoff)
    reason[~knocked & ~unpriceable & ~approve] = "SCORE_BELOW_CUTOFF"

    # score bands among approved: band 0 is the best
    edges = (
        np.quantile(score[approve], np.linspace(0, 1, SCORE_BANDS + 1)[1:-1])
        if approve.any()
        else np.zeros(SCORE_BANDS - 1)
    )
    band = (SCORE_BANDS - 1) - np.searchsorted(edges, score, side="right")
    multiple = np.array([8.0, 6.0, 5.0, 4.0, 3.0, 2.0])[band]
    cap = np.array([PRODUCT_LIMIT_CAP[p] for p in apps["product"].to_numpy()])
    limit = np.minimum(income * multiple, cap)
    limit = np.where(
        apps["product"].to_numpy() == "micro_business", np.minimum(limit * 3, cap), limit
    )
    apr = np.round(np.clip(price, cfg.apr_floor, cfg.apr_cap), 4)
    afford = affordable_limit(income, debt, apr, term, DTI_CAP)
    limit = np.floor(np.minimum(limit, afford) / 100.0) * 100.0
    amount = np.minimum(requested, limit)
    # where the score band's limit lends less than was priced, price the loan it lends (fixed
    # costs weigh more on it) and keep its instalment within the debt-service cap at that price
    less = np.flatnonzero(approve & (amount >= 500) & (amount < priced))
    again = _price(pd_est[less], amount[less], term[less])
    apr[less] = np.round(np.clip(again, cfg.apr_floor, cfg.apr_cap), 4)
    afford = affordable_limit(income[less], debt[less], apr[less], term[less], DTI_CAP)
    limit[less] = np.floor(np.minimum(limit[less], afford) / 100.0) * 100.0
    amount[less] = np.minimum(amount[less], limit[less])
    too_small = approve & (amount < 500)
    too_small[less[~(again <= cfg.apr_cap)]] = True
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
            "term": np.where(approve, term, 0).astype(np.int64),
        }
    )
