"""Selection filters, stepwise regression and the Newton logit (cross-checked with statsmodels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from creditfactory.exceptions import ConfigError
from creditfactory.scorecard import SelectionReport, filter_features, fit_logit, stepwise, vif


@pytest.fixture(scope="module")
def design():
    rng = np.random.default_rng(5)
    n = 3_000
    a, b, c = rng.normal(size=(3, n))
    W = pd.DataFrame(
        {
            "a": a,
            "a_twin": a + 0.05 * rng.normal(size=n),
            "b": b,
            "c": c,
            "noise": rng.normal(size=n),
        }
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2 + 0.9 * a + 0.6 * b + 0.3 * c)))).astype(int)
    return W, y


def test_logit_matches_statsmodels(design):
    W, y = design
    r = fit_logit(W[["a", "b", "c"]].to_numpy(), y)
    ref = sm.Logit(y, sm.add_constant(W[["a", "b", "c"]].to_numpy())).fit(disp=0)
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-6)
    np.testing.assert_allclose(r.bse, ref.bse, rtol=1e-5)
    np.testing.assert_allclose(r.pvalues, ref.pvalues, rtol=1e-4, atol=1e-300)
    assert r.aic == pytest.approx(ref.aic)
    assert r.bic == pytest.approx(ref.bic)
    w = np.where(y == 1, 2.0, 1.0)
    rw = fit_logit(W[["a"]].to_numpy(), y, w)
    refw = sm.GLM(
        y, sm.add_constant(W[["a"]].to_numpy()), family=sm.families.Binomial(), freq_weights=w
    ).fit()
    np.testing.assert_allclose(rw.params, refw.params, rtol=1e-6)


def test_filters_explain_every_drop(design):
    W, _y = design
    ivs = {"a": 0.5, "a_twin": 0.49, "b": 0.2, "c": 0.05, "noise": 0.001}
    stats = {f: {"missing_share": 0.0, "single_share": 0.01} for f in W}
    stats["c"] = {"missing_share": 0.97, "single_share": 0.97}
    rep = SelectionReport()
    kept = filter_features(W, ivs, stats, rep)
    assert kept == ["a", "b"]
    d = rep.dropped
    assert d["noise"] == "IV below 0.02"
    assert d["c"].startswith("missing share above")
    assert "|correlation| with 'a'" in d["a_twin"]
    assert set(rep.to_frame()["feature"]) == {"noise", "c", "a_twin"}


def test_vif_filter(design):
    W, _ = design
    v = vif(W[["a", "a_twin", "b"]].to_numpy())
    assert v[0] > 100
    assert v[2] < 1.1
    ivs = dict.fromkeys(W, 0.3)
    stats = {f: {"missing_share": 0.0, "single_share": 0.0} for f in W}
    rep = SelectionReport()
    kept = filter_features(W, ivs, stats, rep, max_corr=1.0, max_vif=5)
    assert "a" not in kept or "a_twin" not in kept
    assert any(r["step"] == "vif" for r in rep.records)


@pytest.mark.parametrize("method", ["forward", "backward", "both"])
@pytest.mark.parametrize("criterion", ["aic", "bic", "pvalue"])
def test_stepwise_finds_the_signal(design, method, criterion):
    W, y = design
    rep = SelectionReport()
    kept = stepwise(W[["a", "b", "c", "noise"]], y, rep, method=method, criterion=criterion)
    assert {"a", "b", "c"} <= set(kept)
    if criterion == "bic":
        assert "noise" not in kept
        assert "noise" in rep.dropped


def test_stepwise_rejects_unknown_options(design):
    W, y = design
    with pytest.raises(ConfigError, match="stepwise"):
        stepwise(W, y, SelectionReport(), method="sideways")
    with pytest.raises(ConfigError, match="criterion"):
        stepwise(W, y, SelectionReport(), criterion="r2")


def test_score_tests_needs_a_fit_with_cov_and_fitted(design):
    from dataclasses import replace

    from creditfactory.scorecard._selection import score_tests

    W, y = design
    X = W[["a"]].to_numpy()
    res = fit_logit(X, y)
    Z = np.column_stack([np.ones(len(X)), X])
    C = W[["b"]].to_numpy()
    assert score_tests(res, Z, C, y.astype(float), None).shape == (1,)
    with pytest.raises(ConfigError, match="fitted"):
        score_tests(replace(res, fitted=None), Z, C, y.astype(float), None)


def test_logit_over_many_row_blocks_matches_statsmodels_from_any_start():
    # more rows than one Hessian block, warm and cold starts: the Hessian is built in blocks
    # and kept once the steps are small, and the answer must not depend on either
    rng = np.random.default_rng(11)
    n = 20_000
    X = rng.normal(size=(n, 4))
    eta = -2.5 + X @ np.array([0.8, -0.5, 0.3, 0.0])
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12)
    for start in (None, ref.params + 0.3, np.zeros(5)):
        r = fit_logit(X, y, start=start)
        assert r.converged
        np.testing.assert_allclose(r.params, ref.params, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(r.bse, ref.bse, rtol=1e-6)
        assert r.loglik == pytest.approx(ref.llf, rel=1e-12)


def test_stepwise_hessian_from_the_score_test_parts_is_the_augmented_hessian(design):
    # stepwise starts a candidate's fit from the previous Hessian and the score test's
    # products: that must be the Hessian of the augmented design at the same coefficients
    from creditfactory.scorecard._selection import _score_parts

    W, y = design
    X = W[["a", "b"]].to_numpy()
    res = fit_logit(X, y)
    Z = np.column_stack([np.ones(len(y)), X])
    c = W[["c"]].to_numpy()
    _, A, cvc = _score_parts(res, Z, c, y.astype(float), None)
    k = Z.shape[1]
    assembled = np.block([[res.hessian, A.T], [A, cvc[:, None] + 1e-9]])
    Zc = np.column_stack([Z, c])
    v = res.fitted * (1 - res.fitted)
    direct = (Zc * v[:, None]).T @ Zc + 1e-9 * np.eye(k + 1)
    np.testing.assert_allclose(assembled, direct, rtol=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_chord_newton_from_an_approximate_hessian_reaches_the_same_fit(weighted):
    # the final regression starts from a sample's Hessian scaled to every row and keeps it
    # while the steps shrink fast (chord steps): the maximum, standard errors and likelihood
    # must be Newton's, however rough that Hessian (a poor one forces refreshes); a
    # column-major design takes the Hessian's one-product path, and must agree too
    from creditfactory.scorecard._logit import _fit_design

    rng = np.random.default_rng(5)
    n = 30_000
    X = rng.normal(size=(n, 5))
    eta = -2.0 + X @ np.array([0.7, -0.4, 0.2, 0.0, 0.1])
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    w = rng.integers(1, 4, n).astype(float) if weighted else None
    Z = np.column_stack([np.ones(n), X])
    ref = _fit_design(Z, y, w)
    sample = rng.choice(n, 5_000, replace=False)
    part = _fit_design(Z[sample], y[sample], None if w is None else w[sample], tol=1e-4)
    scale = (n if w is None else w.sum()) / part.n_obs
    for h0 in (part.hessian * scale, part.hessian * scale * 3.0, np.eye(6)):
        for design in (Z, np.asfortranarray(Z)):
            r = _fit_design(design, y, w, start=part.params, hessian0=h0, chord=True)
            assert r.converged
            np.testing.assert_allclose(r.params, ref.params, rtol=1e-7, atol=1e-9)
            np.testing.assert_allclose(r.bse, ref.bse, rtol=1e-7)
            assert r.loglik == pytest.approx(ref.loglik, rel=1e-12)


def test_sign_drop_warm_start_is_the_newton_step_without_the_coefficient():
    # after a wrong-signed drop the refit starts from the other coefficients moved by the
    # Newton step that sets the dropped one to zero: closer to the refit than deleting it
    from creditfactory.scorecard._logit import _fit_design
    from creditfactory.scorecard._scorecard import _without

    rng = np.random.default_rng(8)
    n = 20_000
    a = rng.normal(size=n)
    X = np.column_stack([a, 0.8 * a + 0.6 * rng.normal(size=n), rng.normal(size=n)])
    eta = -2.0 + X @ np.array([0.9, 0.3, -0.4])
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    Z = np.column_stack([np.ones(n), X])
    full = _fit_design(Z, y, None)
    refit = _fit_design(np.delete(Z, 1, axis=1), y, None)
    start, h0 = _without(full.params, full.hessian, 1)
    assert h0 is not None
    np.testing.assert_allclose(h0, np.delete(np.delete(full.hessian, 1, 0), 1, 1))
    plain = np.delete(full.params, 1)
    assert np.abs(start - refit.params).max() < 0.2 * np.abs(plain - refit.params).max()
    r = _fit_design(np.delete(Z, 1, axis=1), y, None, start=start, hessian0=h0, chord=True)
    np.testing.assert_allclose(r.params, refit.params, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("j", [0, 3, 6])
def test_dropping_a_design_column_in_place_is_np_delete(j):
    from creditfactory.scorecard._scorecard import _drop_column

    Z = np.random.default_rng(1).normal(size=(10_001, 7))
    expected = np.delete(Z, j, axis=1)
    got = _drop_column(Z.copy(), j, block=4096)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(_drop_column(got, 0), np.delete(expected, 0, axis=1))
