"""``creditfactory scorecard fit|score``: artefact, offline report, progress, clean errors."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

import creditfactory.cli._scorecard as cli
from creditfactory.decision._reason_text import BUILTIN_LABELS
from creditfactory.scorecard import load

from .conftest import make_applications

runner = CliRunner()


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    X, y = make_applications(n=2_500, seed=4)
    path = tmp_path_factory.mktemp("data") / "apps.csv"
    X.assign(app_id=[f"A{i}" for i in range(len(X))], bad=y).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted_dir(table, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    cfg = out.parent / "sc.yaml"
    cfg.write_text("max_n_bins: 5\nspecial_codes: {inquiries_3m: [-9]}\ntest_size: 0.25\n")
    res = runner.invoke(
        cli.app,
        ["fit", "--data", str(table), "--target", "bad", "--out", str(out),
         "--config", str(cfg), "--exclude", "app_id", "--challenger"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "AUC" in res.output
    return out


def test_fit_writes_artefact_and_offline_report(fitted_dir):
    sc = load(fitted_dir)
    assert sc.max_n_bins == 5
    assert all(t.n_regular <= 5 for t in sc.binning_tables_.values())
    html = (fitted_dir / "report.html").read_text()
    assert html.count("<script src=") == 0  # plotly.js is inline: the page works offline
    assert html.count("Plotly.newPlot") >= 4
    for section in ("Selection log", "Coefficients", "Points table", "Calibration", "PSI"):
        assert section in html
    assert json.loads((fitted_dir / "scorecard.json").read_text())["format_version"] == 1
    assert "lightgbm challenger" in html
    assert "Challenger comparison" in html
    assert (fitted_dir / "challenger" / "model.txt").exists()


def test_score_writes_points_and_reasons(fitted_dir, table, tmp_path):
    out = tmp_path / "scored.parquet"
    res = runner.invoke(
        cli.app,
        ["score", "--model", str(fitted_dir), "--data", str(table), "--out", str(out),
         "--id-column", "app_id", "--reasons", "2", "--chunk-size", "700"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    scored = pd.read_parquet(out)
    assert list(scored.columns) == [
        "app_id", "score", "p_bad", "reason_1", "reason_2", "reason_texts"
    ]  # fmt: skip
    sc = load(fitted_dir)
    data = pd.read_csv(table)
    pd.testing.assert_series_equal(
        scored["score"], pd.Series(sc.predict_points(data), name="score"), check_exact=True
    )
    # each reason as text, with the applicant's value and the points it cost (in English)
    rc = sc.reason_codes(data, n=2)
    first = rc[rc["rank"] == 1].set_index("row")
    checked = 0
    for row in first.index[:200]:
        texts = scored["reason_texts"].iloc[row].split("; ")
        assert len(texts) == scored.loc[row, ["reason_1", "reason_2"]].notna().sum()
        label, _, rest = texts[0].partition(": ")
        feature = first.loc[row, "feature"]
        assert label == BUILTIN_LABELS[feature][0]
        lost = float(re.search(r"\(([−\d.]+) points\)$", rest).group(1).replace("−", "-"))
        assert lost == pytest.approx(-first.loc[row, "points_lost"], abs=0.5)
        checked += 1
    assert checked == 200
    assert (scored["reason_texts"].fillna("") == "").sum() == scored["reason_1"].isna().sum()


@pytest.mark.parametrize(("how", "suffix"), [("option", ".xlsx"), ("env", ".csv")])
def test_score_in_chinese_gives_chinese_headers_and_texts(fitted_dir, table, tmp_path, how, suffix):
    out = tmp_path / f"scored{suffix}"
    args = ["score", "--model", str(fitted_dir), "--data", str(table), "--out", str(out),
            "--id-column", "app_id", "--reasons", "2"]  # fmt: skip
    if how == "option":
        res = runner.invoke(cli.app, [*args, "--lang", "zh-CN"])
    else:
        res = runner.invoke(cli.app, args, env={"CREDITFACTORY_LANG": "zh-CN"})
    assert res.exit_code == 0, res.output
    scored = pd.read_excel(out) if suffix == ".xlsx" else pd.read_csv(out, encoding="utf-8-sig")
    assert list(scored.columns) == [
        "app_id",
        "评分",
        "坏客户概率",
        "原因代码1",
        "原因代码2",
        "原因说明",
    ]
    texts = scored["原因说明"].dropna()
    assert len(texts) > 100
    assert texts.str.contains(r"：.+（[−\d.]+分）").all()
    # English without the option or the setting
    plain = tmp_path / f"plain{suffix}"
    res = runner.invoke(
        cli.app, [*args[:6], str(plain), *args[7:]], env={"CREDITFACTORY_LANG": None}
    )
    assert res.exit_code == 0, res.output
    scored = pd.read_excel(plain) if suffix == ".xlsx" else pd.read_csv(plain)
    assert list(scored.columns)[-1] == "reason_texts"
    assert scored["reason_texts"].dropna().str.contains(r": .+ \([−\d.]+ points\)").all()


@pytest.mark.parametrize("command", ["score", "fit"])
def test_an_unsupported_language_names_the_option(fitted_dir, table, tmp_path, command):
    args = (
        ["score", "--model", str(fitted_dir), "--data", str(table), "--out", "x.csv"]
        if command == "score"
        else ["fit", "--data", str(table), "--target", "bad", "--out", str(tmp_path / "o")]
    )
    res = runner.invoke(cli.app, [*args, "--lang", "fr"])
    assert res.exit_code == 2
    text = res.output.replace("\n", " ")
    assert "--lang" in text
    assert "'fr' is not supported; use one of en, zh-CN" in text
    assert "Traceback" not in text
    assert not (tmp_path / "o").exists()


def test_fit_in_chinese_writes_a_chinese_report_and_binning_tables(table, tmp_path):
    out = tmp_path / "zh"
    res = runner.invoke(
        cli.app,
        ["fit", "--data", str(table), "--target", "bad", "--out", str(out), "--exclude",
         "app_id", "--lang", "zh-CN", "--test-size", "0.3"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    assert "<title>评分卡验证报告</title>" in html
    assert "Scorecard validation report" not in html
    summary = pd.read_excel(out / "binning.xlsx", sheet_name="summary")
    assert list(summary.columns) == ["变量", "信息值(IV)", "入模"]
    long = pd.read_csv(out / "binning.csv", encoding="utf-8-sig")
    assert {"变量", "分箱", "坏账率", "证据权重(WOE)"} <= set(long.columns)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "--data", "nope.csv", "--target", "bad", "--out", "o"], "does not exist"),
        (["fit", "--data", "{table}", "--target", "badd", "--out", "o"], "column 'badd'"),
        (["fit", "--data", "{table}", "--target", "channel", "--out", "o"], "must be 0/1"),
        (["score", "--model", "nowhere", "--data", "{table}", "--out", "x.csv"], "no scorecard"),
        (["score", "--model", "m", "--data", "{table}", "--out", "x.txt"], ".parquet or .xlsx"),
    ],
)
def test_bad_arguments_fail_cleanly(table, tmp_path, args, message):
    args = [a.replace("{table}", str(table)) for a in args]
    args = [str(tmp_path / a) if a in {"o", "nowhere", "m", "x.csv", "x.txt"} else a for a in args]
    res = runner.invoke(cli.app, args)
    assert res.exit_code == 2
    assert message in res.output.replace("\n", " ")
    assert "Traceback" not in res.output


def test_unknown_config_key(table, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("max_n_binz: 3\n")
    res = runner.invoke(
        cli.app,
        ["fit", "--data", str(table), "--target", "bad", "--out", str(tmp_path / "o"),
         "--config", str(cfg)],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "unknown setting 'max_n_binz'" in res.output


def test_date_column_holds_out_the_latest_months(tmp_path):
    X, y = make_applications(n=2_000, seed=8)
    dates = pd.date_range("2024-01-01", periods=len(X), freq="4h")  # about 11 months
    path = tmp_path / "dated.csv"
    X.assign(applied=dates.strftime("%Y-%m-%d %H:%M"), bad=y).to_csv(path, index=False)
    out = tmp_path / "m"
    res = runner.invoke(
        cli.app,
        ["fit", "--data", str(path), "--target", "bad", "--out", str(out),
         "--date-column", "applied", "--oot-share", "0.25"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    month = dates.year * 12 + dates.month
    # 1 Jan to 29 Nov: October and November hold 18 % of the rows, with September 27 %
    n_oot = int((month >= month[-1] - 1).sum())
    assert 0.15 < n_oot / len(X) <= 0.25
    html = (out / "report.html").read_text()
    assert f"out-of-time rows: <b>{n_oot:,}</b>" in html
    assert "out-of-time" in html
    assert "applied" not in load(out).selection_report_.to_frame()["feature"].tolist()
    bad = runner.invoke(
        cli.app,
        ["fit", "--data", str(path), "--target", "bad", "--out", str(out),
         "--date-column", "when"],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "--date-column: column 'when'" in bad.output
