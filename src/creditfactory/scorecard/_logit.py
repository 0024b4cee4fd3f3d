"""Unpenalised (optionally weighted) logistic regression by Newton-Raphson, with inference.

Small and exact: the design matrices of a scorecard have a handful to a few dozen WOE columns,
where Newton converges in a few iterations and gives the standard errors that a validation
report needs (the same numbers as statsmodels' ``Logit``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

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
    hessian: np.ndarray | None = None  # at the final coefficients (stepwise reuses it)

    @property
    def aic(self) -> float:
        """Akaike information criterion."""
        return -2 * self.loglik + 2 * self.params.size

    @property
    def bic(self) -> float:
        """Bayesian information criterion."""
        return -2 * self.loglik + np.log(self.n_obs) * self.params.size


_BLOCK = 4096  # rows per block of the Hessian's product
_WHOLE = 2_000_000  # a column-major design up to this many cells takes one product instead
# Steps smaller than this keep the Hessian: near the optimum it barely changes, and a step with
# the old one (a chord step) still shrinks the error a hundredfold or more.
_REFRESH = 1e-3


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
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    return _fit_design(Z, y, w, start=start, max_iter=max_iter, tol=tol)


def _fit_design(
    Z: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    *,
    start: np.ndarray | None = None,
    max_iter: int = 50,
    tol: float = 1e-8,
    hessian0: np.ndarray | None = None,
    chord: bool = False,
) -> LogitResult:
    """:func:`fit_logit` on a design whose first column is the intercept (1.0).

    ``Z`` may be a view of a wider array (stepwise selection grows one in place).
    ``hessian0``: the Hessian at ``start`` when the caller has it (stepwise assembles it from
    the previous fit and the score test's products), or one close to it with ``chord``: the
    steps then keep it while each is under a tenth of the one before (a chord method: the
    same maximum, fewer Hessians when ``hessian0`` is close, e.g. the Hessian of a sample
    scaled to every row); the covariance is still the Hessian's at the final coefficients.
    """
    n = Z.shape[0]
    k = Z.shape[1]
    beta = np.zeros(k) if start is None else np.asarray(start, dtype=float).copy()
    if start is None:
        ybar = np.clip(np.average(y, weights=w), 1e-6, 1 - 1e-6)
        beta[0] = np.log(ybar / (1 - ybar))
    ridge = 1e-9 * np.eye(k)
    converged = False
    eta = Z @ beta
    ll = _loglik_eta(eta, y, w)
    p = _sigmoid(eta)
    if hessian0 is None:
        h, grad = _hessian(Z, p, w, ridge, y)
    else:
        h, grad = hessian0, None
    fresh = hessian0 is None or not chord  # h is the Hessian at the current coefficients
    last = np.inf  # the previous step's size
    for _ in range(max_iter):
        if grad is None:  # (a fresh Hessian brings the gradient from the same pass)
            r = y - p
            grad = Z.T @ (r if w is None else w * r)
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
        p = _sigmoid(eta)
        moved = float(np.max(np.abs(t * step)))
        if moved < tol:
            converged = True
            break
        slow = moved > 0.1 * last if chord else moved > _REFRESH
        last = moved
        if slow or t < 1.0:
            h, grad = _hessian(Z, p, w, ridge, y)
            fresh = True
        else:  # close to the optimum: keep the Hessian (a chord step, still fast to converge)
            grad = None
            fresh = False
    if not fresh or converged:
        h = _hessian(Z, p, w, ridge)[0]  # the covariance is always at the final coefficients
    try:
        cov = np.linalg.inv(h)
        bse = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.nan)
        bse = np.full(k, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        pvalues = 2 * special.ndtr(-np.abs(beta / bse))  # norm.sf, without its dispatch
    return LogitResult(
        params=beta,
        bse=bse,
        pvalues=pvalues,
        loglik=ll,
        n_obs=float(n if w is None else w.sum()),
        converged=converged,
        cov=cov,
        fitted=p,
        hessian=h,
    )


def _hessian(
    Z: np.ndarray,
    p: np.ndarray,
    w: np.ndarray | None,
    ridge: np.ndarray,
    y: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``Z' diag(w p (1 - p)) Z``, in blocks of rows that stay in the CPU cache; with ``y``
    also the gradient ``Z' w (y - p)``, from the same blocks (one pass over ``Z``)."""
    v = p * (1 - p)
    if w is not None:
        v *= w
    n, k = Z.shape
    r = None
    if y is not None:
        r = y - p
        if w is not None:
            r *= w
    if Z.strides[0] == Z.itemsize and n * k <= _WHOLE:
        # column-major and small (stepwise's design on its sample): one product reads each
        # column once, where row blocks would gather strided rows
        return ridge + (Z * v[:, None]).T @ Z, None if r is None else Z.T @ r
    h = ridge.copy()
    grad = None if r is None else np.zeros(k)
    buf = np.empty((min(_BLOCK, n), k))
    for lo in range(0, n, _BLOCK):
        zb = Z[lo : lo + _BLOCK]
        vb = buf[: zb.shape[0]]
        np.multiply(zb, v[lo : lo + _BLOCK, None], out=vb)
        h += vb.T @ zb
        if grad is not None and r is not None:
            grad += r[lo : lo + _BLOCK] @ zb
    return h, grad


def _loglik_eta(eta: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> float:
    # log(1 + e^eta): log1p(exp) is several times faster than logaddexp and exact enough
    # while exp cannot overflow (scorecard log-odds stay far below 30)
    soft = np.log1p(np.exp(eta)) if eta.size and eta.max() < 30.0 else np.logaddexp(0.0, eta)
    ll = y * eta - soft
    return float(ll.sum() if w is None else np.dot(w, ll))
