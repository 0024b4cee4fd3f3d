"""What fraudulent applications look like to the lender: fraudsters imitate honest applicants.

Every observable field of a fraudulent application is first drawn exactly as an honest
applicant's would be (``make_applications`` does that for all rows); then some fields give the
fraudster away — a *tell*: a contact book full of blacklisted numbers, a form filled in a minute,
a phone loaded with lending apps, a GPS fix in another city, an inflated income that cannot be
verified. Two tells sit in the person's credit record instead (no bureau file, a borrowing
spree), so the bureau fields stay consistent with each other. How many tells a fraudster shows
depends on their *sloppiness*: lone fraudsters and each ring draw one (a ring works to one
script, so its members share tells), and some ring members are recruited with clean profiles
(no tell at all). With the default mix about a third of fraudulent applications show any given
tell, so no single field separates fraud from genuine applications with an AUC above about 0.7;
the signal is in how tells add up and in the links between applications (shared identifiers,
bursts in time).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

SCRIPT_FOLLOWED = 0.9
"""Probability that a ring member shows one of the ring's tells."""
_CONCENTRATION = 3.0  # sloppiness ~ Beta(3 m, 3 (1 - m)) around the mean tell rate m
_IP_FIRST = np.array([36, 58, 101, 112, 117, 183, 220, 223])
SUBNET_SHARE = 0.6
"""Share of rings whose members apply from one /24 subnet."""


