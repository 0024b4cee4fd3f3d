"""The validator's figures: bands, cut-offs, intervals, CSI, VIF, warnings and the report."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from tests.scorecard.conftest import make_applications
from tests.test_html import check_pages

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.pricing import loan_value
from creditfactory.scorecard import (
    BinningTable,
    Scorecard,
    ValidationSummary,
    bootstrap_ci,
    build_report,
    characteristic_stability,
    correlation_vif,
    cutoff_sweep,
    load,
    pvalue_decisions,
    score_bands,
    time_split,
    trust_warnings,
)


@pytest.fixture(scope="module")
def model():
    X, y = make_applications(3_000, seed=1)
    sc = Scorecard(special_codes={"inquiries_3m": [-9]}).fit(X, y)
    Xt, yt = make_applications(2_000, seed=2)
    return sc, X, y.to_numpy(), Xt, yt.to_numpy()


def test_score_bands_count_every_row_and_cumulate_from_the_top():
    rng = np.random.default_rng(0)
    pts = rng.integers(400, 700, 1_000).astype(float)
    y = (rng.random(1_000) < 1 / (1 + np.exp((pts - 500) / 40))).astype(int)
    t = score_bands(y, pts, n_bands=5)
    assert t["count"].sum() == 1_000
    assert t["bads"].sum() == y.sum()
    assert (t["min_points"].diff().dropna() > 0).all()
    # the cut-off at band k's lowest score approves bands k.. (independent count)
    for _, r in t.iterrows():
        ok = pts >= r["min_points"]
        assert r["cum_share"] == pytest.approx(ok.mean())
        assert r["cum_bad_rate"] == pytest.approx(y[ok].mean())
    assert t["bad_rate"].iloc[0] > t["bad_rate"].iloc[-1]  # low scores are riskier


def test_cutoff_sweep_values_each_approved_loan_with_the_lifetime_model():
    y = np.array([0, 1, 0, 0, 1, 0])
    pts = np.array([610.0, 520, 580, 640, 560, 600])
    p = np.array([0.02, 0.2, 0.05, 0.01, 0.1, 0.03])
    sweep = cutoff_sweep(y, pts, p, amount=5_000, apr=0.2, term=6, cutoffs=[550, 600])
    # one loan at a time through the scalar path of the lifetime model
    for _, r in sweep.iterrows():
        ok = np.flatnonzero(pts >= r["cutoff"])
        vals = [loan_value(5_000.0, 0.2, 6, float(p[i])) for i in ok]
        realised = [
            v.value_if_bad if y[i] else v.value_if_good for v, i in zip(vals, ok, strict=True)
        ]
        profit = sum(realised)
        assert r["approved"] == ok.size
        assert r["approval_rate"] == pytest.approx(ok.size / 6)
        assert r["bad_rate"] == pytest.approx(y[ok].mean())
        assert r["expected_loss"] == pytest.approx(sum(v.expected_loss for v in vals), rel=1e-9)
        assert r["profit"] == pytest.approx(profit, rel=1e-9)
    with pytest.raises(DataError, match="p_bad"):
        cutoff_sweep(y, pts, p[:3])


def test_bootstrap_interval_matches_the_hanley_mcneil_standard_error():
    rng = np.random.default_rng(3)
    n = 4_000
    s = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(2.5 - s))).astype(int)
    ci = bootstrap_ci(y, s, n_boot=300, seed=1)
    a, lo, hi = ci["AUC"]
    assert a == pytest.approx(roc_auc_score(y, s))
    assert lo < a < hi
    # Hanley & McNeil (1982): the AUC's standard error from the class sizes alone
    nb, ng = y.sum(), n - y.sum()
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = math.sqrt((a * (1 - a) + (nb - 1) * (q1 - a * a) + (ng - 1) * (q2 - a * a)) / (nb * ng))
    assert (hi - lo) / (2 * 1.96) == pytest.approx(se, rel=0.25)
    assert bootstrap_ci(y, s, n_boot=300, seed=1) == ci  # seeded: reproducible
    with pytest.raises(ConfigError, match="level"):
        bootstrap_ci(y, s, level=95)


def test_vif_agrees_with_statsmodels(model):
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    sc, X, *_ = model
    W = sc.transform_woe(X)
    got = correlation_vif(W)
    assert list(got["characteristic"]) == list(W.columns)
    Z = np.column_stack([np.ones(len(W)), W.to_numpy()])
    ref = [variance_inflation_factor(Z, j) for j in range(1, Z.shape[1])]
    np.testing.assert_allclose(got["VIF"], ref, rtol=1e-6)
    np.testing.assert_allclose(got[W.columns].to_numpy(), np.corrcoef(W.to_numpy().T))


def test_csi_is_zero_on_the_same_sample_and_the_points_shift_otherwise(model):
    sc, X, *_ = model
    same = characteristic_stability(sc, X, X)
    assert np.allclose(same[["psi", "csi_points"]], 0)
    f = sc.selected_features_[0]
    pts = sc.bin_points_[f]
    idx = sc.bin_indices(X)[f].to_numpy()
    best = int(np.argmax(pts))
    moved = characteristic_stability(sc, X, X[idx == best])
    row = moved.set_index("characteristic").loc[f]
    # everyone in the best bin: the average points rise to that bin's points
    expected = pts[best] - np.bincount(idx, minlength=pts.size) @ pts / idx.size
    assert row["csi_points"] == pytest.approx(expected)
    assert row["psi"] > 0.25


def test_time_split_holds_out_the_latest_months():
    dates = pd.Series(pd.date_range("2024-01-01", "2024-12-31", freq="D"))
    oot = time_split(dates, oot_share=0.2)
    assert dates[oot].min() == pd.Timestamp("2024-11-01")  # Nov + Dec: 61 / 366 days
    assert dates[~oot].max() < dates[oot].min()
    with pytest.raises(DataError, match="two months"):
        time_split(pd.Series(pd.to_datetime(["2024-01-01", "2024-01-09"])))
    with pytest.raises(DataError, match="not dates"):
        time_split(pd.Series(["2024-01-01", "soon"]))


def test_small_books_and_thin_bins_are_flagged(model, tmp_path):
    sc, _, y, *_ = model
    X_small, y_small = make_applications(500, seed=6)
    small = Scorecard().fit(X_small, y_small)
    warns = trust_warnings(small, y_small, y_small[:200])
    assert any(w.startswith("small book") for w in warns)
    assert any(w.startswith("small test sample") for w in warns)
    # every flagged bin has fewer than about 11 bads or goods (WOE standard error above 0.3)
    for w in warns:
        m = re.search(r": (\d+) bads and (\d+) goods", w)
        if m:
            b, g = int(m[1]), int(m[2])
            assert math.sqrt(1 / max(b, 0.5) + 1 / max(g, 0.5)) > 0.3
    # a scorecard loaded from its artefact (no defaults_) is warned about the same way
    small.save(tmp_path / "small")
    loaded = trust_warnings(load(tmp_path / "small"), y_small)[0]
    assert loaded == warns[0]
    assert f"held to {small.defaults_['min_bin_n_bad']} bads each" in loaded
    big_warns = trust_warnings(sc, y)
    assert not any(w.startswith("small book") for w in big_warns)


def test_characteristics_with_p_above_005_get_a_visible_decision(model):
    _, X, y, *_ = model
    forced = Scorecard(selection=None, max_iv_pvalue=None, min_iv=0.0).fit(X, y)
    coef = forced.coefficients().iloc[1:]
    weak = pvalue_decisions(forced)
    assert sorted(weak["characteristic"]) == sorted(coef.loc[coef["p_value"] > 0.05, "feature"])
    assert (weak["decision"] == "kept").all()
    assert len(pvalue_decisions(forced, max_pvalue=1.0)) == 0


def test_the_report_has_every_section_and_plotly_once(model):
    from plotly.offline import get_plotlyjs

    sc, X, y, Xt, yt = model
    Xo, yo = make_applications(1_500, seed=3)
    html = build_report(sc, X, y, Xt, yt, X_oot=Xo, y_oot=yo, n_boot=50)
    assert html.count(get_plotlyjs()[:2000]) == 1  # the library, once, inline
    assert "<script src=" not in html
    for section in (
        "Score bands", "Cut-off sweep", "out-of-time", "AUC 95% CI",
        "Correlation and VIF", "CSI per characteristic", "train → out-of-time",
        "Characteristics with p &gt; 0.05", "Warnings", "Data summary",
    ):  # fmt: skip
        assert section in html, section
    assert "<details" not in html  # every binning section prints
    for f in sc.selected_features_:
        assert f"<h3>{f} — IV" in html
    # whole points in the points table
    pts = re.findall(r"<td>(-?\d+(?:\.\d+)?)</td>\s*</tr>", html.split('id="points"')[1])
    assert pts
    assert all("." not in v for v in pts[:20])


def test_the_report_in_chinese(model):
    sc, X, y, Xt, yt = model
    Xo, yo = make_applications(1_500, seed=3)
    en = build_report(sc, X, y, Xt, yt, X_oot=Xo, y_oot=yo, n_boot=20,
                      challengers={"gbm": sc.predict_proba(Xt)[:, 1] ** 1.1})  # fmt: skip
    zh = build_report(sc, X, y, Xt, yt, X_oot=Xo, y_oot=yo, n_boot=20, lang="zh-CN",
                      challengers={"gbm": sc.predict_proba(Xt)[:, 1] ** 1.1})  # fmt: skip
    check_pages(
        en,
        zh,
        chinese=("评分卡验证报告", "分数段", "切分点分析", "跨时间", "训练 → 跨时间",
                 "挑战者模型对比", "<th>坏账率</th>", "<th>分值</th>", "人群占比", "证据权重(WOE)"),
        english=("Scorecard validation report", "Score bands", "Cut-off sweep",
                 "Challenger comparison", "<th>bad_rate</th>", "share of population"),
    )  # fmt: skip
    for f in sc.selected_features_:
        assert f"<h3>{f} — IV" in zh
    with pytest.raises(DataError, match="lang: 'fr' is not supported"):
        build_report(sc, X, y, lang="fr")


def test_empty_bins_are_not_drawn():
    t = BinningTable.from_data(
        "x", "numerical", np.r_[np.arange(100.0), np.full(20, np.nan)],
        np.r_[np.tile([0, 1], 50), np.zeros(20, int)], splits=(50.0,), special_codes=(-9,),
    )  # fmt: skip
    frame = t.to_frame()
    empty = frame.loc[frame["count"] == 0, "bin"].tolist()
    assert empty  # the special code -9 never occurs
    drawn = list(t.plot().data[1].x)
    assert not set(empty) & set(drawn)
    assert len(drawn) == (frame["count"] > 0).sum() - 1  # all others, less the Totals row


def test_notebook_views_render_as_html(model):
    sc, X, y, Xt, yt = model
    assert "<table" in sc._repr_html_()
    assert "Scorecard 评分卡" in sc._repr_html_()
    assert "sk-" in Scorecard()._repr_html_()  # unfitted: scikit-learn's diagram
    assert "Scorecard 评分卡" in sc._repr_mimebundle_()["text/html"]  # what Jupyter asks for
    assert "sk-" in Scorecard()._repr_mimebundle_()["text/html"]
    t = sc.binning_tables_[sc.selected_features_[0]]
    assert "Totals" in t._repr_html_()
    assert t.feature in t._repr_html_()
    rep = sc.selection_report_._repr_html_()
    assert f"{len(sc.selected_features_)} in the model" in rep
    summary = ValidationSummary.from_samples(sc, {"train": (X, y), "test": (Xt, yt)}, n_boot=30)
    assert list(summary.performance["sample"]) == ["train", "test"]
    assert summary.performance["AUC"].iloc[1] == pytest.approx(
        roc_auc_score(yt, sc.predict_proba(Xt)[:, 1])
    )
    assert "Validation summary" in summary._repr_html_()
