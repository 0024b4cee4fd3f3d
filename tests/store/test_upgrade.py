"""A database written at revision 0002 (old rules) upgrades to 0003 and verifies under the new
rules; what the old rules already found broken stays reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from creditfactory.audit import digest
from creditfactory.store import (
    Store,
    append,
    check_authority,
    current_revision,
    migrate,
    verify,
)
from creditfactory.store._records import application_content, decision_content

WHEN = datetime(2026, 11, 30, 8, 15, 0, 123456, tzinfo=UTC)


def _table(name: str, **cols: Any) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, t) for c, t in cols.items()))


APPS = _table(
    "applications", id=sa.Integer, external_id=sa.String, payload=sa.JSON,
    request_sha256=sa.String, idempotency_key=sa.String, api_key_id=sa.Integer,
    received_at=sa.DateTime(timezone=True),
)  # fmt: skip
DECS = _table(
    "decisions", id=sa.Integer, application_id=sa.Integer, strategy_id=sa.Integer,
    strategy=sa.String, version=sa.String, decision=sa.String, limit=sa.Float, apr=sa.Float,
    term=sa.Integer, reasons=sa.JSON, trace=sa.JSON, model_versions=sa.JSON, values=sa.JSON,
    list_hits=sa.JSON, decided_at=sa.DateTime(timezone=True),
)  # fmt: skip


def _old_digest(content: dict[str, Any], dropped: str) -> str:
    """A digest as revision 0002 computed it (no timestamp)."""
    return digest({k: v for k, v in content.items() if k != dropped})


def write_0002(url: str) -> Store:
    """A database at 0002 with a key, a strategy in force, a model, a list entry and two
    decisions, each with the ledger entry the old code appended."""
    store = Store(url)
    migrate(store.engine, "0002")
    app = {"id": 1, "external_id": "A1", "payload": {"age": 30}, "request_sha256": "r" * 64,
           "idempotency_key": None, "api_key_id": 1, "received_at": WHEN}  # fmt: skip
    dec = {"id": 1, "application_id": 1, "strategy_id": 1, "strategy": "s", "version": "1",
           "decision": "approve", "limit": 5000.0, "apr": 0.15, "term": 12, "reasons": [],
           "trace": ["rules"], "model_versions": {}, "values": {"x": 1}, "list_hits": [],
           "decided_at": WHEN}  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO api_keys (id, name, role, key_hash, prefix, created_at) "
            f"VALUES (1, 'admin', 'admin', '{'h' * 64}', 'cf_sEcRe', '2026-11-30 08:00:00')"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO strategy_versions (id, name, version, source, sha256, uploaded_by, "
            "uploaded_at) VALUES (1, 's', '1', 'strategy: s', 'x', 'ana', '2026-11-30 08:00:00')"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO strategy_activations (id, strategy_id, action, actor, at) "
            "VALUES (1, 1, 'activate', 'boss', '2026-11-30 08:00:00')"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO models (id, name, version, spec, sha256, registered_by, registered_at) "
            "VALUES (1, 'm', '1', '{}', 'x', 'ana', '2026-11-30 08:00:00')"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO list_entries (id, list_name, field, value_hash, note, added_by, "
            f"added_at) VALUES (1, 'blacklist', 'phone', '{'v' * 64}', '', 'ana', "
            "'2026-11-30 08:00:00')"
        ))  # fmt: skip
        conn.execute(sa.insert(APPS), [app, {**app, "id": 2, "external_id": "A2"}])
        conn.execute(sa.insert(DECS), [dec, {**dec, "id": 2, "application_id": 2}])
    with Session(store.engine) as s:
        append(s, "key.create", "api_key:1", "bootstrap", {"name": "admin", "role": "admin"})
        append(s, "strategy.upload", "strategy:1", "ana", {"name": "s", "version": "1"})
        append(s, "strategy.activate", "strategy:1", "boss", {"name": "s", "version": "1"})
        append(s, "model.register", "model:1", "ana", {"name": "m", "version": "1"})
        append(s, "list.add", "list:blacklist", "ana", {"field": "phone", "hashes": ["v" * 64]})
        for i in (1, 2):
            a = application_content(SimpleNamespace(**{**app, "id": i, "external_id": f"A{i}"}))
            d = decision_content(SimpleNamespace(**{**dec, "id": i, "application_id": i}))
            digests = {
                f"application:{i}": _old_digest(a, "received_at"),
                f"decision:{i}": _old_digest(d, "decided_at"),
            }
            append(s, "decision", f"decision:{i}", "channel", {"digests": digests})
        s.commit()
    return store


def test_a_0002_database_with_data_upgrades_and_verifies(db_url: str) -> None:
    store = write_0002(db_url)
    store.migrate()
    assert current_revision(store.engine) == "0006_id_card_checks"
    with store.session() as s:
        verdict = verify(s)
        assert verdict.ok, verdict.problems
        assert check_authority(s) == []  # the service starts on it
        stmt = "SELECT kind, payload FROM ledger WHERE kind LIKE 'ledger.migrate%' ORDER BY seq"
        migrated = [(kind, json.loads(p)) for kind, p in s.execute(sa.text(stmt))]
        assert [kind for kind, _ in migrated] == ["ledger.migrate", "ledger.migrate.records"]
        assert migrated[0][1]["old_rules"] == {"ok": True, "problems": []}
        assert set(migrated[0][1]["digests"]) == {
            "api_key:1",
            "model:1",
            "strategy:1",
            "activation:1",
        }
        key_id = s.execute(sa.text("SELECT key_id FROM api_keys")).scalar_one()
        columns = {c["name"] for c in sa.inspect(s.connection()).get_columns("api_keys")}
    assert key_id.startswith("k_")
    assert "sEcRe" not in key_id
    assert "prefix" not in columns  # the first characters of the secret are gone
    # from now on, what the old rules did not cover is covered
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE api_keys SET role = 'analyst'"))
        conn.execute(
            sa.text("UPDATE decisions SET decided_at = '2020-01-01 00:00:00' WHERE id = 2")
        )
    with store.session() as s:
        found = [(p.problem, p.detail.split()[0]) for p in verify(s).problems]
    assert found == [("record-altered", "api_key:1"), ("record-altered", "decision:2")]
    store.dispose()


def test_a_0002_database_broken_before_the_upgrade_stays_reported(db_url: str) -> None:
    store = write_0002(db_url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE decisions SET decision = 'decline' WHERE id = 1"))
    store.migrate()
    with store.session() as s:
        first = verify(s).first
    assert first.problem == "migrated-broken"
    assert "record-altered: decision:1" in first.detail
    store.dispose()
