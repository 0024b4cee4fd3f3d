"""The Scorecard estimator: quality, points, reason codes, artefact, exports and bad input."""

from __future__ import annotations

import json
import math
import sqlite3
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from creditfactory.exceptions import ArtefactError, ConfigError, DataError
from creditfactory.scorecard import (
    Scorecard,
    ScorecardWarning,
    auc,
    fit_logit,
    load,
    to_scoring_spec,
    to_sql,
)

from .conftest import make_applications


@pytest.fixture(scope="module")
def fitted(apps):
    X, y = apps
    return Scorecard(special_codes={"inquiries_3m": [-9]}).fit(X, y)


@pytest.fixture(scope="module")
def holdout():
    return make_applications(n=3_000, seed=99)


def test_defaults_give_a_good_model(fitted, holdout):
    Xt, yt = holdout
    p = fitted.predict_proba(Xt)[:, 1]
    assert p.shape == (len(Xt),)
    # a plain logistic regression on the numeric columns, for orientation
    num = Xt.select_dtypes("number").fillna(-1)
    lr = LogisticRegression(max_iter=1000).fit(num, yt)
    assert auc(yt, p) > 0.68
    assert auc(yt, p) > auc(yt, lr.predict_proba(num)[:, 1]) - 0.01
    assert "noise" not in fitted.selected_features_
    assert "noise" in fitted.selection_report_.dropped
    assert (fitted.coef_ < 0).all()  # sign constraint: points rise with WOE


def test_points_scaling_is_exact(fitted, apps, holdout):
    Xt, _ = holdout
    # independent of predict_proba (itself computed from the points): the log-odds of bad from
    # the fitted logistic regression on WOE, then the documented scaling (600 at 50:1, 20 PDO)
    exact = Scorecard(special_codes={"inquiries_3m": [-9]}, points_decimals=None).fit(*apps)
    z_bad = exact.intercept_ + exact.transform_woe(Xt).to_numpy() @ np.asarray(exact.coef_)
    factor = 20 / math.log(2)
    expected = 600 - factor * math.log(50) - factor * z_bad
    np.testing.assert_allclose(exact.predict_points(Xt), expected, atol=1e-8)
    np.testing.assert_allclose(exact.predict_proba(Xt)[:, 1], 1 / (1 + np.exp(-z_bad)))
    # by default every bin's points are whole: each characteristic moves by at most 1/2 point
    pts = fitted.predict_points(Xt)
    np.testing.assert_array_equal(pts, np.round(pts))
    k = len(fitted.selected_features_)
    assert fitted.selected_features_ == exact.selected_features_
    assert np.abs(pts - expected).max() <= 0.5 * k
    z_rounded = (600 - factor * math.log(50) - pts) / factor
    np.testing.assert_allclose(fitted.predict_proba(Xt)[:, 1], 1 / (1 + np.exp(-z_rounded)))
    table = fitted.points_table()
    assert set(table["feature"]) == set(fitted.selected_features_)
    # points table reproduces predict_points
    idx = fitted.bin_indices(Xt.head(5))
    manual = sum(
        table[table["feature"] == f]["points"].to_numpy()[idx[f].to_numpy()] for f in idx.columns
    )
    np.testing.assert_allclose(manual, pts[:5])


def test_scaling_is_settable(apps):
    X, y = apps
    a = Scorecard(selection=None, points_decimals=None).fit(X, y)
    b = Scorecard(selection=None, base_points=500, base_odds=20, pdo=40, points_decimals=None).fit(
        X, y
    )
    pa, pb = a.predict_points(X.head(50)), b.predict_points(X.head(50))
    # same model, affine rescaling of the score
    np.testing.assert_allclose(
        pb, 500 + 2 * (pa - 600) + 40 / math.log(2) * math.log(50 / 20), atol=1e-6
    )
    with pytest.raises(ConfigError, match="pdo"):
        Scorecard(pdo=0).fit(X, y)


