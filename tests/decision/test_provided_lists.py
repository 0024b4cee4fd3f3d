"""A strategy's provided lists (``provided:``): one lists step, looked up through the provider,
the same decisions online, in batch and in simulation, from a file or from values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditfactory.decision import Strategy
from creditfactory.exceptions import StrategyError
from creditfactory.fraud import HashedLists, Lookups

LISTED = """
strategy: listed
version: "1"
key: application_id
inputs:
  application_id: str
  id_number: str
  phone: {type: str, nullable: true}
  device_id: int
  amount_requested: {type: float, min: 0, max: 1000000}
  monthly_income: {type: float, min: 0, max: 1000000}
  bad: {type: int, min: 0, max: 1}
lists:
  blacklist: {provided: true}
  grey: {provided: greylist}
  whitelist: {provided: true}
  local: {values: ["13900000009"]}
flow:
  - lists:
      name: service_lists
      checks:
        - {field: id_number, list: blacklist, action: decline, reason: LIST_BLACKLIST_ID_NUMBER}
        - {field: phone, list: blacklist, action: decline, reason: LIST_BLACKLIST_PHONE}
        - {field: device_id, list: blacklist, action: decline, reason: LIST_BLACKLIST_DEVICE_ID}
        - {field: id_number, list: grey, action: refer, reason: LIST_GREYLIST_ID_NUMBER}
        - {field: phone, list: grey, action: refer, reason: LIST_GREYLIST_PHONE}
        - {field: phone, list: whitelist, action: none, bind: white_phone}
        - {field: phone, list: local, action: refer, reason: LOCAL}
  - rules:
      name: knockouts
      rules:
        - {name: low_income, when: "monthly_income < 3000", action: decline, reason: KO_INCOME}
  - assign:
      name: offer
      set:
        limit: "if(white_phone, 2.0, 1.0) * min(monthly_income * 3, 50000)"
        apr: "0.18"
        term: "12"
