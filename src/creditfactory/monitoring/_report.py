"""The monitoring report: one self-contained, offline HTML page (Jinja2 + Plotly).

plotly.js is embedded once in the page head; every figure is a ``<div>`` that uses it, so the
file opens without network access. ``lang`` (``en`` or ``zh-CN``) sets the language of its
headings, notes, table headers and axis titles (:mod:`creditfactory._html`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

import creditfactory
from creditfactory._html import figure, render_page, resolve_lang, table, tr
from creditfactory.monitoring._monitor import SCORE, MonitoringReport

__all__ = ["monitoring_report"]

_BODY = """<h1>{{ title }}</h1>
<p class="note">{% if model %}{{ t("Model") }}: {{ model }} · {% endif %}{% if source %}
{{ t("Book") }}: {{ source }} · {% endif %}{{ t("Stability baseline") }}: {{ baseline }}
{% if window %} · {{ t("Outcome window: {n} months").format(n=window) }}{% endif %}
· {{ t("generated") }} {{ created }} · creditfactory {{ version }}</p>
<h2>{{ t("Alerts") }}</h2>
{% if n_alerts %}<p class="alert">{{ t("{n} alert(s)").format(n=n_alerts) }}</p>
{{ alerts | safe }}{% else %}<p class="ok">{{ t("No alert") }}</p>{% endif %}
<p class="note">{{ t("Thresholds") }}: {{ thresholds }}</p>
<h2>{{ t("By month") }}</h2>
{{ summary | safe }}
<h2>{{ t("Population stability (PSI / CSI)") }}</h2>
<p class="note">{{ t("PSI of the score and CSI of each characteristic against the baseline, \
over the model's own bins: &lt; 0.1 stable, 0.1–0.25 watch, ≥ 0.25 act.") }}</p>
{{ psi_fig | safe }}
{{ csi_fig | safe }}
<h2>{{ t("Score band distribution") }}</h2>
<p class="note">{{ t("Band 0 has the fewest points (riskiest); bands are the development \
sample's score deciles.") }}</p>
{{ band_fig | safe }}
<h2>{{ t("Rank power (AUC / KS / Gini)") }}</h2>
<p class="note">{{ t("By application month, over outcomes that have matured.") }}
{% if reference %}{{ t("Reference") }}: {{ reference }}{% endif %}</p>
{{ rank_fig | safe }}
<h2>{{ t("Calibration") }}</h2>
<p class="note">{{ t("Observed against predicted bad rate by month; Hosmer-Lemeshow test over \
the score bands and an exact binomial test per band.") }}</p>
{{ cal_fig | safe }}
{{ ratio_fig | safe }}
{{ cal_months | safe }}
{% if rates %}<h2>{{ t("Decisions (approval, referral, override)") }}</h2>
{{ rates_fig | safe }}
{{ rates | safe }}{% endif %}
"""


def _lines(frame: pd.DataFrame, cols: dict[str, str], title: str, fmt: str = ".3f") -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    x = frame["month"].astype(str).tolist()
    for col, label in cols.items():
        fig.add_scatter(x=x, y=frame[col].to_numpy(float), mode="lines+markers", name=label)
    fig.update_layout(title=title, yaxis_tickformat=fmt, height=380, xaxis_type="category")
    return fig


def _psi_figure(report: MonitoringReport, lang: str) -> Any:
    t = report.thresholds
    fig = _lines(
        report.summary,
        {"psi": tr("score PSI", lang), "max_csi": tr("largest CSI", lang)},
        tr("Stability by month", lang),
    )
    fig.add_hline(y=t.psi_watch, line_dash="dot", line_color="#c90",
                  annotation_text=tr("watch", lang))  # fmt: skip
    fig.add_hline(y=t.psi_act, line_dash="dash", line_color="#c33",
                  annotation_text=tr("act", lang))  # fmt: skip
    return fig


def _csi_figure(report: MonitoringReport, lang: str) -> Any:
    import plotly.graph_objects as go

    wide = report.stability.pivot(index="variable", columns="month", values="index")
    wide = wide.reindex([v for v in wide.index if v != SCORE] + [SCORE])
    fig = go.Figure(
        go.Heatmap(
            z=wide.to_numpy(float),
            x=[str(c) for c in wide.columns],
            y=[str(i) for i in wide.index],
            colorscale=[[0, "#f7fbff"], [0.4, "#fdd49e"], [1, "#b30000"]],
            zmin=0,
            zmax=max(0.3, float(np.nanmax(wide.to_numpy(float))) if wide.size else 0.3),
            colorbar={"title": "CSI"},
        )
    )
    fig.update_layout(title=tr("CSI by characteristic and month", lang),
                      height=max(320, 24 * len(wide) + 120), xaxis_type="category")  # fmt: skip
    return fig


def _band_figure(report: MonitoringReport, lang: str) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    x = [str(i) for i in report.bands.index]
    for band in report.bands.columns:
        fig.add_bar(x=x, y=report.bands[band].to_numpy(float), name=f"{tr('band', lang)} {band}")
    fig.update_layout(barmode="stack", yaxis_tickformat=".0%", height=400,
                      title=tr("Applications by score band", lang),
                      xaxis_type="category")  # fmt: skip
    return fig


def _ratio_figure(report: MonitoringReport, lang: str) -> Any:
    import plotly.graph_objects as go

    cal = report.calibration
    if cal.empty:
        return go.Figure()
    ratio = cal.assign(r=cal["observed"] / cal["predicted"]).pivot(
        index="band", columns="month", values="r"
    )
    fig = go.Figure(
        go.Heatmap(
            z=ratio.to_numpy(float),
            x=[str(c) for c in ratio.columns],
            y=[f"{tr('band', lang)} {b}" for b in ratio.index],
            colorscale="RdBu_r",
            zmin=0.0,
            zmax=2.0,  # 1 (calibrated) in the middle; beyond twice the prediction is saturated
            colorbar={"title": tr("obs/pred", lang)},
        )
    )
    fig.update_layout(title=tr("Observed / predicted bad rate by score band", lang),
                      height=420, xaxis_type="category")  # fmt: skip
    return fig


def monitoring_report(
    report: MonitoringReport,
    title: str | None = None,
    model: str = "",
    source: str = "",
    lang: str = "en",
) -> str:
    """Render a :class:`MonitoringReport` as one offline HTML page (plotly.js embedded once).

    ``lang`` is ``en`` or ``zh-CN`` (headings, notes, table headers and axis titles); the
    title defaults to "Model monitoring report" in that language.

    Raises
    ------
    DataError
        For a ``lang`` other than ``en`` or ``zh-CN``, naming ``lang``.
    """
    lang = resolve_lang(lang)
    perf = report.performance
    ref = ", ".join(
        f"{k.upper()} {report.reference[k]:.3f}"
        for k in ("auc", "ks", "gini")
        if k in report.reference
    )
    title = tr("Model monitoring report", lang) if title is None else title

    def tbl(frame: pd.DataFrame) -> str:
        return table(frame, lang=lang)

    ctx = {
        "title": title,
        "model": model,
        "source": source,
        "baseline": report.baseline,
        "window": report.window,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": creditfactory.__version__,
        "n_alerts": len(report.alerts),
        "alerts": tbl(report.alerts),
        "thresholds": ", ".join(f"{k}={v}" for k, v in report.thresholds.model_dump().items()),
        "summary": tbl(report.summary),
        "psi_fig": figure(_psi_figure(report, lang)),
        "csi_fig": figure(_csi_figure(report, lang)),
        "band_fig": figure(_band_figure(report, lang)),
        "reference": ref,
        "rank_fig": figure(
            _lines(
                perf,
                {"auc": "AUC", "ks": "KS", "gini": tr("Gini", lang)},
                tr("Rank power by application month", lang),
            )
        ),
        "cal_fig": figure(
            _lines(
                perf,
                {"bad_rate": tr("observed", lang), "predicted": tr("predicted", lang)},
                tr("Bad rate by application month", lang),
                ".1%",
            )
        ),
        "ratio_fig": figure(_ratio_figure(report, lang)),
        "cal_months": tbl(report.calibration_months),
        "rates": tbl(report.rates) if report.rates is not None else "",
        "rates_fig": figure(
            _lines(
                report.rates,
                {
                    "approval_rate": tr("approval", lang),
                    "referral_rate": tr("referral", lang),
                    "override_rate": tr("override", lang),
                },
                tr("Decision rates by month", lang),
                ".1%",
            )
        )
        if report.rates is not None
        else "",
    }
    return render_page(_BODY, ctx, title=title, lang=lang)
