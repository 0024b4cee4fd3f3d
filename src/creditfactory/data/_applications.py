"""Applications: what a lender sees when someone applies (form, bureau, alternative data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.data._bureau import (
    FRAILTY_WEIGHT,
    PersonRecord,
    bureau_at_application,
    draw_persons,
)
from creditfactory.data._config import CHANNELS, SimulationConfig
from creditfactory.data._customers import CustomerBase
from creditfactory.data._fraud import FraudLayout, ring_identifiers
from creditfactory.data._fraud_signals import TELLS, disguise, draw_tells
from creditfactory.data._identity import make_phones
from creditfactory.data._random import choice_rows, ids, sigmoid
from creditfactory.data._reference import (
    CHANNEL_PRODUCTS,
    CITIES,
    PHONE_TIERS,
    PRODUCT_AMOUNTS,
    PRODUCT_TERMS,
    PRODUCTS,
)
from creditfactory.data._risk import shock_index


@dataclass(frozen=True)
class ApplicationDraw:
    """The applications table plus the simulator's hidden variables, row-aligned with it."""

    frame: pd.DataFrame
    is_fraud: np.ndarray
    ring: np.ndarray  # ring number, -1 outside rings
    forged: np.ndarray
    latent: np.ndarray  # the applicant's standardised unobservable character
    hidden: np.ndarray  # unobserved risk draw (standard normal) feeding the truth
    month_index: np.ndarray  # month of application, 0 = first month of history
    person: np.ndarray  # row of the applicant in the customer bases (genuine first)
    true_income: np.ndarray  # the applicant's true monthly income
    payer_u: np.ndarray  # the person's draw fixing their payer type
    response: np.ndarray  # index of the campaign response the application answers, -1 if none


def _month_starts(cfg: SimulationConfig) -> np.ndarray:
    first = np.datetime64(cfg.first_month, "M")
    months = first + np.arange(cfg.months_of_history + 1)
    return months.astype("datetime64[D]")


def _times_genuine(n: int, cfg: SimulationConfig, rng: np.random.Generator) -> np.ndarray:
    starts = _month_starts(cfg)
    weights = (1.0 + cfg.monthly_growth) ** np.arange(cfg.months_of_history)
    month = rng.choice(cfg.months_of_history, size=n, p=weights / weights.sum())
    length = (starts[1:] - starts[:-1]).astype(np.int64)[month]
    day = np.floor(rng.random(n) * length).astype(np.int64)
    hour = rng.choice(24, size=n, p=_HOURS / _HOURS.sum())
    seconds = hour * 3600 + rng.integers(0, 3600, n)
    return (
        starts[month].astype("datetime64[s]")
        + (day * 86_400).astype("timedelta64[s]")
        + seconds.astype("timedelta64[s]")
    )


HONEST_KNOWN_CONTACT = 0.01
"""Share of honest applicants whose emergency contact is another applicant's phone (family or
friends who borrow from the same lender; docs/data.md)."""
_HOURS = np.array(
    # relative application intensity by hour of day, 0h first
    [
        1.0,
        0.6,
        0.4,
        0.3,
        0.3,
        0.4,
        1.0,
        2.5,
        4.5,
        6.0,
        6.5,
        6.5,
        6.0,
        6.0,
        6.0,
        6.0,
        6.0,
        6.0,
        6.5,
        7.0,
        7.0,
        6.0,
        4.0,
        2.0,
    ]
)


