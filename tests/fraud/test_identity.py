"""Identity checks: known answers worked out by hand, and the twin's forged IDs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditfactory.data import valid_id_mask
from creditfactory.exceptions import DataError
from creditfactory.fraud import (
    carrier_of,
    check_character,
    check_id_numbers,
    identity_checks,
    is_valid_id_number,
)


def mod11_2(first17: str) -> str:
    """ISO 7064 MOD 11-2 written independently of the module: weight of position i (from the
    left, 0-based) is 2**(17 - i) mod 11; check value (12 - sum mod 11) mod 11, 10 -> X."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def test_check_character_by_hand() -> None:
    # 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167;
    # 167 mod 11 = 2 -> "10X98765432"[2] = "X"
    assert check_character("11010519491231002") == "X"
    # 4*7+4*9+0*10+1*5+0*8+6*4+1*2+9*1+6*6+2*3+1*7+1*9+2*10+9*5+0*8+3*4+3*2 = 245;
    # 245 mod 11 = 3 -> "10X98765432"[3] = "9"
    assert check_character("44010619621129033") == "9"
    for body in ("11010519491231002", "44010619621129033", "32058219900307451"):
        assert check_character(body) == mod11_2(body)


@pytest.mark.parametrize(
    ("id_number", "problem"),
    [
        ("11010519491231002X", None),
        ("11010519491231002x", None),  # a lower-case check character is the same
        ("440106196211290339", None),
        ("440106196211290333", "ID_CHECK_DIGIT"),
        ("110105194912310021", "ID_CHECK_DIGIT"),
        ("11010519490230" + "002" + mod11_2("11010519490230002"), "ID_BIRTH_DATE"),  # 30 Feb
        ("11010519001301" + "002" + mod11_2("11010519001301002"), "ID_BIRTH_DATE"),  # month 13
        ("99010519491231" + "002" + mod11_2("99010519491231002"), "ID_REGION"),
        ("1101051949123100X2", "ID_FORMAT"),
        ("11010519491231002", "ID_FORMAT"),  # 17 characters
        ("1101051949123100A", "ID_FORMAT"),
        ("", "ID_MISSING"),
        (None, "ID_MISSING"),
    ],
)
def test_id_numbers_known_answers(id_number: str | None, problem: str | None) -> None:
    got = check_id_numbers([id_number])
    assert bool(got["id_valid"].iloc[0]) is (problem is None)
    value = got["id_problem"].iloc[0]
    assert (value if isinstance(value, str) else None) == problem


def test_leap_day_and_sex_from_the_sequence() -> None:
    leap = "11010520000229" + "003"
    not_leap = "11010519000229" + "003"  # 1900 was not a leap year
    got = check_id_numbers([leap + mod11_2(leap), not_leap + mod11_2(not_leap)])
    assert got["id_valid"].tolist() == [True, False]
    assert got["id_male"].iloc[0]  # sequence 003 is odd: a man
    assert got["id_birth_date"].iloc[0] == pd.Timestamp("2000-02-29")
    assert is_valid_id_number(leap + mod11_2(leap))


def test_agrees_with_the_twin_and_catches_every_forged_id(book) -> None:
    ids = book.applications["id_number"]
    got = check_id_numbers(ids)
    np.testing.assert_array_equal(got["id_valid"].to_numpy(), valid_id_mask(ids.tolist()))
    forged = book.truth["id_forged"].to_numpy(bool)
    assert forged.sum() > 50
    assert (~got["id_valid"].to_numpy()[forged]).all()
    assert got["id_valid"].to_numpy()[~forged].all()


def test_declared_age_and_gender_against_the_id() -> None:
    man_1990 = "32058219900307451"  # sequence 451: odd, a man born 7 March 1990
    frame = pd.DataFrame(
        {
            "id_number": [man_1990 + mod11_2(man_1990)] * 4,
            # the day before and on his 34th birthday, then a wrong age, then a wrong gender
            "applied_at": pd.to_datetime(
                ["2024-03-06 12:00", "2024-03-07 12:00", "2024-03-07 12:00", "2024-03-07 03:00"]
            ),
            "age": [33, 34, 40, 34],
            "gender": ["male", "male", "male", "female"],
        }
    )
    got = identity_checks(frame)
    assert got["id_age"].tolist() == [33, 34, 34, 34]
    assert got["id_age_mismatch"].tolist() == [False, False, True, False]
    assert got["id_gender_mismatch"].tolist() == [False, False, False, True]
    assert got["night"].tolist() == [False, False, False, True]
    assert got["identity_reasons"].iloc[2] == "ID_AGE_MISMATCH"
    assert got["identity_reasons"].iloc[3] == "ID_GENDER_MISMATCH;NIGHT"


def test_phone_carriers_location_and_form_speed() -> None:
    phones = ["13812345678", "18612345678", "18912345678", "19212345678", "17012345678"]
    phones += ["14012345678", "1381234567", "23812345678", None]
    assert carrier_of(phones).tolist() == [
        "china_mobile",
        "china_unicom",
        "china_telecom",
        "china_broadnet",
        "virtual",
        "unknown",
        "invalid",
        "invalid",
        "invalid",
    ]
    frame = pd.DataFrame(
        {
            "id_number": ["11010519491231002X"] * 3,
            "applied_at": pd.to_datetime(["2024-01-01 10:00"] * 3),
            "city": ["Beijing", "Beijing", None],
            "gps_city": ["Beijing", "Shanghai", "Shanghai"],
            "ip_city": ["Tianjin", "Beijing", "Beijing"],
            "form_fill_seconds": [300.0, 60.0, np.nan],
        }
    )
    got = identity_checks(frame)
    assert got["gps_city_mismatch"].tolist() == [False, True, False]  # unknown is no mismatch
    assert got["ip_city_mismatch"].tolist() == [True, False, False]
    assert got["fast_form"].tolist() == [False, True, False]


def test_bad_input_names_the_column() -> None:
    with pytest.raises(DataError, match="'id_number'"):
        identity_checks(pd.DataFrame({"applied_at": [pd.Timestamp("2024-01-01")]}))
    with pytest.raises(DataError, match="'applied_at'"):
        identity_checks(pd.DataFrame({"id_number": ["x"], "applied_at": ["not a time"]}))
    with pytest.raises(DataError, match="'applied_at'"):
        identity_checks(pd.DataFrame({"id_number": ["x"], "applied_at": [None]}))