def test_reason_codes(fitted, holdout):
    Xt, _ = holdout
    rc = fitted.reason_codes(Xt.head(20), n=3)
    assert list(rc.columns) == [
        "row",
        "rank",
        "code",
        "feature",
        "bin",
        "points",
        "points_lost",
        "text",
    ]
    assert rc.groupby("row")["rank"].max().max() <= 3
    assert (rc["points_lost"] > 0).all()
    first = rc[rc["row"] == 0]
    assert first["points_lost"].is_monotonic_decreasing
    assert rc["code"].str.fullmatch(r"R\d{3}").all()
    # the code of a feature is stable: the same in a refit on other data
    other = Scorecard(special_codes={"inquiries_3m": [-9]}).fit(*make_applications(3_000, 5))
    f = rc["feature"].iloc[0]
    assert other.reason_code_of(f) == fitted.reason_code_of(f)
    # an applicant at the best bin of every characteristic has no reasons: built from holdout
    # values, one characteristic at a time, its best bin read off the points table
    table = fitted.points_table()
    idx = fitted.bin_indices(Xt)
    best = Xt.head(1).copy()
    worst_value: dict[str, object] = {}
    for f in fitted.selected_features_:
        pts = table.loc[(table["feature"] == f) & (table["count"] > 0), "points"]
        points_of_row = table[table["feature"] == f]["points"].to_numpy()[idx[f].to_numpy()]
        at_best = np.flatnonzero(np.isclose(points_of_row, pts.max()))
        at_worst = np.flatnonzero(np.isclose(points_of_row, pts.min()))
        assert at_best.size  # the holdout reaches both ends
        assert at_worst.size
        best[f] = Xt[f].iloc[at_best[0]]
        worst_value[f] = Xt[f].iloc[at_worst[0]]
    assert fitted.reason_codes(best, n=3).empty
    # one characteristic moved to its worst bin: exactly that one reason
    f = fitted.selected_features_[0]
    one_off = best.copy()
    one_off[f] = worst_value[f]
    rc1 = fitted.reason_codes(one_off, n=3)
    assert rc1["feature"].tolist() == [f]
    lost = fitted.predict_points(best)[0] - fitted.predict_points(one_off)[0]
    assert rc1["points_lost"].iloc[0] == pytest.approx(lost)


def test_save_load_scores_identically(fitted, holdout, tmp_path):
    Xt, _ = holdout
    fitted.save(tmp_path / "m")
    back = load(tmp_path / "m")
    np.testing.assert_array_equal(back.predict_points(Xt), fitted.predict_points(Xt))
    np.testing.assert_array_equal(back.predict_proba(Xt), fitted.predict_proba(Xt))
    pd.testing.assert_frame_equal(back.reason_codes(Xt.head(10)), fitted.reason_codes(Xt.head(10)))
    body = json.loads((tmp_path / "m" / "scorecard.json").read_text())
    assert body["format_version"] == 1
    assert {"features", "scaling", "training", "sha256", "selection_report"} <= set(body)


