"""The identity checks and the score of ONE application, in plain Python: the online decision's.

:func:`~creditfactory.fraud._identity.identity_arrays` and
:func:`~creditfactory.fraud._score.score_arrays` are written for frames (NumPy over columns);
on a single application their array set-up is most of an online decision's cost (about 400 of
500 microseconds measured). :func:`identity_row` and :func:`score_row` give the same values
for one application with no array at all, using the same constants. ``tests/fraud/
test_online.py`` checks both against the array forms on random applications (and
``tests/fraud/test_source.py`` the whole online row against the batch): a change to one form
that is not made to the other fails there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from creditfactory.exceptions import DataError
from creditfactory.fraud._identity import (
    _PREFIX_CARRIER,
    CHECK_CHARS,
    FAST_FORM_SECONDS,
    NIGHT_HOURS,
    PROVINCE_CODES,
)
from creditfactory.fraud._score import (
    BLACKLISTED_SHARE,
    FLAG_THRESHOLD,
    LOAN_APPS,
    RING_POINTS,
    SMALL_CONTACT_BOOK,
    TELL_POINTS,
    WEAK_CAP,
    WEAK_POINTS,
)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_DIGITS = frozenset("0123456789")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _missing(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


def check_id(value: Any) -> tuple[bool, str | None, tuple[int, int, int] | None, bool]:
    """``(valid, problem, birth (y, m, d) or None, male)`` of one resident ID number, as
    :func:`~creditfactory.fraud._identity.check_id_arrays` gives them."""
    text = value if isinstance(value, str) else ""
    if not text:
        return False, "ID_MISSING", None, False
    last = text[-1]
    if last == "x":
        last = "X"
    if len(text) != 18 or not all(c in _DIGITS for c in text[:17]):
        return False, "ID_FORMAT", None, False
    if last not in _DIGITS and last != "X":
        return False, "ID_FORMAT", None, False
    d = [ord(c) - 48 for c in text[:17]]
    year = d[6] * 1000 + d[7] * 100 + d[8] * 10 + d[9]
    month = d[10] * 10 + d[11]
    day = d[12] * 10 + d[13]
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    date_ok = 1 <= month <= 12 and year >= 1900
    if date_ok:
        days = _MONTH_DAYS[month - 1] + (1 if month == 2 and leap else 0)
        date_ok = 1 <= day <= days
    region_ok = d[0] * 10 + d[1] in PROVINCE_CODES
    check_ok = last == CHECK_CHARS[sum(a * b for a, b in zip(d, _WEIGHTS, strict=True)) % 11]
    male = d[16] % 2 == 1
    birth = (year, month, day) if date_ok else None
    problem = None
    if not region_ok:
        problem = "ID_REGION"
    elif not date_ok:
        problem = "ID_BIRTH_DATE"
    elif not check_ok:
        problem = "ID_CHECK_DIGIT"
    return problem is None, problem, birth, male


def _number(application: Mapping[str, Any], name: str) -> float:
    """The field as a float (NaN where absent or missing); text that is no number is an error
    (``Columns.number``'s message)."""
    value: Any = application.get(name)
    if _missing(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"application: column {name!r} is not a number ({exc})") from exc


def _text(application: Mapping[str, Any], name: str) -> str | None:
    """The field as text ('' where missing or not text); None when the field is absent."""
    if name not in application:
        return None
    value = application[name]
    return value if isinstance(value, str) else ""


def _mismatch(application: Mapping[str, Any], column: str) -> bool:
    a, b = _text(application, column), _text(application, "city")
    if a is None or b is None:
        return False
    return a != "" and b != "" and a != b


def carrier(value: Any) -> str:
    """The carrier of one mobile number (``carrier_of``'s value)."""
    if isinstance(value, str) and len(value) == 11 and value.isdigit() and value[0] == "1":
        return _PREFIX_CARRIER.get(value[:3], "unknown")
    return "invalid"


def identity_row(application: Mapping[str, Any], t: int) -> dict[str, Any]:
    """:func:`~creditfactory.fraud._identity.identity_arrays` of one application made at ``t``
    (seconds), as plain values."""
    raw = application.get("id_number") if "id_number" in application else None
    valid, problem, birth, male = check_id(None if _missing(raw) else raw)
    at = time.gmtime(t)
    id_age = -1
    if birth is not None:
        by, bm, bd = birth
        before = at.tm_mon < bm or (at.tm_mon == bm and at.tm_mday < bd)
        id_age = at.tm_year - by - (1 if before else 0)
    readable = birth is not None and valid
    age_mismatch = False
    if "age" in application:
        declared = _number(application, "age")
        age_mismatch = readable and not math.isnan(declared) and abs(declared - id_age) > 1
    gender_mismatch = False
    gender = _text(application, "gender")
    if gender is not None:
        g = gender.lower()
        if readable and g in ("male", "female"):
            gender_mismatch = (g == "male") != male
    underage = readable and id_age < 18
    phone = None
    if "phone" in application:
        value = application["phone"]
        phone = carrier(None if _missing(value) else value)
    gps = _mismatch(application, "gps_city")
    ip = _mismatch(application, "ip_city")
    fast = False
    if "form_fill_seconds" in application:
        fast = _number(application, "form_fill_seconds") < FAST_FORM_SECONDS
    night = NIGHT_HOURS[0] <= at.tm_hour < NIGHT_HOURS[1]
    reasons = [] if problem is None else [problem]
    for code, hit in (
        ("ID_AGE_MISMATCH", age_mismatch),
        ("ID_GENDER_MISMATCH", gender_mismatch),
        ("ID_UNDERAGE", underage),
        ("PHONE_FORMAT", phone == "invalid"),
        ("PHONE_UNKNOWN_PREFIX", phone == "unknown"),
        ("PHONE_VIRTUAL", phone == "virtual"),
        ("GPS_CITY_MISMATCH", gps),
        ("IP_CITY_MISMATCH", ip),
        ("FAST_FORM", fast),
        ("NIGHT", night),
    ):
        if hit:
            reasons.append(code)
    return {
        "id_valid": valid,
        "id_problem": problem,
        "id_age": id_age,
        "id_age_mismatch": age_mismatch,
        "id_gender_mismatch": gender_mismatch,
        "id_underage": underage,
        "phone_carrier": phone,
        "gps_city_mismatch": gps,
        "ip_city_mismatch": ip,
        "fast_form": fast,
        "night": night,
        "identity_reasons": ";".join(reasons) if reasons else None,
        "identity_hits": len(reasons),
    }


def score_row(application: Mapping[str, Any], features: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`~creditfactory.fraud._score.score_arrays` of one application (``features``: its
    identity, velocity and group values), as plain values."""
    size, burst = int(features["ring_size"]), int(features["ring_burst"])
    group = (
        ("RING_BURST", burst >= 3),
        ("RING_PAIR_BURST", burst == 2),
        ("RING_LINKED", burst < 2 and size >= 3),
        ("RING_PAIR", burst < 2 and size == 2),
    )
    addr = min(max(int(features["vel_address_customers_7d"]) - 1, 0), 2)
    subnet = min(max(int(features["vel_subnet_customers_24h"]) - 1, 0), 2)
    weak = min(
        addr * WEAK_POINTS["SHARED_ADDRESS"] + subnet * WEAK_POINTS["SHARED_SUBNET"], WEAK_CAP
    )
    ring_pts = 0.0
    for code, hit in group:
        ring_pts += RING_POINTS[code] if hit else 0.0
    ring_pts += weak
    blacklisted = _number(application, "contacts_blacklisted_share") >= BLACKLISTED_SHARE
    tells = (
        ("FAST_FORM", bool(features["fast_form"])),
        ("NIGHT", bool(features["night"])),
        ("GPS_CITY_MISMATCH", bool(features["gps_city_mismatch"])),
        ("IP_CITY_MISMATCH", bool(features["ip_city_mismatch"])),
        ("BLACKLISTED_CONTACTS", blacklisted),
        ("MANY_LOAN_APPS", _number(application, "loan_apps_installed") >= LOAN_APPS),
        ("SMALL_CONTACT_BOOK", _number(application, "contact_list_size") < SMALL_CONTACT_BOOK),
        ("PHONE_VIRTUAL", features["phone_carrier"] == "virtual"),
        ("ID_AGE_MISMATCH", bool(features["id_age_mismatch"])),
        ("ID_GENDER_MISMATCH", bool(features["id_gender_mismatch"])),
    )
    tell_pts = 0.0
    for code, hit in tells:
        tell_pts += TELL_POINTS[code] if hit else 0.0
    points = ring_pts + tell_pts
    valid = bool(features["id_valid"])
    flag = not valid or points >= FLAG_THRESHOLD
    reasons: list[str] = []
    if not valid:
        reasons.append(str(features["id_problem"]))
    if flag:
        fired = (*group, ("SHARED_ADDRESS", addr > 0), ("SHARED_SUBNET", subnet > 0), *tells)
        reasons += [code for code, hit in fired if hit]
    return {
        "ring_score": round(min(ring_pts / RING_POINTS["RING_BURST"], 1.0) * 10_000) / 10_000,
        "fraud_points": points,
        "fraud_flag": flag,
        "fraud_reasons": ";".join(reasons) if reasons else None,
    }
