"""Feature selection for scorecards: filters and stepwise regression, every drop explained."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # chdtrc(1, x) is chi2.sf(x, 1), without its dispatch

from creditfactory.exceptions import ConfigError
from creditfactory.scorecard._logit import LogitResult, _fit_design

__all__ = ["SelectionReport", "filter_features", "score_tests", "stepwise", "vif"]

_METHODS = {"forward", "backward", "both"}
_CRITERIA = {"aic", "bic", "pvalue"}


@dataclass
class SelectionReport:
    """What happened to every candidate feature, in order."""

    records: list[dict[str, Any]] = field(default_factory=list)

    def drop(self, feature: str, step: str, reason: str, value: float | None = None) -> None:
        """Record that ``feature`` was dropped at ``step`` and why."""
        self.records.append(
            {"feature": feature, "step": step, "action": "drop", "reason": reason, "value": value}
        )

    def keep(self, feature: str, step: str, reason: str, value: float | None = None) -> None:
        """Record that ``feature`` was kept (or entered) at ``step``."""
        self.records.append(
            {"feature": feature, "step": step, "action": "keep", "reason": reason, "value": value}
        )

    @property
    def dropped(self) -> dict[str, str]:
        """Feature -> reason for every dropped feature."""
        return {r["feature"]: r["reason"] for r in self.records if r["action"] == "drop"}

    def to_frame(self) -> pd.DataFrame:
        """The log as a DataFrame (feature, step, action, reason, value)."""
        return pd.DataFrame(self.records, columns=["feature", "step", "action", "reason", "value"])

    def _repr_html_(self) -> str:
        """The log in a notebook: what was kept, what was dropped at which step and why."""
        from creditfactory.scorecard._html import frame_html

        kept = sum(r["step"] == "final" for r in self.records)
        head = f"<b>Selection 变量筛选</b>: {kept} in the model, {len(self.dropped)} dropped"
        return head + frame_html(self.to_frame(), floats="{:.4g}", max_rows=200)


def _corr(W: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.corrcoef(W, rowvar=False) if w is None else _wcorr(W, w)
    return np.nan_to_num(np.atleast_2d(c), nan=0.0)


def _wcorr(W: np.ndarray, w: np.ndarray) -> np.ndarray:
    cov = np.cov(W, rowvar=False, aweights=w)
    d = np.sqrt(np.diag(np.atleast_2d(cov)))
    return cov / np.outer(d, d)


def vif(W: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Variance inflation factor of every column of ``W`` (from the inverse correlation matrix).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=500)
    >>> v = vif(np.column_stack([a, a + 0.1 * rng.normal(size=500), rng.normal(size=500)]))
    >>> bool(v[0] > 50), bool(v[2] < 1.1)
    (True, True)
    """
    if W.shape[1] < 2:
        return np.ones(W.shape[1])
    return _vif_from_corr(_corr(W, sample_weight))


def _vif_from_corr(corr: np.ndarray) -> np.ndarray:
    try:
        return np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        return np.diag(np.linalg.pinv(corr))


