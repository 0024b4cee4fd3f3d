"""Marketing campaigns to existing customers, dormant ones included: randomised treatment and
control, a response (applied within 30 days) with a known heterogeneous uplift. Responders
apply: each response becomes an application that the incumbent decides like any other.

Typical magnitudes (``shared/DOMAIN.md``): SMS lifts response by a few tenths of a percent,
app push by about one percent, outbound calls by a few percent; some customers respond
negatively (payroll customers already active, annoyed by a call). Dormant customers respond
less, and what uplift they have sits with a minority (those a contact can bring back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.data._config import SimulationConfig, add_months
from creditfactory.data._customers import CustomerBase
from creditfactory.data._random import sigmoid

CAMPAIGN_CHANNELS: tuple[str, ...] = ("sms", "push", "call")
OFFERS: tuple[str, ...] = ("preapproved_limit", "rate_discount")
CONTACT_COST = {"sms": 0.05, "push": 0.01, "call": 3.0}
_BASE_UPLIFT = np.array([0.004, 0.010, 0.030])
_COMEBACK = 2.2  # uplift multiplier of the dormant customers a contact can bring back
_DORMANT_REST = 0.1  # ... and of the other dormant customers
RATE_DISCOUNT = 0.02
DORMANT_DAYS = 180


@dataclass(frozen=True)
class Campaigns:
    """Every contact as compact arrays (the table is built once the applications exist), plus
    the responders' applications to come."""

    arrays: dict[str, np.ndarray]  # one array per column, codes for the text ones
    responder: np.ndarray  # customer index (into the genuine base) of each response
    responded_at: np.ndarray  # datetime64[D] of each response (the day the customer applies)
    row: np.ndarray  # contact (row of the campaigns table) each response comes from


def reactivatable(customers: CustomerBase, rng: np.random.Generator) -> np.ndarray:
    """The minority of dormant customers a contact can bring back (customers who still bank
    with the lender more often): the only dormant customers with a sizeable uplift."""
    rel = customers.arrays["relationship"]
    p = sigmoid(-1.6 + 1.3 * (rel != "none"))
    return ~np.isnat(customers.dormant_since) & (rng.random(customers.size) < p)


