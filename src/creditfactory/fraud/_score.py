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

import numpy as np
import pandas as pd

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


def _num(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(float)


def score(frame: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """``ring_score``, ``fraud_points``, ``fraud_flag`` and ``fraud_reasons`` from the
    applications (``frame``) and their identity, velocity and group features (row-aligned)."""
    n = len(frame)
    size = features["ring_size"].to_numpy(np.int64)
    burst = features["ring_burst"].to_numpy(np.int64)
    group = {
        "RING_BURST": burst >= 3,
        "RING_PAIR_BURST": burst == 2,
        "RING_LINKED": (burst < 2) & (size >= 3),
        "RING_PAIR": (burst < 2) & (size == 2),
    }
    addr = np.clip(features["vel_address_customers_7d"].to_numpy(np.int64) - 1, 0, 2)
    subnet = np.clip(features["vel_subnet_customers_24h"].to_numpy(np.int64) - 1, 0, 2)
    weak_pts = np.minimum(
        addr * WEAK_POINTS["SHARED_ADDRESS"] + subnet * WEAK_POINTS["SHARED_SUBNET"], WEAK_CAP
    )
    ring_pts = np.zeros(n)
    for code, hit in group.items():
        ring_pts += np.where(hit, RING_POINTS[code], 0.0)
    ring_pts += weak_pts
    tells = {
        "FAST_FORM": features["fast_form"].to_numpy(bool),
        "NIGHT": features["night"].to_numpy(bool),
        "GPS_CITY_MISMATCH": features["gps_city_mismatch"].to_numpy(bool),
        "IP_CITY_MISMATCH": features["ip_city_mismatch"].to_numpy(bool),
        "BLACKLISTED_CONTACTS": _num(frame, "contacts_blacklisted_share") >= BLACKLISTED_SHARE,
        "MANY_LOAN_APPS": _num(frame, "loan_apps_installed") >= LOAN_APPS,
        "SMALL_CONTACT_BOOK": _num(frame, "contact_list_size") < SMALL_CONTACT_BOOK,
        "PHONE_VIRTUAL": (features["phone_carrier"] == "virtual").to_numpy(bool),
        "ID_AGE_MISMATCH": features["id_age_mismatch"].to_numpy(bool),
        "ID_GENDER_MISMATCH": features["id_gender_mismatch"].to_numpy(bool),
    }
    tell_pts = np.zeros(n)
    for code, hit in tells.items():
        tell_pts += np.where(hit, TELL_POINTS[code], 0.0)
    points = ring_pts + tell_pts
    id_valid = features["id_valid"].to_numpy(bool)
    flag = ~id_valid | (points >= FLAG_THRESHOLD)
    fired: dict[str, np.ndarray] = {
        **group,
        "SHARED_ADDRESS": addr > 0,
        "SHARED_SUBNET": subnet > 0,
        **tells,
    }
    reasons: list[list[str]] = [[] for _ in range(n)]
    problems = features["id_problem"].to_numpy(dtype=object)
    for i in np.flatnonzero(~id_valid):
        reasons[i].append(str(problems[i]))
    for code, hit in fired.items():
        for i in np.flatnonzero(hit & flag):
            reasons[i].append(code)
    return pd.DataFrame(
        {
            "ring_score": np.round(np.minimum(ring_pts / RING_POINTS["RING_BURST"], 1.0), 4),
            "fraud_points": points,
            "fraud_flag": flag,
            "fraud_reasons": [";".join(r) if r else None for r in reasons],
        },
        index=features.index,
    )