"""
SECRET = "k3y"
PHONES = ["13800000001", "13800000002", " 13800000003 ", "13900000009", "1380000000X"]
IDS = ["110101199001011234", "11010119900101123x", "110101199001011235"]
DEVICES = [1, 2, 3]


@pytest.fixture(scope="module")
def listed() -> Strategy:
    return Strategy.from_yaml(LISTED)


def _app(i: int, phone: str | None, id_number: str, device: int, income: float) -> dict[str, Any]:
    return {
        "application_id": f"A{i}", "id_number": id_number, "phone": phone, "device_id": device,
        "amount_requested": 5000.0, "monthly_income": income, "bad": i % 2,
    }  # fmt: skip


def _lists(**entries: list[Any]) -> HashedLists:
    """``blacklist_phone=[...]`` -> the ``(blacklist, phone)`` list, hashed."""
    return HashedLists.from_values(SECRET, {tuple(k.split("_", 1)): v for k, v in entries.items()})


def test_blacklist_declines_greylist_refers_whitelist_is_recorded(listed: Strategy) -> None:
    lists = Lookups({"list": _lists(
        blacklist_phone=["13800000001"], greylist_id_number=[IDS[0].upper()],
        whitelist_phone=["13800000002"], greylist_phone=["13800000002"],
    )})  # fmt: skip
    black = listed.decide(_app(0, "13800000001", IDS[0], 1, 9000.0), lists)
    assert (black.decision, black.limit, black.apr, black.term) == ("decline", None, None, None)
    # the step evaluates every check, the decline ends the flow after it
    assert black.reasons == ["LIST_BLACKLIST_PHONE", "LIST_GREYLIST_ID_NUMBER"]
    assert black.list_hits == ["blacklist:phone", "greylist:id_number"]
    assert black.trace == ["service_lists"]
    grey = listed.decide(_app(1, " 13800000002", IDS[1], 2, 9000.0), lists)
    assert (grey.decision, grey.reasons) == ("refer", ["LIST_GREYLIST_PHONE"])
    assert grey.list_hits == ["greylist:phone", "whitelist:phone"]
    assert grey.limit == 2 * 27000.0  # the whitelist bound a variable the offer reads
    grey_declined = listed.decide(_app(2, None, IDS[0], 3, 1000.0), lists)
    assert grey_declined.decision == "decline"  # a greylist never lifts a decline
    # the reason it was declined comes first, then the greylist hit met before it
    assert grey_declined.reasons == ["KO_INCOME", "LIST_GREYLIST_ID_NUMBER"]
    clean = listed.decide(_app(3, "13800000005", IDS[2], 3, 9000.0), lists)
    assert (clean.decision, clean.reasons, clean.list_hits) == ("approve", [], [])


def test_without_a_provider_the_provided_lists_are_empty(listed: Strategy) -> None:
    d = listed.decide(_app(0, "13800000001", IDS[0], 1, 9000.0))
    assert (d.decision, d.list_hits) == ("approve", [])
    assert listed.provided_lists == ["blacklist", "greylist", "whitelist"]
    out = listed.decide_batch(pl.DataFrame([_app(0, "13800000001", IDS[0], 1, 9000.0)]))
    assert out["list_hits"].to_list() == [[]]


def test_a_list_the_strategy_does_not_name_does_not_screen(listed: Strategy) -> None:
    """Entries on lists or fields the strategy never checks change nothing."""
    app = _app(0, "13800000001", IDS[0], 1, 9000.0)
    lists = Lookups({"list": _lists(
        greylist_device_id=[1], whitelist_id_number=[IDS[0]], watchlist_phone=["13800000001"],
    )})  # fmt: skip
    d = listed.decide(app, lists)
    assert (d.decision, d.reasons, d.list_hits) == ("approve", [], [])
    out = listed.decide_batch(pl.DataFrame([app]), lookups=lists)
    assert out.row(0, named=True)["list_hits"] == []
    plain = Strategy.from_yaml(LISTED.split("lists:\n  blacklist")[0] + "flow: []\n")
    assert plain.decide(app, Lookups({"list": _lists(blacklist_phone=["13800000001"])})).decision
    assert "list_hits" not in plain.decide_batch(pl.DataFrame([app])).columns


def test_an_invalid_row_refers_invalid_input_alone_in_batch(listed: Strategy) -> None:
    lists = Lookups({"list": _lists(blacklist_phone=["13800000001"])})
    bad = {**_app(0, "13800000001", IDS[0], 1, 9000.0), "monthly_income": -5.0}
    row = listed.decide_batch(pl.DataFrame([bad]), lookups=lists).row(0, named=True)
    assert (row["decision"], row["reasons"], row["list_hits"]) == ("refer", ["INVALID_INPUT"], [])


@pytest.mark.parametrize(
    ("yaml", "match"),
    [
        ("lists: {b: {provided: true, values: ['1']}}", "a provided list has no values"),
        ("lists: {b: {provided: 3}}", "provided must be true or the name"),
        ("lists: {b: {provided: true}}\nflow:\n  - lists: {checks: [{field: income, list: b, "
         "action: decline, reason: X}]}", "a provided list checks a str or int input"),
        ("lists: {b: {provided: true}}\nflow:\n  - lists: {checks: [{field: phone, list: c, "
         "action: decline, reason: X}]}", r"unknown list 'c' \(known: \['b'\]\)"),
    ],
)  # fmt: skip
def test_provided_lists_are_checked_when_the_strategy_loads(yaml: str, match: str) -> None:
    head = "strategy: x\nversion: '1'\ninputs: {phone: str, income: float}\n"
    text = head + yaml + ("" if "flow" in yaml else "\nflow: []")
    with pytest.raises(StrategyError, match=match):
        Strategy.from_yaml(text)


def test_a_provided_list_cannot_be_filled_at_load_time() -> None:
    with pytest.raises(StrategyError, match="provided at decision time"):
        Strategy.from_yaml(LISTED, lists={"blacklist": ["1"]})


def _write(entries: dict[tuple[str, str], list[Any]], path: Path) -> Path:
    rows = [(n, f, str(v)) for (n, f), vs in entries.items() for v in vs]
    pl.DataFrame(rows, schema=["list", "field", "value"], orient="row").write_csv(path)
    return path


@st.composite
def cases(draw: Any) -> tuple[list[dict[str, Any]], dict[tuple[str, str], list[Any]]]:
    n = draw(st.integers(1, 25))
    apps = [
        _app(
            i,
            draw(st.one_of(st.none(), st.sampled_from(PHONES))),
            draw(st.sampled_from(IDS)),
            draw(st.sampled_from(DEVICES)),
            draw(st.sampled_from([1000.0, 5000.0, 20000.0])),
        )
        for i in range(n)
    ]
    pools = {"phone": [p.strip().lower() for p in PHONES], "id_number": IDS,
             "device_id": DEVICES}  # fmt: skip
    entries = {
        (name, field): draw(st.lists(st.sampled_from(pool), max_size=3, unique=True))
        for name in ("blacklist", "greylist", "whitelist")
        for field, pool in pools.items()
    }
    return apps, entries


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cases())
def test_online_batch_and_simulation_screen_alike_from_values_and_from_a_file(
    listed: Strategy, tmp_path: Path, case: tuple[list[dict[str, Any]], dict[Any, list[Any]]]
) -> None:
    apps, entries = case
    from_values = Lookups({"list": HashedLists.from_values(SECRET, entries)})
    from_file = Lookups({"list": HashedLists.from_file(_write(entries, tmp_path / "l.csv"), "")})
    frame = pl.DataFrame(apps)
    for lookups in (from_values, from_file):
        online = [listed.decide(a, lookups) for a in apps]
        batch = listed.decide_batch(frame, lookups=lookups)
        for d, row in zip(online, batch.iter_rows(named=True), strict=True):
            assert (d.decision, d.limit, d.reasons, d.list_hits) == (
                row["decision"], row["limit"], row["reasons"], row["list_hits"],
            )  # fmt: skip
        # simulation: each application its own segment; approved, then approved or referred
        for refer_as, ok in (("decline", {"approve"}), ("approve", {"approve", "refer"})):
            report = listed.simulate(frame, segment="application_id", refer_as=refer_as,
                                     lookups=lookups)  # fmt: skip
            rows = report.summary.filter(pl.col("segment") != "total")
            got = dict(zip(rows["segment"], rows["approved"], strict=True))
            assert got == {a["application_id"]: int(d.decision in ok)
                           for a, d in zip(apps, online, strict=True)}  # fmt: skip
    # the two back-ends agree, and each hit is a listed identifier (normalised)
    norm = {k: {str(v).strip().lower() for v in vs} for k, vs in entries.items()}
    for a in apps:
        d = listed.decide(a, from_values)
        assert d == listed.decide(a, from_file)
        for hit in d.list_hits:
            name, field = hit.split(":")
            assert str(a[field]).strip().lower() in norm[(name, field)]
