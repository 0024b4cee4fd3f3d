"""Reject inference: learn from declined applicants whose outcome was never observed.

Three classic methods, each returning an *augmented* training set (accepted rows with their
outcome, plus rejected rows with an inferred outcome and a weight) that any estimator taking
``sample_weight`` can be refitted on:

- ``hard_cutoff``: score the rejects with the accepts-only model; the riskiest share of them
  (their expected bad rate times ``event_rate_factor``) are labelled bad, the rest good.
- ``parceling``: bands of the accepts-only score; in each band, rejects are labelled bad at
  random in proportion to the accepts' observed bad rate in that band times
  ``event_rate_factor``.
- ``fuzzy``: every reject enters twice, as bad with weight ``p`` and as good with weight
  ``1 - p`` (``p`` the accepts-only probability of bad times ``event_rate_factor``, capped at 1).

``reject_weight`` scales the rejects' weights against the accepts'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from creditfactory.exceptions import ConfigError
from creditfactory.scorecard._inputs import check_target

__all__ = ["AugmentedData", "RejectInference", "augment_rejects"]

METHODS = ("hard_cutoff", "parceling", "fuzzy")


@dataclass(frozen=True)
class AugmentedData:
    """Accepted rows then inferred reject rows, with 0/1 outcome and weights."""

    X: pd.DataFrame
    y: np.ndarray
    sample_weight: np.ndarray
    is_reject: np.ndarray


def augment_rejects(
    p_accepts: np.ndarray,
    y_accepts: np.ndarray,
    p_rejects: np.ndarray,
    X_accepts: pd.DataFrame,
    X_rejects: pd.DataFrame,
    *,
    method: str = "fuzzy",
    event_rate_factor: float = 1.0,
    reject_weight: float = 1.0,
    n_bands: int = 10,
    random_state: int = 0,
) -> AugmentedData:
    """Label (or weight) rejects from an accepts-only model's probabilities of bad.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> Xa, Xr = pd.DataFrame({"x": [1, 2, 3, 4]}), pd.DataFrame({"x": [5, 6]})
    >>> d = augment_rejects(np.array([.1, .2, .3, .4]), np.array([0, 0, 1, 1]),
    ...                     np.array([.5, .9]), Xa, Xr, method="fuzzy")
    >>> d.y.tolist(), d.sample_weight.round(2).tolist()
    ([0, 0, 1, 1, 1, 1, 0, 0], [1.0, 1.0, 1.0, 1.0, 0.5, 0.9, 0.5, 0.1])
    """
    if method not in METHODS:
        raise ConfigError(f"reject inference method: {method!r} is not one of {list(METHODS)}")
    if event_rate_factor <= 0 or reject_weight <= 0:
        raise ConfigError("event_rate_factor and reject_weight must be positive")
    rng = np.random.default_rng(random_state)
    pr = np.clip(np.asarray(p_rejects, dtype=float) * event_rate_factor, 0.0, 1.0)
    n_r = pr.size
    if method == "fuzzy":
        Xr = pd.concat([X_rejects, X_rejects], ignore_index=True)
        yr = np.r_[np.ones(n_r, dtype=int), np.zeros(n_r, dtype=int)]
        wr = np.r_[pr, 1.0 - pr] * reject_weight
    elif method == "hard_cutoff":
        n_bad = round(float(pr.sum()))
        order = np.argsort(-pr, kind="stable")
        yr = np.zeros(n_r, dtype=int)
        yr[order[:n_bad]] = 1
        Xr, wr = X_rejects.reset_index(drop=True), np.full(n_r, reject_weight)
    else:  # parceling
        pa = np.asarray(p_accepts, dtype=float)
        edges = np.unique(np.quantile(pa, np.linspace(0, 1, n_bands + 1)[1:-1]))
        band_a = np.searchsorted(edges, pa, side="right")
        band_r = np.searchsorted(edges, np.asarray(p_rejects, dtype=float), side="right")
        ya = np.asarray(y_accepts, dtype=float)
        rate = np.array(
            [ya[band_a == b].mean() if (band_a == b).any() else ya.mean()
             for b in range(edges.size + 1)]
        )  # fmt: skip
        p_band = np.clip(rate[band_r] * event_rate_factor, 0, 1)
        yr = (rng.random(n_r) < p_band).astype(int)
        Xr, wr = X_rejects.reset_index(drop=True), np.full(n_r, reject_weight)
    X = pd.concat([X_accepts.reset_index(drop=True), Xr], ignore_index=True)
    y = np.r_[np.asarray(y_accepts, dtype=int), yr]
    w = np.r_[np.ones(len(X_accepts)), wr]
    is_reject = np.r_[np.zeros(len(X_accepts), bool), np.ones(len(Xr), bool)]
    return AugmentedData(X=X, y=y, sample_weight=w, is_reject=is_reject)


class RejectInference:
    """Fit an estimator on accepts, infer the rejects' outcomes, refit on both.

    Parameters
    ----------
    estimator : classifier with ``fit(X, y, sample_weight=...)`` and ``predict_proba``
        Cloned twice (the accepts-only model and the final one), e.g. ``Scorecard()``.
    method : {"hard_cutoff", "parceling", "fuzzy"}, default "fuzzy"
    event_rate_factor, reject_weight, n_bands, random_state : see :func:`augment_rejects`

    Attributes
    ----------
    base_estimator_ : the accepts-only model
    estimator_ : the model refitted on accepts plus inferred rejects
    """

    def __init__(
        self,
        estimator: object,
        *,
        method: str = "fuzzy",
        event_rate_factor: float = 1.0,
        reject_weight: float = 1.0,
        n_bands: int = 10,
        random_state: int = 0,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.event_rate_factor = event_rate_factor
        self.reject_weight = reject_weight
        self.n_bands = n_bands
        self.random_state = random_state

    def fit(self, X_accepts: pd.DataFrame, y_accepts: object, X_rejects: pd.DataFrame):
        """Fit on accepted applications with outcome plus rejected ones without."""
        y = check_target(y_accepts, len(X_accepts))
        self.base_estimator_ = clone(self.estimator).fit(X_accepts, y)
        aug = augment_rejects(
            self.base_estimator_.predict_proba(X_accepts)[:, 1],
            y,
            self.base_estimator_.predict_proba(X_rejects)[:, 1],
            X_accepts,
            X_rejects,
            method=self.method,
            event_rate_factor=self.event_rate_factor,
            reject_weight=self.reject_weight,
            n_bands=self.n_bands,
            random_state=self.random_state,
        )
        self.augmented_ = aug
        self.estimator_ = clone(self.estimator).fit(aug.X, aug.y, sample_weight=aug.sample_weight)
        return self

    def predict_proba(self, X: object) -> np.ndarray:
        """Probabilities of the refitted model."""
        return self.estimator_.predict_proba(X)
