"""The validation report: one self-contained, offline HTML file (Jinja2 + Plotly).

plotly.js is embedded once in the page head; every figure is a ``<div>`` that uses it, so the
file opens without network access.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

import creditfactory
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


def _fig_html(fig: Any) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _table_html(df: pd.DataFrame, floats: str = "{:.4f}") -> str:
    fmt = {c: floats.format for c in df.columns if pd.api.types.is_float_dtype(df[c])}
    return df.to_html(index=False, classes="tbl", formatters=fmt, na_rep="", border=0)


def _performance(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {"AUC": auc(y, p), "Gini": gini(y, p), "KS": ks(y, p)}


def _roc_ks_figures(sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[Any, Any]:
    import plotly.graph_objects as go
    from sklearn.metrics import roc_curve

    roc = go.Figure()
    kfig = go.Figure()
    for name, (y, p) in sets.items():
        fpr, tpr, _ = roc_curve(y, p)
        roc.add_scatter(x=fpr, y=tpr, name=f"{name} (AUC {auc(y, p):.3f})", mode="lines")
        order = np.argsort(-p, kind="mergesort")
        ys = y[order]
        share = np.arange(1, ys.size + 1) / ys.size
        cb = np.cumsum(ys) / ys.sum()
        cg = np.cumsum(1 - ys) / (ys.size - ys.sum())
        step = max(1, ys.size // 400)
        kfig.add_scatter(x=share[::step], y=(cb - cg)[::step], name=name, mode="lines")
    roc.add_scatter(x=[0, 1], y=[0, 1], name="chance", mode="lines", line={"dash": "dot"})
    roc.update_layout(
        title="ROC",
        xaxis_title="false positive rate (goods)",
        yaxis_title="true positive rate (bads)",
        height=420,
    )
    kfig.update_layout(
        title="KS: cumulative bads minus goods, riskiest first",
        xaxis_title="share of population",
        yaxis_title="gap",
        height=420,
    )
    return roc, kfig


def _gains_figure(table: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_bar(x=table["band"], y=table["bad_rate"], name="bad rate")
    fig.add_scatter(
        x=table["band"],
        y=table["cum_bad_share"],
        name="cumulative bads captured",
        yaxis="y2",
        mode="lines+markers",
    )
    fig.update_layout(
        title="Gains by decile (1 = riskiest)",
        height=380,
        yaxis={"title": "bad rate", "tickformat": ".1%"},
        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%"},
    )
    return fig


def _calibration_figure(table: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    top = float(max(table["mean_predicted"].max(), table["observed_rate"].max()))
    fig.add_scatter(
        x=table["mean_predicted"], y=table["observed_rate"], mode="lines+markers", name="observed"
    )
    fig.add_scatter(x=[0, top], y=[0, top], mode="lines", name="perfect", line={"dash": "dot"})
    fig.update_layout(
        title="Calibration (test)",
        xaxis_title="mean predicted bad rate",
        yaxis_title="observed bad rate",
        height=380,
    )
    return fig


def build_report(
    sc: Scorecard,
    X_train: pd.DataFrame,
    y_train: object,
    X_test: pd.DataFrame | None = None,
    y_test: object = None,
    *,
    challengers: dict[str, np.ndarray] | None = None,
    title: str = "Scorecard validation report",
    data_name: str = "",
) -> str:
    """Render the validation report as one HTML string.

    Parameters
    ----------
    sc : Scorecard
        A fitted scorecard.
    X_train, y_train : training data (raw characteristics and 0/1 target)
    X_test, y_test : hold-out data; the performance, calibration and PSI sections use it
        (the training data when absent).
    challengers : dict, optional
        ``{name: predicted P(bad) on the test set}`` of challenger models to compare.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape
    from plotly.offline import get_plotlyjs

    ytr = np.asarray(y_train).astype(int)
    has_test = X_test is not None and y_test is not None
    Xte = X_test if has_test else X_train
    yte = np.asarray(y_test).astype(int) if has_test else ytr
    p_tr = sc.predict_proba(X_train)[:, 1]
    p_te = sc.predict_proba(Xte)[:, 1]
    sets = {"train": (ytr, p_tr)}
    if has_test:
        sets["test"] = (yte, p_te)
    for name, p in (challengers or {}).items():
        sets[name] = (yte, np.asarray(p, dtype=float))
    perf = pd.DataFrame(
        [
            {"model": n, "rows": len(y), "bad rate": float(np.mean(y)), **_performance(y, p)}
            for n, (y, p) in sets.items()
        ]
    )
    roc, kfig = _roc_ks_figures(sets)
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
    gains = lift_table(yte, p_te)
    calib = calibration_table(yte, p_te)
    hl_stat, hl_p = hosmer_lemeshow(yte, p_te)
    ivs = pd.DataFrame(
        [
            {
                "feature": f,
                "IV": t.iv,
                "kind": t.kind,
                "bins": t.n_bins,
                "selected": f in sc.selected_features_,
            }
            for f, t in sc.binning_tables_.items()
        ]
    ).sort_values("IV", ascending=False)
    features = [
        {
            "name": f,
            "iv": sc.binning_tables_[f].iv,
            "table": _table_html(sc.binning_tables_[f].to_frame()),
            "figure": _fig_html(sc.binning_tables_[f].plot()),
        }
        for f in sc.selected_features_
    ]
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
    env = Environment(
        loader=PackageLoader("creditfactory.scorecard", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    ctx = {
        "title": title,
        "data_name": data_name,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": creditfactory.__version__,
        "plotlyjs": get_plotlyjs(),
        "n_train": len(ytr),
        "n_test": len(yte) if has_test else 0,
        "bad_train": float(ytr.mean()),
        "bad_test": float(yte.mean()) if has_test else None,
        "n_columns": len(sc.column_stats_)
        + len([r for r in sc.selection_report_.records if r["step"] == "input"]),
        "scaling": sc.scaling,
        "summary": _table_html(summary),
        "performance": _table_html(perf),
        "roc": _fig_html(roc),
        "ks": _fig_html(kfig),
        "gains_fig": _fig_html(_gains_figure(gains)),
        "gains": _table_html(gains),
        "calibration_fig": _fig_html(_calibration_figure(calib)),
        "calibration": _table_html(calib),
        "hl_stat": hl_stat,
        "hl_p": hl_p,
        "psi": _table_html(sc.stability(Xte)) if has_test else None,
        "challengers": _table_html(pd.DataFrame(challenger_rows)) if challenger_rows else None,
        "ivs": _table_html(ivs),
        "selection": _table_html(sc.selection_report_.to_frame()),
        "coefficients": _table_html(sc.coefficients(), "{:.4g}"),
        "points": _table_html(sc.points_table(), "{:.3f}"),
        "features": features,
    }
    return env.get_template("report.html.j2").render(**ctx)