def _tell_blacklisted(old: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(old)
    return {"contacts_blacklisted_share": np.round(rng.beta(2.0, 2.0 / 0.12 - 2.0, n), 4)}


def _tell_loan_apps(old: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"loan_apps_installed": rng.poisson(9.0, len(old))}


def _tell_fast_form(old: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(old)
    return {"form_fill_seconds": np.round(np.exp(rng.normal(np.log(75.0), 0.45, n)), 1)}


def _tell_small_contact_book(old: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(old)
    return {"contact_list_size": np.round(np.exp(rng.normal(np.log(70.0), 0.9, n))).astype(int)}


def _tell_elsewhere(old: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"gps_city_mismatch": rng.random(len(old)) < 0.85}


def _tell_no_footprint(old: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(old)
    return {
        "ecommerce_spend": np.full(n, np.nan),
        "phone_price_tier": np.where(rng.random(n) < 0.8, "low", "mid"),
    }


def _tell_thin_score(old: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    score = np.round(np.clip(rng.normal(520.0, 45.0, len(old)), 350, 950))
    # not covered by the score provider stays not covered
    return {"third_party_score": np.where(old["third_party_score"].isna(), np.nan, score)}


def _tell_inflated_income(old: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    factor = np.exp(rng.normal(np.log(1.5), 0.15, len(old)))
    return {"monthly_income": np.round(old["monthly_income"].to_numpy(float) * factor, -1)}


def _tell_unverifiable(old: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    # will not (or, on a borrowed identity, cannot) authorise the social-insurance query
    return {"verified_income": np.full(len(old), np.nan)}


FIELD_TELLS: dict[str, Callable[[pd.DataFrame, np.random.Generator], dict[str, np.ndarray]]] = {
    "blacklisted_contacts": _tell_blacklisted,
    "loan_apps": _tell_loan_apps,
    "fast_form": _tell_fast_form,
    "small_contact_book": _tell_small_contact_book,
    "elsewhere": _tell_elsewhere,
    "no_footprint": _tell_no_footprint,
    "low_external_score": _tell_thin_score,
    "inflated_income": _tell_inflated_income,
    "unverifiable_income": _tell_unverifiable,
}
"""Tells that overwrite fields of the application: each maps the fraudulent rows showing it
(their honest-looking values) to the fields it overwrites, drawn from the fraud-typical
distribution."""

RECORD_TELLS: tuple[str, ...] = ("no_credit_file", "borrowing_spree")
"""Tells that sit in the person's credit record, so every bureau and multi-borrowing field stays
consistent with the others: an identity with no bureau file (thin at the application), and a
spree of borrowing (inquiries and loans at other lenders). :func:`draw_tells` draws them with the
field tells; ``creditfactory.data._bureau.draw_persons`` applies them."""

TELLS: tuple[str, ...] = (*FIELD_TELLS, *RECORD_TELLS)
"""Every tell, in the column order of :func:`draw_tells`."""


def draw_tells(
    is_fraud: np.ndarray,
    ring: np.ndarray,
    rng: np.random.Generator,
    *,
    tell_rate: float = 0.4,
    clean_share: float = 0.2,
) -> np.ndarray:
    """(n, len(TELLS)) bool: which tells each application shows (never a genuine one).
    Sloppiness (the chance of each tell) is drawn per lone fraudster and per ring with mean
    ``tell_rate``; ``clean_share`` of ring members show none."""
    n, k = len(is_fraud), len(TELLS)
    tells = np.zeros((n, k), dtype=bool)
    rows = np.flatnonzero(is_fraud)
    if len(rows) == 0:
        return tells
    r = ring[rows]
    in_ring = r >= 0
    n_rings = int(r.max()) + 1 if in_ring.any() else 0
    shape = (_CONCENTRATION * max(tell_rate, 1e-6), _CONCENTRATION * max(1 - tell_rate, 1e-6))
    ring_sloppy = rng.beta(*shape, n_rings)
    ring_script = rng.random((n_rings, k)) < ring_sloppy[:, None]
    lone_sloppy = rng.beta(*shape, len(rows))
    lone = rng.random((len(rows), k)) < lone_sloppy[:, None]
    clean = in_ring & (rng.random(len(rows)) < clean_share)
    follows = rng.random((len(rows), k)) < SCRIPT_FOLLOWED
    member = ring_script[np.maximum(r, 0)] & follows & ~clean[:, None]
    tells[rows] = np.where(in_ring[:, None], member, lone)
    return tells


def disguise(
    frame: pd.DataFrame, tells: np.ndarray, ring: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Overwrite (in place) the fields that give each fraudulent application away (its field
    tells: ``tells`` from :func:`draw_tells`, row-aligned with ``frame``); every other field
    keeps the honest-looking value it was drawn with (the record tells are already in the
    bureau fields). Ring members also share a subnet for their IP addresses in most rings.
    Returns ``frame``."""
    out = frame
    before_mismatch = frame["gps_city_mismatch"].to_numpy(bool).copy()
    for k, make in enumerate(FIELD_TELLS.values()):
        rows = np.flatnonzero(tells[:, k])
        for column, values in make(out.iloc[rows], rng).items():
            col = out[column].to_numpy(copy=True)
            col[rows] = values.astype(col.dtype, copy=False)
            out[column] = col
    out["gps_city"] = _gps_city(out, before_mismatch, rng)
    out["ip_address"] = _ring_ips(out["ip_address"].to_numpy(dtype=str), ring, rng)
    return out


def _gps_city(out: pd.DataFrame, before: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keep ``gps_city`` consistent with a mismatch flag a tell has set: a mismatched row whose
    GPS city was the declared one takes another row's GPS city that differs from it."""
    gps = out["gps_city"].to_numpy(dtype=object).copy()
    city = out["city"].to_numpy(dtype=object)
    flip = out["gps_city_mismatch"].to_numpy(bool) & ~before
    pool = np.unique(city)
    for i in np.flatnonzero(flip):
        choices = pool[pool != city[i]]
        gps[i] = choices[rng.integers(0, len(choices))] if len(choices) else city[i]
    gps_city = gps.astype(str)
    out["gps_city_mismatch"] = gps_city != city.astype(str)
    return gps_city


def _ring_ips(ip: np.ndarray, ring: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Members of rings that share a subnet apply from ``a.b.c.x`` with their ring's ``a.b.c``."""
    out = ip.astype(object)
    rows = np.flatnonzero(ring >= 0)
    if len(rows) == 0:
        return out.astype(str)
    n_rings = int(ring.max()) + 1
    shares = rng.random(n_rings) < SUBNET_SHARE
    prefix = np.char.add(
        np.char.add(_IP_FIRST[rng.integers(0, len(_IP_FIRST), n_rings)].astype(str), "."),
        np.char.add(
            np.char.add(rng.integers(1, 255, n_rings).astype(str), "."),
            rng.integers(1, 255, n_rings).astype(str),
        ),
    )
    use = rows[shares[ring[rows]]]
    host = rng.integers(1, 255, len(use)).astype(str)
    out[use] = np.char.add(np.char.add(prefix[ring[use]], "."), host)
    return out.astype(str)


LINK_FIELDS: tuple[str, ...] = ("device_id", "phone", "emergency_contact_phone")
"""Identifiers whose reuse by another customer is treated as a link (an address or an IP
shared alone is weak evidence: flats, offices, mobile carriers' NAT)."""


def linked_to_earlier(apps: pd.DataFrame, days: float = 30.0) -> np.ndarray:
    """Point in time: does the application reuse a device, phone or emergency contact that
    another customer's application used within the previous ``days`` days? Only earlier
    applications are looked at (the previous use of each identifier), as an online velocity
    rule would."""
    n = len(apps)
    hit = np.zeros(n, dtype=bool)
    if n == 0:
        return hit
    t = apps["applied_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    customer = pd.factorize(apps["customer_id"])[0]
    window = days * 86_400
    for field in LINK_FIELDS:
        key = pd.factorize(apps[field])[0]
        order = np.lexsort((t, key))
        k, c, s = key[order], customer[order], t[order]
        prev = np.zeros(n, dtype=bool)
        prev[1:] = (k[1:] == k[:-1]) & (c[1:] != c[:-1]) & (s[1:] - s[:-1] <= window)
        hit[order] |= prev
    return hit
