"""Identity and consistency checks (§1): resident ID numbers, mobile numbers, location, form.

Every check is vectorised over an applications frame and yields a reason code a strategy can
name. The resident ID number (GB 11643-1999) is 6 digits of region, 8 of birth date (YYYYMMDD),
3 of sequence (odd for men, even for women) and a check character: the first 17 digits weighted
by 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, summed, modulo 11, index into ``"10X98765432"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError
from creditfactory.fraud._columns import Columns

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"
PROVINCE_CODES: frozenset[int] = frozenset(
    [
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
    ]
)
"""Two-digit province codes of GB/T 2260 that begin a resident ID number."""

# Three-digit mobile prefixes by carrier (MIIT number plan). Virtual operators (170/171/162/
# 165/167) resell others' networks; their numbers are cheap and churned, a known fraud signal.
CARRIER_PREFIXES: dict[str, tuple[int, ...]] = {
    "china_mobile": (
        *range(134, 140),
        147,
        150,
        151,
        152,
        157,
        158,
        159,
        172,
        178,
        182,
        183,
        184,
        187,
        188,
        195,
        197,
        198,
    ),
    "china_unicom": (130, 131, 132, 145, 155, 156, 166, 175, 176, 185, 186, 196),
    "china_telecom": (133, 149, 153, 173, 177, 180, 181, 189, 190, 191, 193, 199),
    "china_broadnet": (192,),
    "virtual": (162, 165, 167, 170, 171),
}

_PREFIX_CARRIER = {str(p): c for c, prefixes in CARRIER_PREFIXES.items() for p in prefixes}
_PROVINCE_TABLE = np.isin(np.arange(100), sorted(PROVINCE_CODES))

REASON_CODES: dict[str, str] = {
    "ID_MISSING": "no resident ID number / 缺少身份证号",
    "ID_FORMAT": "ID number is not 17 digits and a check character / 身份证号格式错误",
    "ID_REGION": "ID number's region code is not a province / 身份证地区码无效",
    "ID_BIRTH_DATE": "ID number's birth date is impossible / 身份证出生日期无效",
    "ID_CHECK_DIGIT": "ID number's check character is wrong / 身份证校验位错误",
    "ID_AGE_MISMATCH": "declared age differs from the ID number's / 年龄与身份证不符",
    "ID_GENDER_MISMATCH": "declared gender differs from the ID number's / 性别与身份证不符",
    "ID_UNDERAGE": "ID number's holder is under 18 / 身份证持有人未满18岁",
    "PHONE_FORMAT": "mobile number is not 11 digits starting 1 / 手机号格式错误",
    "PHONE_UNKNOWN_PREFIX": "mobile prefix belongs to no carrier / 手机号段不属于任何运营商",
    "PHONE_VIRTUAL": "mobile number of a virtual operator / 虚拟运营商号段",
    "GPS_CITY_MISMATCH": "GPS city differs from the declared city / 定位城市与申报城市不符",
    "IP_CITY_MISMATCH": "IP city differs from the declared city / IP城市与申报城市不符",
    "FAST_FORM": "form filled in faster than a person reads it / 填表速度过快",
    "NIGHT": "applied between 00:00 and 06:00 / 夜间申请",
}
"""Every identity reason code with its English and Chinese meaning."""

FAST_FORM_SECONDS = 120.0
"""A form filled in under this many seconds is flagged ``FAST_FORM``."""
NIGHT_HOURS = (0, 6)
"""Applications from the first to before the second hour are flagged ``NIGHT``."""


def check_character(first17: str) -> str:
    """Check character of the first 17 digits of a resident ID number.

    >>> check_character("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"id_number: expected 17 digits, got {first17!r}")
    total = sum(int(d) * int(w) for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def check_id_numbers(id_numbers: pd.Series | np.ndarray | list[str | None]) -> pd.DataFrame:
    """Check resident ID numbers (format, region, birth date, check character).

    Returns a frame row-aligned with the input: ``id_valid`` (bool), ``id_problem`` (the first
    failing reason code, or None), ``id_birth_date`` (datetime64, NaT when unreadable) and
    ``id_male`` (bool, from the sequence's parity; False when unreadable).

    >>> check_id_numbers(["11010519491231002X", "110105194912310021"])["id_problem"].tolist()
    [None, 'ID_CHECK_DIGIT']
    """
    values = np.empty(len(id_numbers), dtype=object)
    values[:] = list(id_numbers)
    checked = check_id_arrays(values)
    out = pd.DataFrame(checked)
    out["id_problem"] = pd.Series(checked["id_problem"], dtype=object)
    return out


def check_id_arrays(id_numbers: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`check_id_numbers` on an object array, returning arrays."""
    text = np.array([v if isinstance(v, str) else "" for v in id_numbers], dtype=object)
    n = len(text)
    lengths = np.fromiter((len(s) for s in text), np.int64, n)
    fixed = np.where(lengths == 18, text, "0" * 18).astype("U18")
    codes = (
        fixed.view(np.uint32).reshape(n, 18).astype(np.int64) if n else np.zeros((0, 18), np.int64)
    )
    digits = codes[:, :17] - ord("0")
    last = np.where(codes[:, 17] == ord("x"), ord("X"), codes[:, 17])
    missing = lengths == 0
    is_digit17 = ((digits >= 0) & (digits <= 9)).all(axis=1)
    last_ok = ((last >= ord("0")) & (last <= ord("9"))) | (last == ord("X"))
    fmt_ok = (lengths == 18) & is_digit17 & last_ok
    digits = np.clip(digits, 0, 9).astype(np.int64)
    province = digits[:, 0] * 10 + digits[:, 1]
    region_ok = _PROVINCE_TABLE[province]
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[
        np.clip(month, 1, 12) - 1
    ] + ((month == 2) & leap)
    date_ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days) & (year >= 1900)
    expected = np.frombuffer(CHECK_CHARS.encode(), np.uint8)[(digits @ ID_WEIGHTS) % 11]
    check_ok = last == expected
    problem = np.full(n, None, dtype=object)
    # the first failing check names the problem, most basic first
    for code, ok in (
        ("ID_CHECK_DIGIT", check_ok),
        ("ID_BIRTH_DATE", date_ok),
        ("ID_REGION", region_ok),
        ("ID_FORMAT", fmt_ok),
        ("ID_MISSING", ~missing),
    ):
        problem[~ok] = code
    valid = fmt_ok & region_ok & date_ok & check_ok
    readable = fmt_ok & date_ok
    birth = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    if readable.any():
        first = (year[readable] - 1970).astype("datetime64[Y]").astype("datetime64[M]")
        first = first + (month[readable] - 1).astype("timedelta64[M]")
        birth[readable] = first.astype("datetime64[D]") + (day[readable] - 1).astype(
            "timedelta64[D]"
        )
    male = fmt_ok & (digits[:, 16] % 2 == 1)
    return {"id_valid": valid, "id_problem": problem, "id_birth_date": birth, "id_male": male}


def is_valid_id_number(id_number: str) -> bool:
    """True when ``id_number`` passes every check of :func:`check_id_numbers`.

    >>> is_valid_id_number("11010519491231002X"), is_valid_id_number("99010519491231002X")
    (True, False)
    """
    return bool(check_id_numbers([id_number])["id_valid"].iloc[0])


def carrier_of(phones: pd.Series | np.ndarray | list[str | None]) -> np.ndarray:
    """Carrier of each mobile number (a key of :data:`CARRIER_PREFIXES`), ``"invalid"`` when
    the number is not 11 digits starting with 1, ``"unknown"`` when no carrier has its prefix.

    >>> carrier_of(["13912345678", "17012345678", "14012345678", "2391234567"]).tolist()
    ['china_mobile', 'virtual', 'unknown', 'invalid']
    """
    out = np.empty(len(phones), dtype=object)
    out[:] = [
        _PREFIX_CARRIER.get(s[:3], "unknown")
        if isinstance(s, str) and len(s) == 11 and s.isdigit() and s[0] == "1"
        else "invalid"
        for s in phones
    ]
    return out


def _need(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        raise DataError(f"applications: column {column!r} is missing (needed by the fraud checks)")
    return frame[column]


def applied_seconds(frame: pd.DataFrame) -> np.ndarray:
    """``applied_at`` as integer seconds since the epoch (a clear error if it is not a time)."""
    col = _need(frame, "applied_at")
    try:
        stamps = pd.to_datetime(col)
    except (ValueError, TypeError) as exc:
        raise DataError(f"applications: column 'applied_at' is not a timestamp ({exc})") from exc
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise DataError(f"applications: column 'applied_at' is empty in row {row}")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.to_numpy("datetime64[s]").astype(np.int64)


def identity_checks(frame: pd.DataFrame) -> pd.DataFrame:
    """Every identity and consistency check of one applications frame, row-aligned with it.

    Needs ``id_number`` and ``applied_at``; uses ``age``, ``gender`` (``male``/``female``),
    ``phone``, ``city`` and ``gps_city``, ``ip_city``, ``form_fill_seconds`` when present.
    Columns: ``id_valid``, ``id_problem``, ``id_age`` (age by the ID number at application),
    ``id_age_mismatch``, ``id_gender_mismatch``, ``id_underage``, ``phone_carrier``,
    ``gps_city_mismatch``, ``ip_city_mismatch``, ``fast_form``, ``night``,
    ``identity_reasons`` (every reason code that fired, ``;``-joined, or None) and
    ``identity_hits`` (how many fired).
    """
    _need(frame, "id_number")
    t = applied_seconds(frame)
    out = identity_arrays(Columns(frame), t)
    frame_out = pd.DataFrame(out, index=frame.index)
    for c in ("id_problem", "phone_carrier", "identity_reasons"):
        frame_out[c] = pd.Series(out[c], index=frame.index, dtype=object)
    return frame_out


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of datetime64[D] values."""
    months = days.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def identity_arrays(cols: Columns, t: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`identity_checks` on columns (``t``: application times in seconds)."""
    n = cols.n
    raw_ids = cols.raw("id_number")
    ids = check_id_arrays(raw_ids if raw_ids is not None else np.full(n, None, dtype=object))
    at = t.astype("datetime64[s]").astype("datetime64[D]")
    birth = ids["id_birth_date"]
    ok_birth = ~np.isnat(birth)
    id_age = np.full(n, -1, dtype=np.int64)
    if ok_birth.any():
        by, bm, bd = _ymd(birth[ok_birth])
        ay, am, ad = _ymd(at[ok_birth])
        before_birthday = (am < bm) | ((am == bm) & (ad < bd))
        id_age[ok_birth] = ay - by - before_birthday.astype(np.int64)
    readable = ok_birth & ids["id_valid"]
    out: dict[str, np.ndarray] = {
        "id_valid": ids["id_valid"],
        "id_problem": ids["id_problem"],
        "id_age": id_age,
    }
    declared = cols.number("age")
    if declared is not None:
        out["id_age_mismatch"] = readable & ~np.isnan(declared) & (np.abs(declared - id_age) > 1)
    else:
        out["id_age_mismatch"] = np.zeros(n, dtype=bool)
    gender = cols.text("gender")
    if gender is not None:
        g = np.array([v.lower() for v in gender], dtype=object)
        known = (g == "male") | (g == "female")
        out["id_gender_mismatch"] = readable & known & ((g == "male") != ids["id_male"])
    else:
        out["id_gender_mismatch"] = np.zeros(n, dtype=bool)
    out["id_underage"] = readable & (id_age < 18)
    phones = cols.raw("phone")
    carrier = carrier_of(phones) if phones is not None else np.full(n, None, dtype=object)
    out["phone_carrier"] = carrier
    out["gps_city_mismatch"] = _mismatch(cols, "gps_city")
    out["ip_city_mismatch"] = _mismatch(cols, "ip_city")
    secs = cols.number("form_fill_seconds")
    out["fast_form"] = secs < FAST_FORM_SECONDS if secs is not None else np.zeros(n, dtype=bool)
    hour = (t // 3600) % 24
    out["night"] = (hour >= NIGHT_HOURS[0]) & (hour < NIGHT_HOURS[1])
    flags = {
        "ID_AGE_MISMATCH": out["id_age_mismatch"],
        "ID_GENDER_MISMATCH": out["id_gender_mismatch"],
        "ID_UNDERAGE": out["id_underage"],
        "PHONE_FORMAT": carrier == "invalid",
        "PHONE_UNKNOWN_PREFIX": carrier == "unknown",
        "PHONE_VIRTUAL": carrier == "virtual",
        "GPS_CITY_MISMATCH": out["gps_city_mismatch"],
        "IP_CITY_MISMATCH": out["ip_city_mismatch"],
        "FAST_FORM": out["fast_form"],
        "NIGHT": out["night"],
    }
    reasons: list[list[str]] = [[] if p is None else [p] for p in ids["id_problem"]]
    for code, hit in flags.items():
        for i in np.flatnonzero(hit):
            reasons[i].append(code)
    joined = np.empty(n, dtype=object)
    joined[:] = [";".join(r) if r else None for r in reasons]
    out["identity_reasons"] = joined
    out["identity_hits"] = np.fromiter((len(r) for r in reasons), np.int64, n)
    return out


def _mismatch(cols: Columns, column: str) -> np.ndarray:
    """Declared ``city`` vs ``column``; False where either is unknown."""
    a, b = cols.text(column), cols.text("city")
    if a is None or b is None:
        return np.zeros(cols.n, dtype=bool)
    return (a != "") & (b != "") & (a != b)
