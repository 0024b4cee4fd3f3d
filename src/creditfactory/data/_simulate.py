"""``simulate(config)``: the portfolio twin end to end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

import creditfactory
from creditfactory.data._applications import make_applications
from creditfactory.data._campaigns import (
    campaigns_table,
    make_campaigns,
    reactivatable,
    response_truth,
)
from creditfactory.data._config import PAYER_TYPES, SimulationConfig
from creditfactory.data._customers import CustomerBase, make_customers
from creditfactory.data._fraud import layout_rings
from creditfactory.data._incumbent import incumbent_decisions
from creditfactory.data._loans import book_loans
from creditfactory.data._offers import alternative_apr, take_up_probability
from creditfactory.data._paths import Paths, simulate_paths
from creditfactory.data._portfolio import Portfolio
from creditfactory.data._random import streams
from creditfactory.data._risk import (
    BAD_MONTHS,
    REFERENCE_APR,
    Collectors,
    RiskModel,
    at_offer,
    build_risk_model,
    calibrate_alpha,
    cure_table,
    offer_log_odds,
    probability_bad,
)

Progress = Callable[[str, float], None]
"""Called with a step description and the fraction of the work done (0-1)."""

_STEPS = (
    "customers",
    "applications",
    "true risk",
    "incumbent decisions and take-up",
    "loan paths",
    "loans and performance",
    "campaigns",
)
_CALIBRATION_SAMPLE = 200_000


def simulate(config: SimulationConfig | None = None, progress: Progress | None = None) -> Portfolio:
    """Simulate a lending book from a known causal model.

    Parameters
    ----------
    config : SimulationConfig, optional
        Sizes, seed, risk, fraud, policy and marketing parameters; defaults if omitted.
    progress : callable, optional
        ``progress(step, fraction_done)`` is called as the work advances (the CLI draws a
        progress bar with it; the library never prints).

    Returns
    -------
    Portfolio
        Customers, applications, truth, incumbent decisions, loans, schedules, performance,
        collections and campaigns.

    Examples
    --------
    >>> pf = simulate(SimulationConfig(n_applications=2_000, seed=1))
    >>> len(pf.applications), set(pf.incumbent_decisions["decision"]) == {"approve", "decline"}
    (2000, True)
    """
    cfg = config or SimulationConfig()
    report = progress or (lambda step, done: None)
    rs = streams(cfg.seed)

    def step(i: int) -> None:
        report(_STEPS[i], i / len(_STEPS))

    step(0)
    n_fraud = round(cfg.n_applications * cfg.fraud_rate)
    n_genuine = cfg.n_applications - n_fraud
    genuine = make_customers(
        max(int(np.ceil(n_genuine * cfg.customer_pool_ratio)), 1),
        first_month=cfg.first_month,
        observation_date=cfg.observation_date,
        dormant_share=cfg.dormant_share,
        rng=rs["customers"],
    )
    forged = rs["fraud"].random(n_fraud) < cfg.forged_id_share
    fraudsters = make_customers(
        n_fraud,
        first_month=cfg.first_month,
        observation_date=cfg.observation_date,
        dormant_share=0.0,
        rng=rs["identity"],
        fraud=True,
        forged=forged,
        id_start=genuine.size + 1,
    )
    history_days = float(
        (np.datetime64(cfg.observation_date, "D") - np.datetime64(cfg.first_month, "D")).astype(
            np.int64
        )
    )
    layout = layout_rings(
        n_fraud,
        ring_share=cfg.ring_share,
        size_min=cfg.ring_size_min,
        size_max=cfg.ring_size_max,
        history_days=history_days,
        burst_days=cfg.ring_burst_days,
        rng=rs["fraud"],
    )

    step(1)
    # campaigns first: their responders apply like anyone else
    comeback = reactivatable(genuine, rs["campaigns"])
    campaigns = make_campaigns(genuine, comeback, cfg, rs["campaigns"])
    draw = make_applications(
        cfg,
        genuine,
        fraudsters,
        layout,
        forged,
        rs["applications"],
        invited=(campaigns.responder, campaigns.responded_at),
    )
    apps = draw.frame

    step(2)
    risk, scale = build_risk_model(
        apps,
        draw.hidden,
        draw.is_fraud,
        draw.month_index,
        cfg,
        income=draw.true_income,
        person=draw.person,
        payer_u=draw.payer_u,
    )
    collectors = Collectors.draw(cfg, rs["collections"])
    cures = cure_table(risk, cfg, collectors)
    n = len(apps)
    sample = None
    if n > _CALIBRATION_SAMPLE:
        sample = np.sort(rs["risk"].choice(n, _CALIBRATION_SAMPLE, replace=False))
    alpha = calibrate_alpha(risk, cures, cfg, sample)
    pd_true = probability_bad(risk, alpha, cures, cfg)

    step(3)
    decisions = incumbent_decisions(apps, cfg)
    offer = _incumbent_offers(apps, decisions, draw.true_income, risk, scale, cfg, rs["risk"])
    # booked loans live at their offer; every other application at the reference offer
    realised = _where_booked(offer.booked, offer.risk, risk)
    decisions["taken_up"] = pd.array(
        np.where(offer.approved, offer.booked, False), dtype="boolean"
    ).copy()
    decisions.loc[~offer.approved, "taken_up"] = pd.NA

    step(4)
    months = max(cfg.max_months_on_book, BAD_MONTHS)
    paths = simulate_paths(realised, alpha, cfg, collectors, rs["paths"], months)
    bad = paths.bad(BAD_MONTHS)
    missed = paths.status == 2
    first_missed = np.where(missed.any(axis=1), missed.argmax(axis=1) + 1, 0)
    pd_offer = np.full(n, np.nan)
    pd_offer[offer.approved] = probability_bad(
        _subset(offer.risk, offer.approved),
        alpha,
        {k: v[offer.approved] for k, v in cure_table(offer.risk, cfg, collectors).items()},
        cfg,
    )

    step(5)
    booked = decisions.assign(decision=np.where(offer.booked, "approve", "decline"))
    book = book_loans(
        apps,
        booked,
        _truncate(paths, cfg.max_months_on_book),
        cfg,
        rs["loans"],
        recovery_kind=np.where(risk.is_fraud, 3, risk.payer),
    )

    step(6)
    campaign_table = campaigns_table(campaigns, genuine, draw.response, apps)
    customers = _customers_table(genuine, fraudsters, apps, campaign_table)
    customers = customers.assign(**response_truth(genuine, comeback, len(customers)))

    ring_ids = np.concatenate([[None], layout.ring_ids]).astype(object)
    truth = pd.DataFrame(
        {
            "application_id": apps["application_id"].to_numpy(),
            "pd_true": pd_true,
            "pd_offer": pd_offer,
            "take_up_prob": offer.take_up,
            "alternative_apr": offer.alternative,
            "true_income": draw.true_income,
            "bad": bad.astype(np.int64),
            "is_fraud": draw.is_fraud,
            "ring_id": ring_ids[draw.ring + 1],
            # numpy's stubs reject None, which np.where takes as an object scalar
            "fraud_type": np.where(  # type: ignore[call-overload]
                draw.is_fraud, np.where(draw.ring >= 0, "ring", "lone"), None
            ),
            "id_forged": draw.forged,
            "payer_type": np.array(PAYER_TYPES)[risk.payer],
            "fpd": paths.status[:, 0] == 2,
            "first_missed_mob": first_missed.astype(np.int64),
            "risk_log_odds": alpha + risk.z,
        }
    )
    report("done", 1.0)
    return Portfolio(
        customers=customers,
        applications=apps,
        truth=truth,
        incumbent_decisions=decisions,
        loans=book.loans,
        schedules=book.schedules,
        performance=book.performance,
        collections=book.collections,
        campaigns=campaign_table,
        config=cfg,
        meta={
            "generator": f"creditfactory {creditfactory.__version__}",
            "alpha": float(alpha),
            "collector_skill": {k: v.tolist() for k, v in collectors.skill.items()},
            "risk_scale": [scale[0], scale[1]],
        },
    )


@dataclass(frozen=True)
class _Offers:
    """The incumbent's offers and the applicants' answers, row-aligned with the applications."""

    approved: np.ndarray
    booked: np.ndarray  # approved and taken up
    risk: RiskModel  # the truth at the incumbent's offer (the reference offer when declined)
    take_up: np.ndarray  # NaN when declined
    alternative: np.ndarray  # each applicant's best APR elsewhere


def _incumbent_offers(
    apps: pd.DataFrame,
    decisions: pd.DataFrame,
    income: np.ndarray,
    risk: RiskModel,
    scale: tuple[float, float],
    cfg: SimulationConfig,
    rng: np.random.Generator,
) -> _Offers:
    approved = decisions["decision"].to_numpy() == "approve"
    requested = apps["amount_requested"].to_numpy(float)
    term_req = apps["term_requested"].to_numpy(np.int64)
    amount = np.where(approved, decisions["amount_approved"].to_numpy(float), requested)
    apr = np.where(approved, decisions["apr"].to_numpy(float), REFERENCE_APR)
    term = np.where(approved, decisions["term"].to_numpy(np.int64), term_req)
    debt = apps["bureau_monthly_debt"].to_numpy(float)
    delta = cfg.observable_risk_weight * (
        offer_log_odds(amount, apr, term, income, debt)
        - offer_log_odds(requested, REFERENCE_APR, term_req, income, debt)
    )
    alternative = alternative_apr(risk.z_std, rng)
    take = take_up_probability(
        risk.z_std, alternative, apr, amount, requested, term, term_req, risk.is_fraud
    )
    taken = rng.random(len(apr)) < take
    return _Offers(
        approved=approved,
        booked=approved & taken,
        risk=at_offer(risk, delta, term, scale, cfg),
        take_up=np.where(approved, take, np.nan),
        alternative=alternative,
    )


def _where_booked(booked: np.ndarray, at_offer_: RiskModel, ref: RiskModel) -> RiskModel:
    return RiskModel(
        *(
            np.where(booked, getattr(at_offer_, f), getattr(ref, f))
            for f in RiskModel.__dataclass_fields__
        )
    )


def _subset(risk: RiskModel, rows: np.ndarray) -> RiskModel:
    return RiskModel(*(getattr(risk, f)[rows] for f in RiskModel.__dataclass_fields__))


def _truncate(paths: Paths, months: int) -> Paths:
    """The first ``months`` months on book of every path (views, no copies)."""
    return Paths(*(getattr(paths, f)[:, :months] for f in Paths.__dataclass_fields__))


def _customers_table(
    genuine: CustomerBase, fraudsters: CustomerBase, apps: pd.DataFrame, campaigns: pd.DataFrame
) -> pd.DataFrame:
    """Both customer bases as one table, with activity dates brought up to date by their
    applications and campaign responses (fraudsters join when they first apply)."""
    customers = pd.concat([genuine.frame, fraudsters.frame], ignore_index=True)
    last_app = apps.groupby("customer_id")["applied_at"].max().dt.floor("D")
    first_app = apps.groupby("customer_id")["applied_at"].min().dt.floor("D")
    responded = campaigns.loc[campaigns["responded"], ["customer_id", "responded_at"]]
    last_resp = responded.groupby("customer_id")["responded_at"].max()
    ids = customers["customer_id"]
    last = customers["last_active_date"]
    for other in (last_app, last_resp):
        if other.empty:
            continue
        cand = ids.map(other)
        last = last.where(cand.isna() | (cand <= last), cand)
    customers["last_active_date"] = last.astype("datetime64[s]")
    since = customers["customer_since"]
    customers["customer_since"] = since.fillna(ids.map(first_app)).astype("datetime64[s]")
    return customers
