"""What a model validator asks of a scorecard beyond AUC: pure functions over arrays.

Score bands, a cut-off sweep valued with the lifetime model of ``creditfactory.pricing``,
bootstrap confidence intervals, correlation and VIF of the selected characteristics, CSI per
characteristic, an out-of-time split, warnings where the data are too thin to trust, and the
decision on characteristics whose coefficient is not significant. The HTML report
(:func:`build_report`) and :class:`ValidationSummary` only render these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.scorecard._defaults import resolve_defaults
from creditfactory.scorecard._metrics import auc, ks
from creditfactory.scorecard._selection import vif

__all__ = [
    "ValidationSummary",
    "bootstrap_ci",
    "characteristic_stability",
    "correlation_vif",
    "cutoff_sweep",
    "pvalue_decisions",
    "score_bands",
    "time_split",
    "trust_warnings",
]

# A bin's WOE has standard error about sqrt(1/bads + 1/goods); above 0.3 (fewer than about
# 11 bads) the WOE of that bin moves by more than a third of a unit from sample to sample.
MAX_WOE_SE = 0.3
MIN_TEST_BADS = 100  # below this the AUC's 95% interval is wider than about +-0.05


def score_bands(y: object, points: object, n_bands: int = 10) -> pd.DataFrame:
    """Equal-population score bands, lowest points (riskiest) first.

    Columns: ``band``, ``min_points``, ``max_points``, ``count``, ``share``, ``bads``,
    ``bad_rate``, ``odds`` (goods per bad), ``cum_share`` and ``cum_bad_rate`` from the top
    (the share approved and its bad rate if the cut-off were this band's lowest score).

    Examples
    --------
    >>> t = score_bands([1, 1, 0, 0, 1, 0, 0, 0], [500, 510, 520, 530, 540, 550, 560, 570], 4)
    >>> t["bads"].tolist(), t["cum_bad_rate"].round(3).tolist()
    ([2, 0, 1, 0], [0.375, 0.167, 0.25, 0.0])
    """
    yy, pts = _check(y, points)
    edges = np.unique(np.quantile(pts, np.linspace(0, 1, n_bands + 1)[1:-1]))
    band = np.searchsorted(edges, pts, side="right")
    rows: list[dict[str, Any]] = []
    for b in range(edges.size + 1):
        m = band == b
        if not m.any():
            continue
        bads = int(yy[m].sum())
        n = int(m.sum())
        rows.append(
            {
                "band": len(rows) + 1,
                "min_points": float(pts[m].min()),
                "max_points": float(pts[m].max()),
                "count": n,
                "share": n / yy.size,
                "bads": bads,
                "bad_rate": bads / n,
                "odds": (n - bads) / bads if bads else np.inf,
            }
        )
    t = pd.DataFrame(rows)
    above_n = t["count"][::-1].cumsum()[::-1]
    above_b = t["bads"][::-1].cumsum()[::-1]
    t["cum_share"] = above_n / yy.size
    t["cum_bad_rate"] = above_b / above_n
    return t


def cutoff_sweep(
    y: object,
    points: object,
    p_bad: object,
    *,
    amount: float = 10_000.0,
    apr: float = 0.18,
    term: float = 12,
    cutoffs: object = None,
) -> pd.DataFrame:
    """Approval, bad rate, expected loss and profit if every score below a cut-off is declined.

    Each approved application is valued with :func:`creditfactory.pricing.loan_value` as a
    loan of ``amount`` at ``apr`` over ``term`` months: ``expected_loss`` from the model's
    probability of bad, ``profit`` from the realised outcome (the lifetime model's value if
    bad or if good), both summed over the approved rows and per application.

    ``cutoffs`` default to the 5 %, 10 %, ..., 95 % quantiles of ``points`` (whole points).
    """
    from creditfactory.pricing import loan_value

    yy, pts = _check(y, points)
    p = np.asarray(p_bad, dtype=float)
    if p.shape != pts.shape:
        raise DataError(f"p_bad: {p.size} values for {pts.size} scores")
    if cutoffs is None:
        cuts = np.unique(np.floor(np.quantile(pts, np.linspace(0.0, 0.95, 20))))
    else:
        cuts = np.sort(np.asarray(cutoffs, dtype=float))
    v = loan_value(
        np.full(p.size, float(amount)), np.full(p.size, float(apr)), np.full(p.size, int(term)), p
    )
    realised = np.where(yy == 1, v.value_if_bad, v.value_if_good)
    rows = []
    for c in cuts:
        ok = pts >= c
        n = int(ok.sum())
        rows.append(
            {
                "cutoff": float(c),
                "approved": n,
                "approval_rate": n / yy.size,
                "bad_rate": float(yy[ok].mean()) if n else np.nan,
                "expected_bad_rate": float(p[ok].mean()) if n else np.nan,
                "expected_loss": float(v.expected_loss[ok].sum()),
                "profit": float(realised[ok].sum()),
                "profit_per_application": float(realised[ok].sum()) / yy.size,
            }
        )
    return pd.DataFrame(rows)


def bootstrap_ci(
    y: object, p_bad: object, *, n_boot: int = 200, level: float = 0.95, seed: int = 0
) -> dict[str, tuple[float, float, float]]:
    """AUC and KS with percentile bootstrap intervals: ``{"AUC": (value, low, high), ...}``.

    Resamples rows with replacement, stratified by outcome so every resample has both
    classes; seeded, so a report is reproducible.
    """
    yy, p = _check(y, p_bad)
    if not 0 < level < 1:
        raise ConfigError(f"level: must lie in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    bad, good = np.flatnonzero(yy == 1), np.flatnonzero(yy == 0)
    stats: dict[str, list[float]] = {"AUC": [], "KS": []}
    for _ in range(n_boot):
        idx = np.concatenate(
            [rng.choice(bad, bad.size, replace=True), rng.choice(good, good.size, replace=True)]
        )
        stats["AUC"].append(auc(yy[idx], p[idx]))
        stats["KS"].append(ks(yy[idx], p[idx]))
    a = (1 - level) / 2
    point = {"AUC": auc(yy, p), "KS": ks(yy, p)}
    return {
        k: (point[k], float(np.quantile(v, a)), float(np.quantile(v, 1 - a)))
        for k, v in stats.items()
    }


def correlation_vif(woe: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlation of the WOE columns with each column's VIF as the last column."""
    if woe.shape[1] == 0:
        return pd.DataFrame()
    corr = woe.corr().fillna(0.0)
    corr["VIF"] = vif(woe.to_numpy(float))
    return corr.reset_index(names="characteristic")


def characteristic_stability(sc: Any, X_expected: object, X_actual: object) -> pd.DataFrame:
    """PSI and CSI of every selected characteristic between two samples.

    CSI (characteristic stability index) is ``sum((actual% - expected%) x points)`` over the
    bins: the average points the characteristic gives moved by this much; PSI is the
    population stability of its bins.
    """
    from creditfactory.monitoring import psi_from_counts

    e = sc.bin_indices(X_expected)
    a = sc.bin_indices(X_actual)
    rows = []
    for f in sc.selected_features_:
        n = sc.binning_tables_[f].n_bins
        ce = np.bincount(e[f].to_numpy(), minlength=n)
        ca = np.bincount(a[f].to_numpy(), minlength=n)
        pe, pa = ce / max(ce.sum(), 1), ca / max(ca.sum(), 1)
        pts = np.asarray(sc.bin_points_[f], dtype=float)
        rows.append(
            {
                "characteristic": f,
                "psi": psi_from_counts(ce, ca),
                "csi_points": float(((pa - pe) * pts).sum()),
                "mean_points_expected": float((pe * pts).sum()),
                "mean_points_actual": float((pa * pts).sum()),
            }
        )
    return pd.DataFrame(rows)


def pvalue_decisions(sc: Any, max_pvalue: float = 0.05) -> pd.DataFrame:
    """Every selected characteristic whose coefficient has p above ``max_pvalue``, with the
    decision taken and why (an empty frame when there is none)."""
    coef = sc.coefficients().iloc[1:]
    weak = coef[coef["p_value"] > max_pvalue]
    rows = []
    for _, r in weak.iterrows():
        rows.append(
            {
                "characteristic": r["feature"],
                "p_value": float(r["p_value"]),
                "iv": float(r["iv"]),
                "decision": "kept",
                "why": (
                    f"stepwise {sc.criterion.upper()} improved when it entered (for one degree "
                    "of freedom AIC admits p up to 0.157); its sign is right. Its effect is not "
                    f"established at {max_pvalue:.0%}: drop it with user review if the "
                    "characteristic has no business rationale"
                ),
            }
        )
    return pd.DataFrame(rows, columns=["characteristic", "p_value", "iv", "decision", "why"])


def trust_warnings(sc: Any, y_train: object, y_test: object | None = None) -> list[str]:
    """Plain-language warnings where the book or a bin is too small to trust."""
    out = []
    ytr = np.asarray(y_train).astype(int)
    if ytr.sum() < 300:
        # a scorecard loaded from its artefact has no defaults_: resolve them as fit did
        used = getattr(sc, "defaults_", None) or resolve_defaults(
            {"min_bin_n_bad": sc.min_bin_n_bad}, float(ytr.sum())
        )
        out.append(
            f"small book: {int(ytr.sum())} bads in the training data (bins were held to "
            f"{used['min_bin_n_bad']} bads each); expect the bins and points to move when "
            "the model is refitted on more data"
        )
    if y_test is not None:
        yte = np.asarray(y_test).astype(int)
        if yte.sum() < MIN_TEST_BADS:
            out.append(
                f"small test sample: {int(yte.sum())} bads; the AUC's 95% interval is wide "
                "(see the bootstrap intervals)"
            )
    for f in sc.selected_features_:
        t = sc.binning_tables_[f]
        g, b = np.asarray(t.n_good, float), np.asarray(t.n_bad, float)
        labels = t.labels()
        for i in np.flatnonzero(g + b > 0):
            se = np.sqrt(1 / max(b[i], 0.5) + 1 / max(g[i], 0.5))
            if se > MAX_WOE_SE:
                out.append(
                    f"{f} bin {labels[i]}: {int(b[i])} bads and {int(g[i])} goods; its WOE "
                    f"has a standard error of about {se:.2f}"
                )
    return out


def time_split(dates: object, oot_share: float = 0.2) -> np.ndarray:
    """Boolean mask of the out-of-time rows: the latest whole months holding about
    ``oot_share`` of the rows (at least one month, never all of them).

    Examples
    --------
    >>> d = pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-03", "2024-03-09"])
    >>> time_split(d, 0.25).tolist()
    [False, False, False, True]
    """
    if not 0 < oot_share < 1:
        raise ConfigError(f"oot_share: must lie in (0, 1), got {oot_share}")
    s = pd.Series(pd.to_datetime(pd.Series(dates), errors="coerce"))
    if s.isna().any():
        raise DataError(f"date column: {int(s.isna().sum())} values are missing or not dates")
    month = s.dt.year * 12 + s.dt.month
    months = np.sort(month.unique())
    if months.size < 2:
        raise DataError("date column: an out-of-time sample needs at least two months")
    share_from = (month.value_counts().sort_index()[::-1].cumsum() / len(s))[::-1]
    later = [m for m in months[1:] if share_from[m] <= oot_share + 1e-12]
    first_oot = later[0] if later else months[-1]
    return (month >= first_oot).to_numpy()


@dataclass
class ValidationSummary:
    """Headline figures of a validation: performance with bootstrap intervals per sample,
    warnings and weak characteristics. Renders as an HTML table in a notebook."""

    performance: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    weak_characteristics: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def from_samples(
        cls, sc: Any, samples: dict[str, tuple[object, object]], n_boot: int = 200
    ) -> ValidationSummary:
        """Score every ``{name: (X, y)}`` sample with ``sc``."""
        rows = []
        for name, (X, y) in samples.items():
            yy = np.asarray(y).astype(int)
            ci = bootstrap_ci(yy, sc.predict_proba(X)[:, 1], n_boot=n_boot)
            rows.append(
                {
                    "sample": name,
                    "rows": int(yy.size),
                    "bads": int(yy.sum()),
                    "AUC": ci["AUC"][0],
                    "AUC 95% CI": f"{ci['AUC'][1]:.3f} – {ci['AUC'][2]:.3f}",
                    "KS": ci["KS"][0],
                    "KS 95% CI": f"{ci['KS'][1]:.3f} – {ci['KS'][2]:.3f}",
                }
            )
        first = next(iter(samples.values()))[1]
        test = list(samples.values())[1][1] if len(samples) > 1 else None
        return cls(pd.DataFrame(rows), trust_warnings(sc, first, test), pvalue_decisions(sc))

    def _repr_html_(self) -> str:
        from creditfactory.scorecard._html import frame_html

        parts = ["<b>Validation summary 验证摘要</b>", frame_html(self.performance)]
        if len(self.weak_characteristics):
            parts.append("<b>p &gt; 0.05</b>" + frame_html(self.weak_characteristics))
        if self.warnings:
            items = "".join(f"<li>{_esc(w)}</li>" for w in self.warnings)
            parts.append(f"<b>Warnings 警告</b><ul>{items}</ul>")
        return "".join(parts)


def _esc(s: str) -> str:
    import html

    return html.escape(s)


def _check(y: object, s: object) -> tuple[np.ndarray, np.ndarray]:
    yy = np.asarray(y).astype(int).ravel()
    ss = np.asarray(s, dtype=float).ravel()
    if yy.shape != ss.shape:
        raise DataError(f"y and scores differ in length ({yy.size} vs {ss.size})")
    if yy.size == 0:
        raise DataError("y: no rows")
    return yy, ss
