"""The reference strategy on the simulator: online == batch on 100,000 applications, the
simulation report, and the CLI."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from creditfactory.cli import app
from creditfactory.data import Portfolio, SimulationConfig, simulate
from creditfactory.decision import Strategy
from creditfactory.fraud import FraudSource, HashedLists, Lookups

REFERENCE = Path(__file__).parents[2] / "examples" / "strategies" / "reference.yaml"


@pytest.fixture(scope="module")
def reference() -> Strategy:
    return Strategy.load(REFERENCE)


@pytest.fixture(scope="module")
def book() -> Portfolio:
    return simulate(SimulationConfig(n_applications=5_000, seed=11))


def _clean(row: dict) -> dict:
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


@pytest.mark.slow
def test_online_equals_batch_on_30k_simulated_applications(reference: Strategy) -> None:
    # 30,000: each online decision now runs the fraud source (about 0.5 ms), 100,000 took 90 s
    apps = simulate(SimulationConfig(n_applications=30_000, seed=5)).applications
    # in arrival order: online, the fraud source sees each application after the earlier ones
    apps = apps.sort_values("applied_at", kind="stable").reset_index(drop=True)
    batch = reference.decide_batch(pl.from_pandas(apps))
    assert batch.height == len(apps)
    assert batch["error"].null_count() == len(apps)
    decisions = batch["decision"].to_list()
    limits = batch["limit"].to_list()
    aprs = batch["apr"].to_list()
    reasons = batch["reasons"].to_list()
    mismatches = 0
    lookups = Lookups({"list": HashedLists.empty(), "fraud": FraudSource()})
    for i, row in enumerate(apps.to_dict("records")):
        d = reference.decide(_clean(row), lookups)
        if (d.decision, d.limit, d.reasons) != (decisions[i], limits[i], reasons[i]) or not (
            (d.apr is None and aprs[i] is None) or math.isclose(d.apr, aprs[i], rel_tol=1e-12)
        ):
            mismatches += 1
    assert mismatches == 0
    assert set(decisions) == {"approve", "decline", "refer"}


def test_reference_strategy_is_sensible(reference: Strategy, book: Portfolio) -> None:
    out = reference.decide_batch(book.applications)  # pandas in, pandas out
    approve = (out["decision"] == "approve").to_numpy()
    assert 0.4 < approve.mean() < 0.85
    bad = book.truth["bad"].to_numpy()
    assert bad[approve].mean() < bad.mean() / 1.5  # the strategy selects better risks
    assert (out.loc[approve, "apr"] <= 0.24 + 1e-12).all()
    assert (out.loc[approve, "limit"] >= 1000).all()


def test_simulation_report(reference: Strategy, book: Portfolio) -> None:
    report = reference.simulate(book)
    assert report.names == ("reference", "incumbent")
    total = report.summary.filter(pl.col("segment") == "total")
    assert total["strategy"].to_list() == ["reference", "incumbent"]
    ref, inc = total.to_dicts()
    apps = book.applications
    assert ref["applications"] == len(apps)
    inc_rate = (book.incumbent_decisions["decision"] == "approve").mean()
    assert inc["approval_rate"] == pytest.approx(inc_rate)
    assert inc["bad_rate_observed"] == pytest.approx(inc["bad_rate_true"])  # all booked are seen
    assert inc["expected_loss_model"] is None
    assert ref["known_share"] < 1.0
    # the model's expected loss on what it approves is below the true one: a scorecard fitted
    # on the incumbent's booked loans, approving where its PD is low and declining what its
    # lifetime price puts above the cap, keeps the loans whose risk it underestimates, fraud
    # above all (its true PD is many times the model's). 12 books of 5,000 (seeds 20-31) after
    # the merge of issue 12's twin: mean 0.733, sd 0.078 -> 3 sd = 0.23 (this book: 0.685); the
    # ratio moves with the dozen or two fraud loans a book of 5,000 lets through (12 approved on
    # seed 28: 0.87; 25-29 on seeds 20-21: 0.61-0.66). Before the merge: 0.78, sd 0.026; 0.91
    # with the one-period price, which declined fewer
    ratio = ref["expected_loss_model"] / ref["expected_loss_true"]
    assert ratio == pytest.approx(0.73, abs=3 * 0.078)
    swap = report.swap
    assert swap["applications"].sum() == len(apps)
    both = swap.filter(pl.col("cell") == "both approve")["applications"].item()
    swap_in = swap.filter(pl.col("cell") == "swap-in (this only)")["applications"].item()
    assert both + swap_in == ref["approved"]
    assert swap.filter(pl.col("cell") == "swap-in (this only)")["known"].item() == 0
    # segments add up to the total
    segs = report.summary.filter(
        (pl.col("strategy") == "reference") & (pl.col("segment") != "total")
    )
    assert segs["approved"].sum() == ref["approved"]
    assert segs["realised_loss"].sum() == pytest.approx(ref["realised_loss"])


def test_simulation_against_another_strategy(reference: Strategy, book: Portfolio) -> None:
    # a stricter variant: declines everything its reference approves below 595 points
    text = REFERENCE.read_text(encoding="utf-8")
    text = text.replace('when: "limit < min_limit"', 'when: "limit < min_limit or a_score < 595"')
    stricter = Strategy.from_yaml(text, base=REFERENCE.parent)
    report = reference.simulate(book, against=stricter, segment="product")
    ref, other = report.summary.filter(pl.col("segment") == "total").to_dicts()
    assert other["approved"] < ref["approved"]
    assert other["bad_rate_true"] < ref["bad_rate_true"]
    assert report.swap.filter(pl.col("cell") == "swap-out (other only)")["applications"].item() == 0


def test_simulation_on_a_plain_frame(reference: Strategy, book: Portfolio) -> None:
    frame = book.applications.merge(book.truth[["application_id", "bad"]])
    report = reference.simulate(frame)
    assert report.swap is None
    total = report.summary.filter(pl.col("segment") == "total").row(0, named=True)
    assert total["bad_rate_observed"] == pytest.approx(total["bad_rate_true"])
    with pytest.raises(ValueError, match="needs a 'bad' outcome column"):
        reference.simulate(book.applications)


def test_cli_check_and_simulate(tmp_path: Path, book: Portfolio) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["strategy", "check", str(REFERENCE)])
    assert result.exit_code == 0, result.output
    assert "risk_matrix" in result.output
    assert "valid strategy" in result.output
    shutil.copytree(REFERENCE.parent, tmp_path / "s", ignore=shutil.ignore_patterns("*.py"))
    bad = tmp_path / "s" / "bad.yaml"
    bad.write_text(REFERENCE.read_text(encoding="utf-8").replace("age < 18", "agee < 18"))
    result = runner.invoke(app, ["strategy", "check", str(bad)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())  # Rich wraps long lines
    line = 1 + REFERENCE.read_text(encoding="utf-8").split("age < 18")[0].count("\n")
    assert f"bad.yaml:{line}: rule 'underage': unknown variable 'agee' (did you mean 'age'" in text
    assert "Traceback" not in result.output
    book.write(tmp_path / "book")
    result = runner.invoke(
        app, ["strategy", "simulate", str(REFERENCE), "--book", str(tmp_path / "book")]
    )
    assert result.exit_code == 0, result.output
    assert "swap sets" in result.output
    assert "incumbent" in result.output


def test_decisions_are_deterministic(reference: Strategy, book: Portfolio) -> None:
    a = reference.decide_batch(pl.from_pandas(book.applications))
    b = reference.decide_batch(pl.from_pandas(book.applications).reverse()).reverse()
    assert a.equals(b)
    assert np.isfinite(a["limit"].drop_nulls().to_numpy()).all()


def test_champion_challenger_example(reference: Strategy, book: Portfolio) -> None:
    cc = Strategy.load(REFERENCE.parent / "champion_challenger.yaml")
    frame = pl.from_pandas(book.applications)
    out = cc.decide_batch(frame)
    arms = out["trace"].list.eval(
        pl.element().filter(pl.element().str.starts_with("pricing_test:"))
    )
    arm = arms.list.first()
    reached = arm.is_not_null()
    share = (arm.filter(reached) == "pricing_test:challenger").mean()
    assert 0.16 < share < 0.24
    for i, row in enumerate(book.applications.head(1500).to_dict("records")):
        d = cc.decide(_clean(row))
        batch = out.row(i, named=True)
        assert (d.decision, d.limit, d.reasons, d.trace) == (
            batch["decision"], batch["limit"], batch["reasons"], batch["trace"],
        )  # fmt: skip
    report = cc.simulate(book, against=reference)
    swap = report.swap.filter(pl.col("cell") != "both decline")
    assert swap["applications"].sum() > 0
    assert report.names == ("reference_cc", "reference")


def test_simulation_by_arm(reference: Strategy, book: Portfolio) -> None:
    cc = Strategy.load(REFERENCE.parent / "champion_challenger.yaml")
    report = cc.simulate(book, against=reference, segment="arm:pricing_test")
    mine = report.summary.filter(pl.col("strategy") == "reference_cc")
    assert set(mine["segment"]) == {"champion", "challenger", "(not reached)", "total"}
    arms = mine.filter(pl.col("segment").is_in(["champion", "challenger"]))
    assert arms["approved"].sum() == mine.filter(pl.col("segment") == "total")["approved"].item()
    # the challenger asks a higher return: on its own arm its APRs are higher, so is the
    # expected lifetime profit per CNY lent (the report values loans, not take-up)
    ref = report.summary.filter(pl.col("strategy") == "reference")
    ch_mine = mine.filter(pl.col("segment") == "challenger").row(0, named=True)
    ch_ref = ref.filter(pl.col("segment") == "challenger").row(0, named=True)
    mine_rate = ch_mine["expected_profit_true"] / ch_mine["exposure"]
    assert mine_rate > ch_ref["expected_profit_true"] / ch_ref["exposure"]
    with pytest.raises(ValueError, match="has no split step 'nope'"):
        cc.simulate(book, segment="arm:nope")


def test_cli_decide_explains(tmp_path: Path, book: Portfolio) -> None:
    import json

    runner = CliRunner()
    row = _clean(book.applications.iloc[0].to_dict())
    row.pop("applied_at")
    app_file = tmp_path / "app.json"
    app_file.write_text(json.dumps(row, default=str))
    result = runner.invoke(app, ["strategy", "decide", str(REFERENCE), str(app_file)])
    assert result.exit_code == 0, result.output
    expected = Strategy.load(REFERENCE).decide(row).decision
    assert expected in result.output
    result = runner.invoke(app, ["strategy", "decide", str(REFERENCE), '{"age": 30}'])
    assert result.exit_code == 2
    assert "application_id: missing" in " ".join(result.output.split())
