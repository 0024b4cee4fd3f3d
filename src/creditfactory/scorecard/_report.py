"""The validation report: one self-contained, offline HTML file (Jinja2 + Plotly).

plotly.js is embedded once in the page head; every figure is a ``<div>`` that uses it, so the
file opens without network access. ``lang`` (``en`` or ``zh-CN``) sets the language of its
headings, notes, table headers and axis titles (:mod:`creditfactory._html`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

import creditfactory
from creditfactory._html import figure, render_page, resolve_lang, table, tr
from creditfactory.scorecard._metrics import (
    auc,
    calibration_table,
    gini,
    hosmer_lemeshow,
    ks,
    lift_table,
)
from creditfactory.scorecard._scorecard import Scorecard

__all__ = ["build_report"]


def _performance(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {"AUC": auc(y, p), "Gini": gini(y, p), "KS": ks(y, p)}


def _roc_ks_figures(sets: dict[str, tuple[np.ndarray, np.ndarray]], lang: str) -> tuple[Any, Any]:
    import plotly.graph_objects as go
    from sklearn.metrics import roc_curve

    roc = go.Figure()
    kfig = go.Figure()
    for name, (y, p) in sets.items():
        fpr, tpr, _ = roc_curve(y, p)
        keep = np.unique(np.r_[0, np.searchsorted(fpr, np.linspace(0, 1, 401)), fpr.size - 1])
        keep = keep[keep < fpr.size]  # about 400 points draw the same curve as 100,000
        roc.add_scatter(
            x=fpr[keep], y=tpr[keep], name=f"{name} (AUC {auc(y, p):.3f})", mode="lines"
        )
        order = np.argsort(-p, kind="mergesort")
        ys = y[order]
        share = np.arange(1, ys.size + 1) / ys.size
        cb = np.cumsum(ys) / ys.sum()
        cg = np.cumsum(1 - ys) / (ys.size - ys.sum())
        step = max(1, ys.size // 400)
        kfig.add_scatter(x=share[::step], y=(cb - cg)[::step], name=name, mode="lines")
    roc.add_scatter(x=[0, 1], y=[0, 1], name=tr("chance", lang), mode="lines", line={"dash": "dot"})
    roc.update_layout(
        title=tr("ROC curve", lang),
        xaxis_title=tr("false positive rate (goods)", lang),
        yaxis_title=tr("true positive rate (bads)", lang),
        height=420,
    )
    kfig.update_layout(
        title=tr("KS: cumulative bads minus goods, riskiest first", lang),
        xaxis_title=tr("share of population", lang),
        yaxis_title=tr("gap", lang),
        height=420,
    )
    return roc, kfig


def _gains_figure(frame: pd.DataFrame, lang: str) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_bar(x=frame["band"], y=frame["bad_rate"], name=tr("bad rate", lang))
    fig.add_scatter(
        x=frame["band"],
        y=frame["cum_bad_share"],
        name=tr("cumulative bads captured", lang),
        yaxis="y2",
        mode="lines+markers",
    )
    fig.update_layout(
        title=tr("Gains by decile (1 = riskiest)", lang),
        height=380,
        yaxis={"title": tr("bad rate", lang), "tickformat": ".1%"},
        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%"},
    )
    return fig


def _calibration_figure(frame: pd.DataFrame, lang: str) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    top = float(max(frame["mean_predicted"].max(), frame["observed_rate"].max()))
    fig.add_scatter(
        x=frame["mean_predicted"],
        y=frame["observed_rate"],
        mode="lines+markers",
        name=tr("observed", lang),
    )
    fig.add_scatter(
        x=[0, top], y=[0, top], mode="lines", name=tr("perfect", lang), line={"dash": "dot"}
    )
    fig.update_layout(
        title=tr("Calibration (test)", lang),
        xaxis_title=tr("mean predicted bad rate", lang),
        yaxis_title=tr("observed bad rate", lang),
        height=380,
    )
    return fig


def _cutoff_figure(sweep: pd.DataFrame, lang: str) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_scatter(
        x=sweep["cutoff"], y=sweep["approval_rate"], name=tr("approval rate", lang), mode="lines"
    )
    fig.add_scatter(x=sweep["cutoff"], y=sweep["bad_rate"], name=tr("bad rate", lang), mode="lines")
    fig.add_scatter(
        x=sweep["cutoff"],
        y=sweep["profit_per_application"],
        name=tr("profit per application (CNY)", lang),
        mode="lines",
        yaxis="y2",
    )
    fig.update_layout(
        title=tr("Cut-off sweep", lang),
        xaxis_title=tr("cut-off (points)", lang),
        yaxis={"title": tr("rate", lang), "tickformat": ".0%"},
        yaxis2={"title": "CNY", "overlaying": "y", "side": "right"},
        height=420,
        legend={"orientation": "h", "y": 1.1},
    )
    return fig


def _whole(df: pd.DataFrame, cols: list[str], whole: bool) -> pd.DataFrame:
    """Scores as whole numbers when the points are (so the table reads as the scorecard)."""
    return df.astype(dict.fromkeys(cols, "int64")) if whole else df


def _woe_frame(sc: Scorecard, X: pd.DataFrame) -> pd.DataFrame:
    return sc.transform_woe(X)


def build_report(
    sc: Scorecard,
    X_train: pd.DataFrame,
    y_train: object,
    X_test: pd.DataFrame | None = None,
    y_test: object = None,
    *,
    X_oot: pd.DataFrame | None = None,
    y_oot: object = None,
    challengers: dict[str, np.ndarray] | None = None,
    title: str | None = None,
    data_name: str = "",
    loan: dict[str, float] | None = None,
    n_boot: int = 200,
    lang: str = "en",
) -> str:
    """Render the validation report as one HTML string.

    Parameters
    ----------
    sc : Scorecard
        A fitted scorecard.
    X_train, y_train : training data (raw characteristics and 0/1 target)
    X_test, y_test : hold-out data; the performance, score-band, cut-off, calibration and
        stability sections use it (the training data when absent).
    X_oot, y_oot : out-of-time data (later months than the training data), optional: scored
        beside the random split, with its own stability against the training data.
    challengers : dict, optional
        ``{name: predicted P(bad) on the test set}`` of challenger models to compare.
    loan : dict, optional
        ``amount``, ``apr`` and ``term`` of the loan the cut-off sweep values with the
        lifetime model (default 10,000 CNY at 18 % over 12 months).
    n_boot : int, default 200
        Bootstrap resamples for the AUC and KS intervals.
    lang : {"en", "zh-CN"}, default "en"
        Language of the headings, notes, table headers and axis titles; the title defaults to
        "Scorecard validation report" in it. Another language is a ``DataError`` naming
        ``lang``.
    """
    from importlib.resources import files

    from creditfactory.scorecard._validation import (
        bootstrap_ci,
        characteristic_stability,
        correlation_vif,
        cutoff_sweep,
        pvalue_decisions,
        score_bands,
        trust_warnings,
    )

    lang = resolve_lang(lang)
    title = tr("Scorecard validation report", lang) if title is None else title

    def tbl(df: pd.DataFrame, floats: str = "{:.4f}") -> str:
        return table(df, floats, lang=lang)

    ytr = np.asarray(y_train).astype(int)
    has_test = X_test is not None and y_test is not None
    has_oot = X_oot is not None and y_oot is not None
    Xte = X_test if has_test else X_train
    yte = np.asarray(y_test).astype(int) if has_test else ytr
    p_tr = sc.predict_proba(X_train)[:, 1]
    p_te = sc.predict_proba(Xte)[:, 1]
    sets = {tr("train", lang): (ytr, p_tr)}
    if has_test:
        sets[tr("test", lang)] = (yte, p_te)
    if has_oot:
        yoot = np.asarray(y_oot).astype(int)
        sets[tr("out-of-time", lang)] = (yoot, sc.predict_proba(X_oot)[:, 1])
    model_sets = dict(sets)
    for name, p in (challengers or {}).items():
        sets[name] = (yte, np.asarray(p, dtype=float))
    perf_rows = []
    for n, (y, p) in model_sets.items():
        ci = bootstrap_ci(y, p, n_boot=n_boot)
        perf_rows.append(
            {
                "sample": n,
                "rows": len(y),
                "bads": int(y.sum()),
                "bad rate": float(np.mean(y)),
                **_performance(y, p),
                "AUC 95% CI": f"{ci['AUC'][1]:.4f} – {ci['AUC'][2]:.4f}",
                "KS 95% CI": f"{ci['KS'][1]:.4f} – {ci['KS'][2]:.4f}",
            }
        )
    for n, (y, p) in sets.items():
        if n not in model_sets:
            perf_rows.append(
                {"sample": n, "rows": len(y), "bads": int(y.sum()), "bad rate": float(np.mean(y)),
                 **_performance(y, p)}
            )  # fmt: skip
    perf = pd.DataFrame(perf_rows)
    roc, kfig = _roc_ks_figures(sets, lang)
    challenger_rows = []
    for name, p in (challengers or {}).items():
        p = np.asarray(p, dtype=float)
        challenger_rows.append(
            {
                "challenger": name,
                "AUC": auc(yte, p),
                "AUC - scorecard": auc(yte, p) - auc(yte, p_te),
                "KS": ks(yte, p),
                "KS - scorecard": ks(yte, p) - ks(yte, p_te),
                "rank correlation with scorecard": float(spearmanr(p, p_te).statistic),
            }
        )
    pts_te = sc.predict_points(Xte)
    bands = score_bands(yte, pts_te)
    sweep = cutoff_sweep(yte, pts_te, p_te, **(loan or {}))
    gains = lift_table(yte, p_te)
    calib = calibration_table(yte, p_te)
    hl_stat, hl_p = hosmer_lemeshow(yte, p_te)
    stability = []
    if has_test:
        stability.append(
            (
                tr("train → test", lang),
                sc.stability(Xte),
                characteristic_stability(sc, X_train, Xte),
            )
        )
    if has_oot:
        stability.append(
            (
                tr("train → out-of-time", lang),
                sc.stability(X_oot),
                characteristic_stability(sc, X_train, X_oot),
            )
        )
    ivs = pd.DataFrame(
        [
            {
                "feature": f,
                "IV": t.iv,
                "IV p-value": t.iv_pvalue,
                "kind": t.kind,
                "bins": t.n_bins,
                "selected": f in sc.selected_features_,
            }
            for f, t in sc.binning_tables_.items()
        ]
    ).sort_values("IV", ascending=False)
    whole = getattr(sc, "points_decimals", None) == 0
    points_fmt = "{:.0f}" if whole else "{:.3f}"
    features = []
    for f in sc.selected_features_:
        t = sc.binning_tables_[f]
        frame = t.to_frame()
        pts = [points_fmt.format(v) for v in sc.bin_points_[f]]
        frame.insert(int(frame.columns.get_loc("woe")) + 1, "points", [*pts, ""])
        features.append(
            {
                "name": f,
                "iv": t.iv,
                "trend": t.trend(),
                "table": tbl(frame),
                "figure": figure(t.plot(lang)),
            }
        )
    summary = pd.DataFrame(
        [
            {
                "column": c,
                **{k: v for k, v in s.items() if k != "n_unique"},
                "distinct": int(s["n_unique"]),
                "kind": sc.kinds_.get(c, ""),
            }
            for c, s in sc.column_stats_.items()
        ]
    )
    weak = pvalue_decisions(sc)
    points = sc.points_table()
    ctx = {
        "title": title,
        "data_name": data_name,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": creditfactory.__version__,
        "n_train": len(ytr),
        "n_test": len(yte) if has_test else 0,
        "n_oot": len(np.asarray(y_oot)) if has_oot else 0,
        "bad_train": float(ytr.mean()),
        "bad_test": float(yte.mean()) if has_test else None,
        "bad_oot": float(np.mean(np.asarray(y_oot).astype(int))) if has_oot else None,
        "n_columns": len(sc.column_stats_)
        + len([r for r in sc.selection_report_.records if r["step"] == "input"]),
        "scaling": sc.scaling,
        "defaults": getattr(sc, "defaults_", {}),
        "warnings": trust_warnings(sc, ytr, yte if has_test else None),
        "n_boot": n_boot,
        "summary": tbl(summary),
        "performance": tbl(perf),
        "roc": figure(roc),
        "ks": figure(kfig),
        "gains_fig": figure(_gains_figure(gains, lang)),
        "gains": tbl(gains),
        "bands": tbl(_whole(bands, ["min_points", "max_points"], whole)),
        "sweep": tbl(_whole(sweep, ["cutoff"], whole), "{:,.4f}"),
        "sweep_fig": figure(_cutoff_figure(sweep, lang)),
        "loan": {"amount": 10_000.0, "apr": 0.18, "term": 12, **(loan or {})},
        "calibration_fig": figure(_calibration_figure(calib, lang)),
        "calibration": tbl(calib),
        "hl_stat": hl_stat,
        "hl_p": hl_p,
        "stability": [{"name": n, "psi": tbl(a), "csi": tbl(c)} for n, a, c in stability],
        "corr": tbl(correlation_vif(_woe_frame(sc, X_train)), "{:.3f}"),
        "challengers": tbl(pd.DataFrame(challenger_rows)) if challenger_rows else None,
        "ivs": tbl(ivs),
        "selection": tbl(sc.selection_report_.to_frame()),
        "coefficients": tbl(sc.coefficients(), "{:.4g}"),
        "weak": tbl(weak, "{:.4g}") if len(weak) else None,
        "points": _points_html(points, lang) if whole else tbl(points, "{:.3f}"),
        "features": features,
    }
    body = files("creditfactory.scorecard").joinpath("templates", "report.html.j2")
    return render_page(body.read_text(encoding="utf-8"), ctx, title=title, lang=lang)


def _points_html(points: pd.DataFrame, lang: str) -> str:
    fmt = dict.fromkeys(("bad_rate", "woe", "coefficient"), "{:.4f}".format)
    fmt["points"] = "{:.0f}".format
    return table(points, lang=lang, formats=fmt)