def test_corrupt_or_newer_artefacts_fail(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    path = tmp_path / "m" / "scorecard.json"
    text = path.read_text()
    body = json.loads(text)

    path.write_text(text[: len(text) // 2])
    with pytest.raises(ArtefactError, match="not valid JSON"):
        load(tmp_path / "m")

    tampered = dict(body)
    tampered["intercept"] = body["intercept"] + 0.1
    path.write_text(json.dumps(tampered))
    with pytest.raises(ArtefactError, match="checksum"):
        load(tmp_path / "m")

    newer = dict(body, format_version=2)
    path.write_text(json.dumps(newer))
    with pytest.raises(ArtefactError, match="newer"):
        load(tmp_path / "m")

    with pytest.raises(ArtefactError, match="no scorecard artefact"):
        load(tmp_path / "nowhere")


def test_sql_export_matches_python(fitted, holdout):
    Xt, _ = holdout
    rows = Xt.head(300).copy()
    rows.loc[rows.index[0], "channel"] = "never-seen"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        expected = fitted.predict_points(rows)
    con = sqlite3.connect(":memory:")
    rows.to_sql("apps", con, index=False)
    got = np.array([r[0] for r in con.execute(f"SELECT {to_sql(fitted)} FROM apps")])
    np.testing.assert_allclose(got, expected, atol=1e-9)


def _score_with_spec(spec: dict, row: dict) -> float:
    """A tiny interpreter of the JSON scoring spec that uses no scorecard code."""
    total = 0.0
    for c in spec["characteristics"]:
        v = row.get(c["name"])
        if v is None or (isinstance(v, float) and math.isnan(v)):
            total += c["missing_points"]
            continue
        special = [s["points"] for s in c["special"] if s["value"] == v]
        if special:
            total += special[0]
        elif c["kind"] == "numerical":
            i = next((i for i, e in enumerate(c["upper_edges"]) if v < e), len(c["upper_edges"]))
            total += c["points"][i]
        else:
            i = next((i for i, g in enumerate(c["groups"]) if str(v) in g), None)
            total += c["missing_points"] if i is None else c["points"][i]
    return total


def test_scoring_spec_is_self_contained(fitted, holdout):
    Xt, _ = holdout
    spec = json.loads(json.dumps(to_scoring_spec(fitted)))
    rows = Xt.head(200).to_dict("records")
    got = np.array([_score_with_spec(spec, r) for r in rows])
    np.testing.assert_allclose(got, fitted.predict_points(Xt.head(200)), atol=1e-9)
    # the reason-code reference travels with the spec
    first = fitted.reason_codes(Xt.head(1), n=1)
    char = next(c for c in spec["characteristics"] if c["name"] == first["feature"].iloc[0])
    assert char["best_points"] - first["points"].iloc[0] == pytest.approx(
        first["points_lost"].iloc[0]
    )


def test_works_in_a_pipeline(apps):
    X, y = apps
    pipe = Pipeline([("id", FunctionTransformer(lambda d: d)), ("sc", Scorecard())])
    scores = cross_val_score(pipe, X, y, cv=2, scoring="roc_auc")
    assert scores.min() > 0.65


# ----------------------------------------------------------------------------- bad input
def test_target_not_01(apps):
    X, y = apps
    with pytest.raises(DataError, match="0/1 with 1 = bad; found 2"):
        Scorecard().fit(X, y.replace({1: 2}))
    with pytest.raises(DataError, match="found 'bad'"):
        Scorecard().fit(X, y.map({0: "good", 1: "bad"}))
    with pytest.raises(DataError, match="one class"):
        Scorecard().fit(X, np.zeros(len(X)))
    with pytest.raises(DataError, match="NaN"):
        Scorecard().fit(X, y.astype(float).where(y.index > 3))


def test_entirely_missing_and_constant_columns_are_dropped_with_a_warning(apps):
    X, y = apps
    X2 = X.assign(empty=np.nan, const="x")
    with pytest.warns(ScorecardWarning, match="empty, const"):
        sc = Scorecard().fit(X2, y)
    assert sc.selection_report_.dropped["empty"] == "column is entirely missing"
    assert sc.selection_report_.dropped["const"] == "column is constant"
    with pytest.warns(ScorecardWarning), pytest.raises(DataError, match="no usable column"):
        Scorecard().fit(X2[["empty", "const"]], y)


def test_string_in_numeric_column(apps, fitted):
    X, y = apps
    bad = X.copy()
    bad["monthly_income"] = bad["monthly_income"].astype(object)
    bad.loc[bad.index[3], "monthly_income"] = "n/a"
    with pytest.raises(DataError, match=r"column 'monthly_income'.*'n/a'"):
        Scorecard().fit(bad, y)
    with pytest.raises(DataError, match=r"column 'monthly_income' is numeric.*'n/a'"):
        fitted.predict_points(bad)


def test_unseen_category_scores_as_missing_with_a_count(fitted, holdout):
    Xt, _ = holdout
    rows = Xt.head(10).copy()
    rows["channel"] = ["mars"] * 3 + list(rows["channel"].iloc[3:])
    with pytest.warns(ScorecardWarning, match="'channel': 3 rows"):
        pts = fitted.predict_points(rows)
    as_missing = rows.assign(channel=[None] * 3 + list(rows["channel"].iloc[3:]))
    np.testing.assert_allclose(pts, fitted.predict_points(as_missing))


def test_new_and_missing_columns_at_scoring(fitted, holdout):
    Xt, _ = holdout
    extra = Xt.head(5).assign(brand_new=1.0)
    np.testing.assert_allclose(fitted.predict_points(extra), fitted.predict_points(Xt.head(5)))
    with pytest.raises(DataError, match="column 'utilisation' is required"):
        fitted.predict_points(Xt.drop(columns=["utilisation"]))


def test_user_bins_override(apps):
    X, y = apps
    sc = Scorecard(selection=None, user_bins={"age": {"splits": [30, 45]}}).fit(X, y)
    assert sc.binning_tables_["age"].splits == (30.0, 45.0)
    with pytest.raises(ConfigError, match="unknown key"):
        Scorecard(user_bins={"age": {"edges": [30]}}).fit(X, y)


def test_stability_report(fitted, holdout):
    Xt, _ = holdout
    st = fitted.stability(Xt)
    assert st["feature"].iloc[0] == "(score)"
    assert (st["psi"] < 0.1).all()
    shifted = Xt.assign(utilisation=Xt["utilisation"] + 0.5)
    assert fitted.stability(shifted).set_index("feature").loc["utilisation", "psi"] > 0.25


def test_identifier_and_datetime_columns_are_dropped(apps):
    X, y = apps
    X2 = X.assign(
        application_id=[f"A{i:06d}" for i in range(len(X))],
        applied_at=pd.date_range("2025-01-01", periods=len(X), freq="min"),
    )
    with pytest.warns(ScorecardWarning, match="application_id, applied_at"):
        sc = Scorecard().fit(X2, y)
    d = sc.selection_report_.dropped
    assert "identifier-like" in d["application_id"]
    assert d["applied_at"].startswith("datetime column")


def test_weights_are_repeated_rows(apps):
    X, y = apps
    X, y = X.head(1_500), y.head(1_500)
    rng = np.random.default_rng(0)
    w = rng.integers(0, 3, len(X)).astype(float)
    weighted = Scorecard().fit(X, y, sample_weight=w)
    rep = np.repeat(np.arange(len(X)), w.astype(int))
    repeated = Scorecard().fit(X.iloc[rep], y.iloc[rep])
    assert weighted.selected_features_ == repeated.selected_features_
    np.testing.assert_allclose(
        weighted.predict_points(X), repeated.predict_points(X), rtol=0, atol=1e-6
    )


def test_polars_frames_score_like_pandas(fitted, holdout):
    pl = pytest.importorskip("polars")
    Xt, _ = holdout
    np.testing.assert_allclose(
        fitted.predict_points(pl.from_pandas(Xt.head(100))), fitted.predict_points(Xt.head(100))
    )


def test_score_record_matches_batch_scoring(fitted, holdout):
    Xt, _ = holdout
    rows = Xt.head(300)
    batch = fitted.predict_points(rows)
    one = [fitted.score_record(r) for r in rows.to_dict("records")]
    np.testing.assert_allclose(one, batch, rtol=0, atol=1e-9)
    rec = rows.to_dict("records")[0]
    with pytest.warns(ScorecardWarning, match="'channel': 1 rows"):
        unseen = fitted.score_record({**rec, "channel": "mars"})
    assert unseen == pytest.approx(fitted.score_record({**rec, "channel": None}))
    with pytest.raises(DataError, match="column 'age' is required"):
        fitted.score_record({k: v for k, v in rec.items() if k != "age"})
    with pytest.raises(DataError, match=r"column 'age' is numeric.*'old'"):
        fitted.score_record({**rec, "age": "old"})


def test_reason_code_map_and_texts(apps):
    X, y = apps
    sc = Scorecard(
        reason_code_map={"utilisation": "A17"}, reason_texts={"utilisation": "Credit utilisation"}
    ).fit(X, y)
    rc = sc.reason_codes(X.head(200))
    util = rc[rc["feature"] == "utilisation"]
    assert (util["code"] == "A17").all()
    assert util["text"].str.startswith("Credit utilisation: ").all()
    assert sc.reason_code_of("age") == "R001"


def test_whole_points(apps, tmp_path):
    X, y = apps
    sc = Scorecard(points_decimals=0).fit(X, y)
    table = sc.points_table()
    assert (table["points"] == table["points"].round()).all()
    pts = sc.predict_points(X.head(50))
    assert (pts == np.round(pts)).all()
    p = sc.predict_proba(X.head(50))[:, 1]
    np.testing.assert_allclose(sc.scaling.points_from_logit(np.log(p / (1 - p))), pts)
    sc.save(tmp_path / "m")
    np.testing.assert_array_equal(load(tmp_path / "m").predict_points(X.head(50)), pts)


def test_final_coefficients_do_not_depend_on_the_warm_start(apps):
    # the final regression starts from the stepwise's last fit on a sample (and, after a
    # wrong-signed drop, from the previous fit): it must land where a cold fit on every row does
    X, y = apps
    sc = Scorecard(selection_max_rows=len(y) // 3).fit(X, y)
    W = sc.transform_woe(X)[sc.selected_features_].to_numpy()
    cold = fit_logit(W, np.asarray(y))
    np.testing.assert_allclose(sc.coef_, cold.params[1:], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(sc.bse_, cold.bse, rtol=1e-6)


def test_column_stats_of_numbers_count_signed_zeros_as_one_value():
    from creditfactory.scorecard._inputs import column_stats

    s = pd.Series([0.0, -0.0, np.nan, 1.0, np.inf, -np.inf, np.inf])
    # distinct: 0, 1, inf, -inf; the most frequent value (0 or inf) holds 2 of 7 rows
    assert column_stats(s) == {"missing_share": 1 / 7, "single_share": 2 / 7, "n_unique": 4.0}
    ints = pd.Series(np.array([3, 3, 3, 1], dtype=np.int16))
    assert column_stats(ints) == {"missing_share": 0.0, "single_share": 0.75, "n_unique": 2.0}
