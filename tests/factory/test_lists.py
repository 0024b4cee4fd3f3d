"""The service's lists through the store back-end: the factory (online), the batch factory and
the simulation screen alike, on SQLite and PostgreSQL, for random applications and random list
contents; a change is seen at the next decision after ``invalidate``; a list the active strategy
does not name does not screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from creditfactory.batch import decide_file
from creditfactory.decision import Strategy
from creditfactory.factory import Decide, Factory, FactoryConfig, Outcome
from creditfactory.fraud import HashedLists, Lookups
from creditfactory.store import (
    ListEntry,
    Store,
    activate,
    add_list_entries,
    add_strategy,
    stored_lists,
)

SECRET = "list-secret"
PHONES = ["13800000001", "13800000002", " 13800000003", "13800000004"]
IDS = ["110101199001011234", "11010119900101123X", "110101199001011235"]


@pytest.fixture
def store(db_url: str, strategy_yaml: str) -> Iterator[Store]:
    s = Store(db_url)
    s.migrate()
    with s.session() as session:
        activate(session, add_strategy(session, strategy_yaml, "ana").id, "boss")
    yield s
    s.dispose()


@pytest.fixture
def factory(store: Store) -> Iterator[Factory]:
    f = Factory(FactoryConfig(str(store.engine.url), list_secret=SECRET, cache_seconds=60), store)
    yield f
    f.close()


def _decide(factory: Factory, apps: list[dict[str, Any]]) -> list[Any]:
    outs = factory.decide([Decide(i, a, "c") for i, a in enumerate(apps)])
    for out in outs:
        assert isinstance(out, Outcome), out
    return [o.decision for o in outs]


@st.composite
def cases(draw: Any) -> tuple[list[dict[str, Any]], dict[tuple[str, str], list[str]]]:
    good = {"age": 35, "bureau_monthly_debt": 1000.0, "term_requested": 12}
    apps = [
        {
            **good,
            "application_id": f"A{i}",
            "id_number": draw(st.sampled_from(IDS)),
            "phone": draw(st.one_of(st.none(), st.sampled_from(PHONES))),
            "monthly_income": draw(st.sampled_from([2000.0, 9000.0])),
            "inquiries_3m": draw(st.integers(0, 5)),
            "bad": i % 2,
            "amount_requested": 5000.0,
        }
        for i in range(draw(st.integers(1, 12)))
    ]
    pools = {"phone": [p.strip() for p in PHONES], "id_number": [i.lower() for i in IDS]}
    entries = {
        (name, field): draw(st.lists(st.sampled_from(pool), max_size=2, unique=True))
        for name in ("blacklist", "greylist", "whitelist")
        for field, pool in pools.items()
    }
    return apps, entries


@settings(
    max_examples=6, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(case=cases())
def test_online_batch_and_simulation_screen_alike_with_the_stores_lists(
    store: Store, factory: Factory, strategy_yaml: str, tmp_path: Path, case: Any
) -> None:
    apps, entries = case
    with store.session() as s:  # this example's lists, in place of the last one's
        s.execute(delete(ListEntry))
        for (name, field), values in entries.items():
            if values:
                add_list_entries(s, SECRET, name, field, values, "ana")
    factory.invalidate()  # what the API does after a change: seen at the next decision
    tag = f"{id(case)}-"
    online = _decide(factory, [{**a, "application_id": tag + a["application_id"]} for a in apps])
    strategy = Strategy.from_yaml(strategy_yaml)
    with store.sessions() as session:
        lookups = Lookups({"list": stored_lists(session, SECRET)})
    frame = pl.DataFrame(apps)
    frame.write_parquet(tmp_path / "apps.parquet")
    out = tmp_path / "out.parquet"
    decide_file(strategy, tmp_path / "apps.parquet", out, chunk_size=5, lookups=lookups,
                restart=True)  # fmt: skip
    batch = pl.read_parquet(out)
    for d, row in zip(online, batch.iter_rows(named=True), strict=True):
        assert (d.decision, d.limit, d.reasons, d.list_hits) == (
            row["decision"], row["limit"], row["reasons"], row["list_hits"],
        )  # fmt: skip
    report = strategy.simulate(frame, segment="application_id", refer_as="approve",
                               lookups=lookups)  # fmt: skip
    rows = report.summary.filter(pl.col("segment") != "total")
    got = dict(zip(rows["segment"], rows["approved"], strict=True))
    assert got == {
        a["application_id"]: int(d.decision != "decline") for a, d in zip(apps, online, strict=True)
    }
    # the file back-end holding the same identifiers in clear screens alike too
    from_values = Lookups({"list": HashedLists.from_values("other-key", entries)})
    for a, d in zip(apps, online, strict=True):
        offline = strategy.decide(a, from_values)
        assert (offline.decision, offline.reasons, offline.list_hits) == (
            d.decision, d.reasons, d.list_hits,
        )  # fmt: skip


def test_an_entry_is_seen_at_the_next_decision_after_invalidate(
    store: Store, factory: Factory, good_application: dict[str, Any]
) -> None:
    first = _decide(factory, [{**good_application, "application_id": "B1"}])[0]
    assert (first.decision, first.list_hits) == ("approve", [])
    with store.session() as s:
        add_list_entries(s, SECRET, "blacklist", "phone", [good_application["phone"]], "ana")
    factory.invalidate()
    second = _decide(factory, [{**good_application, "application_id": "B2"}])[0]
    assert (second.decision, second.reasons) == ("decline", ["LIST_BLACKLIST_PHONE"])
    assert second.list_hits == ["blacklist:phone"]


def test_a_list_the_active_strategy_does_not_name_does_not_screen(
    store: Store, factory: Factory, strategy_yaml: str, good_application: dict[str, Any]
) -> None:
    """Entries on a list or a field the active strategy does not check are the service's to
    keep, but screen nothing until a strategy names them."""
    no_grey = "\n".join(line for line in strategy_yaml.splitlines() if "greylist" not in line)
    with store.session() as s:
        activate(s, add_strategy(s, no_grey.replace('"1"', '"1-no-grey"'), "ana").id, "boss")
        add_list_entries(s, SECRET, "blacklist", "device_id", ["D1"], "ana")
        add_list_entries(s, SECRET, "greylist", "phone", [good_application["phone"]], "ana")
        add_list_entries(s, SECRET, "greylist", "id_number", [good_application["id_number"]], "ana")
    factory.invalidate()
    d = _decide(factory, [{**good_application, "application_id": "C1", "device_id": "D1"}])[0]
    assert (d.version, d.decision, d.reasons, d.list_hits) == ("1-no-grey", "approve", [], [])
    with store.session() as s:  # the same applicant on a list the strategy names: screened
        add_list_entries(s, SECRET, "whitelist", "phone", [good_application["phone"]], "ana")
    factory.invalidate()
    d = _decide(factory, [{**good_application, "application_id": "C2", "device_id": "D1"}])[0]
    assert (d.decision, d.list_hits) == ("approve", ["whitelist:phone"])
