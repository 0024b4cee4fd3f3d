"""Hashed lists and the provider seam: one row and a frame agree, every way of building the
lists gives the same entries, the hash is the standard HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.fraud import (
    HashedLists,
    Lookups,
    Provider,
    hash_identifier,
    list_feature,
    parse_list_feature,
)

VALUES = ["13800000001", " 13800000002", "ABC", "abc ", "", "7"]


def test_the_hash_is_hmac_sha256_of_the_field_and_the_trimmed_lowered_value() -> None:
    peer = hmac.new(b"k", b"phone\x1fabc", hashlib.sha256).hexdigest()
    assert hash_identifier("k", "phone", "  ABC ") == peer
    assert hash_identifier("k", "id_number", "abc") != peer  # the field is part of it


def test_every_way_of_building_lists_gives_the_same_entries(tmp_path: Path) -> None:
    clear = {("blacklist", "phone"): ["13800000001", " ABC"], ("greylist", "id"): [7]}
    expected = HashedLists.from_values("k", clear).entries()
    rows = [(n, f, str(v)) for (n, f), vs in clear.items() for v in vs]
    frame = pl.DataFrame(rows, schema=["list", "field", "value"], orient="row")
    assert HashedLists.from_frame(frame, "k").entries() == expected
    assert HashedLists.from_frame(frame.to_pandas(), "k").entries() == expected
    frame.write_csv(tmp_path / "l.csv")
    frame.write_parquet(tmp_path / "l.parquet")
    assert HashedLists.from_file(tmp_path / "l.csv", "k").entries() == expected
    assert HashedLists.from_file(tmp_path / "l.parquet", "k").entries() == expected
    hashed = pd.DataFrame(
        [(n, f, h) for (n, f), hs in expected.items() for h in hs],
        columns=["list", "field", "value_hash"],
    )  # e.g. exported from the store: used as they are
    assert HashedLists.from_frame(hashed, "k").entries() == expected
    assert len(HashedLists.from_values("k", clear)) == 3


def test_bad_list_files_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="column 'field' is missing"):
        HashedLists.from_frame(pl.DataFrame({"list": ["b"], "value": ["1"]}), "k")
    with pytest.raises(DataError, match="needs a 'value' column"):
        HashedLists.from_frame(pl.DataFrame({"list": ["b"], "field": ["p"]}), "k")
    with pytest.raises(DataError, match="need the secret"):
        HashedLists.from_frame(
            pl.DataFrame({"list": ["b"], "field": ["p"], "value_hash": ["ab"]}), ""
        )
    with pytest.raises(DataError, match="column 'list', row 1: empty"):
        HashedLists.from_frame(
            pl.DataFrame({"list": ["b", ""], "field": ["p", "p"], "value": ["1", "2"]}), "k"
        )
    (tmp_path / "x.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="not a readable list file"):
        HashedLists.from_file(tmp_path / "x.parquet", "k")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(VALUES)), min_size=1, max_size=20),
    st.lists(st.sampled_from(VALUES), max_size=4),
    st.lists(st.sampled_from(VALUES), max_size=4),
)
def test_one_row_and_a_frame_give_the_same_answers(
    values: list[str | None], black: list[str], grey: list[str]
) -> None:
    lists = HashedLists.from_values("k", {("blacklist", "f"): black, ("greylist", "f"): grey})
    names = [list_feature("blacklist", "f"), list_feature("greylist", "f"),
             list_feature("whitelist", "f"), list_feature("blacklist", "absent")]  # fmt: skip
    frame = lists.frame(names, pl.DataFrame({"f": values}, schema={"f": pl.String}))
    assert frame.columns == names
    norm_black = {v.strip().lower() for v in black if v}
    for i, v in enumerate(values):
        row = lists.row(names, {"f": v})
        assert row == frame.row(i, named=True)
        # known answer: listed when the normalised value is among the normalised entries
        assert row[names[0]] is (v is not None and v != "" and v.strip().lower() in norm_black)
        assert row[names[2]] is row[names[3]] is False


def test_feature_names_and_routing() -> None:
    assert parse_list_feature("list:blacklist:phone") == ("blacklist", "phone")
    with pytest.raises(ConfigError, match="list:<list>:<field>"):
        parse_list_feature("list:blacklist")

    class Velocity:  # another kind of stored feature plugs in the same way
        def row(self, names: Any, application: Any) -> dict[str, Any]:
            return {n: len(str(application["phone"])) for n in names}

        def frame(self, names: Any, applications: pl.DataFrame) -> pl.DataFrame:
            return pl.DataFrame({n: applications["phone"].str.len_chars() for n in names})

        def fingerprint(self) -> str:
            return "v1"

    lists = HashedLists.from_values("k", {("blacklist", "phone"): ["1"]})
    lookups = Lookups({"list": lists, "velocity": Velocity()})
    assert isinstance(lookups, Provider)
    assert isinstance(lists, Provider)
    names = ["velocity:phone:7d", "list:blacklist:phone"]
    assert lookups.row(names, {"phone": "1"}) == {names[0]: 1, names[1]: True}
    frame = lookups.frame(names, pl.DataFrame({"phone": ["1", "22"]}))
    assert frame.columns == names
    assert frame.rows() == [(1, True), (2, False)]
    with pytest.raises(ConfigError, match="no source of kind 'ring'"):
        lookups.frame(["ring:size"], pl.DataFrame({"phone": ["1"]}))


def test_the_fingerprint_follows_the_content_and_the_key() -> None:
    a = HashedLists.from_values("k", {("blacklist", "phone"): ["1"]})
    assert (
        a.fingerprint()
        == HashedLists.from_values("k", {("blacklist", "phone"): ["1"]}).fingerprint()
    )
    assert (
        a.fingerprint()
        != HashedLists.from_values("k", {("blacklist", "phone"): ["2"]}).fingerprint()
    )
    assert (
        a.fingerprint()
        != HashedLists.from_values("j", {("blacklist", "phone"): ["1"]}).fingerprint()
    )
    assert (
        Lookups({"list": a}).fingerprint() != Lookups({"list": HashedLists.empty()}).fingerprint()
    )


PHONES = ["13800000001", "13800000002", " 13800000003 ", "13900000004"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(PHONES)),
            st.one_of(st.none(), st.lists(st.sampled_from(PHONES), max_size=3)),
        ),
        min_size=1, max_size=15,
    ),
    st.lists(st.sampled_from(PHONES), max_size=3),
    st.lists(st.sampled_from(PHONES), max_size=3),
)  # fmt: skip
def test_contacts_listed_share_one_row_and_a_frame_agree(
    apps: list[tuple[str | None, list[str] | None]], black: list[str], grey: list[str]
) -> None:
    from creditfactory.fraud import CONTACTS_LISTED_SHARE, declared_contacts

    lists = HashedLists.from_values(
        "k", {("blacklist", "phone"): black, ("greylist", "phone"): grey,
              ("whitelist", "phone"): PHONES}  # a whitelist does not count
    )  # fmt: skip
    rows = [{"emergency_contact_phone": a, "emergency_contacts": b} for a, b in apps]
    frame = pl.DataFrame(
        rows, schema={"emergency_contact_phone": pl.String,
                      "emergency_contacts": pl.List(pl.String)}
    )  # fmt: skip
    got = lists.frame([CONTACTS_LISTED_SHARE], frame)[CONTACTS_LISTED_SHARE].to_list()
    listed = {p.strip() for p in [*black, *grey]}
    for i, row in enumerate(rows):
        one = lists.row([CONTACTS_LISTED_SHARE], row)[CONTACTS_LISTED_SHARE]
        assert one == got[i]
        contacts = declared_contacts(row)  # known answer: the listed share of the distinct ones
        want = sum(c in listed for c in contacts) / len(contacts) if contacts else 0.0
        assert one == pytest.approx(want)
    assert HashedLists.empty().row([CONTACTS_LISTED_SHARE], rows[0]) == {CONTACTS_LISTED_SHARE: 0.0}
