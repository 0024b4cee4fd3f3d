"""``creditfactory audit verify`` on a real database: intact, then tampered with by SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from typer.testing import CliRunner

from creditfactory.cli import app
from creditfactory.factory import Decide, Factory, FactoryConfig
from creditfactory.store import Store, activate, add_strategy


def test_audit_verify_cli(
    db_url: str, strategy_yaml: str, good_application: dict[str, Any]
) -> None:
    store = Store(db_url)
    store.migrate()
    with store.session() as s:
        activate(s, add_strategy(s, strategy_yaml, "ana").id, "boss")
    factory = Factory(FactoryConfig(db_url), store)
    apps = [{**good_application, "application_id": f"A{i}"} for i in range(3)]
    for i, app_ in enumerate(apps):  # three batches of one: three transactions
        (out,) = factory.decide([Decide(i, app_, "channel")])
        assert not isinstance(out, Exception), out
    factory.close()
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


def test_audit_verify_cli_prints_the_head_and_checks_anchors(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    store = Store(url)
    store.migrate()
    runner = CliRunner()
    from creditfactory.store import append

    with store.session() as s:
        append(s, "note", "x:1", "me", {"n": 1})
    ok = runner.invoke(app, ["audit", "verify", "--database-url", url])
    head = ok.output.split("head ")[1].split()[0]
    assert len(head) == 64
    anchored = runner.invoke(app, ["audit", "verify", "--database-url", url, "--anchor", head])
    assert anchored.exit_code == 0
    missing = runner.invoke(app, ["audit", "verify", "--database-url", url, "--anchor", "f" * 64])
    assert missing.exit_code == 1
    assert "anchor-missing" in missing.output
    store.dispose()


def test_audit_anchor_then_verify_reads_the_anchor_file_from_the_settings(tmp_path: Any) -> None:
    from creditfactory.store import append

    url = f"sqlite:///{tmp_path / 'a.db'}"
    anchors = tmp_path / "anchors.jsonl"
    env = {"CREDITFACTORY_ANCHOR_FILE": str(anchors), "CREDITFACTORY_ANCHOR_KEY": "k"}
    store = Store(url)
    store.migrate()
    with store.session() as s:
        append(s, "note", "x:1", "me", {"n": 1})
        append(s, "note", "x:2", "me", {"n": 2})
    runner = CliRunner()
    done = runner.invoke(app, ["audit", "anchor", "--database-url", url], env=env)
    assert done.exit_code == 0, done.output
    assert "anchored entry 2" in done.output
    ok = runner.invoke(app, ["audit", "verify", "--database-url", url], env=env)
    assert ok.exit_code == 0, ok.output
    assert "anchors in" in ok.output
    with store.engine.begin() as conn:  # the newest entry cut, the head moved back
        conn.execute(text("DELETE FROM ledger WHERE seq = 2"))
        conn.execute(
            text(
                "UPDATE ledger_head SET seq = 1, hash = (SELECT hash FROM ledger), "
                "updated_at = (SELECT created_at FROM ledger)"
            )
        )
    plain = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert plain.exit_code == 0  # the chain alone cannot tell
    cut = runner.invoke(app, ["audit", "verify", "--database-url", url], env=env)
    assert cut.exit_code == 1
    assert "tail-cut" in cut.output
    by_option = runner.invoke(
        app, ["audit", "verify", "--database-url", url, "--anchor-file", str(anchors)],
        env={"CREDITFACTORY_ANCHOR_KEY": "k"},
    )  # fmt: skip
    assert by_option.exit_code == 1
    no_key = runner.invoke(
        app, ["audit", "anchor", "--database-url", url, "--anchor-file", str(anchors)]
    )
    assert no_key.exit_code == 2
    assert "CREDITFACTORY_ANCHOR_KEY" in no_key.output
    store.dispose()