def _times_of_day(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A time on each of ``days``, with the usual hours of application."""
    hour = rng.choice(24, size=len(days), p=_HOURS / _HOURS.sum())
    seconds = hour * 3600 + rng.integers(0, 3600, len(days))
    return days.astype("datetime64[s]") + seconds.astype("timedelta64[s]")


def _times_fraud(
    layout: FraudLayout, cfg: SimulationConfig, rng: np.random.Generator
) -> np.ndarray:
    n = len(layout.ring)
    span = (_month_starts(cfg)[-1] - _month_starts(cfg)[0]).astype(np.int64)
    offset = rng.random(n) * span
    in_ring = layout.ring >= 0
    offset[in_ring] = (
        layout.start_day[layout.ring[in_ring]]
        + rng.random(in_ring.sum()) * (layout.burst_days[layout.ring[in_ring]])
    )
    # fraudsters favour the night
    night = rng.random(n) < 0.35
    hour = np.where(night, rng.integers(0, 6, n), rng.integers(8, 24, n))
    day = np.minimum(np.floor(offset), span - 1).astype(np.int64)
    seconds = day * 86_400 + hour * 3600 + rng.integers(0, 3600, n)
    return _month_starts(cfg)[0].astype("datetime64[s]") + seconds.astype("timedelta64[s]")


def _person_records(
    genuine: CustomerBase,
    fraudsters: CustomerBase,
    latent: np.ndarray,
    fraud_tells: np.ndarray,
    cfg: SimulationConfig,
    rng: np.random.Generator,
) -> PersonRecord:
    """Every person's persistent credit record (genuine customers first, then fraudsters, each
    of whom applies once: ``fraud_tells`` are their applications' tells, in their order)."""
    birth = np.concatenate([genuine.arrays["birth_date"], fraudsters.arrays["birth_date"]])
    start = np.datetime64(cfg.first_month, "D")
    age = (start - birth.astype("datetime64[D]")).astype(np.int64) / 365.25
    honest = np.zeros(genuine.size, bool)
    return draw_persons(
        age,
        np.concatenate([genuine.arrays["occupation"], fraudsters.arrays["occupation"]]),
        np.concatenate([genuine.arrays["relationship"], fraudsters.arrays["relationship"]]),
        latent,
        cfg.thin_file_share,
        rng,
        no_file=np.r_[honest, fraud_tells[:, TELLS.index("no_credit_file")]],
        spree=np.r_[honest, fraud_tells[:, TELLS.index("borrowing_spree")]],
    )


def make_applications(
    cfg: SimulationConfig,
    genuine: CustomerBase,
    fraudsters: CustomerBase,
    layout: FraudLayout,
    forged: np.ndarray,
    rng: np.random.Generator,
    invited: tuple[np.ndarray, np.ndarray] | None = None,
) -> ApplicationDraw:
    """Draw every application: genuine ones from the customer base, fraudulent ones from the
    fraudsters' identities and rings; rows come out sorted by time with ids in that order.
    ``invited`` (customer index, day) are campaign responses: each is one of the genuine
    applications, made that day through the app."""
    n_fraud = fraudsters.size
    n_gen = cfg.n_applications - n_fraud
    no_one = (np.zeros(0, np.int64), np.zeros(0, "datetime64[D]"))
    inv_who, inv_day = invited if invited is not None else no_one
    n_inv = min(len(inv_who), n_gen)
    garr = genuine.arrays
    cutoff = np.datetime64(cfg.first_month, "D") - np.timedelta64(int(25 * 365.25), "D")
    young = garr["birth_date"] > cutoff
    propensity = np.exp(0.3 * young + 0.2 * (garr["relationship"] == "none"))
    propensity *= np.where(np.isnat(genuine.dormant_since), 1.0, 0.5)
    who = rng.choice(genuine.size, size=n_gen - n_inv, p=propensity / propensity.sum())
    who = np.concatenate([inv_who[:n_inv], who])
    response = np.concatenate([np.arange(n_inv), np.full(n_gen - n_inv + n_fraud, -1)])
    index = np.concatenate([who, genuine.size + np.arange(n_fraud)])
    is_fraud = np.concatenate([np.zeros(n_gen, bool), np.ones(n_fraud, bool)])
    ring = np.concatenate([np.full(n_gen, -1), layout.ring])
    forged_all = np.concatenate([np.zeros(n_gen, bool), forged])
    latent = np.concatenate([genuine.latent[who], fraudsters.latent])
    person_latent = np.concatenate([genuine.latent, fraudsters.latent])
    # which tells each fraudster shows: the record tells shape their bureau file, the field
    # tells are laid over their honest-looking application by disguise() below
    tells = draw_tells(
        is_fraud,
        ring,
        rng,
        tell_rate=cfg.fraud_tell_rate,
        clean_share=cfg.fraud_clean_member_share,
    )
    record = _person_records(genuine, fraudsters, person_latent, tells[n_gen:], cfg, rng)
    applied_at = np.concatenate(
        [
            _times_of_day(inv_day[:n_inv], rng),
            _times_genuine(n_gen - n_inv, cfg, rng),
            _times_fraud(layout, cfg, rng),
        ]
    )

    order = np.argsort(applied_at, kind="stable")
    index, is_fraud, ring, forged_all, latent, applied_at, response, tells = (
        a[order] for a in (index, is_fraud, ring, forged_all, latent, applied_at, response, tells)
    )
    n = cfg.n_applications
    col: dict[str, Any] = {
        c: np.concatenate([garr[c], fraudsters.arrays[c]])[index]
        for c in ("birth_date", "relationship", "occupation", "city", "monthly_income")
    }
    for c in ("customer_id", "gender", "education", "housing", "city_tier", "id_number", "phone"):
        both = pd.concat([genuine.frame[c], fraudsters.frame[c]], ignore_index=True)
        col[c] = both.take(index).reset_index(drop=True)
    birth = col["birth_date"].astype("datetime64[D]")
    age = ((applied_at.astype("datetime64[D]") - birth).astype(np.int64) / 365.25).astype(int)
    month_index = (applied_at.astype("datetime64[M]") - np.datetime64(cfg.first_month, "M")).astype(
        np.int64
    )
    # in the downturn, applicants arrive more stretched: more inquiries, higher utilisation ...
    latent = latent + cfg.macro_shock_drift * (month_index >= shock_index(cfg))

    # channel and product
    mix = np.array([cfg.channel_mix[c] for c in CHANNELS])
    fraud_mix = np.array([0.03, 0.50, 0.05, 0.18, 0.02, 0.02, 0.0, 0.05, 0.0, 0.15])
    ch_p = np.where(is_fraud[:, None], fraud_mix[None, :], mix[None, :])
    rel = col["relationship"]
    ch_p = ch_p * np.where((rel != "none")[:, None] & (np.arange(10) == 0)[None, :], 2.0, 1.0)
    occ = col["occupation"]
    ch_p[:, 6] *= np.where(np.isin(occ, ["farmer", "micro_business_owner"]), 4.0, 0.3)
    ch_p[:, 5] *= np.where(occ == "student", 3.0, 1.0)
    app_only = (np.arange(len(CHANNELS)) == CHANNELS.index("app")).astype(float)
    ch_p[response >= 0] = app_only  # campaign responders apply through the app
    channel_idx = choice_rows(ch_p, rng)
    channel = np.array(CHANNELS)[channel_idx]
    prod_p = np.array([CHANNEL_PRODUCTS[c] for c in CHANNELS])[channel_idx]
    prod_p[:, 2] *= np.where(occ == "micro_business_owner", 3.0, 0.4)
    product_idx = choice_rows(prod_p, rng)
    product = np.array(PRODUCTS)[product_idx]

    income = col["monthly_income"].astype(float)
    median, sd, lo, hi = (np.array([PRODUCT_AMOUNTS[p][i] for p in PRODUCTS]) for i in range(4))
    amount = median[product_idx] * (income / 8000.0) ** 0.4 * np.exp(rng.normal(0, sd[product_idx]))
    amount *= np.where(is_fraud, 1.6, 1.0)
    amount = np.round(np.clip(amount, lo[product_idx], hi[product_idx]), -2)
    term = np.zeros(n, dtype=np.int64)
    for k, p in enumerate(PRODUCTS):
        rows = product_idx == k
        terms, shares = PRODUCT_TERMS[p]
        term[rows] = rng.choice(np.array(terms), size=rows.sum(), p=np.array(shares))

    # income evidence: declared income is overstated (more by the riskier); the lender can
    # verify it through social-insurance / housing-fund records for some applicants
    declared_income = np.round(income * np.exp(rng.normal(0.05 + 0.04 * latent, 0.12, n)), -1)

    # bureau: from the person's persistent record at the time of the application
    u = latent
    is_young = age < 25
    month_pos = (applied_at - _month_starts(cfg)[0].astype("datetime64[s]")).astype(np.int64) / (
        86_400 * 30.4375
    )
    bureau = bureau_at_application(
        record,
        index,
        (applied_at - applied_at.min()).astype(np.int64) if n else np.zeros(0, np.int64),
        month_pos,
        latent - person_latent[index],
        is_young,
        income,
        rng,
    )
    thin = bureau["thin_file"]

    # alternative data
    own_device = ids("D", n)
    own_phone = col["phone"].to_numpy(dtype="U11")
    own_address = ids("H", genuine.size + n_fraud)[index]
    own_contact = make_phones(n, rng)
    # about 1% of honest applicants name as emergency contact a relative or friend who applied
    # too (an earlier or later applicant's phone); drawn from a child generator, so that every
    # other column is drawn as before
    kin = rng.spawn(1)[0]
    honest_rows = np.flatnonzero(~is_fraud)
    if len(honest_rows) > 1:
        naming = honest_rows[kin.random(len(honest_rows)) < HONEST_KNOWN_CONTACT]
        named = honest_rows[kin.integers(0, len(honest_rows), len(naming))]
        customer = col["customer_id"].to_numpy()
        other = customer[named] != customer[naming]  # nobody names themselves
        own_contact[naming[other]] = own_phone[named[other]]
    household = rng.random(n) < 0.02  # families share a phone or tablet
    own_device[household] = own_device[np.maximum(np.flatnonzero(household) - 1, 0)]
    # ring members take identifiers from their ring's small shared pools; ring_identifiers
    # wants the fraudulent rows grouped ring by ring, lone fraud last
    fraud_rows = np.flatnonzero(is_fraud)
    ring_key = np.where(ring[fraud_rows] < 0, np.iinfo(np.int64).max, ring[fraud_rows])
    by_ring = fraud_rows[np.argsort(ring_key, kind="stable")]
    grouped = FraudLayout(
        ring[by_ring], layout.ring_ids, layout.shares, layout.start_day, layout.burst_days
    )
    shared = ring_identifiers(
        grouped,
        {
            "device": own_device[by_ring],
            "phone": own_phone[by_ring],
            "address": own_address[by_ring],
            "contact": own_contact[by_ring],
        },
        rng,
    )
    own_device[by_ring] = shared["device"]
    own_phone[by_ring] = shared["phone"]
    own_address[by_ring] = shared["address"]
    own_contact[by_ring] = shared["contact"]

    ip = rng.integers(1, 255, (n, 4))
    ip[:, 0] = rng.choice([36, 58, 101, 112, 117, 183, 220, 223], n)
    ip_address = np.char.add(
        np.char.add(np.char.add(ip[:, 0].astype(str), "."), np.char.add(ip[:, 1].astype(str), ".")),
        np.char.add(np.char.add(ip[:, 2].astype(str), "."), ip[:, 3].astype(str)),
    )
    city = col["city"]
    match_p = 0.94
    other_city = np.array([c[0] for c in CITIES])[rng.integers(0, len(CITIES), n)]
    gps_city = np.where(rng.random(n) < match_p, city, other_city)

    # fraudulent rows are drawn like honest ones here; disguise() then gives some away
    contacts = np.round(np.exp(rng.normal(np.log(260), 0.6, n))).astype(np.int64)
    black_mean = sigmoid(-4.6 + 0.45 * u)
    black_share = np.round(np.clip(rng.beta(2.0, 2.0 / black_mean - 2.0), 0, 1), 4)
    apps = rng.poisson(np.exp(0.6 + 0.45 * u + 0.3 * is_young))
    fill = np.exp(rng.normal(np.log(240), 0.45, n))
    hour = (applied_at.astype("datetime64[h]").astype(np.int64)) % 24
    night = hour < 6
    tier_score = np.log(income / 6000.0) + rng.normal(0, 0.6, n)
    phone_tier = np.array(PHONE_TIERS)[np.digitize(tier_score, [-0.6, 0.3, 1.0])]
    spend = np.exp(rng.normal(np.log(700) + 0.6 * np.log(income / 8000.0) - 0.15 * u, 0.7))
    spend = np.where(rng.random(n) < 0.25, np.nan, np.round(spend, -1))

    hidden = FRAILTY_WEIGHT * record.frailty[index] + np.sqrt(1.0 - FRAILTY_WEIGHT**2) * rng.normal(
        0.0, 1.0, n
    )
    covered = rng.random(n) < cfg.third_party_coverage * np.where(thin, 0.6, 1.15)
    tps = 640.0 - 38.0 * (0.55 * u + 0.65 * hidden + rng.normal(0, 0.55, n))
    tps = np.where(covered, np.round(np.clip(tps, 350, 950)), np.nan)

    frame = pd.DataFrame(
        {
            "application_id": ids("A", n, width=9),
            "customer_id": col["customer_id"],
            "applied_at": applied_at,
            "channel": channel,
            "product": product,
            "amount_requested": amount,
            "term_requested": term,
            "age": age,
            "gender": col["gender"],
            "occupation": occ,
            "education": col["education"],
            "housing": col["housing"],
            "monthly_income": declared_income,
            "city": city,
            "city_tier": col["city_tier"].to_numpy(np.int64),
            "relationship": rel,
            "verified_income": bureau.pop("verified_income"),
            **bureau,
            "device_id": own_device,
            "phone": own_phone,
            "ip_address": ip_address,
            "address_id": own_address,
            "emergency_contact_phone": own_contact,
            "gps_city": gps_city,
            "gps_city_mismatch": gps_city != city,
            "contact_list_size": contacts,
            "contacts_blacklisted_share": black_share,
            "loan_apps_installed": apps,
            "form_fill_seconds": np.round(fill, 1),
            "night_application": night,
            "phone_price_tier": phone_tier,
            "ecommerce_spend": spend,
            "third_party_score": tps,
            "id_number": col["id_number"],
        }
    )
    frame = disguise(frame, tells, ring, rng)
    return ApplicationDraw(
        frame,
        is_fraud,
        ring,
        forged_all,
        latent,
        hidden,
        month_index,
        person=index,
        true_income=income,
        payer_u=record.payer_u[index],
        response=response,
    )
