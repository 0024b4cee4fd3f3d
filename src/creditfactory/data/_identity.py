"""Resident ID numbers (GB 11643-1999) and mobile numbers: make them, check them.

An ID number is a 6-digit region code, an 8-digit birth date (YYYYMMDD), a 3-digit sequence (odd
for men, even for women) and a check character: the first 17 digits weighted by
7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, summed, modulo 11, index into "10X98765432".
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from creditfactory.data._reference import CITIES

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"
_REGIONS = frozenset(c[2] for c in CITIES)
PROVINCES = frozenset(
    (
        11,
        12,
        13,
        14,
        15,
        21,
        22,
        23,
        31,
        32,
        33,
        34,
        35,
        36,
        37,
        41,
        42,
        43,
        44,
        45,
        46,
        50,
        51,
        52,
        53,
        54,
        61,
        62,
        63,
        64,
        65,
        71,
        81,
        82,
    )
)
"""Two-digit province codes that begin a real resident ID number."""


def check_character(first17: str) -> str:
    """Check character of the first 17 digits of an ID number.

    >>> check_character("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(d) * int(w) for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def is_valid_id_number(id_number: str, *, known_regions: bool = False) -> bool:
    """True when ``id_number`` is a well-formed resident ID: digits, a real birth date and the
    right check character (and, with ``known_regions``, a region the simulator uses).

    >>> is_valid_id_number("11010519491231002X")
    True
    >>> is_valid_id_number("110105194912310021")
    False
    """
    if not isinstance(id_number, str) or len(id_number) != 18 or not id_number[:17].isdigit():
        return False
    try:
        dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return False
    if int(id_number[:2]) not in PROVINCES or (known_regions and id_number[:6] not in _REGIONS):
        return False
    return check_character(id_number[:17]) == id_number[17].upper()


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Matrix of the decimal digits of non-negative integers, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers[None, :]) % 10


def make_id_numbers(
    region: np.ndarray, birth: np.ndarray, male: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Valid ID numbers for arrays of region codes (str), birth dates (datetime64[D]) and sex."""
    n = len(region)
    if n == 0:
        return np.array([], dtype="U18")
    birth = birth.astype("datetime64[D]")
    months = birth.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (birth - months.astype("datetime64[D]")).astype(np.int64) + 1
    date_num = year * 10_000 + month * 100 + day
    seq = rng.integers(0, 500, n) * 2 + male.astype(np.int64)  # odd for men
    region_num = region.astype(np.int64)
    digits = np.hstack([_digits(region_num, 6), _digits(date_num, 8), _digits(seq, 3)])
    check = np.array(list(CHECK_CHARS))[(digits @ ID_WEIGHTS) % 11]
    body = region_num * 10**11 + date_num * 1000 + seq
    return np.char.add(np.char.zfill(body.astype(str), 17), check)


def forge_id_numbers(valid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Forged versions of valid ID numbers: a wrong check character (most), an impossible
    birth date, or an unknown region. Every result fails :func:`is_valid_id_number`."""
    out = valid.astype("U18").copy()
    kind = rng.choice(3, size=len(out), p=[0.7, 0.2, 0.1])
    for i in np.flatnonzero(kind == 0):
        right = out[i][17]
        wrong = CHECK_CHARS[(CHECK_CHARS.index(right) + rng.integers(1, 11)) % 11]
        out[i] = out[i][:17] + wrong
    for i in np.flatnonzero(kind == 1):
        body = out[i][:10] + "02" + str(rng.integers(30, 32)) + out[i][14:17]  # 30/31 February
        out[i] = body + check_character(body)
    for i in np.flatnonzero(kind == 2):
        body = "99" + out[i][2:17]  # no province has code 99
        out[i] = body + check_character(body)
    return out


def make_phones(n: int, rng: np.random.Generator) -> np.ndarray:
    """Distinct-looking 11-digit mobile numbers starting 13-19."""
    prefix = rng.integers(13, 20, n)
    rest = rng.integers(0, 10**9, n)
    return (prefix * 10**9 + rest).astype(str)


def valid_id_mask(ids: np.ndarray | list[str]) -> np.ndarray:
    """Vectorised :func:`is_valid_id_number` (format, province, birth date, check character).

    >>> valid_id_mask(["11010519491231002X", "110105194912310021", "short"]).tolist()
    [True, False, False]
    """
    arr = np.asarray(ids, dtype=object)
    lengths = np.fromiter((len(s) if isinstance(s, str) else 0 for s in arr), np.int64, len(arr))
    ok = lengths == 18
    fixed = np.where(ok, arr, "0" * 18).astype("U18")
    codes = fixed.view(np.uint32).reshape(-1, 18).astype(np.int64)
    digits = codes[:, :17] - ord("0")
    ok &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    digits = np.clip(digits, 0, 9)
    province = digits[:, 0] * 10 + digits[:, 1]
    ok &= np.isin(province, sorted(PROVINCES))
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[
        np.clip(month, 1, 12) - 1
    ]
    month_days = month_days + ((month == 2) & leap)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days) & (year >= 1900)
    expected = np.frombuffer(CHECK_CHARS.encode(), np.uint8)[(digits @ ID_WEIGHTS) % 11]
    last = codes[:, 17]
    last = np.where(last == ord("x"), ord("X"), last)
    return ok & (last == expected)
