"""The hashed lists are screened in memory: no query per application however many entries, one
version check per cache interval, the entries read again only after a change."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, event, select

from creditfactory.factory import Outcome
from creditfactory.store import (
    ListEntry,
    Store,
    activate,
    add_list_entries,
    add_strategy,
    remove_list_entries,
)

SECRET = "list-secret"


@pytest.fixture
def service(store: Store, strategy_yaml: str, make_service: Any) -> Iterator[Any]:
    with store.session() as s:
        activate(s, add_strategy(s, strategy_yaml, "ana").id, "boss")
        phones = [f"139{i:08d}" for i in range(2_000)]
        add_list_entries(s, SECRET, "blacklist", "phone", phones, "ana")
        add_list_entries(s, SECRET, "greylist", "id_number", ["110101199001011234"], "ana")
    svc = make_service(store, SECRET, cache_seconds=60.0)
    yield svc
    svc.close()


class Statements:
    """Every statement SQLAlchemy sends through ``store``'s engine, while counting."""

    def __init__(self, store: Store):
        self.seen: list[str] = []
        event.listen(store.engine, "before_cursor_execute", self._on)

    def _on(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(statement)


def _apps(good: dict[str, Any], n: int) -> list[dict[str, Any]]:
    # every one holds listed fields; every fifth phone is blacklisted
    return [
        {**good, "application_id": f"L{i}", "phone": f"139{i:08d}" if i % 5 == 0 else f"1{i}"}
        for i in range(n)
    ]


def test_no_query_per_application_once_the_lists_are_cached(
    service: Any, good_application: dict[str, Any]
) -> None:
    service.decide_many([(good_application, "c", None, None)])  # warm: strategy and lists
    statements = Statements(service.store)
    apps = _apps(good_application, 200)
    outs = service.decide_many([(a, "c", None, None) for a in apps])
    lookups = [s for s in statements.seen if "list_entries" in s]
    assert lookups == []  # zero list look-ups for 200 applications
    assert [s for s in statements.seen if s.lstrip().upper().startswith("SELECT")] == []
    decisions = [o.decision for o in outs if isinstance(o, Outcome)]
    assert len(decisions) == 200
    for i, d in enumerate(decisions):  # screened all the same, from memory
        if i % 5 == 0:
            assert (d.decision, d.reasons[0]) == ("decline", "LIST_BLACKLIST_PHONE")
            assert d.list_hits == ["blacklist:phone", "greylist:id_number"]
        else:
            assert d.list_hits == ["greylist:id_number"]


def test_a_change_is_seen_at_once_after_invalidate_and_within_the_interval_otherwise(
    service: Any, good_application: dict[str, Any]
) -> None:
    app = {**good_application, "phone": "13700000000"}
    assert service.decide(app, "c").decision.list_hits == ["greylist:id_number"]
    with service.store.session() as s:
        add_list_entries(s, SECRET, "blacklist", "phone", ["13700000000"], "ana")
    assert service.decide(app, "c").decision.list_hits == ["greylist:id_number"]  # cached
    service.invalidate()  # what the API does after a change
    statements = Statements(service.store)
    assert service.decide(app, "c").decision.list_hits == [
        "blacklist:phone", "greylist:id_number",
    ]  # fmt: skip
    assert sum("list_entries" in s for s in statements.seen) == 2  # the version, the entries
    service.cache_seconds = 0.05  # another process's change: seen within the interval
    with service.store.session() as s:
        remove_list_entries(s, SECRET, "blacklist", "phone", ["13700000000"], "ana")
    time.sleep(0.06)
    assert service.decide(app, "c").decision.list_hits == ["greylist:id_number"]


def test_removing_the_newest_entry_and_adding_another_is_a_new_version(
    service: Any, good_application: dict[str, Any]
) -> None:
    """SQLite gives a new row the highest id of a removed one: count and highest id are then
    unchanged, and the newest ``added_at`` tells the versions apart."""
    app = {**good_application, "phone": "13600000000"}
    service.decide(app, "c")
    with service.store.session() as s:
        newest = s.execute(select(ListEntry).order_by(ListEntry.id.desc()).limit(1)).scalar_one()
        s.execute(delete(ListEntry).where(ListEntry.id == newest.id))
    time.sleep(0.002)
    with service.store.session() as s:
        add_list_entries(s, SECRET, "blacklist", "phone", ["13600000000"], "ana")
    service.cache_seconds = 0.0
    assert service.decide(app, "c").decision.list_hits[0] == "blacklist:phone"