def response_model(
    *,
    age: np.ndarray,
    income: np.ndarray,
    relationship: np.ndarray,
    latent: np.ndarray,
    dormant: np.ndarray,
    comeback: np.ndarray,
    channel: np.ndarray,
    offer: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The true response model: probability of applying within 30 days without contact
    (``p_control``) and the effect of a contact by ``channel`` (index into CAMPAIGN_CHANNELS)
    with ``offer`` (index into OFFERS): ``uplift``. Dormant customers respond less; their
    uplift sits with the ``comeback`` minority."""
    p_control = sigmoid(
        -5.2 + 0.5 * (age < 30) - 1.6 * dormant + 0.3 * (relationship == "none") + 0.25 * latent
    )
    uplift = _BASE_UPLIFT[channel].copy()
    uplift *= np.where(dormant, np.where(comeback, _COMEBACK, _DORMANT_REST), 1.0)
    uplift *= np.where(offer == 1, np.where(income > 10_000, 1.5, 0.7), 1.0)
    uplift *= np.where(offer == 0, np.where(latent > 0.5, 1.4, 0.9), 1.0)
    uplift *= np.where(channel == 1, np.where(age < 30, 1.5, np.where(age > 45, 0.5, 1.0)), 1.0)
    uplift *= np.where((channel == 2) & (age > 40), 1.3, 1.0)
    annoyed = (channel == 2) & (relationship == "payroll") & ~dormant
    uplift = np.where(annoyed, -0.6 * p_control - 0.004, uplift)
    uplift = np.clip(uplift, -p_control, 1.0 - p_control)
    return p_control, uplift


def days_inactive(
    dormant_since: np.ndarray, sent: np.datetime64 | np.ndarray, noise: np.ndarray
) -> np.ndarray:
    """Days since the customer's last activity at ``sent``: since going dormant, or a few days
    (``noise``) for an active customer."""
    gone = ~np.isnat(dormant_since) & (dormant_since < sent)
    since = np.where(gone, dormant_since, sent)
    return np.where(gone, (sent - since).astype(np.int64), noise.astype(np.int64))


def make_campaigns(
    customers: CustomerBase,
    comeback: np.ndarray,
    cfg: SimulationConfig,
    rng: np.random.Generator,
) -> Campaigns:
    """Contacts of every campaign with treatment, response and the true uplift; responders
    apply (the returned responses become applications)."""
    frame = customers.arrays
    n_cust = customers.size
    size = round(cfg.campaign_reach * n_cust)
    parts: list[dict[str, np.ndarray]] = []
    for c in range(cfg.n_campaigns if size else 0):
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
        parts.append(_contacts(c, sent, pick, customers, comeback, cfg, rng))
    if parts:
        arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    else:
        arrays = {k: np.zeros(0, dtype=v) for k, v in _ARRAY_DTYPES.items()}
    rows = np.flatnonzero(arrays["responded"])
    return Campaigns(arrays, arrays["who"][rows], arrays["responded_at"][rows], rows)


_ARRAY_DTYPES: dict[str, Any] = {
    "campaign": np.int16,
    "who": np.int32,
    "sent_at": "datetime64[D]",
    "channel": np.int8,
    "offer": np.int8,
    "offer_limit": np.float64,
    "treatment": bool,
    "days_inactive": np.int32,
    "dormant": bool,
    "responded": bool,
    "responded_at": "datetime64[D]",
    "contact_cost": np.float64,
    "true_p_control": np.float64,
    "true_uplift": np.float64,
}


def _contacts(
    c: int,
    sent: np.datetime64,
    who: np.ndarray,
    customers: CustomerBase,
    comeback: np.ndarray,
    cfg: SimulationConfig,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    frame = customers.arrays
    n = len(who)
    age = (sent - frame["birth_date"][who].astype("datetime64[D]")).astype(np.int64) / 365.25
    income = frame["monthly_income"][who].astype(float)
    noise = np.minimum(rng.exponential(20.0, n), DORMANT_DAYS - 1)  # active: a few days
    days = days_inactive(customers.dormant_since[who], sent, noise)
    dormant = days >= DORMANT_DAYS

    channel = rng.choice(3, size=n, p=[0.5, 0.35, 0.15])
    offer = rng.choice(2, size=n)
    treated = rng.random(n) >= cfg.campaign_control_share
    p_control, uplift = response_model(
        age=age,
        income=income,
        relationship=frame["relationship"][who],
        latent=customers.latent[who],
        dormant=dormant,
        comeback=comeback[who],
        channel=channel,
        offer=offer,
    )
    p = np.where(treated, p_control + uplift, p_control)
    responded = rng.random(n) < p
    # a response is an application, so it falls before the observation date
    latest = max(int((np.datetime64(cfg.observation_date, "D") - sent).astype(np.int64)) - 1, 1)
    cost = np.array([CONTACT_COST[x] for x in CAMPAIGN_CHANNELS])[channel]
    return {
        "campaign": np.full(n, c, dtype=np.int16),
        "who": who.astype(np.int32),
        "sent_at": np.full(n, sent),
        "channel": channel.astype(np.int8),
        "offer": offer.astype(np.int8),
        "offer_limit": offer_limit(income),
        "treatment": treated,
        "days_inactive": days.astype(np.int32),
        "dormant": dormant,
        "responded": responded,
        "responded_at": np.where(
            responded,
            sent + np.minimum(rng.integers(1, 31, n), latest).astype("timedelta64[D]"),
            np.datetime64("NaT", "D"),
        ),
        "contact_cost": np.where(treated, cost, 0.0),
        "true_p_control": p_control,
        "true_uplift": uplift,
    }


def campaigns_table(
    campaigns: Campaigns, customers: CustomerBase, response: np.ndarray, apps: pd.DataFrame
) -> pd.DataFrame:
    """The campaigns table, with ``application_id``: the application each response became
    (null for contacts that did not respond)."""
    a = campaigns.arrays
    n = len(a["who"])
    offer = a["offer"]
    linked = np.full(n, None, dtype=object)
    rows = np.flatnonzero(response >= 0)
    linked[campaigns.row[response[rows]]] = apps["application_id"].to_numpy()[rows]
    names = np.array([f"K{c + 1:03d}" for c in range(int(a["campaign"].max(initial=-1)) + 1)])
    names = names[a["campaign"]] if n else np.zeros(0, dtype=str)
    return pd.DataFrame(
        {
            "campaign_id": pd.array(names, dtype="str"),
            "customer_id": customers.frame["customer_id"].take(a["who"]).array,
            "sent_at": a["sent_at"].astype("datetime64[s]"),
            "channel": pd.array(np.array(CAMPAIGN_CHANNELS)[a["channel"]], dtype="str"),
            "offer": pd.array(np.array(OFFERS)[offer], dtype="str"),
            "offer_limit": np.where(offer == 0, a["offer_limit"], np.nan),
            "offer_rate_discount": np.where(offer == 1, RATE_DISCOUNT, np.nan),
            "treatment": a["treatment"],
            "days_inactive": a["days_inactive"].astype(np.int64),
            "dormant": a["dormant"],
            "responded": a["responded"],
            "responded_at": a["responded_at"].astype("datetime64[s]"),
            "application_id": linked,
            "contact_cost": a["contact_cost"],
            "true_p_control": a["true_p_control"],
            "true_uplift": a["true_uplift"],
        }
    )


def response_truth(
    customers: CustomerBase, comeback: np.ndarray, n_rows: int
) -> dict[str, np.ndarray]:
    """Columns of the customers table (``n_rows`` long: the genuine base first, then the
    fraudsters) the response oracle needs: each customer's unobservable character, the day
    they went dormant and whether a contact can bring them back."""
    pad = n_rows - customers.size
    return {
        "true_latent": np.r_[customers.latent, np.full(pad, np.nan)],
        "true_dormant_since": np.r_[
            customers.dormant_since, np.full(pad, np.datetime64("NaT", "D"))
        ].astype("datetime64[s]"),
        "true_reactivatable": np.r_[comeback, np.zeros(pad, bool)],
    }


def offer_limit(income: np.ndarray) -> np.ndarray:
    """Pre-approved limit offered to a customer of true monthly ``income``."""
    return np.round(np.clip(income * 3.0, 2_000, 100_000), -2)