def filter_features(
    woe_frame: pd.DataFrame,
    ivs: dict[str, float],
    stats: dict[str, dict[str, float]],
    report: SelectionReport,
    *,
    min_iv: float = 0.02,
    max_missing_share: float = 0.95,
    max_single_share: float = 0.95,
    max_corr: float = 0.7,
    max_vif: float = 5.0,
    sample_weight: np.ndarray | None = None,
    iv_pvalues: dict[str, float] | None = None,
    max_iv_pvalue: float | None = None,
) -> list[str]:
    """Filter by missing share, single-value share, IV (size and significance), correlation
    and VIF, in that order.

    ``stats`` holds ``missing_share`` and ``single_share`` per feature. Among a correlated pair
    the feature with the lower IV goes; VIF drops the worst feature until all are below the limit.
    """
    kept: list[str] = []
    for f in woe_frame.columns:
        s = stats[f]
        if s["missing_share"] > max_missing_share:
            report.drop(
                f, "missing", f"missing share above {max_missing_share}", s["missing_share"]
            )
        elif s["single_share"] > max_single_share:
            report.drop(
                f, "single_value", f"one value holds over {max_single_share}", s["single_share"]
            )
        elif ivs[f] < min_iv:
            report.drop(f, "iv", f"IV below {min_iv}", ivs[f])
        elif max_iv_pvalue is not None and iv_pvalues and iv_pvalues[f] > max_iv_pvalue:
            report.drop(
                f, "iv_pvalue", f"IV not significant (p above {max_iv_pvalue})", iv_pvalues[f]
            )
        else:
            kept.append(f)
    kept.sort(key=lambda f: -ivs[f])
    # one correlation matrix for both filters: VIF reads its submatrices
    corr_all = None
    if len(kept) > 1:
        # the whole WOE array (a view when the frame holds one float block), then the kept
        # columns' submatrix: no copy of the selected columns
        pos = {f: i for i, f in enumerate(woe_frame.columns)}
        at = np.array([pos[f] for f in kept], dtype=np.intp)
        corr_all = _corr(woe_frame.to_numpy(float), sample_weight)[np.ix_(at, at)]
    where = {f: i for i, f in enumerate(kept)}
    if corr_all is not None:
        corr = np.abs(corr_all)
        alive = [True] * len(kept)
        for i in range(len(kept)):
            if not alive[i]:
                continue
            for j in range(i + 1, len(kept)):
                if alive[j] and corr[i, j] > max_corr:
                    alive[j] = False
                    report.drop(
                        kept[j],
                        "correlation",
                        f"|correlation| with '{kept[i]}' above {max_corr}",
                        float(corr[i, j]),
                    )
        kept = [f for f, a in zip(kept, alive, strict=True) if a]
    while len(kept) > 1 and corr_all is not None:
        idx = [where[f] for f in kept]
        v = _vif_from_corr(corr_all[np.ix_(idx, idx)])
        worst = int(np.argmax(v))
        if v[worst] <= max_vif:
            break
        report.drop(kept[worst], "vif", f"VIF above {max_vif}", float(v[worst]))
        kept.pop(worst)
    return kept


def score_tests(
    res: LogitResult,
    Z: np.ndarray,
    C: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
) -> np.ndarray:
    """Rao score statistics (chi-squared, 1 df) for adding each column of ``C`` to a fit.

    ``Z`` is the fitted model's design with the intercept column. One pass over the data scores
    every candidate, so forward selection needs one fit per step instead of one per candidate.
    """
    return _score_parts(res, Z, C, y, w)[0]


