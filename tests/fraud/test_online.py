"""The online (plain Python, one application) identity checks and score give exactly what the
array forms give that application: random applications, edge cases included."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from creditfactory.fraud._columns import Columns
from creditfactory.fraud._identity import check_id_arrays, identity_arrays
from creditfactory.fraud._online import check_id, identity_row, score_row
from creditfactory.fraud._score import score_arrays
from creditfactory.fraud._source import _seconds, _stamp

VALID = ["11010519491231002X", "440106196211290339", "130602199812089510"]


@st.composite
def id_numbers(draw: st.DrawFn) -> Any:
    base = draw(st.sampled_from(VALID))
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return base
    if kind == 1:  # one character changed (check digit, region, date, format ...)
        i = draw(st.integers(0, 17))
        c = draw(st.sampled_from("0123456789Xx a"))
        return base[:i] + c + base[i + 1 :]
    if kind == 2:
        return base[:-1] + "x" if base.endswith("X") else base.lower()
    if kind == 3:
        return draw(st.sampled_from([None, "", float("nan"), 123, "1101051949123100", base + "1"]))
    if kind == 4:  # random dates, leap days
        y = draw(st.integers(1890, 2030))
        m = draw(st.integers(0, 13))
        d = draw(st.integers(0, 32))
        return f"{base[:6]}{y:04d}{m:02d}{d:02d}{base[14:]}"
    if kind == 5:  # month ends and leap days (1900 is no leap year, 2000 is)
        y = draw(st.sampled_from([1899, 1900, 1996, 2000, 2023, 2024]))
        m = draw(st.sampled_from([1, 2, 4, 12]))
        d = draw(st.sampled_from([28, 29, 30, 31]))
        return f"{base[:6]}{y:04d}{m:02d}{d:02d}{base[14:]}"
    return draw(st.text(alphabet="0123456789X", min_size=17, max_size=19))


@st.composite
def applications(draw: st.DrawFn) -> dict[str, Any]:
    app: dict[str, Any] = {"id_number": draw(id_numbers())}
    optional = {
        "age": st.one_of(st.none(), st.integers(10, 90), st.floats(10, 90), st.just(float("nan"))),
        "gender": st.sampled_from([None, "male", "female", "Male", "other", 3]),
        "phone": st.one_of(
            st.none(), st.sampled_from(["13912345678", "17012345678", "14012345678", "2391234567"]),
            st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
        ),
        "city": st.sampled_from([None, "", "Shanghai", "Beijing"]),
        "gps_city": st.sampled_from([None, "", "Shanghai", "Beijing"]),
        "ip_city": st.sampled_from([None, "Shanghai", "Beijing"]),
        "form_fill_seconds": st.one_of(st.none(), st.floats(0, 900), st.just(float("nan"))),
        "contacts_blacklisted_share": st.one_of(st.none(), st.floats(0, 0.2)),
        "loan_apps_installed": st.one_of(st.none(), st.integers(0, 20)),
        "contact_list_size": st.one_of(st.none(), st.integers(0, 500)),
    }  # fmt: skip
    for name, values in optional.items():
        if draw(st.booleans()):
            app[name] = draw(values)
    return app


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, str) else value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b) and type(a) is type(b)


@settings(max_examples=400, deadline=None)
@given(applications(), st.integers(-(10**9), 2 * 10**9))
def test_identity_and_score_rows_equal_the_array_forms(app: dict[str, Any], t: int) -> None:
    want = identity_arrays(Columns(app), np.array([t], dtype=np.int64))
    got = identity_row(app, t)
    assert set(got) == set(want)
    for name, values in want.items():
        assert _equal(got[name], _plain(values[0])), (name, got[name], values[0])
    rng = np.random.default_rng(abs(t) % 1000)
    feats = {
        **got, "ring_size": int(rng.integers(1, 5)), "ring_burst": int(rng.integers(0, 5)),
        "vel_address_customers_7d": int(rng.integers(0, 5)),
        "vel_subnet_customers_24h": int(rng.integers(0, 5)),
    }  # fmt: skip
    scored = score_arrays(Columns(app), {k: np.array([v], dtype=object) for k, v in feats.items()})
    mine = score_row(app, feats)
    assert set(mine) == set(scored)
    for name, values in scored.items():
        assert _equal(mine[name], _plain(values[0])), (name, mine[name], values[0])


@settings(max_examples=300, deadline=None)
@given(id_numbers())
def test_check_id_equals_the_array_check(value: Any) -> None:
    arrays = check_id_arrays(np.array([value], dtype=object))
    valid, problem, birth, male = check_id(value)
    assert valid == bool(arrays["id_valid"][0])
    assert problem == arrays["id_problem"][0]
    assert male == bool(arrays["id_male"][0])
    at = arrays["id_birth_date"][0]
    assert (birth is None) == bool(np.isnat(at))
    if birth is not None:
        assert str(at) == f"{birth[0]:04d}-{birth[1]:02d}-{birth[2]:02d}"


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1),
        timezones=st.one_of(st.none(), st.just(UTC), st.just(timezone(timedelta(hours=8)))),
    ),
    st.sampled_from(["datetime", "timestamp", "iso", "iso-space", "minutes"]),
)  # fmt: skip
def test_arrival_seconds_equal_pandas(when: datetime, form: str) -> None:
    """The online source reads a time without pandas where it can: the same seconds."""
    value: Any = {
        "datetime": when,
        "timestamp": pd.Timestamp(when),
        "iso": when.isoformat(),
        "iso-space": when.isoformat(sep=" "),
        "minutes": when.strftime("%Y-%m-%d %H:%M"),
    }[form]
    stamp = _stamp(value)
    assert stamp is not None
    assert _seconds(value) == int(stamp.value // 1_000_000_000)


def test_arrival_seconds_of_no_time() -> None:
    for value in (None, "", "tomorrow", float("nan"), pd.NaT):
        assert _seconds(value) is None
        assert _stamp(value) is None
