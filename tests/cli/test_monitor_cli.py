"""``creditfactory monitor``: a book and a scorecard artefact in, terminal tables and an offline
HTML report out; decision rates from a SQLite store; clear errors for bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditfactory.cli import app
from creditfactory.cli._monitor import read_decisions
from creditfactory.monitoring import decision_rates

runner = CliRunner()


@pytest.fixture
def book_and_model(monitored_book: tuple[Path, Path]) -> tuple[Path, Path]:
    """The session's monitored book and scorecard (tests/conftest.py; the dashboard's tests use
    the same): a twin over 2024 with a macro shock from September."""
    return monitored_book


def _store_with_decisions(url: str) -> str:
    from creditfactory.store import Application, DecisionRecord, Review, Store

    store = Store(url)
    store.migrate()
    rows = [  # (decided, decision, review outcome)
        ("2024-05-03", "approve", None), ("2024-05-09", "refer", "approve"),
        ("2024-05-20", "decline", "approve"), ("2024-06-02", "approve", None),
        ("2024-06-11", "refer", None),
    ]  # fmt: skip
    with store.session() as s:
        for i, (day, decision, outcome) in enumerate(rows, start=1):
            at = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
            s.add(Application(id=i, payload={}, request_sha256="0" * 64, received_at=at))
            s.flush()
            s.add(DecisionRecord(
                id=i, application_id=i, strategy="s", version="1", decision=decision,
                reasons=[], trace=[], model_versions={}, values={}, list_hits=[], decided_at=at,
            ))  # fmt: skip
            s.flush()
            if decision == "refer" or outcome is not None:
                s.add(Review(
                    decision_id=i, queue_reason="refer" if decision == "refer" else "qc_sample",
                    status="done" if outcome else "pending", outcome=outcome, queued_at=at,
                ))  # fmt: skip
    store.dispose()
    return url


def test_monitor_writes_tables_and_an_offline_report(book_and_model, tmp_path) -> None:
    from plotly.offline import get_plotlyjs

    book, model = book_and_model
    out = tmp_path / "monitor.html"
    result = runner.invoke(
        app, ["monitor", "--book", str(book), "--model", str(model), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "By month" in result.output
    assert "2024-10" in result.output
    assert "drift" in result.output  # the shock moves the population from September
    html = out.read_text(encoding="utf-8")
    assert "<script src" not in html.lower()
    assert html.count(get_plotlyjs()[:500]) == 1
    assert "<h2>Population stability (PSI / CSI)</h2>" in html
    assert "群体稳定性" not in html
    # in Chinese, from the setting
    zh = tmp_path / "monitor_zh.html"
    result = runner.invoke(
        app,
        ["monitor", "--book", str(book), "--model", str(model), "--out", str(zh)],
        env={"CREDITFACTORY_LANG": "zh-CN"},
    )
    assert result.exit_code == 0, result.output
    page = zh.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page
    assert "<h2>群体稳定性（PSI / CSI）</h2>" in page
    assert "Population stability" not in page


def test_decision_rates_come_from_the_store(book_and_model, db_url) -> None:
    url = _store_with_decisions(db_url)
    frame = read_decisions(url)
    assert frame["month"].tolist() == ["2024-05"] * 3 + ["2024-06"] * 2
    assert frame["review_outcome"].fillna("").tolist() == ["", "approve", "approve", "", ""]
    rates = decision_rates(frame).set_index("month")
    assert rates.loc["2024-05", "approval_rate"] == pytest.approx(1 / 3)
    assert rates.loc["2024-05", "override_rate"] == pytest.approx(1 / 3)  # the decline reversed
    assert rates.loc["2024-06", "referral_rate"] == pytest.approx(0.5)
    book, model = book_and_model
    result = runner.invoke(
        app, ["monitor", "--book", str(book), "--model", str(model), "--store", url]
    )
    assert result.exit_code == 0, result.output
    assert "Decisions" in result.output
    assert "override_rate" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "report.txt"], "must end in .html"),
        (["--baseline-months", "-1"], "--baseline-months"),
        (["--baseline-months", "40"], "baseline_months"),
        (["--window", "0"], "window"),
    ],
)
def test_bad_options_get_a_clear_message(book_and_model, extra, message) -> None:
    book, model = book_and_model
    result = runner.invoke(app, ["monitor", "--book", str(book), "--model", str(model), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_bad_paths_and_thresholds(book_and_model, tmp_path) -> None:
    book, model = book_and_model
    result = runner.invoke(app, ["monitor", "--book", str(tmp_path), "--model", str(model)])
    assert result.exit_code == 2
    assert "not a portfolio directory" in result.output
    result = runner.invoke(app, ["monitor", "--book", str(book), "--model", str(tmp_path)])
    assert result.exit_code == 2
    bad = tmp_path / "t.yaml"
    bad.write_text("psi_watch: 0.3\npsi_act: 0.2\n")
    result = runner.invoke(
        app, ["monitor", "--book", str(book), "--model", str(model), "--thresholds", str(bad)]
    )
    assert result.exit_code == 2
    assert "psi_watch" in result.output
    bad.write_text("psi_wach: 0.3\n")
    result = runner.invoke(
        app, ["monitor", "--book", str(book), "--model", str(model), "--thresholds", str(bad)]
    )
    assert result.exit_code == 2
    assert "psi_wach" in result.output
