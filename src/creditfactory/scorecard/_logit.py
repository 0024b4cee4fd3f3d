"""Unpenalised (optionally weighted) logistic regression by Newton-Raphson, with inference.

Small and exact: the design matrices of a scorecard have a handful to a few dozen WOE columns,
where Newton converges in a few iterations and gives the standard errors that a validation
report needs (the same numbers as statsmodels' ``Logit``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["LogitResult", "fit_logit"]


@dataclass(frozen=True)
class LogitResult:
    """Coefficients (intercept first), standard errors, p-values and fit statistics."""

    params: np.ndarray
    bse: np.ndarray
    pvalues: np.ndarray
    loglik: float
    n_obs: float
    converged: bool
    cov: np.ndarray | None = None
    fitted: np.ndarray | None = None

    @property
    def aic(self) -> float:
        """Akaike information criterion."""
        return -2 * self.loglik + 2 * self.params.size

    @property
    def bic(self) -> float:
        """Bayesian information criterion."""
        return -2 * self.loglik + np.log(self.n_obs) * self.params.size


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def fit_logit(
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    start: np.ndarray | None = None,
    max_iter: int = 50,
    tol: float = 1e-8,
) -> LogitResult:
    """Fit ``P(y=1) = sigmoid(b0 + X b)`` by Newton-Raphson.

    Parameters
    ----------
    X : (n, k) array
        Design matrix without the intercept column.
    y : (n,) array of 0/1
    sample_weight : (n,) array, optional
        Frequency weights (reject inference uses fractional ones).
    start : (k + 1,) array, optional
        Starting coefficients (warm start, e.g. in stepwise selection).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0], [0.5], [2.5]])
    >>> r = fit_logit(x, np.array([0, 0, 1, 1, 1, 0]))
    >>> bool(r.converged), r.params.shape
    (True, (2,))
    """
    n = X.shape[0]
    Z = np.empty((n, X.shape[1] + 1))
    Z[:, 0] = 1.0
    Z[:, 1:] = X
    y = np.asarray(y, dtype=float)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    k = Z.shape[1]
    beta = np.zeros(k) if start is None else np.asarray(start, dtype=float).copy()
    if start is None:
        ybar = np.clip(np.average(y, weights=w), 1e-6, 1 - 1e-6)
        beta[0] = np.log(ybar / (1 - ybar))
    ridge = 1e-9 * np.eye(k)
    converged = False
    eta = Z @ beta
    ll = _loglik_eta(eta, y, w)
    for _ in range(max_iter):
        p = _sigmoid(eta)
        grad = Z.T @ (w * (y - p))
        h = (Z * (w * p * (1 - p))[:, None]).T @ Z + ridge
        try:
            step = np.linalg.solve(h, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(h, grad, rcond=None)[0]
        # Halve the step while it would lower the likelihood (guards quasi-separation).
        d_eta = Z @ step
        t = 1.0
        while True:
            eta_new = eta + t * d_eta
            ll_new = _loglik_eta(eta_new, y, w)
            if ll_new >= ll - 1e-12 or t <= 1e-4:
                break
            t *= 0.5
        beta = beta + t * step
        eta, ll = eta_new, ll_new
        if np.max(np.abs(t * step)) < tol:
            converged = True
            break
    p = _sigmoid(eta)
    h = (Z * (w * p * (1 - p))[:, None]).T @ Z + ridge
    try:
        cov = np.linalg.inv(h)
        bse = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.nan)
        bse = np.full(k, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        pvalues = 2 * stats.norm.sf(np.abs(beta / bse))
    return LogitResult(
        params=beta,
        bse=bse,
        pvalues=pvalues,
        loglik=ll,
        n_obs=float(w.sum()),
        converged=converged,
        cov=cov,
        fitted=p,
    )


def _loglik_eta(eta: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.dot(w, y * eta - np.logaddexp(0.0, eta)))
