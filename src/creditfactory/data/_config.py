"""``SimulationConfig``: every knob of the portfolio twin, with documented, realistic defaults.

Defaults follow ``shared/DOMAIN.md``: a subprime internet-lending book with about 8% of
applications going 90+ days past due within 12 months, about 3% fraud, a third thin-file, and an
incumbent policy approving a little over half.
"""

from __future__ import annotations

import datetime as dt
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CHANNELS: tuple[str, ...] = (
    "branch",
    "app",
    "travel",
    "electronics_3c",
    "rent",
    "education",
    "agriculture",
    "beauty",
    "auto",
    "ecommerce",
)
"""Application channels: the lender's own (branch, app) and partner scenarios."""

COLLECTION_ACTIONS: tuple[str, ...] = (
    "sms",
    "robo_call",
    "agent_call",
    "field_visit",
    "agency",
    "legal",
)
"""Collection actions, cheapest first."""

PAYER_TYPES: tuple[str, ...] = ("forgetful", "unwilling", "unable")
"""Latent type of a delinquent payer, which decides what collection action works."""


def _default_channel_mix() -> dict[str, float]:
    return {
        "branch": 0.08,
        "app": 0.42,
        "travel": 0.04,
        "electronics_3c": 0.12,
        "rent": 0.06,
        "education": 0.06,
        "agriculture": 0.05,
        "beauty": 0.04,
        "auto": 0.05,
        "ecommerce": 0.08,
    }


def _default_collection_effects() -> dict[str, dict[str, float]]:
    # Additive effect on the log-odds of curing in the month the action is taken, by payer type:
    # cheap channels work on forgetful payers, expensive ones on the able but unwilling; the
    # unable barely respond to anything.
    return {
        "forgetful": {
            "sms": 1.0,
            "robo_call": 1.1,
            "agent_call": 1.2,
            "field_visit": 1.2,
            "agency": 0.6,
            "legal": 0.3,
        },
        "unwilling": {
            "sms": 0.05,
            "robo_call": 0.15,
            "agent_call": 0.7,
            "field_visit": 1.4,
            "agency": 0.9,
            "legal": 1.3,
        },
        "unable": {
            "sms": 0.0,
            "robo_call": 0.0,
            "agent_call": 0.15,
            "field_visit": 0.25,
            "agency": 0.1,
            "legal": 0.15,
        },
    }


def _default_action_costs() -> dict[str, float]:
    # CNY per account-month; agency also takes a commission on what it recovers.
    return {
        "sms": 0.05,
        "robo_call": 0.6,
        "agent_call": 8.0,
        "field_visit": 150.0,
        "agency": 20.0,
        "legal": 900.0,
    }


def _default_collection_policy() -> dict[str, dict[str, float]]:
    # The incumbent's randomised assignment: bucket at the start of the month -> action shares.
    return {
        "M1": {"sms": 0.45, "robo_call": 0.30, "agent_call": 0.25},
        "M2": {"robo_call": 0.20, "agent_call": 0.60, "field_visit": 0.20},
        "M3": {"agent_call": 0.30, "field_visit": 0.40, "agency": 0.30},
        "M4": {"agent_call": 0.20, "field_visit": 0.30, "agency": 0.50},
        "M5": {"field_visit": 0.20, "agency": 0.50, "legal": 0.30},
        "M6+": {"agency": 0.50, "legal": 0.50},
    }


