"""The truth: a known model of risk, the 12-month probability of 90+ DPD, and every loan's
month-by-month path under the incumbent's collections.

The true model works on the monthly hazard of missing a payment (log-odds ``alpha + z``, with
``z`` a non-linear function of what the lender observes plus an unobservable part) and on the
monthly probability that a delinquent account cures (log-odds from its bucket, its risk, its
payer type, the collection action and the collector's skill). Both worsen after the macro shock.
``pd_true`` is computed exactly from these monthly probabilities by dynamic programming over the
first 12 months, so it is the probability of the realised outcome ``bad``, by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from creditfactory.data._config import COLLECTION_ACTIONS, PAYER_TYPES, SimulationConfig
from creditfactory.data._random import sigmoid
from creditfactory.data._reference import CHANNEL_RISK
from creditfactory.exceptions import ConfigError

BAD_MONTHS = 12  # performance window of the bad definition
BAD_BUCKET = 3  # 90+ DPD: three instalments missed
MAX_BUCKET = 6  # M6+; one more missed month is a charge-off
BUCKET_NAMES = ("M1", "M2", "M3", "M4", "M5", "M6+")
FRAUD_CURE_LOGIT = -4.0
FRAUD_LATER_HAZARD = 0.35
_POOLED = {"agent_call": "call", "field_visit": "field"}


@dataclass(frozen=True)
class RiskModel:
    """Per-application ingredients of the truth, row-aligned with the applications."""

    z: np.ndarray  # log-odds offset of the monthly miss hazard (without the intercept)
    z_std: np.ndarray  # z standardised over genuine applicants
    payer: np.ndarray  # index into PAYER_TYPES
    is_fraud: np.ndarray
    term: np.ndarray
    start_month: np.ndarray  # month index of the application
    prepay: np.ndarray  # monthly prepayment probability


REFERENCE_APR = 0.18
"""APR of the reference offer at which ``pd_true`` is computed (with the requested amount and
term)."""


def _instalment(amount: np.ndarray, term: np.ndarray, apr: np.ndarray | float) -> np.ndarray:
    r = np.asarray(apr, dtype=float) / 12.0
    n = np.asarray(term, dtype=float)
    safe = np.where(r > 0, r, 1.0)
    annuity = amount * safe / (1.0 - (1.0 + safe) ** (-n))
    return np.where(r > 0, annuity, amount / n)


def offer_log_odds(
    amount: np.ndarray,
    apr: np.ndarray | float,
    term: np.ndarray,
    income: np.ndarray,
    debt: np.ndarray,
) -> np.ndarray:
    """The part of the true model that depends on the loan itself (before the observable
    weight): the payment shock of the instalment plus existing debt service against the true
    income, and the term."""
    inst = _instalment(amount, term, apr)
    dti = (inst + debt) / np.maximum(income, 500.0)
    return 1.6 * np.maximum(dti - 0.45, 0.0) + 0.3 * dti + 0.01 * np.asarray(term, dtype=float)


def true_log_odds(
    apps: pd.DataFrame,
    hidden: np.ndarray,
    cfg: SimulationConfig,
    income: np.ndarray | None = None,
) -> np.ndarray:
    """The known model at the reference offer (requested amount and term, :data:`REFERENCE_APR`):
    log-odds offset of the monthly miss hazard from what the lender sees (with non-linear
    effects and interactions) plus ``unobserved_risk_sd`` times ``hidden``.

    ``income`` is the true monthly income (the simulator passes it; the lender sees only the
    declared ``monthly_income``, which is used when it is omitted)."""
    if income is None:
        income = apps["monthly_income"].to_numpy(float)
    income = np.maximum(np.asarray(income, dtype=float), 500.0)
    offer = offer_log_odds(
        apps["amount_requested"].to_numpy(float),
        REFERENCE_APR,
        apps["term_requested"].to_numpy(),
        income,
        apps["bureau_monthly_debt"].to_numpy(float),
    )
    return base_log_odds(apps, hidden, cfg, income) + cfg.observable_risk_weight * offer


def base_log_odds(
    apps: pd.DataFrame, hidden: np.ndarray, cfg: SimulationConfig, income: np.ndarray
) -> np.ndarray:
    """The true model without the loan's own part (:func:`offer_log_odds`)."""
    age = apps["age"].to_numpy(float)
    occ = apps["occupation"].to_numpy()
    thin = apps["thin_file"].to_numpy(bool)
    inq3 = apps["inquiries_3m"].to_numpy(float)
    util = apps["utilisation"].to_numpy(float)
    hist = np.nan_to_num(apps["bureau_history_months"].to_numpy(float), nan=0.0)
    spend = apps["ecommerce_spend"].to_numpy(float)
    occ_effect = {
        "civil_servant": -0.8,
        "enterprise_employee": -0.2,
        "micro_business_owner": 0.1,
        "farmer": 0.2,
        "worker": 0.15,
        "student": 0.5,
        "freelancer": 0.35,
    }
    z = (
        0.0018 * (age - 38.0) ** 2
        - 0.45 * np.log(income / 6000.0)
        + _lookup(occ, occ_effect)
        + _lookup(apps["relationship"].to_numpy(), {"payroll": -0.5, "deposits": -0.25})
        + _lookup(apps["housing"].to_numpy(), {"own": -0.2, "mortgage": -0.1, "rent": 0.15})
        + _lookup(
            apps["education"].to_numpy(),
            {"postgraduate": -0.3, "bachelor": -0.15, "high_school": 0.1, "below_high_school": 0.2},
        )
        + 0.07 * (apps["city_tier"].to_numpy(float) - 1.0)
        + 0.2 * np.log1p(inq3)
        + 0.1 * np.maximum(inq3 - 4.0, 0.0)
        # multi-borrowing (多头借贷): bursts of inquiries and loans at several lenders
        + 0.25 * np.log1p(apps["inquiries_other_7d"].to_numpy(float))
        + 0.15 * np.log1p(apps["inquiries_other_1m"].to_numpy(float))
        + 0.15 * np.minimum(apps["loans_elsewhere"].to_numpy(float), 8.0)
        + 0.04 * np.minimum(apps["lending_institutions"].to_numpy(float), 10.0)
        + 0.5 * np.minimum(apps["delinquencies_24m"].to_numpy(float), 3.0)
        + np.where(np.isnan(util), 0.0, 0.3 * np.nan_to_num(util) + 1.2 * np.maximum(util - 0.8, 0))
        + 0.35 * thin
        + 0.35 * (thin & (age < 25))  # interaction: young and unknown to the bureau
        - 0.003 * np.minimum(hist, 120.0)
        + 6.0 * apps["contacts_blacklisted_share"].to_numpy(float)
        + 0.07 * np.minimum(apps["loan_apps_installed"].to_numpy(float), 15.0)
        + 0.3 * apps["night_application"].to_numpy(bool)
        + 0.2 * (apps["form_fill_seconds"].to_numpy(float) < 60.0)
        + 0.2 * apps["gps_city_mismatch"].to_numpy(bool)
        + _lookup(
            apps["phone_price_tier"].to_numpy(), {"low": 0.2, "high": -0.1, "flagship": -0.15}
        )
        + np.where(np.isnan(spend), 0.1, -0.15 * np.log1p(np.nan_to_num(spend) / 1000.0))
        + _lookup(apps["channel"].to_numpy(), CHANNEL_RISK)
        + 0.3 * ((occ == "student") & (apps["channel"].to_numpy() == "education"))
        + _lookup(apps["product"].to_numpy(), {"micro_business": 0.1, "instalment": -0.05})
    )
    return cfg.observable_risk_weight * z + cfg.unobserved_risk_sd * hidden


