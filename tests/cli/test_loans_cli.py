"""``creditfactory loans post-payments`` (resumable, each payment once) and ``loans show``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from creditfactory.api import Settings, create_app
from creditfactory.cli import app
from creditfactory.servicing import LoanTerms, Payment, loan_position
from creditfactory.store import LoanPayment, verify

KEY = "cf-test-admin-3Jq8ZrVx5TmW2pLk"
START = date.today() - timedelta(days=120)
runner = CliRunner()


@pytest.fixture
def booked(tmp_path: Path, strategy_yaml: str, good_application: dict[str, Any]) -> str:
    """A database with loan 1: 9,000 CNY at 15% over 12 months, disbursed 120 days ago."""
    url = f"sqlite:///{tmp_path / 'loans.db'}"
    cfg = Settings(database_url=url, admin_key=KEY, engine_process=False)
    service = create_app(cfg)
    h = {"X-API-Key": KEY}
    with TestClient(service) as client:
        assert client.post("/v1/strategies", json={"source": strategy_yaml, "activate": True},
                           headers=h).status_code == 201  # fmt: skip
        decided = client.post("/v1/applications", json=good_application, headers=h).json()
        r = client.post("/v1/loans", json={"decision_id": decided["decision_id"], "amount": 9000,
                        "disbursed_on": START.isoformat()}, headers=h)  # fmt: skip
        assert r.status_code == 201, r.text
    service.state.store.dispose()
    return url


def test_post_payments_is_resumable(booked: str, tmp_path: Path) -> None:
    terms = LoanTerms(900_000, Decimal("0.15"), 12, disbursed_on=START)
    first, second = terms.due_date(1), terms.due_date(2)
    csv = tmp_path / "payments.csv"
    # two equal payments on one day are two payments
    csv.write_text(f"loan_id,amount,paid_on\n1,400.00,{first}\n1,400.00,{first}\n1,812.31,{second}\n",
                   encoding="utf-8")  # fmt: skip
    args = ["loans", "post-payments", "--input", str(csv), "--database-url", booked]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "3 posted" in out.output
    again = runner.invoke(app, args)  # a re-run (or a resumed one) posts nothing twice
    assert again.exit_code == 0, again.output
    assert "0 posted, 3 already posted" in again.output
    from creditfactory.store import Store

    store = Store(booked)
    with store.session() as s:
        assert s.execute(select(func.count()).select_from(LoanPayment)).scalar() == 3
        assert verify(s).ok
    store.dispose()
    day = second + timedelta(days=3)
    shown = runner.invoke(app, ["loans", "show", "1", "--as-of", str(day), "--database-url",
                                booked, "--json"])  # fmt: skip
    assert shown.exit_code == 0, shown.output
    loan = json.loads(shown.output)
    pays = [Payment(first, 40_000), Payment(first, 40_000), Payment(second, 81_231)]
    want = loan_position(terms, pays, day)
    assert (loan["bucket"], loan["dpd"], loan["paid"]) == (want.bucket, want.dpd, "1612.31")
    table = runner.invoke(app, ["loans", "show", "1", "--database-url", booked])
    assert table.exit_code == 0
    assert "还款计划" in table.output


def test_bad_rows_name_the_column_and_line(booked: str, tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("loan_id,amount,paid_on\n1,12.345,2026-01-01\n", encoding="utf-8")
    out = runner.invoke(
        app, ["loans", "post-payments", "--input", str(csv), "--database-url", booked]
    )
    assert out.exit_code == 2
    assert "amount: has more than two decimals" in out.output
    assert "line 2" in out.output
    csv.write_text("loan,amount\n1,2\n", encoding="utf-8")
    out = runner.invoke(
        app, ["loans", "post-payments", "--input", str(csv), "--database-url", booked]
    )
    assert "missing column(s) loan_id, paid_on" in out.output
    csv.write_text(f"loan_id,amount,paid_on\n7,10,{START}\n", encoding="utf-8")
    out = runner.invoke(
        app, ["loans", "post-payments", "--input", str(csv), "--database-url", booked]
    )
    assert out.exit_code == 1
    assert "1 refused" in out.output
    assert "loan 7 not found" in out.output
    assert runner.invoke(app, ["loans", "show", "9", "--database-url", booked]).exit_code == 2
