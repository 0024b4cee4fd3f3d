"""The example blacklist comes from the twin: identifiers of fraud confirmed earlier in the book."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from creditfactory.data import (
    Portfolio,
    SimulationConfig,
    confirmed_fraud_identifiers,
    simulate,
)
from creditfactory.exceptions import DataError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "strategies"


def test_listed_values_are_confirmed_fraud_and_hit_almost_no_honest_applicant(
    book: Portfolio,
) -> None:
    before = pd.Timestamp("2025-04-01")
    listed = confirmed_fraud_identifiers(book, before=before.date())
    assert len(listed) > 50
    assert (listed["confirmed_at"] < before).all()
    frame = book.applications.merge(book.truth, on="application_id")
    by_id = frame.set_index("application_id")
    source = by_id.loc[listed["application_id"]]
    assert source["is_fraud"].all()  # only fraud is ever listed
    assert (source["applied_at"].to_numpy() < before.to_datetime64()).all()
    # each value is what its source application carried in that field
    for field, rows in listed.groupby("field"):
        carried = by_id.loc[rows["application_id"], field].astype(str).to_numpy()
        assert (carried == rows["value"].to_numpy()).all()
    # confirmation: booked fraud that missed its first instalment, or its ring's members
    booked = set(book.loans["application_id"])
    direct = source.index.isin(list(booked)) & source["fpd"].to_numpy()
    assert (direct | source["ring_id"].notna().to_numpy()).all()
    hit = pd.Series(False, index=frame.index)
    for field in ("id_number", "phone", "device_id"):
        hit |= frame[field].astype(str).isin(listed.loc[listed["field"] == field, "value"])
    honest = ~frame["is_fraud"]
    assert hit[honest].mean() < 0.001  # a household tablet now and then
    assert hit[frame["is_fraud"]].mean() > 0.05


def test_a_later_cut_off_lists_more(book: Portfolio) -> None:
    early = confirmed_fraud_identifiers(book, before="2024-10-01")
    late = confirmed_fraud_identifiers(book, before="2025-10-01")
    assert set(early["value"]) < set(late["value"])


def test_bad_input_is_named(book: Portfolio) -> None:
    with pytest.raises(DataError, match="before"):
        confirmed_fraud_identifiers(book, before="not a date")
    with pytest.raises(DataError, match="fields"):
        confirmed_fraud_identifiers(book, before="2025-01-01", fields=("shoe_size",))
    with pytest.raises(DataError, match="truth"):
        confirmed_fraud_identifiers(object(), before="2025-01-01")


def test_the_example_blacklist_is_the_twins() -> None:
    spec = importlib.util.spec_from_file_location(
        "build_blacklist", EXAMPLES / "build_blacklist.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shipped = (EXAMPLES / "blacklist.txt").read_text(encoding="utf-8")
    assert shipped == module.build(), "run examples/strategies/build_blacklist.py"
    values = [line for line in shipped.splitlines() if line and not line.startswith("#")]
    assert "D00000003" not in values
    # and every value belongs to a fraudulent application of that book
    book = simulate(SimulationConfig(n_applications=50_000, seed=7))
    frame = book.applications.merge(book.truth[["application_id", "is_fraud"]])
    fraud = frame[frame["is_fraud"]]
    known = set(fraud["id_number"]) | set(fraud["phone"]) | set(fraud["device_id"])
    assert set(values) <= known
