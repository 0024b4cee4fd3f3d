"""``creditfactory audit verify`` on a real database: intact, then tampered with by SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from typer.testing import CliRunner

from creditfactory.cli import app
from creditfactory.store import DecisionService, Store, activate, add_strategy


def test_audit_verify_cli(
    db_url: str, strategy_yaml: str, good_application: dict[str, Any]
) -> None:
    store = Store(db_url)
    store.migrate()
    with store.session() as s:
        activate(s, add_strategy(s, strategy_yaml, "ana").id, "boss")
    service = DecisionService(store)
    for i in range(3):
        service.decide({**good_application, "application_id": f"A{i}"}, "channel")
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--database-url", db_url])
    assert ok.exit_code == 0, ok.output
    assert "ledger intact: 5 entries" in ok.output
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger WHERE seq = 3"))
    broken = runner.invoke(app, ["audit", "verify", "--database-url", db_url])
    assert broken.exit_code == 1
    assert "ledger broken at entry 3: removed" in " ".join(broken.output.split())
    store.dispose()


def test_audit_verify_cli_refuses_an_empty_database(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(app, ["audit", "verify", "--database-url", url])
    assert result.exit_code == 2
    assert "no creditfactory database here" in " ".join(result.output.split())
