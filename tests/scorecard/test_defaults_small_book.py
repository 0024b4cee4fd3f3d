"""On small books the default ``Scorecard()`` is not worse than a simple hand-made scorecard.

The baseline is what a modeller builds by hand in an afternoon: every characteristic in,
numeric ones cut at their quintiles (missing and the special -9 in bins of their own), text
ones by category, WOE with half a row added to each count, an unpenalised logistic
regression. Each of :data:`N_BOOKS` independent books of 600 applications (about 150 bads)
is fitted by both, and both are scored on one large independent test book (10,000 rows), so
the test's own AUC noise is small and the paired differences of the books are independent:
their standard error is the plain ``sd / sqrt(N_BOOKS)``. The default passes when its mean
difference is above minus two standard errors (not worse beyond sampling error).

The check can fail: the earlier fixed defaults (20 bads per bin, IV p-value 0.001, IV 0.01,
forward stepwise) lose about 0.03 AUC to the baseline on these books, and the same check
rejects them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from tests.scorecard.conftest import make_applications

from creditfactory.scorecard import Scorecard, auc

N_BOOKS = 8
BOOK_ROWS = 600
OLD_FIXED = {"selection": "forward", "min_bin_n_bad": 20, "max_iv_pvalue": 0.001, "min_iv": 0.01}


def quintile_scorecard(X: pd.DataFrame, y: pd.Series) -> Callable[[pd.DataFrame], np.ndarray]:
    """The hand-made baseline; returns a function giving P(bad) for new rows."""
    edges = {
        c: np.unique(np.nanquantile(X[c][X[c] >= 0], [0.2, 0.4, 0.6, 0.8]))
        for c in X.columns
        if X[c].dtype.kind in "fi"
    }

    def codes(frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for c in frame.columns:
            s = frame[c]
            if c in edges:
                k = np.searchsorted(edges[c], s.to_numpy(), side="right").astype(str)
                out[c] = np.where(s.isna(), "missing", np.where(s < 0, "special", k))
            else:
                out[c] = s.astype(str).to_numpy()
        return pd.DataFrame(out, index=frame.index)

    train = codes(X)
    target = np.asarray(y)
    woe = {}
    for c in train.columns:
        t = pd.DataFrame({"k": train[c], "y": target}).groupby("k")["y"].agg(["sum", "count"])
        bad, good = t["sum"] + 0.5, t["count"] - t["sum"] + 0.5
        woe[c] = np.log((good / good.sum()) / (bad / bad.sum()))

    def design(frame: pd.DataFrame) -> np.ndarray:
        k = codes(frame)
        return np.column_stack([k[c].map(woe[c]).fillna(0.0).to_numpy(float) for c in k])

    lr = LogisticRegression(C=1e6, max_iter=1000).fit(design(X), target)
    return lambda frame: lr.predict_proba(design(frame))[:, 1]


@pytest.fixture(scope="module")
def books() -> list[tuple[pd.DataFrame, pd.Series]]:
    return [make_applications(n=BOOK_ROWS, seed=100 + s) for s in range(N_BOOKS)]


@pytest.fixture(scope="module")
def test_book() -> tuple[pd.DataFrame, pd.Series]:
    return make_applications(n=10_000, seed=999)


@pytest.fixture(scope="module")
def baseline_aucs(books, test_book) -> np.ndarray:
    Xt, yt = test_book
    return np.array([auc(yt, quintile_scorecard(X, y)(Xt)) for X, y in books])


def paired_gap(params, books, test_book, baseline_aucs) -> tuple[float, float]:
    """Mean AUC of ``Scorecard(**params)`` minus the baseline's, and its standard error."""
    Xt, yt = test_book
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = np.array([auc(yt, Scorecard(**params).fit(X, y).predict_proba(Xt)[:, 1])
                         for X, y in books])  # fmt: skip
    d = ours - baseline_aucs
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def test_small_books_hold_about_150_bads(books):
    bads = [int(y.sum()) for _, y in books]
    assert 100 < np.mean(bads) < 200  # a small book: the "auto" defaults are at their small end
    used = Scorecard().fit(*books[0]).defaults_
    assert used["min_bin_n_bad"] == 5
    assert used["selection"] is None


def test_default_is_not_worse_than_the_hand_made_scorecard(books, test_book, baseline_aucs):
    mean, se = paired_gap({}, books, test_book, baseline_aucs)
    assert mean > -2 * se, f"default minus baseline {mean:+.4f} ± {se:.4f}"


def test_the_check_rejects_the_earlier_fixed_defaults(books, test_book, baseline_aucs):
    mean, se = paired_gap(OLD_FIXED, books, test_book, baseline_aucs)
    assert mean < -2 * se, f"old defaults minus baseline {mean:+.4f} ± {se:.4f}"