def _lookup(values: np.ndarray, table: dict[str, float]) -> np.ndarray:
    keys = np.array(list(table))
    vals = np.array(list(table.values()), dtype=float)
    order = np.argsort(keys)
    keys, vals = keys[order], vals[order]
    pos = np.clip(np.searchsorted(keys, values), 0, len(keys) - 1)
    return np.where(keys[pos] == values, vals[pos], 0.0)


def build_risk_model(
    apps: pd.DataFrame,
    hidden: np.ndarray,
    is_fraud: np.ndarray,
    month_index: np.ndarray,
    cfg: SimulationConfig,
    *,
    income: np.ndarray,
    person: np.ndarray,
    payer_u: np.ndarray,
) -> tuple[RiskModel, tuple[float, float]]:
    """The truth of every application at the reference offer, and the (mean, sd) of its
    log-odds over genuine applications that standardises risk at any other offer.

    The payer type is the person's: drawn once per person (``payer_u``) from their average risk,
    so it is the same on every application they make."""
    z = true_log_odds(apps, hidden, cfg, income)
    genuine = ~is_fraud
    # (a book too small to have a spread keeps the raw scale)
    sd = float(z[genuine].std()) if genuine.sum() > 1 else 0.0
    scale = (float(z[genuine].mean()) if genuine.any() else 0.0, sd if sd > 1e-9 else 1.0)
    z_std = (z - scale[0]) / scale[1]
    _, pos = np.unique(person, return_inverse=True)
    mean_std = (np.bincount(pos, z_std) / np.bincount(pos))[pos]
    payer = payer_types(mean_std, payer_u)
    risk = RiskModel(
        z=z,
        z_std=z_std,
        payer=payer,
        is_fraud=is_fraud,
        term=apps["term_requested"].to_numpy(np.int64),
        start_month=month_index,
        prepay=prepayment(z_std, is_fraud, cfg),
    )
    return risk, scale


