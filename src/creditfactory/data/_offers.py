"""Offers: whether an approved applicant takes an offer up, and how risky the loan then is.

Take-up is price-elastic: each applicant has an alternative (the best APR another lender would
give them, lower for safer applicants, unobservable risk included); the log-odds of accepting
fall with the offered APR above that alternative, with a limit cut below the amount asked and
with a term other than the one asked. Overpricing therefore loses the good applicants first and
the applicants who accept a high price are riskier (adverse selection), on top of the payment
shock a larger or dearer loan puts on the true income.

:func:`offer_outcomes` is the oracle: the true take-up probability and 12-month PD of any offer
to any application of a simulated book, computed from the same model the simulator realised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.data._config import PAYER_TYPES
from creditfactory.data._portfolio import Portfolio
from creditfactory.data._random import sigmoid
from creditfactory.data._risk import (
    REFERENCE_APR,
    Collectors,
    RiskModel,
    at_offer,
    cure_table,
    offer_log_odds,
    prepayment,
    probability_bad,
)
from creditfactory.exceptions import DataError

TAKE_UP_INTERCEPT = 1.35
"""Log-odds of accepting an offer priced at the applicant's alternative, in full and on the
term asked."""
TAKE_UP_PRICE = 20.0
"""Fall in the take-up log-odds per unit of APR above the alternative (0.2 per point) at average
risk; safer applicants are more price-sensitive (see :func:`price_sensitivity`)."""
TAKE_UP_AMOUNT = 1.0
"""Take-up log-odds per unit of log(offered / requested amount), for offers below the ask."""
TAKE_UP_TERM = 0.4
"""Fall in the take-up log-odds per unit of |log(offered / requested term)|."""
FRAUD_TAKE_UP = 0.97
"""Fraudsters take whatever they are offered."""


def alternative_apr(z_std: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Best APR the applicant could get elsewhere: about 15% at average risk (of all applicants),
    down to 5% for the safest, up to 36% for the riskiest (``z_std``: standardised true risk,
    the unobservable part included)."""
    noise = rng.normal(0.0, 0.02, len(z_std))
    return np.round(np.clip(0.15 + 0.05 * z_std + noise, 0.05, 0.36), 4)


def price_sensitivity(z_std: np.ndarray) -> np.ndarray:
    """Fall in the take-up log-odds per unit of APR: :data:`TAKE_UP_PRICE` at average risk, up
    to twice that for the safest applicants (prime customers shop around), half for the riskiest.
    """
    return TAKE_UP_PRICE * np.clip(np.exp(-0.35 * z_std), 0.5, 2.0)


def take_up_probability(
    z_std: np.ndarray,
    alternative: np.ndarray,
    apr: np.ndarray,
    amount: np.ndarray,
    requested: np.ndarray,
    term: np.ndarray,
    term_requested: np.ndarray,
    is_fraud: np.ndarray,
) -> np.ndarray:
    """Probability that the applicant accepts the offer (``amount`` at ``apr`` over ``term``);
    ``z_std`` is the applicant's standardised true risk at the reference offer."""
    cut = np.log(np.minimum(amount / requested, 1.0))
    other_term = np.abs(np.log(np.asarray(term, float) / np.asarray(term_requested, float)))
    logit = (
        TAKE_UP_INTERCEPT
        - price_sensitivity(z_std) * (apr - alternative)
        + TAKE_UP_AMOUNT * cut
        - TAKE_UP_TERM * other_term
    )
    return np.where(is_fraud, FRAUD_TAKE_UP, sigmoid(logit))


def _check_offers(offers: pd.DataFrame, known: pd.Index) -> np.ndarray:
    """Positions of the offered applications; DataError naming the column on bad input."""
    if not isinstance(offers, pd.DataFrame):
        raise DataError(f"offers: expected a pandas DataFrame, got {type(offers).__name__}")
    for name in ("application_id", "amount", "apr", "term"):
        if name not in offers.columns:
            raise DataError(f"offers: column '{name}' is missing")
    pos = known.get_indexer(offers["application_id"])
    if (pos < 0).any():
        bad = offers["application_id"].to_numpy()[pos < 0][0]
        raise DataError(
            f"offers: column 'application_id': {bad!r} is not an application of the book"
        )
    for name, lo, hi, what in (
        ("amount", 0.0, np.inf, "a positive amount"),
        ("apr", 0.0, 1.0, "an APR in [0, 1]"),
    ):
        col = offers[name]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise DataError(f"offers: column '{name}' must be numeric, got {col.dtype}")
        v = col.to_numpy(float)
        wrong = ~np.isfinite(v) | (v < lo) | (v > hi) | ((v == 0) & (name == "amount"))
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise DataError(f"offers: column '{name}', row {i}: {v[i]!r} is not {what}")
    term = offers["term"]
    if not pd.api.types.is_integer_dtype(term) or pd.api.types.is_bool_dtype(term):
        raise DataError(
            f"offers: column 'term' must hold whole months (integers), got {term.dtype}"
        )
    if term.isna().any() or (term.to_numpy() <= 0).any():
        i = int(np.flatnonzero(term.isna().to_numpy() | (term.fillna(0).to_numpy() <= 0))[0])
        raise DataError(f"offers: column 'term', row {i}: {term.iloc[i]!r} is not a positive term")
    return pos


