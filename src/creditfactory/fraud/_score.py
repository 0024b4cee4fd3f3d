"""The fraud score: transparent points over the group, weak-link, identity and behaviour
evidence, a recommended threshold and the reason codes that fired.

Points, not a fitted model: the score must hold on books it was not tuned on (``tests/fraud``
varies the twin's ring sizes, share of rings, bursts and tell rate) and every flag must say why.
A group of three or more customers applying within a week on shared devices, phones or
contacts is enough on its own (3 points); two linked customers (a family sharing a tablet is
common) or a shared address or subnet need one or two more signs; so do behaviour tells, none
of which is rare enough among honest applicants to act on alone. An invalid ID number is a flag
by itself.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from creditfactory.fraud._columns import Columns

FLAG_THRESHOLD = 2.25
"""Recommended threshold on ``fraud_points``: at it, on the twin's default settings, about
0.5% of honest applicants are flagged (see docs/fraud.md for the measured figures)."""

RING_POINTS: dict[str, float] = {
    "RING_BURST": 3.0,  # >= 3 linked customers first applied within 7 days
    "RING_PAIR_BURST": 1.5,  # 2 linked customers within 7 days
    "RING_LINKED": 1.5,  # >= 3 linked customers, spread out in time
    "RING_PAIR": 0.75,  # 2 linked customers, spread out in time
}
WEAK_POINTS: dict[str, float] = {
    "SHARED_ADDRESS": 0.75,  # per other customer at the address within 7 days (max 2)
    "SHARED_SUBNET": 0.75,  # per other customer on the /24 subnet within 24 h (max 2)
}
WEAK_CAP = 1.5
"""Weak links (address, subnet) add at most this many points together."""
TELL_POINTS: dict[str, float] = {
    "FAST_FORM": 0.75,
    "NIGHT": 0.75,
    "GPS_CITY_MISMATCH": 0.75,
    "IP_CITY_MISMATCH": 0.75,
    "BLACKLISTED_CONTACTS": 0.75,  # contacts_blacklisted_share >= 5%
    "MANY_LOAN_APPS": 0.75,  # loan_apps_installed >= 8
    "SMALL_CONTACT_BOOK": 0.75,  # contact_list_size < 100
    "PHONE_VIRTUAL": 0.75,
    "ID_AGE_MISMATCH": 1.5,
    "ID_GENDER_MISMATCH": 1.5,
}
BLACKLISTED_SHARE = 0.05
LOAN_APPS = 8
SMALL_CONTACT_BOOK = 100

SCORE_REASONS: dict[str, str] = {
    "RING_BURST": "3+ linked applicants within 7 days / 7天内3人以上关联申请",
    "RING_PAIR_BURST": "2 linked applicants within 7 days / 7天内2人关联申请",
    "RING_LINKED": "3+ applicants share devices, phones or contacts / 3人以上共用设备或电话",
    "RING_PAIR": "2 applicants share a device, phone or contact / 2人共用设备或电话",
    "SHARED_ADDRESS": "other applicants at this address this week / 同地址近期多人申请",
    "SHARED_SUBNET": "other applicants on this IP subnet today / 同网段当日多人申请",
    "BLACKLISTED_CONTACTS": "5%+ of contacts are blacklisted / 通讯录黑名单占比高",
    "MANY_LOAN_APPS": "8+ lending apps installed / 安装多个借贷App",
    "SMALL_CONTACT_BOOK": "fewer than 100 contacts / 通讯录联系人过少",
}
"""Reason codes of the score beyond the identity checks', in English and Chinese."""


def _num(cols: Columns, column: str) -> np.ndarray:
    values = cols.number(column)
    return np.full(cols.n, np.nan) if values is None else values


def score(frame: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """``ring_score``, ``fraud_points``, ``fraud_flag`` and ``fraud_reasons`` from the
    applications (``frame``) and their identity, velocity and group features (row-aligned)."""
    feats = {c: features[c].to_numpy() for c in features.columns}
    out = score_arrays(Columns(frame), feats)
    result = pd.DataFrame(out, index=features.index)
    result["fraud_reasons"] = pd.Series(out["fraud_reasons"], index=features.index, dtype=object)
    return result


def score_arrays(cols: Columns, features: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """:func:`score` on columns (``cols``: the applications; ``features``: name -> array)."""
    n = cols.n
    size = np.asarray(features["ring_size"], dtype=np.int64)
    burst = np.asarray(features["ring_burst"], dtype=np.int64)
    group = {
        "RING_BURST": burst >= 3,
        "RING_PAIR_BURST": burst == 2,
        "RING_LINKED": (burst < 2) & (size >= 3),
        "RING_PAIR": (burst < 2) & (size == 2),
    }
    addr = np.clip(np.asarray(features["vel_address_customers_7d"], np.int64) - 1, 0, 2)
    subnet = np.clip(np.asarray(features["vel_subnet_customers_24h"], np.int64) - 1, 0, 2)
    weak_pts = np.minimum(
        addr * WEAK_POINTS["SHARED_ADDRESS"] + subnet * WEAK_POINTS["SHARED_SUBNET"], WEAK_CAP
    )
    ring_pts = np.zeros(n)
    for code, hit in group.items():
        ring_pts += np.where(hit, RING_POINTS[code], 0.0)
    ring_pts += weak_pts
    tells = {
        "FAST_FORM": np.asarray(features["fast_form"], bool),
        "NIGHT": np.asarray(features["night"], bool),
        "GPS_CITY_MISMATCH": np.asarray(features["gps_city_mismatch"], bool),
        "IP_CITY_MISMATCH": np.asarray(features["ip_city_mismatch"], bool),
        "BLACKLISTED_CONTACTS": _num(cols, "contacts_blacklisted_share") >= BLACKLISTED_SHARE,
        "MANY_LOAN_APPS": _num(cols, "loan_apps_installed") >= LOAN_APPS,
        "SMALL_CONTACT_BOOK": _num(cols, "contact_list_size") < SMALL_CONTACT_BOOK,
        "PHONE_VIRTUAL": np.asarray(features["phone_carrier"], dtype=object) == "virtual",
        "ID_AGE_MISMATCH": np.asarray(features["id_age_mismatch"], bool),
        "ID_GENDER_MISMATCH": np.asarray(features["id_gender_mismatch"], bool),
    }
    tell_pts = np.zeros(n)
    for code, hit in tells.items():
        tell_pts += np.where(hit, TELL_POINTS[code], 0.0)
    points = ring_pts + tell_pts
    id_valid = np.asarray(features["id_valid"], bool)
    flag = ~id_valid | (points >= FLAG_THRESHOLD)
    fired: dict[str, np.ndarray] = {
        **group,
        "SHARED_ADDRESS": addr > 0,
        "SHARED_SUBNET": subnet > 0,
        **tells,
    }
    reasons: list[list[str]] = [[] for _ in range(n)]
    problems = np.asarray(features["id_problem"], dtype=object)
    for i in np.flatnonzero(~id_valid):
        reasons[i].append(str(problems[i]))
    for code, hit in fired.items():
        for i in np.flatnonzero(hit & flag):
            reasons[i].append(code)
    joined = np.empty(n, dtype=object)
    joined[:] = [";".join(r) if r else None for r in reasons]
    return {
        "ring_score": np.round(np.minimum(ring_pts / RING_POINTS["RING_BURST"], 1.0), 4),
        "fraud_points": points,
        "fraud_flag": flag,
        "fraud_reasons": joined,
    }
