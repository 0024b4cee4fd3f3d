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
    """The campaigns table plus the responders' applications to come."""

    frame: pd.DataFrame
    responder: np.ndarray  # customer index (into the genuine base) of each response
    responded_at: np.ndarray  # datetime64[D] of each response (the day the customer applies)
    row: np.ndarray  # row of the campaigns table each response comes from


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
    if cfg.n_campaigns == 0 or size == 0:
        return _no_responses(_empty())
    parts: list[pd.DataFrame] = []
    targeted: list[np.ndarray] = []
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
        parts.append(_contacts(c, sent, pick, customers, comeback, cfg, rng))
        targeted.append(pick)
    if not parts:
        return _no_responses(_empty())
    table = pd.concat(parts, ignore_index=True)
    who = np.concatenate(targeted)
    rows = np.flatnonzero(table["responded"].to_numpy())
    responded_at = table["responded_at"].to_numpy().astype("datetime64[D]")[rows]
    return Campaigns(table, who[rows], responded_at, rows)


def _no_responses(table: pd.DataFrame) -> Campaigns:
    empty = np.zeros(0, dtype=np.int64)
    return Campaigns(table, empty, np.zeros(0, dtype="datetime64[D]"), empty)


def _contacts(
    c: int,
    sent: np.datetime64,
    who: np.ndarray,
    customers: CustomerBase,
    comeback: np.ndarray,
    cfg: SimulationConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
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
    limit = offer_limit(income)
    # a response is an application, so it falls before the observation date
    latest = max(int((np.datetime64(cfg.observation_date, "D") - sent).astype(np.int64)) - 1, 1)
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
            "offer_rate_discount": np.where(offer == 1, RATE_DISCOUNT, np.nan),
            "treatment": treated,
            "days_inactive": days.astype(np.int64),
            "dormant": dormant,
            "responded": responded,
            "responded_at": np.where(
                responded,
                sent + np.minimum(rng.integers(1, 31, n), latest).astype("timedelta64[D]"),
                np.datetime64("NaT", "D"),
            ),
            "contact_cost": cost,
            "true_p_control": p_control,
            "true_uplift": uplift,
        }
    )


def link_responses(campaigns: Campaigns, response: np.ndarray, apps: pd.DataFrame) -> pd.DataFrame:
    """The campaigns table with ``application_id``: the application each response became
    (null for contacts that did not respond)."""
    table = campaigns.frame.copy()
    linked = np.full(len(table), None, dtype=object)
    rows = np.flatnonzero(response >= 0)
    linked[campaigns.row[response[rows]]] = apps["application_id"].to_numpy()[rows]
    table.insert(table.columns.get_loc("responded_at") + 1, "application_id", linked)
    return table


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
