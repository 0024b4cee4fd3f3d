"""The portfolio report: one self-contained, offline HTML page (Jinja2 + Plotly).

plotly.js is embedded once in the page head; every figure is a ``<div>`` that uses it, so the
file opens without network access. ``lang`` (``en`` or ``zh-CN``) sets the language of its
headings, notes, table headers and axis titles (:mod:`creditfactory._html`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

import creditfactory
from creditfactory._html import figure, render_page, resolve_lang, table, tr
from creditfactory.servicing._analysis import PortfolioAnalysis

__all__ = ["portfolio_report"]

_BODY = """<h1>{{ title }}</h1>
<p class="note">{{ t("Book") }}: {{ source }} · {{ t("as of") }} {{ as_of }} ·
{{ t("generated") }} {{ created }} · creditfactory {{ version }}</p>
<h2>{{ t("Overview") }}</h2>
{{ overview | safe }}
<h2>{{ t("Vintage curves") }}</h2>
<p class="note">{{ t("Share of each monthly vintage that has reached 30+ / 90+ DPD (or \
charge-off) by each month on book (MOB); closed loans stay in the denominator.") }}</p>
{{ vintage90_fig | safe }}
{{ vintage30_fig | safe }}
{{ vintage_product_fig | safe }}
<h2>{{ t("Roll rates") }}</h2>
<p class="note">{{ t("Month-to-month transitions of accounts between buckets (rows: this \
month, columns: next month).") }}</p>
{{ roll_fig | safe }}
{{ roll_table | safe }}
<p class="note">{{ t("Weighted by exposure:") }}</p>
{{ roll_balance_table | safe }}
<h2>{{ t("Flow rates and net flow to charge-off") }}</h2>
<p class="note">{{ t("Balance in bucket k+1 this month over bucket k last month; the net flow \
is their product along the diagonal: this month's charge-offs over the current balance seven \
months before.") }}</p>
{{ flow_fig | safe }}
{{ net_fig | safe }}
{{ net_table | safe }}
<h2>{{ t("Delinquency and loss by segment") }}</h2>
{% for seg in segments %}
<h3>{{ seg.title }}</h3>
{{ seg.figure | safe }}
{{ seg.table | safe }}
{% endfor %}
<h2>{{ t("Expected loss (PD × LGD × EAD)") }}</h2>
<p class="note">{{ t("PD: probability of charge-off within {horizon} months from each bucket, \
by the Markov chain of the roll-rate matrix; LGD {lgd}; EAD: principal outstanding plus \
arrears of the open accounts.").format(horizon=horizon, lgd=lgd) }}</p>
{{ el_fig | safe }}
{{ el_table | safe }}
"""

_SEGMENT_TITLES = {
    "product": "By product",
    "channel": "By channel",
    "cohort": "By birth cohort",
    "vintage": "By vintage",
}


def _curves_figure(curves: pd.DataFrame, title: str, lang: str) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for key, row in curves.iterrows():
        values = row.dropna()
        name = " ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        fig.add_scatter(x=list(values.index), y=values.to_numpy(), mode="lines", name=name)
    fig.update_layout(
        title=title,
        xaxis_title=tr("months on book (MOB)", lang),
        yaxis_title=tr("cumulative bad share", lang),
        yaxis_tickformat=".1%",
        height=440,
    )
    return fig


def _roll_figure(rr: pd.DataFrame, lang: str) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Heatmap(
            z=rr.to_numpy(),
            x=[str(c) for c in rr.columns],
            y=[str(i) for i in rr.index],
            colorscale="Blues",
            text=[[f"{v:.1%}" for v in row] for row in rr.to_numpy()],
            texttemplate="%{text}",
        )
    )
    fig.update_layout(
        title=tr("Roll-rate matrix", lang),
        xaxis_title=tr("next month", lang),
        yaxis_title=tr("this month", lang),
        yaxis_autorange="reversed",
        height=420,
    )
    return fig


def _flow_figure(flows: pd.DataFrame, lang: str) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    x = [str(p) for p in flows.index]
    for col in flows.columns:
        fig.add_scatter(x=x, y=flows[col].to_numpy(), mode="lines+markers", name=col)
    fig.update_layout(
        title=tr("Flow rates by month (balance)", lang),
        yaxis_tickformat=".0%",
        yaxis_title=tr("flow rate", lang),
        height=420,
    )
    return fig


def _net_figure(net: pd.DataFrame, lang: str) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_bar(
        x=[str(p) for p in net.index], y=net["net_flow"].to_numpy(), name=tr("net flow", lang)
    )
    fig.update_layout(
        title=tr("Net flow to charge-off", lang),
        yaxis_tickformat=".2%",
        height=360,
    )
    return fig


def _segment_figure(frame: pd.DataFrame, seg: str, lang: str) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    x = frame[seg].astype(str).tolist()
    for col, label in (
        ("dpd30_share", "30+ share of exposure"),
        ("ever90_rate", "ever 90+"),
        ("loss_rate", "loss rate"),
    ):
        fig.add_bar(x=x, y=frame[col].to_numpy(), name=tr(label, lang))
    fig.update_layout(barmode="group", yaxis_tickformat=".1%", height=380)
    return fig


def _el_figure(el: pd.DataFrame, lang: str) -> Any:
    import plotly.graph_objects as go

    rows = el[el["bucket"] != "total"]
    fig = go.Figure()
    fig.add_bar(x=rows["bucket"].tolist(), y=rows["el"].to_numpy(), name=tr("EL", lang))
    fig.add_bar(x=rows["bucket"].tolist(), y=rows["ead"].to_numpy(), name=tr("EAD", lang))
    fig.update_layout(
        barmode="group",
        yaxis_type="log",
        title=tr("Expected loss and exposure by bucket (CNY)", lang),
        height=380,
    )
    return fig


def portfolio_report(
    analysis: PortfolioAnalysis,
    title: str | None = None,
    source: str = "",
    lang: str = "en",
) -> str:
    """Render a :class:`PortfolioAnalysis` as one offline HTML page (plotly.js embedded once).

    ``lang`` is ``en`` or ``zh-CN`` (headings, notes, table headers and axis titles); the
    title defaults to "Portfolio report" in that language.

    Raises
    ------
    DataError
        For a ``lang`` other than ``en`` or ``zh-CN``, naming ``lang``.
    """
    lang = resolve_lang(lang)
    title = tr("Portfolio report", lang) if title is None else title
    overview = analysis.overview.copy()
    # the analysis names each figure in both languages ("loans booked / 放款笔数"): one here
    overview["metric"] = [
        str(m).split(" / ")[0 if lang == "en" else -1] for m in overview["metric"]
    ]
    overview["value"] = [f"{v:,.4f}" if abs(v) < 10 else f"{v:,.0f}" for v in overview["value"]]
    segments = [
        {
            "title": tr(_SEGMENT_TITLES[name], lang),
            "table": table(frame, lang=lang),
            "figure": figure(_segment_figure(frame, name, lang)),
        }
        for name, frame in analysis.segments.items()
    ]
    net = analysis.net_flow.dropna(subset=["net_flow"])

    def curves(frame: pd.DataFrame, text: str) -> str:
        return figure(_curves_figure(frame, tr(text, lang), lang))

    ctx = {
        "title": title,
        "source": source,
        "as_of": analysis.as_of.date().isoformat(),
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": creditfactory.__version__,
        "overview": table(overview, lang=lang),
        "vintage90_fig": curves(analysis.vintage90, "Ever 90+ by vintage"),
        "vintage30_fig": curves(analysis.vintage30, "Ever 30+ by vintage"),
        "vintage_product_fig": curves(
            analysis.vintage90_by_product, "Ever 90+ by product and quarter"
        ),
        "roll_fig": figure(_roll_figure(analysis.roll_rates, lang)),
        "roll_table": table(analysis.roll_rates, index=True, lang=lang),
        "roll_balance_table": table(analysis.roll_rates_balance, index=True, lang=lang),
        "flow_fig": figure(_flow_figure(analysis.flow_rates, lang)),
        "net_fig": figure(_net_figure(net, lang)),
        "net_table": table(
            net.rename_axis("month").reset_index().astype({"month": str}), lang=lang
        ),
        "segments": segments,
        "el_fig": figure(_el_figure(analysis.expected_loss, lang)),
        "el_table": table(analysis.expected_loss, lang=lang),
        "lgd": analysis.lgd,
        "horizon": analysis.horizon,
    }
    return render_page(_BODY, ctx, title=title, lang=lang)
