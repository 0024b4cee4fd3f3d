"""The customer base: who the lender's customers (and the fraudsters' identities) are."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditfactory.data._identity import forge_id_numbers, make_id_numbers, make_phones
from creditfactory.data._random import choice_rows, ids
from creditfactory.data._reference import (
    ACQUISITION_CHANNELS,
    CITIES,
    COHORT_EDGES,
    EDUCATION,
    HOUSING,
    OCCUPATION_INCOME,
    OCCUPATIONS,
    RELATIONSHIPS,
    TIER_INCOME_FACTOR,
)

_OCC_BASE = np.array([0.06, 0.36, 0.14, 0.10, 0.20, 0.02, 0.12])
# education shares by occupation (rows follow OCCUPATIONS, columns EDUCATION)
_EDU_BY_OCC = np.array(
    [
        [0.00, 0.05, 0.25, 0.55, 0.15],
        [0.03, 0.17, 0.35, 0.38, 0.07],
        [0.15, 0.35, 0.30, 0.18, 0.02],
        [0.55, 0.35, 0.08, 0.02, 0.00],
        [0.35, 0.45, 0.15, 0.05, 0.00],
        [0.00, 0.20, 0.40, 0.37, 0.03],
        [0.10, 0.30, 0.32, 0.25, 0.03],
    ]
)


@dataclass(frozen=True)
class CustomerBase:
    """The customers table (as arrays) plus what the simulator keeps to itself about them."""

    frame: pd.DataFrame  # the customers table
    arrays: dict[str, np.ndarray]  # columns the simulator computes with, as NumPy arrays
    latent: np.ndarray  # standardised unobservable character (higher = riskier)
    region: np.ndarray
    dormant_since: np.ndarray  # datetime64[D]; NaT for active customers

    @property
    def size(self) -> int:
        """Number of customers."""
        return len(self.latent)


def cohort_of(birth_year: np.ndarray) -> np.ndarray:
    """Generation label (60后, 70后 ...) of birth years.

    >>> cohort_of(np.array([1965, 1989, 2001])).tolist()
    ['60后', '80后', '00后']
    """
    edges = np.array([e for e, _ in COHORT_EDGES])
    labels = np.array([label for _, label in COHORT_EDGES])
    return labels[np.clip(np.searchsorted(edges, birth_year, side="right") - 1, 0, None)]


def make_customers(
    n: int,
    *,
    first_month: dt.date,
    observation_date: dt.date,
    dormant_share: float,
    rng: np.random.Generator,
    fraud: bool = False,
    forged: np.ndarray | None = None,
    id_start: int = 1,
) -> CustomerBase:
    """Draw ``n`` customers. With ``fraud=True`` the identities are the ones fraudsters use:
    younger, lower-tier, no relationship with the lender, ``forged`` marks forged ID numbers."""
    city_w = np.array([c[3] for c in CITIES])
    if fraud:
        city_w = city_w * np.array([0.6, 0.6, 0.6, 0.6] + [1.0] * 10 + [1.5] * 14)[: len(CITIES)]
    city_idx = rng.choice(len(CITIES), size=n, p=city_w / city_w.sum())
    tier = np.array([c[1] for c in CITIES])[city_idx]
    region = np.array([c[2] for c in CITIES])[city_idx]

    age = 18.0 + rng.gamma(2.2 if not fraud else 1.6, 7.0, n)
    age = np.clip(age, 18.0, 64.9)
    start = np.datetime64(first_month, "D")
    birth = start - (age * 365.25).astype("timedelta64[D]")
    birth_year = birth.astype("datetime64[Y]").astype(int) + 1970
    male = rng.random(n) < (0.56 if not fraud else 0.7)

    occ_p = np.tile(_OCC_BASE, (n, 1))
    young = age < 23
    occ_p[young, 5] += 0.9  # students are young
    occ_p[age > 30, 5] = 0.0
    occ_p[:, 3] *= np.where(tier >= 3, 2.5, 0.3)  # farmers outside big cities
    occ_p[:, 0] *= np.where(age < 24, 0.1, 1.0)
    occupation_idx = choice_rows(occ_p, rng)
    occupation = np.array(OCCUPATIONS)[occupation_idx]

    median = np.array([OCCUPATION_INCOME[o] for o in OCCUPATIONS])[occupation_idx]
    median = median * np.array([TIER_INCOME_FACTOR[t] for t in (1, 2, 3, 4)])[tier - 1]
    age_factor = np.exp(-(((age - 42.0) / 22.0) ** 2)) * 0.6 + 0.55
    income = np.round(median * age_factor * np.exp(rng.normal(0.0, 0.45, n)), -1)
    income = np.maximum(income, 800.0)

    education = np.array(EDUCATION)[choice_rows(_EDU_BY_OCC[occupation_idx], rng)]
    own_p = np.clip(0.12 + 0.012 * (age - 22), 0.05, 0.6)
    mort_p = np.clip(0.08 + 0.01 * (age - 25), 0.02, 0.35) * np.clip(income / 8000, 0.3, 2.0)
    rent_p = np.clip(1.0 - own_p - mort_p, 0.1, 1.0)
    housing = np.array(HOUSING)[choice_rows(np.column_stack([own_p, mort_p, rent_p]), rng)]

    payroll_p = np.where(np.isin(occupation_idx, [0, 1]), 0.35, 0.03)
    deposits_p = np.full(n, 0.22)
    none_p = np.clip(1.0 - payroll_p - deposits_p, 0.0, 1.0)
    rel_p = np.column_stack([payroll_p, deposits_p, none_p])
    acq_p = np.tile([0.2, 0.45, 0.25, 0.10], (n, 1))
    if fraud:
        rel_p = np.tile([0.0, 0.02, 0.98], (n, 1))
        acq_p = np.tile([0.02, 0.6, 0.38, 0.0], (n, 1))
    relationship = np.array(RELATIONSHIPS)[choice_rows(rel_p, rng)]
    acquisition = np.array(ACQUISITION_CHANNELS)[choice_rows(acq_p, rng)]

    end = np.datetime64(observation_date, "D")
    since_days = rng.integers(0, 365 * 8, n)
    customer_since = start - since_days.astype("timedelta64[D]")
    if fraud:
        customer_since = np.full(n, np.datetime64("NaT", "D"))
    is_dormant = rng.random(n) < (0.0 if fraud else dormant_share)
    span = (end - start).astype(int)
    dormant_since = start + (rng.random(n) * (span + 540) - 540).astype("timedelta64[D]")
    dormant_since = np.where(is_dormant, dormant_since, np.datetime64("NaT", "D"))
    last_active = np.where(
        is_dormant, dormant_since, end - rng.exponential(20.0, n).astype("timedelta64[D]")
    )

    id_number = make_id_numbers(region, birth, male, rng)
    if forged is not None and forged.any():
        id_number[forged] = forge_id_numbers(id_number[forged], rng)

    latent = rng.normal(0.0, 1.0, n)
    frame = pd.DataFrame(
        {
            "customer_id": ids("C", n, start=id_start),
            "birth_date": birth,
            "cohort": cohort_of(birth_year),
            "gender": np.where(male, "male", "female"),
            "city": np.array([c[0] for c in CITIES])[city_idx],
            "city_tier": tier.astype(np.int8),
            "occupation": occupation,
            "true_monthly_income": income,
            "education": education,
            "housing": housing,
            "relationship": relationship,
            "acquisition_channel": acquisition,
            "customer_since": customer_since,
            "last_active_date": last_active,
            "id_number": id_number,
            "phone": make_phones(n, rng),
        }
    )
    arrays = {
        "birth_date": birth,
        "relationship": relationship,
        "occupation": occupation,
        "city": frame["city"].to_numpy(dtype="U16"),
        "monthly_income": income,
        "customer_since": customer_since,
    }
    return CustomerBase(frame, arrays, latent, region, dormant_since)