def payer_types(risk_std: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Payer type (index into PAYER_TYPES) from standardised risk and a uniform draw."""
    p_unable = sigmoid(-1.6 + 0.9 * risk_std)
    p_unwilling = (1.0 - p_unable) * sigmoid(-1.0 + 0.4 * risk_std)
    return np.where(u < p_unable, 2, np.where(u < p_unable + p_unwilling, 1, 0))


def prepayment(z_std: np.ndarray, is_fraud: np.ndarray, cfg: SimulationConfig) -> np.ndarray:
    """Monthly prepayment probability (safer borrowers prepay more; fraud never does)."""
    prepay = np.clip(cfg.prepayment_rate * np.exp(-0.25 * z_std), 0.0, 0.5)
    return np.where(is_fraud, 0.0, prepay)


def at_offer(
    risk: RiskModel,
    delta: np.ndarray,
    term: np.ndarray,
    scale: tuple[float, float],
    cfg: SimulationConfig,
) -> RiskModel:
    """The same applications' truth at another offer: ``delta`` is added to the log-odds (the
    change of the loan's own part times the observable weight), ``term`` replaces the term."""
    z = risk.z + delta
    z_std = (z - scale[0]) / scale[1]
    return RiskModel(
        z=z,
        z_std=z_std,
        payer=risk.payer,
        is_fraud=risk.is_fraud,
        term=np.asarray(term, dtype=np.int64),
        start_month=risk.start_month,
        prepay=prepayment(z_std, risk.is_fraud, cfg),
    )


@dataclass(frozen=True)
class Collectors:
    """The incumbent's collectors: pools by action, each collector with a true skill."""

    skill: dict[str, np.ndarray]  # pool -> skill (log-odds of curing)

    @classmethod
    def draw(cls, cfg: SimulationConfig, rng: np.random.Generator) -> Collectors:
        return cls(
            {
                "call": rng.normal(0.0, cfg.collector_skill_sd, cfg.n_call_agents),
                "field": rng.normal(0.0, cfg.collector_skill_sd, cfg.n_field_agents),
            }
        )


def shock_index(cfg: SimulationConfig) -> int:
    """Month index (0 = first month of history) from which the macro shock applies."""
    if cfg.macro_shock_month is None:
        return 1 << 30
    shock = cfg.macro_shock_month
    first = cfg.first_month
    return (shock.year - first.year) * 12 + shock.month - first.month


def _cure_logit(
    risk: RiskModel, bucket: int, shocked: np.ndarray | bool, cfg: SimulationConfig
) -> np.ndarray:
    """Log-odds of curing for each account in ``bucket`` (1-based) before action and skill."""
    base = cfg.base_cure_logit[min(bucket, 3) - 1]
    logit = base - 0.3 * risk.z_std - 0.5 * cfg.macro_shock_strength * np.asarray(shocked)
    return np.where(risk.is_fraud, FRAUD_CURE_LOGIT, logit)


def _effects(risk: RiskModel, cfg: SimulationConfig) -> np.ndarray:
    """(n, n_actions) effect of each action on each account's cure log-odds."""
    table = np.array(
        [[cfg.collection_effects[p][a] for a in COLLECTION_ACTIONS] for p in PAYER_TYPES]
    )
    eff = table[risk.payer]
    eff[risk.is_fraud] = 0.0
    return eff


def expected_cure(
    risk: RiskModel, bucket: int, shocked: bool, cfg: SimulationConfig, collectors: Collectors
) -> np.ndarray:
    """Cure probability of each account in ``bucket``, averaged over the incumbent's randomised
    choice of action and collector: the exact monthly probability the path simulation uses."""
    logit = _cure_logit(risk, bucket, shocked, cfg)
    eff = _effects(risk, cfg)
    out = np.zeros(len(logit))
    for action, share in cfg.collection_policy[BUCKET_NAMES[min(bucket, MAX_BUCKET) - 1]].items():
        a = COLLECTION_ACTIONS.index(action)
        base = logit + eff[:, a]
        pool = _POOLED.get(action)
        if pool is None:
            out += share * sigmoid(base)
        else:
            skills = collectors.skill[pool]
            acc = np.zeros(len(base))
            for skill in skills:
                acc += sigmoid(base + skill)
            out += share * acc / len(skills)
    return np.where(risk.is_fraud, sigmoid(logit), out)


def miss_hazard(
    risk: RiskModel, alpha: float, t: int, shocked: np.ndarray, cfg: SimulationConfig
) -> np.ndarray:
    """Probability that a current account misses the instalment of month on book ``t``."""
    h = sigmoid(alpha + risk.z + cfg.macro_shock_strength * shocked)
    fraud_h = cfg.fraud_fpd_rate if t == 1 else FRAUD_LATER_HAZARD
    return np.where(risk.is_fraud, fraud_h, h)


def probability_bad(
    risk: RiskModel,
    alpha: float,
    cures: dict[tuple[int, bool], np.ndarray],
    cfg: SimulationConfig,
) -> np.ndarray:
    """Exact probability of reaching 90+ DPD within 12 months on book, by dynamic programming
    over the states current, M1 and M2 (mass reaching M3 is absorbed)."""
    n = len(risk.z)
    p0, p1, p2 = np.ones(n), np.zeros(n), np.zeros(n)
    hit = np.zeros(n)
    ps = np.where(risk.is_fraud, 0.0, cfg.partial_payment_share)  # fraud never pays part
    s_idx = shock_index(cfg)
    for t in range(1, BAD_MONTHS + 1):
        shocked = risk.start_month + t >= s_idx
        due = t <= risk.term
        h = np.where(due, miss_hazard(risk, alpha, t, shocked, cfg), 0.0)
        c1 = np.where(shocked, cures[(1, True)], cures[(1, False)])
        c2 = np.where(shocked, cures[(2, True)], cures[(2, False)])
        stay0 = np.where(due, 1.0 - h - np.where(t < risk.term, risk.prepay, 0.0), 0.0)
        stay0 = np.where(t < risk.term, stay0, 0.0)  # after the last instalment: closed
        new_hit = p2 * (1 - c2) * (1 - ps)
        new_p2 = p1 * (1 - c1) * (1 - ps) + p2 * (1 - c2) * ps
        new_p1 = p0 * h + p1 * (1 - c1) * ps
        cured_open = (t < risk.term).astype(float)
        new_p0 = p0 * stay0 + (p1 * c1 + p2 * c2) * cured_open
        hit += new_hit
        p0, p1, p2 = new_p0, new_p1, new_p2
    return hit


def cure_table(
    risk: RiskModel, cfg: SimulationConfig, collectors: Collectors
) -> dict[tuple[int, bool], np.ndarray]:
    """Expected cure probabilities for M1 and M2, before and after the shock."""
    return {
        (b, s): expected_cure(risk, b, s, cfg, collectors) for b in (1, 2) for s in (False, True)
    }


def calibrate_alpha(
    risk: RiskModel,
    cures: dict[tuple[int, bool], np.ndarray],
    cfg: SimulationConfig,
    sample: np.ndarray | None = None,
) -> float:
    """Intercept of the miss hazard that makes the mean ``pd_true`` equal the target bad rate
    (Brent's method; the mean is increasing in the intercept)."""
    if sample is not None:
        risk = RiskModel(*(getattr(risk, f)[sample] for f in RiskModel.__dataclass_fields__))
        cures = {k: v[sample] for k, v in cures.items()}

    def gap(alpha: float) -> float:
        return float(probability_bad(risk, alpha, cures, cfg).mean()) - cfg.target_bad_rate

    lo, hi = -15.0, 5.0
    floor, ceiling = gap(lo) + cfg.target_bad_rate, gap(hi) + cfg.target_bad_rate
    if floor >= cfg.target_bad_rate:
        raise ConfigError(
            f"target_bad_rate: {cfg.target_bad_rate} is below the {floor:.3f} that fraud alone "
            "produces with these settings; raise target_bad_rate or lower fraud_rate"
        )
    if ceiling <= cfg.target_bad_rate:
        raise ConfigError(
            f"target_bad_rate: {cfg.target_bad_rate} is above the highest bad rate these "
            f"settings can produce ({ceiling:.3f})"
        )
    return float(brentq(gap, lo, hi, xtol=1e-7))
