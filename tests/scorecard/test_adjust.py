"""Bin adjustment: edits from short commands, their effect, user_bins the next fit reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.scorecard.conftest import make_applications
from typer.testing import CliRunner

import creditfactory.cli._scorecard as cli
from creditfactory.exceptions import ConfigError
from creditfactory.scorecard import BinAdjuster, Scorecard, load


@pytest.fixture(scope="module")
def book():
    X, y = make_applications(3_000, seed=12)
    sc = Scorecard(special_codes={"inquiries_3m": [-9]}).fit(X, y)
    return sc, X, y.to_numpy()


def _direct_counts(x: np.ndarray, y: np.ndarray, splits: list[float]) -> np.ndarray:
    """Bads per regular numeric bin, counted without the library (right-closed edges)."""
    ok = ~np.isnan(x)
    b = np.searchsorted(np.asarray(splits), x[ok], side="right")
    return np.bincount(b, weights=y[ok], minlength=len(splits) + 1)


def test_merge_and_split_recount_the_bins(book):
    sc, X, y = book
    adj = BinAdjuster(sc, X, y)
    t0 = adj.tables["utilisation"]
    assert t0.n_regular >= 3
    merged = adj.apply("utilisation", "merge 0 1")
    assert merged.n_regular == t0.n_regular - 1
    assert list(merged.splits) == list(t0.splits[1:])
    x = X["utilisation"].to_numpy(float)
    np.testing.assert_allclose(
        merged.n_bad[: merged.n_regular], _direct_counts(x, y, list(merged.splits))
    )
    split = adj.apply("utilisation", "split 0.5")
    assert 0.5 in split.splits
    np.testing.assert_allclose(
        split.n_bad[: split.n_regular], _direct_counts(x, y, list(split.splits))
    )
    assert adj.user_bins() == {"utilisation": {"splits": [float(s) for s in split.splits]}}
    adj.apply("utilisation", "reset")
    assert adj.tables["utilisation"] == t0
    assert adj.user_bins() == {}


def test_group_and_trend(book):
    sc, X, y = book
    adj = BinAdjuster(sc, X, y)
    g = adj.apply("channel", "group beauty education")
    assert ("beauty", "education") in g.groups
    in_group = X["channel"].isin(["beauty", "education"]).to_numpy()
    i = g.groups.index(("beauty", "education"))
    assert g.n_bad[i] == y[in_group].sum()
    desc = adj.apply("age", "trend descending")
    assert desc.n_regular >= 3
    rates = desc.bad_rate[: desc.n_regular]
    assert np.all(np.diff(rates) <= 1e-12)
    ub = adj.user_bins()
    assert set(ub) == {"channel", "age"}
    assert ["beauty", "education"] in ub["channel"]["groups"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("fuse 1 2", "the command is one of"),
        ("merge 1", "give 2 bin numbers"),
        ("merge a b", "must be integers"),
        ("split", "at least one split point"),
        ("split high", "must be numbers"),
        ("trend sideways", "monotonic_trend"),
        ("merge 0 99", "cannot merge bins"),
    ],
)
def test_bad_commands_name_the_feature_and_the_reason(book, command, message):
    sc, X, y = book
    with pytest.raises(ConfigError, match=message):
        BinAdjuster(sc, X, y).apply("utilisation", command)


def test_the_next_fit_reads_the_saved_user_bins(book, tmp_path):
    sc, X, y = book
    adj = BinAdjuster(sc, X, y)
    adj.apply("utilisation", "merge 0 1")
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"max_n_bins": 8}))
    adj.save(path)
    settings = json.loads(path.read_text())
    assert settings["max_n_bins"] == 8  # other settings stay
    refit = Scorecard(special_codes={"inquiries_3m": [-9]}, **settings).fit(X, y)
    assert refit.binning_tables_["utilisation"].splits == adj.tables["utilisation"].splits
    effect = adj.effect()
    assert effect["selected_before"] == sc.selected_features_
    assert 0.5 < effect["auc_after"] < 1


def test_terminal_session_saves_user_bins_for_fit(book, tmp_path):
    sc, X, y = book
    sc.save(tmp_path / "model")
    data = tmp_path / "apps.csv"
    X.assign(bad=y).to_csv(data, index=False)
    out = tmp_path / "bins.json"
    res = CliRunner().invoke(
        cli.app,
        ["adjust", "--model", str(tmp_path / "model"), "--data", str(data), "--target", "bad",
         "--out", str(out), "--feature", "utilisation"],
        input="merge 0 9\nmerge 0 1\nmodel\nquit\n",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "cannot merge bins 0..9" in res.output  # a bad command is reported, not fatal
    assert "effect on the model" in res.output
    saved = json.loads(out.read_text())["user_bins"]
    expected = list(load(tmp_path / "model").binning_tables_["utilisation"].splits[1:])
    assert saved == {"utilisation": {"splits": expected}}
    fit = CliRunner().invoke(
        cli.app,
        ["fit", "--data", str(data), "--target", "bad", "--out", str(tmp_path / "m2"),
         "--config", str(out)],
    )  # fmt: skip
    assert fit.exit_code == 0, fit.output
    assert list(load(tmp_path / "m2").binning_tables_["utilisation"].splits) == expected


def test_every_edit_counts_the_rows_the_session_was_given(book):
    _, X, y = book
    part = Scorecard(special_codes={"inquiries_3m": [-9]}).fit(X.head(2_000), y[:2_000])
    adj = BinAdjuster(part, X, y)  # the whole table, as `adjust --data` gets it
    merged = adj.apply("utilisation", "merge 0 1")
    assert merged.count.sum() == len(X)
    split = adj.apply("utilisation", "split 0.9")
    assert split.count.sum() == len(X)
    grouped = adj.apply("channel", "group app branch")
    assert grouped.count.sum() == len(X)
    assert (
        grouped.n_bad[grouped.groups.index(("app", "branch"))]
        == y[X["channel"].isin(["app", "branch"]).to_numpy()].sum()
    )
