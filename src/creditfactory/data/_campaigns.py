"""Marketing campaigns to existing customers, dormant ones included: randomised treatment and
control, a response (applied within 30 days) with a known heterogeneous uplift.

Typical magnitudes (``shared/DOMAIN.md``): SMS lifts response by a few tenths of a percent,
app push by about one percent, outbound calls by a few percent; some customers respond
negatively (payroll customers already active, annoyed by a call).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.data._config import SimulationConfig, add_months
from creditfactory.data._customers import CustomerBase
from creditfactory.data._random import sigmoid

CAMPAIGN_CHANNELS: tuple[str, ...] = ("sms", "push", "call")
OFFERS: tuple[str, ...] = ("preapproved_limit", "rate_discount")
CONTACT_COST = {"sms": 0.05, "push": 0.01, "call": 3.0}
_BASE_UPLIFT = np.array([0.004, 0.010, 0.030])
DORMANT_DAYS = 180


def make_campaigns(
    customers: CustomerBase, cfg: SimulationConfig, rng: np.random.Generator
) -> pd.DataFrame:
    """Contacts of every campaign with treatment, response and the true uplift."""
    frame = customers.arrays
    n_cust = customers.size
    size = round(cfg.campaign_reach * n_cust)
    if cfg.n_campaigns == 0 or size == 0:
        return _empty()
    parts = []
    for c in range(cfg.n_campaigns):
        offset = (c + 1) * cfg.months_of_history // (cfg.n_campaigns + 1)
        sent = np.datetime64(add_months(cfg.first_month, offset), "D") + np.timedelta64(9, "D")
        eligible = np.flatnonzero(frame["customer_since"] <= sent)
        if len(eligible) == 0:
            continue
        dormant_type = ~np.isnat(customers.dormant_since[eligible])
        weight = np.where(dormant_type, 2.0, 1.0)
        pick = rng.choice(
            eligible, size=min(size, len(eligible)), replace=False, p=weight / weight.sum()
        )
        parts.append(_contacts(c, sent, pick, customers, cfg, rng))
    return pd.concat(parts, ignore_index=True) if parts else _empty()


def _contacts(
    c: int,
    sent: np.datetime64,
    who: np.ndarray,
    customers: CustomerBase,
    cfg: SimulationConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    frame = customers.arrays
    n = len(who)
    age = (sent - frame["birth_date"][who].astype("datetime64[D]")).astype(np.int64) / 365.25
    income = frame["monthly_income"][who].astype(float)
    rel = frame["relationship"][who]
    risk = customers.latent[who]
    since = customers.dormant_since[who]
    gone = ~np.isnat(since) & (since < sent)
    days = np.where(gone, (sent - np.where(gone, since, sent)).astype(np.int64), 0)
    days = days + rng.exponential(20.0, n).astype(np.int64)
    dormant = days >= DORMANT_DAYS

    channel = rng.choice(3, size=n, p=[0.5, 0.35, 0.15])
    offer = rng.choice(2, size=n)
    treated = rng.random(n) >= cfg.campaign_control_share

    p_control = sigmoid(
        -5.2 + 0.5 * (age < 30) - 1.6 * dormant + 0.3 * (rel == "none") + 0.25 * risk
    )
    uplift = _BASE_UPLIFT[channel].copy()
    uplift *= np.where(dormant & (rel != "none"), 1.8, 1.0)
    uplift *= np.where(offer == 1, np.where(income > 10_000, 1.5, 0.7), 1.0)
    uplift *= np.where(offer == 0, np.where(risk > 0.5, 1.4, 0.9), 1.0)
    uplift *= np.where(channel == 1, np.where(age < 30, 1.5, np.where(age > 45, 0.5, 1.0)), 1.0)
    uplift *= np.where((channel == 2) & (age > 40), 1.3, 1.0)
    annoyed = (channel == 2) & (rel == "payroll") & ~dormant
    uplift = np.where(annoyed, -0.6 * p_control - 0.004, uplift)
    uplift = np.clip(uplift, -p_control, 1.0 - p_control)
    p = np.where(treated, p_control + uplift, p_control)
    responded = rng.random(n) < p
    limit = np.round(np.clip(income * 3.0, 2_000, 100_000), -2)
    names = np.array(CAMPAIGN_CHANNELS)[channel]
    cost = np.where(treated, np.array([CONTACT_COST[x] for x in CAMPAIGN_CHANNELS])[channel], 0.0)
    return pd.DataFrame(
        {
            "campaign_id": np.full(n, f"K{c + 1:03d}"),
            "customer_id": customers.frame["customer_id"].take(who).array,
            "sent_at": np.full(n, sent),
            "channel": names,
            "offer": np.array(OFFERS)[offer],
            "offer_limit": np.where(offer == 0, limit, np.nan),
            "offer_rate_discount": np.where(offer == 1, 0.02, np.nan),
            "treatment": treated,
            "days_inactive": days.astype(np.int64),
            "dormant": dormant,
            "responded": responded,
            "responded_at": np.where(
                responded,
                sent + rng.integers(1, 31, n).astype("timedelta64[D]"),
                np.datetime64("NaT", "D"),
            ),
            "contact_cost": cost,
            "true_p_control": p_control,
            "true_uplift": uplift,
        }
    )


def _empty() -> pd.DataFrame:
    cols = {
        "campaign_id": "str",
        "customer_id": "str",
        "sent_at": "datetime64[s]",
        "channel": "str",
        "offer": "str",
        "offer_limit": "float64",
        "offer_rate_discount": "float64",
        "treatment": "bool",
        "days_inactive": "int64",
        "dormant": "bool",
        "responded": "bool",
        "responded_at": "datetime64[s]",
        "contact_cost": "float64",
        "true_p_control": "float64",
        "true_uplift": "float64",
    }
    return pd.DataFrame({k: pd.Series(dtype=v) for k, v in cols.items()})