def offer_outcomes(portfolio: Portfolio, offers: pd.DataFrame) -> pd.DataFrame:
    """The truth about any offer to any application of a simulated book.

    Parameters
    ----------
    portfolio : Portfolio
        A book made by :func:`creditfactory.data.simulate` (it needs the truth and the config).
    offers : pandas.DataFrame
        ``application_id``, ``amount`` (CNY, > 0), ``apr`` (0-1) and ``term`` (months, a positive
        integer): one row per offer, to any application, declined ones included; an application
        may appear several times.

    Returns
    -------
    pandas.DataFrame
        ``application_id``, ``take_up`` (probability that the applicant accepts the offer) and
        ``pd_12m`` (true probability of reaching 90+ DPD within 12 months of booking the offered
        loan), in the order of ``offers``. The simulator drew the incumbent's loans from exactly
        these probabilities.

    Raises
    ------
    DataError
        Unknown application, a missing column or a bad value (named), or a book without the
        simulator's truth.

    Examples
    --------
    >>> from creditfactory.data import SimulationConfig, simulate
    >>> pf = simulate(SimulationConfig(n_applications=2_000, seed=1))
    >>> offer = pd.DataFrame({"application_id": ["A000000001"] * 2, "amount": [5_000.0] * 2,
    ...                       "apr": [0.10, 0.24], "term": [12, 12]})
    >>> out = offer_outcomes(pf, offer)
    >>> bool(out["take_up"][0] > out["take_up"][1]), bool(out["pd_12m"][0] < out["pd_12m"][1])
    (True, True)
    """
    cfg = portfolio.config
    needed = {"risk_log_odds", "true_income", "alternative_apr", "payer_type", "is_fraud"}
    meta = portfolio.meta
    if cfg is None or not needed <= set(portfolio.truth.columns) or "risk_scale" not in meta:
        raise DataError(
            "offer_outcomes needs a book simulated by this version of creditfactory "
            "(its truth and config)"
        )
    apps = portfolio.applications
    pos = _check_offers(offers, pd.Index(apps["application_id"]))
    truth = portfolio.truth
    if not truth["application_id"].equals(apps["application_id"]):
        truth = truth.set_index("application_id").loc[apps["application_id"]].reset_index()
    alpha = float(meta["alpha"])
    scale = (float(meta["risk_scale"][0]), float(meta["risk_scale"][1]))

    amount = offers["amount"].to_numpy(float)
    apr = offers["apr"].to_numpy(float)
    term = offers["term"].to_numpy(np.int64)
    requested = apps["amount_requested"].to_numpy(float)[pos]
    term_req = apps["term_requested"].to_numpy(np.int64)[pos]
    income = truth["true_income"].to_numpy(float)[pos]
    debt = apps["bureau_monthly_debt"].to_numpy(float)[pos]
    is_fraud = truth["is_fraud"].to_numpy(bool)[pos]
    z_ref = truth["risk_log_odds"].to_numpy(float)[pos] - alpha
    delta = cfg.observable_risk_weight * (
        offer_log_odds(amount, apr, term, income, debt)
        - offer_log_odds(requested, REFERENCE_APR, term_req, income, debt)
    )
    first = np.datetime64(cfg.first_month, "M")
    month = (apps["applied_at"].to_numpy()[pos].astype("datetime64[M]") - first).astype(np.int64)
    z_std_ref = (z_ref - scale[0]) / scale[1]
    ref = RiskModel(
        z=z_ref,
        z_std=z_std_ref,
        payer=pd.Index(PAYER_TYPES).get_indexer(truth["payer_type"].to_numpy()[pos]),
        is_fraud=is_fraud,
        term=term_req,
        start_month=month,
        prepay=prepayment(z_std_ref, is_fraud, cfg),
    )
    risk = at_offer(ref, delta, term, scale, cfg)
    skill = {k: np.asarray(v, dtype=float) for k, v in meta["collector_skill"].items()}
    pd_12m = probability_bad(risk, alpha, cure_table(risk, cfg, Collectors(skill)), cfg)
    take = take_up_probability(
        z_std_ref,
        truth["alternative_apr"].to_numpy(float)[pos],
        apr,
        amount,
        requested,
        term,
        term_req,
        is_fraud,
    )
    return pd.DataFrame(
        {
            "application_id": offers["application_id"].to_numpy(),
            "take_up": take,
            "pd_12m": pd_12m,
        }
    )
