"""Identity and consistency checks (§1): resident ID numbers, mobile numbers, location, form.

Every check is vectorised over an applications frame and yields a reason code a strategy can
name. The resident ID number (GB 11643-1999) is 6 digits of region, 8 of birth date (YYYYMMDD),
3 of sequence (odd for men, even for women) and a check character: the first 17 digits weighted
by 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, summed, modulo 11, index into ``"10X98765432"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def _as_text(values: pd.Series | np.ndarray | list[str | None]) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    return np.array([v if isinstance(v, str) else "" for v in arr], dtype=object)


def check_id_numbers(id_numbers: pd.Series | np.ndarray | list[str | None]) -> pd.DataFrame:
    """Check resident ID numbers (format, region, birth date, check character).

    Returns a frame row-aligned with the input: ``id_valid`` (bool), ``id_problem`` (the first
    failing reason code, or None), ``id_birth_date`` (datetime64, NaT when unreadable) and
    ``id_male`` (bool, from the sequence's parity; False when unreadable).

    >>> check_id_numbers(["11010519491231002X", "110105194912310021"])["id_problem"].tolist()
    [None, 'ID_CHECK_DIGIT']
    """
    text = _as_text(id_numbers)
    n = len(text)
    lengths = np.fromiter((len(s) for s in text), np.int64, n)
    fixed = np.where(lengths == 18, text, "0" * 18).astype("U18")
    codes = fixed.view(np.uint32).reshape(n, 18).astype(np.int64) if n else np.zeros((0, 18))
    digits = codes[:, :17] - ord("0")
    last = np.where(codes[:, 17] == ord("x"), ord("X"), codes[:, 17])
    missing = lengths == 0
    is_digit17 = ((digits >= 0) & (digits <= 9)).all(axis=1)
    last_ok = ((last >= ord("0")) & (last <= ord("9"))) | (last == ord("X"))
    fmt_ok = (lengths == 18) & is_digit17 & last_ok
    digits = np.clip(digits, 0, 9).astype(np.int64)
    province = digits[:, 0] * 10 + digits[:, 1]
    region_ok = np.isin(province, sorted(PROVINCE_CODES))
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
    birth = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    readable = fmt_ok & date_ok
    if readable.any():
        stamp = year[readable] * 10_000 + month[readable] * 100 + day[readable]
        birth[readable] = pd.to_datetime(stamp.astype(str), format="%Y%m%d").to_numpy(
            "datetime64[D]"
        )
    male = fmt_ok & (digits[:, 16] % 2 == 1)
    return pd.DataFrame(
        {"id_valid": valid, "id_problem": problem, "id_birth_date": birth, "id_male": male}
    )


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
    text = _as_text(phones)
    ok = np.fromiter((len(s) == 11 and s.isdigit() and s[0] == "1" for s in text), bool, len(text))
    prefix = np.fromiter((int(s[:3]) if k else -1 for s, k in zip(text, ok, strict=True)), np.int64)
    out = np.where(ok, "unknown", "invalid").astype(object)
    for carrier, prefixes in CARRIER_PREFIXES.items():
        out[np.isin(prefix, prefixes)] = carrier
    return out


def _need(frame: pd.DataFrame, column: str) -> pd.Series:
    from creditfactory.exceptions import DataError

    if column not in frame.columns:
        raise DataError(f"applications: column {column!r} is missing (needed by the fraud checks)")
    return frame[column]


def applied_seconds(frame: pd.DataFrame) -> np.ndarray:
    """``applied_at`` as integer seconds since the epoch (a clear error if it is not a time)."""
    from creditfactory.exceptions import DataError

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
    ``id_age_mismatch``, ``id_gender_mismatch``, ``phone_carrier``, ``gps_city_mismatch``,
    ``ip_city_mismatch``, ``fast_form``, ``night``, ``identity_reasons`` (every reason code that
    fired, ``;``-joined, or None) and ``identity_hits`` (how many fired).
    """
    ids = check_id_numbers(_need(frame, "id_number"))
    t = applied_seconds(frame)
    n = len(frame)
    at = t.astype("datetime64[s]").astype("datetime64[D]")
    birth = ids["id_birth_date"].to_numpy("datetime64[D]")
    ok_birth = ~np.isnat(birth)
    id_age = np.full(n, -1, dtype=np.int64)
    if ok_birth.any():
        b = pd.DatetimeIndex(birth[ok_birth])
        a = pd.DatetimeIndex(at[ok_birth])
        before_birthday = (a.month < b.month) | ((a.month == b.month) & (a.day < b.day))
        id_age[ok_birth] = a.year - b.year - before_birthday.astype(np.int64)
    out = pd.DataFrame({"id_valid": ids["id_valid"], "id_problem": ids["id_problem"]})
    out["id_age"] = id_age
    readable = ok_birth & ids["id_valid"].to_numpy()
    if "age" in frame.columns:
        declared = pd.to_numeric(frame["age"], errors="coerce").to_numpy(float)
        out["id_age_mismatch"] = readable & ~np.isnan(declared) & (np.abs(declared - id_age) > 1)
    else:
        out["id_age_mismatch"] = False
    if "gender" in frame.columns:
        g = frame["gender"].astype("string").str.lower().to_numpy(dtype=object)
        known = np.isin(g, ["male", "female"])
        out["id_gender_mismatch"] = readable & known & ((g == "male") != ids["id_male"].to_numpy())
    else:
        out["id_gender_mismatch"] = False
    out["id_underage"] = readable & (id_age < 18)
    carrier = carrier_of(frame["phone"]) if "phone" in frame.columns else np.full(n, None)
    out["phone_carrier"] = carrier
    out["gps_city_mismatch"] = _mismatch(frame, "gps_city")
    out["ip_city_mismatch"] = _mismatch(frame, "ip_city")
    if "form_fill_seconds" in frame.columns:
        secs = pd.to_numeric(frame["form_fill_seconds"], errors="coerce").to_numpy(float)
        out["fast_form"] = secs < FAST_FORM_SECONDS
    else:
        out["fast_form"] = False
    hour = (t // 3600) % 24
    out["night"] = (hour >= NIGHT_HOURS[0]) & (hour < NIGHT_HOURS[1])
    flags = {
        "ID_AGE_MISMATCH": out["id_age_mismatch"].to_numpy(bool),
        "ID_GENDER_MISMATCH": out["id_gender_mismatch"].to_numpy(bool),
        "ID_UNDERAGE": out["id_underage"].to_numpy(bool),
        "PHONE_FORMAT": carrier == "invalid",
        "PHONE_UNKNOWN_PREFIX": carrier == "unknown",
        "PHONE_VIRTUAL": carrier == "virtual",
        "GPS_CITY_MISMATCH": out["gps_city_mismatch"].to_numpy(bool),
        "IP_CITY_MISMATCH": out["ip_city_mismatch"].to_numpy(bool),
        "FAST_FORM": out["fast_form"].to_numpy(bool),
        "NIGHT": out["night"].to_numpy(bool),
    }
    reasons = [[] if not isinstance(p, str) else [p] for p in ids["id_problem"]]
    for code, hit in flags.items():
        for i in np.flatnonzero(hit):
            reasons[i].append(code)
    out["identity_reasons"] = [";".join(r) if r else None for r in reasons]
    out["identity_hits"] = np.fromiter((len(r) for r in reasons), np.int64, n)
    return out


def _mismatch(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Declared ``city`` vs ``column``; False where either is unknown."""
    if column not in frame.columns or "city" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    a = frame[column].astype("string")
    b = frame["city"].astype("string")
    known = a.notna() & b.notna()
    return (known & (a != b)).fillna(False).to_numpy(bool)