class SimulationConfig(BaseModel):
    """Every parameter of the portfolio twin. Same config, same book, bit for bit.

    Examples
    --------
    >>> cfg = SimulationConfig(n_applications=2_000, seed=3)
    >>> cfg.target_bad_rate
    0.08
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    # --- size and time ------------------------------------------------------------------------
    seed: int = Field(7, ge=0, description="Random seed; the same seed gives the same book.")
    n_applications: int = Field(50_000, gt=0, le=20_000_000, description="Applications.")
    customer_pool_ratio: float = Field(
        1.3,
        ge=1.0,
        le=10.0,
        description="Genuine customers per genuine application: the lender's customer base is "
        "larger than its applicant flow (marketing targets those who never applied).",
    )
    start_month: dt.date = Field(
        dt.date(2024, 1, 1), description="First month of applications (any day in it)."
    )
    months_of_history: int = Field(
        24,
        ge=1,
        le=60,
        description="Months over which applications arrive; performance is observed up to the "
        "end of the last month (the observation date).",
    )
    max_months_on_book: int = Field(
        24, ge=1, le=60, description="Performance is simulated up to this many months on book."
    )
    monthly_growth: float = Field(
        0.02, ge=-0.2, le=0.5, description="Month-on-month growth of the application flow."
    )

    # --- risk ---------------------------------------------------------------------------------
    target_bad_rate: float = Field(
        0.08,
        gt=0.0,
        lt=0.6,
        description="Through-the-door 12-month 90+ DPD rate (all applications, fraud included); "
        "the intercept of the true model is calibrated to it, macro shock included.",
    )
    observable_risk_weight: float = Field(
        0.45,
        ge=0.0,
        le=3.0,
        description="Weight of the observable part of the true model (log-odds); with "
        "unobserved_risk_sd it sets the rank power of the truth (AUC about 0.86 on genuine "
        "applications by default, about 0.77 for a perfect model of observable data).",
    )
    unobserved_risk_sd: float = Field(
        0.6,
        ge=0.0,
        le=3.0,
        description="Standard deviation of the unobservable part of risk (log-odds); it bounds "
        "the rank power any model of observable data can reach.",
    )
    thin_file_share: float = Field(
        0.35, ge=0.0, le=1.0, description="Approximate share of applicants with no bureau file."
    )
    third_party_coverage: float = Field(
        0.7, ge=0.0, le=1.0, description="Share of applicants the third-party score covers."
    )
    macro_shock_month: dt.date | None = Field(
        dt.date(2025, 7, 1),
        description="From this calendar month on, delinquency rises and cures fall (None: no "
        "shock).",
    )
    macro_shock_strength: float = Field(
        0.6,
        ge=0.0,
        le=3.0,
        description="Log-odds added to the monthly delinquency hazard after the shock; cure "
        "log-odds fall by half of it.",
    )
    macro_shock_drift: float = Field(
        0.3,
        ge=0.0,
        le=3.0,
        description="After the shock, applicants' unobservable stress rises by this many "
        "standard deviations, so their bureau and alternative data drift (more inquiries, "
        "higher utilisation): the population shift monitoring should find.",
    )
    prepayment_rate: float = Field(
        0.045,
        ge=0.0,
        le=0.5,
        description="Monthly probability that a current loan settles early (about a quarter of "
        "cash loans that reach maturity were settled early).",
    )
    partial_payment_share: float = Field(
        0.15,
        ge=0.0,
        le=0.9,
        description="Of delinquent accounts that do not cure in a month, the share that pays one "
        "instalment and so stays in its bucket (status 'partial').",
    )
    base_cure_logit: tuple[float, float, float] = Field(
        (0.7, -0.85, -2.2),
        description="Log-odds of curing in a month with no action, for M1, M2 and M3+, at "
        "average risk; actions and payer type add to it.",
    )

    # --- fraud --------------------------------------------------------------------------------
    fraud_rate: float = Field(0.03, ge=0.0, le=0.5, description="Share of fraudulent apps.")
    ring_share: float = Field(
        0.6, ge=0.0, le=1.0, description="Share of fraudulent applications made by rings."
    )
    ring_size_min: int = Field(3, ge=2, description="Smallest fraud ring.")
    ring_size_max: int = Field(25, ge=2, description="Largest fraud ring.")
    ring_burst_days: float = Field(
        4.0, gt=0.0, le=60.0, description="A ring's applications fall within about this many days."
    )
    fraud_fpd_rate: float = Field(
        0.8, ge=0.0, le=1.0, description="First-payment default rate of fraudulent loans."
    )
    fraud_tell_rate: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="Mean chance that a fraudulent application shows each tell (many "
        "blacklisted contacts, a fast form, many lending apps ...); lower hides fraud better. "
        "Drawn per lone fraudster and per ring, whose members share their tells.",
    )
    fraud_clean_member_share: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="Share of ring members recruited with clean profiles (no tell at all).",
    )
    forged_id_share: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Share of fraudulent applications that carry a forged resident ID number "
        "(wrong check digit, impossible birth date or unknown region).",
    )

    # --- the incumbent lender -----------------------------------------------------------------
    approval_rate: float = Field(
        0.55, gt=0.0, le=1.0, description="Target approval rate of the incumbent policy."
    )
    apr_cap: float = Field(0.24, gt=0.0, le=1.0, description="Maximum APR the lender charges.")
    apr_floor: float = Field(
        0.072,
        ge=0.0,
        le=1.0,
        description="Lowest APR the incumbent charges (a floor under its lifetime-model price; "
        "with the default costs its prices stay above about 9%).",
    )
    channel_mix: dict[str, float] = Field(
        default_factory=_default_channel_mix, description="Share of applications by channel."
    )

    # --- collections --------------------------------------------------------------------------
    collection_policy: dict[str, dict[str, float]] = Field(
        default_factory=_default_collection_policy,
        description="Incumbent randomised action assignment: bucket -> action -> share.",
    )
    collection_effects: dict[str, dict[str, float]] = Field(
        default_factory=_default_collection_effects,
        description="True effect of each action on the log-odds of curing, by payer type.",
    )
    action_costs: dict[str, float] = Field(
        default_factory=_default_action_costs, description="Cost per action (CNY)."
    )
    n_call_agents: int = Field(40, ge=1, description="Collectors making agent calls.")
    n_field_agents: int = Field(12, ge=1, description="Collectors making field visits.")
    collector_skill_sd: float = Field(
        0.3, ge=0.0, le=2.0, description="Spread of collectors' skill (log-odds of curing)."
    )

    # --- marketing ----------------------------------------------------------------------------
    n_campaigns: int = Field(6, ge=0, le=100, description="Marketing campaigns to customers.")
    campaign_reach: float = Field(
        0.15, ge=0.0, le=1.0, description="Share of the customer base each campaign targets."
    )
    campaign_control_share: float = Field(
        0.2, gt=0.0, lt=1.0, description="Share of targeted customers held out as control."
    )
    dormant_share: float = Field(
        0.35, ge=0.0, le=1.0, description="Share of customers who have gone dormant."
    )

    @field_validator("channel_mix")
    @classmethod
    def _check_channel_mix(cls, mix: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(mix) - set(CHANNELS))
        if unknown:
            raise ValueError(f"unknown channel(s) {unknown}; known: {list(CHANNELS)}")
        if any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
            raise ValueError("shares must be non-negative and not all zero")
        total = sum(mix.values())
        if abs(total - 1.0) < 1e-9:  # already shares: keep them exactly (round trips)
            total = 1.0
        return {c: mix.get(c, 0.0) / total for c in CHANNELS}

    @field_validator("collection_policy")
    @classmethod
    def _check_policy(cls, policy: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        buckets = ("M1", "M2", "M3", "M4", "M5", "M6+")
        if set(policy) != set(buckets):
            raise ValueError(f"needs exactly the buckets {list(buckets)}")
        out = {}
        for bucket in buckets:
            shares = policy[bucket]
            unknown = sorted(set(shares) - set(COLLECTION_ACTIONS))
            if unknown:
                raise ValueError(f"bucket {bucket}: unknown action(s) {unknown}")
            total = sum(shares.values())
            if any(v < 0 for v in shares.values()) or total <= 0:
                raise ValueError(f"bucket {bucket}: shares must be non-negative, not all zero")
            total = 1.0 if abs(total - 1.0) < 1e-9 else total
            out[bucket] = {a: shares[a] / total for a in shares}
        return out

    @field_validator("collection_effects")
    @classmethod
    def _check_effects(cls, effects: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for payer in PAYER_TYPES:
            if payer not in effects:
                raise ValueError(f"missing payer type {payer!r}")
            missing = sorted(set(COLLECTION_ACTIONS) - set(effects[payer]))
            if missing:
                raise ValueError(f"payer type {payer!r}: missing action(s) {missing}")
        return effects

    @field_validator("action_costs")
    @classmethod
    def _check_costs(cls, costs: dict[str, float]) -> dict[str, float]:
        missing = sorted(set(COLLECTION_ACTIONS) - set(costs))
        if missing:
            raise ValueError(f"missing action(s) {missing}")
        if any(v < 0 for v in costs.values()):
            raise ValueError("costs must be non-negative")
        return costs

    @model_validator(mode="after")
    def _check_ranges(self) -> Self:
        if self.ring_size_max < self.ring_size_min:
            raise ValueError("ring_size_max must be >= ring_size_min")
        if self.apr_floor > self.apr_cap:
            raise ValueError("apr_floor must be <= apr_cap")
        return self

    @property
    def observation_date(self) -> dt.date:
        """First day after the last month of history: performance is known up to here."""
        return add_months(self.start_month.replace(day=1), self.months_of_history)

    @property
    def first_month(self) -> dt.date:
        """First day of the first month of applications."""
        return self.start_month.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` after the month of ``day``.

    >>> add_months(dt.date(2024, 11, 5), 3)
    datetime.date(2025, 2, 1)
    """
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)
