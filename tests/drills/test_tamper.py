"""Tampering with every table directly: ``audit verify`` (the CLI) catches and names it.

Every case of the drill runs here on SQLite (about 110: every column of every table altered,
rows deleted, inserted and reordered, each table and the whole database rolled back, the
ledger's tail cut in place; the last two caught through the anchor file the drill configures).
Every one is caught and named. On PostgreSQL (a schema cloned per case is slower than a file
copy) a sample runs: a column of each table, each kind of row change, the whole database
rolled back and cut.
"""

from __future__ import annotations

import pytest
from tests.drills.conftest import require_postgres

from drills import drill_tamper

SAMPLE = {
    "api_keys.role altered", "strategy_versions.source altered",
    "strategy_activations.strategy_id altered", "models.spec altered",
    "list_entries.value_hash altered", "applications.payload altered",
    "decisions.decision altered", "reviews.outcome altered", "ledger.payload altered",
    "ledger_head.seq altered", "ledger_head.updated_at altered", "ledger_head row inserted",
    "api_keys row inserted", "list_entries row deleted",
    "decisions rows reordered", "strategy_activations rolled back", "ledger row deleted",
    "database rolled back to an old copy", "ledger tail cut in place",
}  # fmt: skip


def test_every_tampering_is_caught_and_named_on_sqlite() -> None:
    out = drill_tamper.run(databases=["sqlite"])
    cases = {c["case"]: c for c in out["figures"]["cases"]}
    assert len(cases) >= 100  # every column of every table, and the whole-database cases
    assert set(cases) >= SAMPLE
    missed = {name for name, c in cases.items() if not c["named"]}
    assert missed == set(), missed
    assert out["tamper_caught"] == out["tamper_tried"]


@pytest.mark.postgres
def test_a_sample_of_tampering_is_caught_and_named_on_postgresql() -> None:
    require_postgres()
    out = drill_tamper.run(databases=["postgresql"], only=SAMPLE)
    cases = out["figures"]["cases"]
    assert sorted(c["case"] for c in cases) == sorted(SAMPLE)  # every one was tried
    assert [c["case"] for c in cases if not c["named"]] == []
    assert out["tamper_caught"] == out["tamper_tried"] == len(SAMPLE)
    assert out["passed"]
