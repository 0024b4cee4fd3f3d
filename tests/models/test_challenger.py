"""LightGBM challenger: monotone directions from binning, reason codes, artefact."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from creditfactory.exceptions import ArtefactError, DataError
from creditfactory.models import GBMChallenger, load_challenger
from creditfactory.scorecard import ScorecardWarning, auc


def _data(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.5, 0.5, n)
    util = rng.uniform(0, 1.3, n)
    util[rng.random(n) < 0.15] = np.nan
    channel = rng.choice(["branch", "app", "education"], n)
    noise = rng.normal(size=n)
    logit = (
        -2.3 - 0.9 * (np.log(income) - 8.5) + 1.3 * np.nan_to_num(util, nan=0.5)
        + 0.6 * (channel == "education")
    )  # fmt: skip
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame({"income": income, "util": util, "channel": channel, "noise": noise})
    return X, pd.Series(y)


@pytest.fixture(scope="module")
def model():
    X, y = _data(4_000, 1)
    return GBMChallenger(n_estimators=120).fit(X, y)


def test_monotone_directions_follow_the_binning(model):
    assert model.monotone_["income"] == -1
    assert model.monotone_["util"] == 1
    assert model.monotone_["channel"] == 0
    X, _ = _data(50, 2)
    grid = np.linspace(500, 30_000, 40)
    for i in range(len(X)):  # rows with missing values included
        rows = pd.concat([X.iloc[[i]]] * len(grid), ignore_index=True).assign(income=grid)
        p = model.predict_proba(rows)[:, 1]
        assert np.all(np.diff(p) <= 1e-12)  # risk never rises with income


def test_quality_and_contributions(model):
    X, y = _data(3_000, 3)
    p = model.predict_proba(X)[:, 1]
    assert auc(y, p) > 0.66
    contrib = model.contributions(X.head(100))
    np.testing.assert_allclose(contrib.sum(axis=1), model.decision_function(X.head(100)))
    # points from LightGBM's own TreeSHAP contributions (they sum to the log-odds of bad) and
    # the documented scaling (600 at 50:1 good:bad, 20 points to double the odds), not from
    # predict_proba, which is derived from the same score as the points
    z_bad = model.booster_.predict(model._matrix(X.head(5)), pred_contrib=True).sum(axis=1)
    expected = 600 - 20 * np.log2(50) - 20 / np.log(2) * z_bad
    np.testing.assert_allclose(model.predict_points(X.head(5)), expected, atol=1e-8)
    np.testing.assert_allclose(p[:5], 1 / (1 + np.exp(-z_bad)))


def test_reason_codes_are_the_largest_positive_contributions(model):
    X, _ = _data(30, 4)
    rc = model.reason_codes(X, n=2)
    contrib = model.contributions(X).drop(columns="(base)")
    for r, g in rc.groupby("row"):
        top = contrib.iloc[r].sort_values(ascending=False)
        assert g["feature"].iloc[0] == top.index[0]
        assert (g["points_lost"] > 0).all()
    assert rc["code"].str.fullmatch(r"R\d{3}").all()


def test_artefact_roundtrip_and_corruption(model, tmp_path):
    X, _ = _data(500, 5)
    model.save(tmp_path / "c")
    back = load_challenger(tmp_path / "c")
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
    meta = tmp_path / "c" / "challenger.json"
    body = json.loads(meta.read_text())
    assert body["monotone"]["income"] == -1
    txt = tmp_path / "c" / "model.txt"
    original = txt.read_text()
    txt.write_text(original.replace("Tree=0", "Tree=9", 1))
    with pytest.raises(ArtefactError, match="model file is corrupt"):
        load_challenger(tmp_path / "c")
    txt.write_text(original)
    meta.write_text(json.dumps(dict(body, format_version=3)))
    with pytest.raises(ArtefactError, match="newer"):
        load_challenger(tmp_path / "c")
    meta.write_text(json.dumps(dict(body, kinds={"income": "numerical"})))
    with pytest.raises(ArtefactError, match="checksum"):
        load_challenger(tmp_path / "c")


def test_bad_input(model):
    X, y = _data(200, 6)
    with pytest.warns(ScorecardWarning, match="'channel': 200 rows"):
        model.predict_proba(X.assign(channel="mars"))
    with pytest.raises(DataError, match="column 'util' is required"):
        model.predict_proba(X.drop(columns="util"))
    with pytest.raises(DataError, match="0/1"):
        GBMChallenger().fit(X, y + 1)
