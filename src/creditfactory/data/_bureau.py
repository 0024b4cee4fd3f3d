"""A person's credit record: drawn once per person, it persists across their applications and
evolves with time (a thin file becomes thick when the first record appears, history lengthens,
inquiries accumulate, multi-borrowing comes in sprees), and their income evidence.

Multi-borrowing (多头借贷) — loans at several online lenders at once, many inquiries in a few
days — goes with higher risk, as it does in practice; open accounts count those loans, so more
open accounts no longer read as safer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from creditfactory.data._random import logit, sigmoid

ENTRY_HAZARD = 0.012
"""Monthly probability that a person without a bureau file gets their first record."""

FRAILTY_WEIGHT = 0.95
"""Weight of the person's frailty in the unobservable risk of each of their applications (the
rest is drawn per application): risk persists across a person's loans and their outcomes are
correlated."""

_VERIFIED_BY_OCCUPATION = {
    # share with social-insurance / housing-fund records the lender can query
    "civil_servant": 0.95,
    "enterprise_employee": 0.75,
    "micro_business_owner": 0.30,
    "farmer": 0.08,
    "worker": 0.45,
    "student": 0.02,
    "freelancer": 0.15,
}
_DAY = 86_400
SPREE_SHIFT = 1.5
"""Added to the multi-borrowing propensity of a fraudster showing the ``borrowing_spree`` tell
(in standard deviations of the honest propensity's spread)."""
SPREE_INQUIRY_RATE = 2.5
"""Other lenders' inquiries per quarter for a fraudster showing the ``borrowing_spree`` tell (an
honest person averages about 1.2)."""


@dataclass(frozen=True)
class PersonRecord:
    """What persists about a person (one row per customer and fraudster identity)."""

    entry_offset: np.ndarray  # months from the person's first application to their first record
    cards: np.ndarray  # credit cards and bank credit lines once on file
    delinquencies: np.ndarray  # delinquencies on file in the last 24 months
    utilisation: np.ndarray  # the person's usual revolving utilisation
    multi: np.ndarray  # propensity to borrow from many lenders at once (standardised)
    inquiry_rate: np.ndarray  # Poisson rate of other inquiries per quarter
    frailty: np.ndarray  # standard-normal unobservable risk of the person
    payer_u: np.ndarray  # uniform draw fixing the person's payer type
    verified: np.ndarray  # has social-insurance / housing-fund records
    verified_factor: np.ndarray  # contribution base / true income


def draw_persons(
    age: np.ndarray,
    occupation: np.ndarray,
    relationship: np.ndarray,
    latent: np.ndarray,
    thin_file_share: float,
    rng: np.random.Generator,
    no_file: np.ndarray | None = None,
    spree: np.ndarray | None = None,
) -> PersonRecord:
    """Draw every person's record as it stands at their first application (so the applicant
    flow keeps its mix over time while each person's record evolves); ``age`` is their age at
    the start of history, ``latent`` their standardised unobservable character (higher =
    riskier).

    A fraudster's record is drawn as an honest person's would be, except for the record tells
    they show (``creditfactory.data._fraud_signals.RECORD_TELLS``): ``no_file`` (an identity
    with no bureau file yet) and ``spree`` (borrowing from many lenders at once, inquiring
    often). Income evidence is drawn alike for everyone: a fraudster who will not authorise the
    social-insurance query shows the ``unverifiable_income`` field tell instead."""
    n = len(age)
    thin_logit = (
        logit(thin_file_share)
        + 1.4 * (age < 24)
        - 0.9 * (age > 34)
        + 0.8 * np.isin(occupation, ["student", "farmer"])
        - 1.2 * (relationship != "none")
        + 0.25
    )
    no_file = np.zeros(n, bool) if no_file is None else np.asarray(no_file, bool)
    spree = np.zeros(n, bool) if spree is None else np.asarray(spree, bool)
    thin = (rng.random(n) < sigmoid(thin_logit)) | no_file
    max_hist = np.maximum((age - 18.0) * 12.0, 6.0)
    history = 6.0 + rng.random(n) * (max_hist - 6.0)
    entry = np.where(thin, rng.exponential(1.0 / ENTRY_HAZARD, n), -history)
    cards = rng.poisson(1.2 + np.maximum(-entry, 0.0) / 120.0)
    delinquencies = rng.poisson(np.exp(-2.0 + 0.8 * latent))
    utilisation = np.clip(sigmoid(-0.6 + 0.9 * latent + rng.normal(0, 0.7, n)) * 1.25, 0, 1.5)
    multi = 0.55 * latent + 0.85 * rng.normal(0.0, 1.0, n) + SPREE_SHIFT * spree
    cover = np.array([_VERIFIED_BY_OCCUPATION.get(o, 0.1) for o in occupation])
    rate = np.where(spree, SPREE_INQUIRY_RATE, np.exp(0.1 + 0.45 * latent))
    return PersonRecord(
        entry_offset=entry,
        cards=cards,
        delinquencies=delinquencies,
        utilisation=utilisation,
        multi=multi,
        inquiry_rate=rate,
        frailty=rng.normal(0.0, 1.0, n),
        payer_u=rng.random(n),
        verified=rng.random(n) < cover,
        verified_factor=np.exp(rng.normal(-0.08, 0.06, n)),
    )


def _earlier_applications(person: np.ndarray, seconds: np.ndarray, days: int) -> np.ndarray:
    """For each application, the same person's earlier applications within ``days`` days."""
    order = np.lexsort((seconds, person))
    key = person[order].astype(np.int64) * (1 << 34) + seconds[order].astype(np.int64)
    pos = np.arange(len(key))
    first = np.searchsorted(key, key - days * _DAY, side="left")
    out = np.empty(len(key), dtype=np.int64)
    out[order] = pos - first
    return out


def bureau_at_application(
    rec: PersonRecord,
    person: np.ndarray,
    seconds: np.ndarray,
    month_pos: np.ndarray,
    drift: np.ndarray,
    young: np.ndarray,
    income: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """The bureau and multi-borrowing columns of each application, from the person's record
    at the application's time (``month_pos`` months after the start of history; ``drift`` is the
    downturn's added stress, ``income`` the true income)."""
    n = len(person)
    first = np.full(len(rec.entry_offset), np.inf)
    np.minimum.at(first, person, month_pos)
    since = month_pos - first[person] - rec.entry_offset[person]
    thin = since < 0.0
    history = np.where(thin, np.nan, np.floor(np.maximum(since, 0.0)))

    # multi-borrowing comes in sprees: the person's propensity plus this period's impulse
    spree = rec.multi[person] + 0.6 * rng.normal(0.0, 1.0, n) + drift
    elsewhere = rng.poisson(np.exp(-0.6 + 0.55 * spree) * np.where(thin, 0.4, 1.0))
    inq_1m = rng.poisson(np.exp(-0.6 + 0.6 * spree + 0.3 * young))
    inq_7d = rng.binomial(inq_1m, sigmoid(-1.0 + 0.5 * spree))
    cards = np.where(thin, 0, rec.cards[person])
    institutions = (cards > 0) + elsewhere - rng.binomial(elsewhere, 0.15)

    # inquiries accumulate: other lenders' plus this lender's own for earlier applications
    rate = rec.inquiry_rate[person] * np.exp(0.3 * young + 0.45 * drift) * np.where(thin, 0.4, 1)
    own_3m = _earlier_applications(person, seconds, 91)
    own_6m = _earlier_applications(person, seconds, 182)
    inq_3m = inq_1m + rng.poisson(0.6 * rate) + own_3m
    inq_6m = inq_3m + rng.poisson(0.8 * rate) + own_6m - own_3m

    # in a downturn, arrears and utilisation rise on top of the person's usual level
    delinquencies = np.where(thin, 0, rec.delinquencies[person] + rng.poisson(0.5 * drift))
    util = np.clip(rec.utilisation[person] + rng.normal(0.0, 0.08, n) + 0.25 * drift, 0.0, 1.5)
    util = np.where(thin | (cards == 0), np.nan, np.round(util, 3))
    debt = cards * income * 0.03 * rng.random(n) + elsewhere * income * (
        0.04 + 0.06 * rng.random(n)
    )
    debt = np.round(np.where(thin, 0.0, debt), -1)
    verified = rec.verified[person]
    base = np.clip(income * rec.verified_factor[person], 1_800.0, 35_000.0)
    return {
        "thin_file": thin,
        "bureau_history_months": history,
        "inquiries_3m": inq_3m,
        "inquiries_6m": inq_6m,
        "delinquencies_24m": delinquencies,
        "open_accounts": np.where(thin, 0, cards + elsewhere),
        "utilisation": util,
        "bureau_monthly_debt": debt,
        "inquiries_other_7d": inq_7d,
        "inquiries_other_1m": inq_1m,
        "lending_institutions": institutions,
        "loans_elsewhere": elsewhere,
        "verified_income": np.where(verified, np.round(base, -1), np.nan),
    }
