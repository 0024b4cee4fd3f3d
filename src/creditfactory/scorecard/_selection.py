"""Feature selection for scorecards: filters and stepwise regression, every drop explained."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError
from creditfactory.scorecard._logit import LogitResult, fit_logit

__all__ = ["SelectionReport", "filter_features", "stepwise", "vif"]

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


def vif(W: np.ndarray) -> np.ndarray:
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
    corr = np.corrcoef(W, rowvar=False)
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
) -> list[str]:
    """Filter by missing share, single-value share, IV, correlation and VIF, in that order.

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
        else:
            kept.append(f)
    kept.sort(key=lambda f: -ivs[f])
    if len(kept) > 1:
        corr = np.abs(np.corrcoef(woe_frame[kept].to_numpy(float), rowvar=False))
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
    while len(kept) > 1:
        v = vif(woe_frame[kept].to_numpy(float))
        worst = int(np.argmax(v))
        if v[worst] <= max_vif:
            break
        report.drop(kept[worst], "vif", f"VIF above {max_vif}", float(v[worst]))
        kept.pop(worst)
    return kept


def _score(res: LogitResult, criterion: str) -> float:
    return res.aic if criterion == "aic" else res.bic


def stepwise(
    W: pd.DataFrame,
    y: np.ndarray,
    report: SelectionReport,
    *,
    method: str = "forward",
    criterion: str = "bic",
    p_enter: float = 0.05,
    p_remove: float = 0.10,
    sample_weight: np.ndarray | None = None,
    max_features: int | None = None,
) -> list[str]:
    """Stepwise logistic regression on the WOE columns of ``W``.

    ``method`` is ``forward``, ``backward`` or ``both``; ``criterion`` is ``aic``, ``bic`` (enter
    or leave when the criterion improves) or ``pvalue`` (enter below ``p_enter``, leave above
    ``p_remove``). Candidates enter in order of their effect; each decision is logged.
    """
    if method not in _METHODS:
        raise ConfigError(f"stepwise: {method!r} is not one of {sorted(_METHODS)}")
    if criterion not in _CRITERIA:
        raise ConfigError(f"stepwise criterion: {criterion!r} is not one of {sorted(_CRITERIA)}")
    cols = list(W.columns)
    Xall = W.to_numpy(float)
    pos = {c: i for i, c in enumerate(cols)}
    cache: dict[tuple[str, ...], LogitResult] = {}

    def fit(feats: list[str]) -> LogitResult:
        key = tuple(sorted(feats))
        if key not in cache:
            cache[key] = fit_logit(
                Xall[:, [pos[f] for f in feats]], y, sample_weight, max_iter=25, tol=1e-6
            )
        return cache[key]

    limit = max_features or len(cols)
    current: list[str] = [] if method != "backward" else list(cols)
    removed: set[str] = set()  # a feature that left never re-enters (no cycling)

    def try_remove() -> bool:
        if not current:
            return False
        res = fit(current)
        if criterion == "pvalue":
            pv = res.pvalues[1:]
            worst = int(np.nanargmax(pv))
            if pv[worst] > p_remove:
                f = current.pop(worst)
                removed.add(f)
                report.drop(f, f"stepwise-{method}", f"p-value above {p_remove}", float(pv[worst]))
                return True
            return False
        base = _score(res, criterion)
        trials = [(_score(fit([c for c in current if c != f]), criterion), f) for f in current]
        best, f = min(trials)
        if best < base:
            current.remove(f)
            removed.add(f)
            report.drop(f, f"stepwise-{method}", f"{criterion.upper()} improves without it", best)
            return True
        return False

    def try_add() -> bool:
        if len(current) >= limit:
            return False
        cand = [c for c in cols if c not in current and c not in removed]
        if not cand:
            return False
        trials = []
        for f in cand:
            res = fit([*current, f])
            key = res.pvalues[-1] if criterion == "pvalue" else _score(res, criterion)
            trials.append((key, f))
        best, f = min(trials)
        ok = best < p_enter if criterion == "pvalue" else best < _score(fit(current), criterion)
        if ok:
            current.append(f)
            report.keep(f, f"stepwise-{method}", f"entered ({criterion})", float(best))
        return ok

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
    return current