def _score_parts(
    res: LogitResult, Z: np.ndarray, C: np.ndarray, y: np.ndarray, w: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`score_tests`, with ``C' V Z`` and ``diag(C' V C)``: with the fit's Hessian they
    make the Hessian of the model with a candidate added, at the same coefficients."""
    p, cov = res.fitted, res.cov
    if p is None or cov is None:
        raise ConfigError(
            "score_tests needs a LogitResult with 'fitted' and 'cov' (fit_logit sets both)"
        )
    v = p * (1 - p) if w is None else w * p * (1 - p)
    u = C.T @ (y - p if w is None else w * (y - p))
    CV = C * v[:, None]
    A = CV.T @ Z  # m x k
    cvc = np.einsum("ij,ij->j", CV, C)
    var = cvc - np.einsum("ij,jk,ik->i", A, cov, A)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 1e-12, u**2 / var, 0.0), A, cvc


def stepwise(
    W: pd.DataFrame,
    y: np.ndarray,
    report: SelectionReport,
    *,
    method: str = "forward",
    criterion: str = "aic",
    p_enter: float = 0.05,
    p_remove: float = 0.10,
    sample_weight: np.ndarray | None = None,
    max_features: int | None = None,
) -> list[str]:
    """Stepwise logistic regression on the WOE columns of ``W``.

    ``method`` is ``forward``, ``backward`` or ``both``; ``criterion`` is ``aic``, ``bic`` (a
    feature enters or leaves when the criterion improves) or ``pvalue`` (enters below
    ``p_enter``, leaves above ``p_remove``). As in SAS ``PROC LOGISTIC``, the candidate to enter
    is the one with the largest score statistic and the one to leave has the smallest Wald
    statistic; the criterion is then checked on the refitted model. Every decision is logged.
    """
    return _stepwise(
        W.to_numpy(float), list(W.columns), y, report, method=method, criterion=criterion,
        p_enter=p_enter, p_remove=p_remove, sample_weight=sample_weight,
        max_features=max_features,
    )[0]  # fmt: skip


def _stepwise(
    Xall: np.ndarray,
    cols: list[str],
    y: np.ndarray,
    report: SelectionReport,
    *,
    method: str = "forward",
    criterion: str = "aic",
    p_enter: float = 0.05,
    p_remove: float = 0.10,
    sample_weight: np.ndarray | None = None,
    max_features: int | None = None,
) -> tuple[list[str], LogitResult]:
    """:func:`stepwise` on an array whose columns are named ``cols``; also returns the last fit
    (of the selected columns, in order: a warm start for the final regression)."""
    if method not in _METHODS:
        raise ConfigError(f"stepwise: {method!r} is not one of {sorted(_METHODS)}")
    if criterion not in _CRITERIA:
        raise ConfigError(f"stepwise criterion: {criterion!r} is not one of {sorted(_CRITERIA)}")
    y = np.asarray(y, dtype=float)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    Xall = np.asfortranarray(Xall, dtype=float)  # a column is read at every step
    pos = {c: i for i, c in enumerate(cols)}
    # The design of the current model, grown in place: intercept, then the current columns.
    D = np.empty((y.size, len(cols) + 1), order="F")
    D[:, 0] = 1.0
    in_design: list[str] = []

    def design(feats: list[str]) -> np.ndarray:
        nonlocal in_design
        m = 0
        while m < min(len(feats), len(in_design)) and feats[m] == in_design[m]:
            m += 1
        for j in range(m, len(feats)):
            D[:, j + 1] = Xall[:, pos[feats[j]]]
        in_design = list(feats)
        return D[:, : len(feats) + 1]

    limit = max_features or len(cols)
    current: list[str] = [] if method != "backward" else list(cols)
    removed: set[str] = set()  # a feature that left never re-enters (no cycling)

    def fit(
        feats: list[str], start: np.ndarray | None = None, hessian0: np.ndarray | None = None
    ) -> LogitResult:
        # warm-started Newton converges in a few steps; the final model is refitted exactly
        return _fit_design(
            design(feats), y, w, start=start, tol=1e-4, max_iter=2, hessian0=hessian0
        )

    def crit(r: LogitResult) -> float:
        return r.aic if criterion == "aic" else r.bic

    res = fit(current)

    def try_remove() -> bool:
        nonlocal res
        if not current:
            return False
        z2 = (res.params[1:] / res.bse[1:]) ** 2
        j = int(np.nanargmin(z2))
        f = current[j]
        pval = float(special.chdtrc(1, z2[j]))
        if criterion == "pvalue":
            if pval <= p_remove:
                return False
            new = fit([c for c in current if c != f])
        else:
            new = fit([c for c in current if c != f])
            if crit(new) >= crit(res):
                return False
        current.remove(f)
        removed.add(f)
        why = (
            f"p-value above {p_remove}"
            if criterion == "pvalue"
            else (f"{criterion.upper()} improves without it")
        )
        report.drop(f, f"stepwise-{method}", why, pval if criterion == "pvalue" else crit(new))
        res = new
        return True

    def try_add() -> bool:
        nonlocal res
        cand = [c for c in cols if c not in current and c not in removed]
        if len(current) >= limit or not cand:
            return False
        s, A, cvc = _score_parts(res, design(current), Xall[:, [pos[f] for f in cand]], y, w)
        j = int(np.argmax(s))
        f = cand[j]
        pval = float(special.chdtrc(1, s[j]))
        if criterion == "pvalue" and pval >= p_enter:
            return False
        h0 = None
        if res.hessian is not None:  # the new model's Hessian at the start, from parts at hand
            k = res.hessian.shape[0]
            h0 = np.empty((k + 1, k + 1))
            h0[:k, :k] = res.hessian
            h0[k, :k] = h0[:k, k] = A[j]
            h0[k, k] = cvc[j] + 1e-9  # the ridge of every Hessian's diagonal
        new = fit([*current, f], start=np.r_[res.params, 0.0], hessian0=h0)
        if criterion != "pvalue" and crit(new) >= crit(res):
            return False
        current.append(f)
        report.keep(
            f,
            f"stepwise-{method}",
            f"entered ({criterion})",
            pval if criterion == "pvalue" else crit(new),
        )
        res = new
        return True

    if method == "backward":
        while try_remove():
            pass
    else:
        while try_add():
            if method == "both":
                while try_remove():
                    pass
    for f in cols:
        if f not in current and f not in report.dropped:
            report.drop(f, f"stepwise-{method}", f"did not improve {criterion.upper()}")
    return current, res
