"""Online and batch decisions agree on random applications (hypothesis), bad rows included."""

from __future__ import annotations

import math

import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditfactory.decision import InputError, Strategy

from .conftest import GOOD

FIELDS = ["decision", "limit", "apr", "term", "reasons", "trace"]


def application(valid_only: bool) -> st.SearchStrategy[dict]:
    good_id, good_phone = "110101199202021111", "13712345678"
    ids = st.sampled_from(["110101199001011234", "110101198001010000", *[good_id] * 8])
    phones = st.sampled_from(["13800000000", "13900000000", None, *[good_phone] * 8])
    base = {
        "application_id": st.text("ABC0123456789", min_size=1, max_size=10),
        "id_number": ids,
        "phone": phones,
        "age": st.integers(10, 80) | st.integers(25, 60),
        "monthly_income": st.integers(0, 40).map(lambda k: k * 500.0) | st.just(15000.0),
        "bureau_monthly_debt": st.integers(0, 30).map(lambda k: k * 250.0) | st.just(0.0),
        "utilisation": st.none() | st.sampled_from([-1.0, 0.0, 0.29, 0.3, 0.5, 0.7, 1.0, 1.3]),
        "housing": st.sampled_from(["own", "mortgage", "family", "rent"]),
        "inquiries_3m": st.integers(0, 8) | st.integers(0, 2),
        "thin_file": st.booleans(),
        "channel": st.sampled_from(["app", "branch", "ecommerce"]),
        "term_requested": st.sampled_from([3, 6, 12, 24, 36]),
    }
    if valid_only:
        return st.fixed_dictionaries(base)
    broken = {
        "age": st.sampled_from([None, 150, -1, "thirty"]),
        "monthly_income": st.sampled_from([None, -5.0, math.nan]),
        "housing": st.sampled_from([None, "castle"]),
        "utilisation": st.sampled_from([2.0, -3.0]),
    }
    return st.fixed_dictionaries(base).flatmap(
        lambda app: st.sampled_from([None, *broken]).flatmap(
            lambda f: st.just(app) if f is None else broken[f].map(lambda v: {**app, f: v})
        )
    )


def frame_of(apps: list[dict]) -> pl.DataFrame:
    # Build column by column so that a wrongly typed value stays wrongly typed (no coercion).
    cols = {}
    for k in GOOD:
        vals = [a[k] for a in apps]
        if any(isinstance(v, str) for v in vals) and k in ("age",):
            cols[k] = pl.Series(k, [None if v is None else str(v) for v in vals], dtype=pl.String)
        else:
            cols[k] = pl.Series(k, vals, strict=False)
    return pl.DataFrame(cols)


def same_value(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12)
    return a == b


def check_agreement(strategy: Strategy, apps: list[dict]) -> None:
    batch = strategy.decide_batch(frame_of(apps))
    assert batch.height == len(apps)
    for app, row in zip(apps, batch.iter_rows(named=True), strict=True):
        if row["error"] is not None:
            assert row["decision"] == "refer"
            assert row["reasons"] == ["INVALID_INPUT"]
            with pytest.raises(InputError) as info:
                strategy.decide(app)
            assert str(info.value) == f"invalid application: {row['error']}"
            continue
        d = strategy.decide(app).to_dict()
        for f in FIELDS:
            assert same_value(d[f], row[f]), (f, d[f], row[f], app)
        for k, v in d["values"].items():
            assert same_value(v, row[k]), (k, v, row[k], app)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(application(valid_only=True), min_size=1, max_size=30))
def test_online_equals_batch(full: Strategy, apps: list[dict]) -> None:
    check_agreement(full, apps)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(application(valid_only=False), min_size=1, max_size=20))
def test_online_equals_batch_with_bad_rows(full: Strategy, apps: list[dict]) -> None:
    # a string column for an int field marks every non-null row of that column as mistyped
    if any(isinstance(a["age"], str) for a in apps):
        apps = [a if isinstance(a["age"], str) or a["age"] is None else {**a, "age": str(a["age"])}
                for a in apps]  # fmt: skip
    check_agreement(full, apps)


def test_batch_accepts_pandas_and_keeps_every_row(full: Strategy) -> None:
    apps = [GOOD, {**GOOD, "age": 16}, {**GOOD, "monthly_income": None}]
    out = full.decide_batch(pd.DataFrame(apps))
    assert isinstance(out, pd.DataFrame)
    assert list(out["decision"]) == ["approve", "decline", "refer"]
    assert out["error"].iloc[2] == "monthly_income: null"


def test_missing_column_is_an_error_on_every_row(full: Strategy) -> None:
    out = full.decide_batch(pl.DataFrame([GOOD]).drop("housing"))
    assert out["error"].to_list() == ["housing: missing"]
    with pytest.raises(InputError, match="housing: missing"):
        full.decide({k: v for k, v in GOOD.items() if k != "housing"})
