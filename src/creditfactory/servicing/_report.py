"""The portfolio report: one self-contained, offline HTML page (Jinja2 + Plotly).

plotly.js is embedded once in the page head; every figure is a ``<div>`` that uses it, so the
file opens without network access. Labels are in English and Chinese.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

import creditfactory
from creditfactory.servicing._analysis import PortfolioAnalysis

__all__ = ["portfolio_report"]

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}</title>
<script type="text/javascript">{{ plotlyjs | safe }}</script>
<style>
body { font-family: -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif;
       margin: 2em auto; max-width: 1200px; color: #222; }
h1 { border-bottom: 2px solid #345; } h2 { margin-top: 2em; color: #345; }
table.tbl { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
table.tbl th, table.tbl td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
table.tbl th { background: #eef; } .note { color: #555; font-size: 0.9em; }
</style></head><body>
<h1>{{ title }}</h1>
<p class="note">Book 资产: {{ source }} · as of 截至 {{ as_of }} · generated 生成 {{ created }}
 · creditfactory {{ version }}</p>
<h2>Overview 概览</h2>
{{ overview | safe }}
<h2>Vintage curves 账龄分析 (Vintage)</h2>
<p class="note">Share of each monthly vintage that has reached 30+ / 90+ DPD (or charge-off) by
each month on book (MOB); closed loans stay in the denominator.
各放款月份在各账龄的累计逾期率(曾30+/90+或核销)。</p>
{{ vintage90_fig | safe }}
{{ vintage30_fig | safe }}
{{ vintage_product_fig | safe }}
<h2>Roll rates 滚动率</h2>
<p class="note">Month-to-month transitions of accounts between buckets (rows: this month,
columns: next month). 账户在逾期阶段间的月度迁移。</p>
{{ roll_fig | safe }}
{{ roll_table | safe }}
<p class="note">Weighted by exposure 按余额加权:</p>
{{ roll_balance_table | safe }}
<h2>Flow rates and net flow to charge-off 迁徙率与净损失流转率</h2>
<p class="note">Balance in bucket k+1 this month over bucket k last month; the net flow is
their product along the diagonal: this month's charge-offs over the current balance seven months
before. 本月k+1阶段余额/上月k阶段余额;净流转率=本月核销额/七个月前正常余额。</p>
{{ flow_fig | safe }}
{{ net_fig | safe }}
{{ net_table | safe }}
<h2>Delinquency and loss by segment 分群逾期与损失</h2>
{% for seg in segments %}
<h3>{{ seg.title }}</h3>
{{ seg.figure | safe }}
{{ seg.table | safe }}
{% endfor %}
<h2>Expected loss 预期损失 (PD × LGD × EAD)</h2>
<p class="note">PD: probability of charge-off within {{ horizon }} months from each bucket, by
the Markov chain of the roll-rate matrix; LGD {{ lgd }}; EAD: principal outstanding plus
arrears of the open accounts. 违约概率由滚动率马尔可夫链推算。</p>
{{ el_fig | safe }}
{{ el_table | safe }}
</body></html>
"""

_SEGMENT_TITLES = {
    "product": "By product 按产品",
    "channel": "By channel 按渠道",
    "cohort": "By birth cohort 按年龄代际",
    "vintage": "By vintage 按放款月份",
}


def _fig_html(fig: Any) -> str:
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))


def _table_html(df: pd.DataFrame, floats: str = "{:,.4f}", index: bool = False) -> str:
    fmt = {c: floats.format for c in df.columns if pd.api.types.is_float_dtype(df[c])}
    return str(df.to_html(index=index, classes="tbl", formatters=fmt, na_rep="", border=0))


def _curves_figure(curves: pd.DataFrame, title: str) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for key, row in curves.iterrows():
        values = row.dropna()
        name = " ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        fig.add_scatter(x=list(values.index), y=values.to_numpy(), mode="lines", name=name)
    fig.update_layout(
        title=title,
        xaxis_title="months on book 账龄 (MOB)",
        yaxis_title="cumulative bad share 累计坏账率",
        yaxis_tickformat=".1%",
        height=440,
    )
    return fig


def _roll_figure(rr: pd.DataFrame) -> Any:
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
        title="Roll-rate matrix 滚动率矩阵",
        xaxis_title="next month 下月",
        yaxis_title="this month 本月",
        yaxis_autorange="reversed",
        height=420,
    )
    return fig


def _flow_figure(flows: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    x = [str(p) for p in flows.index]
    for col in flows.columns:
        fig.add_scatter(x=x, y=flows[col].to_numpy(), mode="lines+markers", name=col)
    fig.update_layout(
        title="Flow rates by month 月度迁徙率 (balance 余额)",
        yaxis_tickformat=".0%",
        yaxis_title="flow rate 迁徙率",
        height=420,
    )
    return fig


def _net_figure(net: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_bar(x=[str(p) for p in net.index], y=net["net_flow"].to_numpy(), name="net flow")
    fig.update_layout(
        title="Net flow to charge-off 净损失流转率",
        yaxis_tickformat=".2%",
        height=360,
    )
    return fig


def _segment_figure(table: pd.DataFrame, seg: str) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    x = table[seg].astype(str).tolist()
    for col, label in (
        ("dpd30_share", "30+ share of exposure 30+逾期率"),
        ("ever90_rate", "ever 90+ 曾90+"),
        ("loss_rate", "loss rate 损失率"),
    ):
        fig.add_bar(x=x, y=table[col].to_numpy(), name=label)
    fig.update_layout(barmode="group", yaxis_tickformat=".1%", height=380)
    return fig


def _el_figure(el: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    rows = el[el["bucket"] != "total"]
    fig = go.Figure()
    fig.add_bar(x=rows["bucket"].tolist(), y=rows["el"].to_numpy(), name="EL 预期损失")
    fig.add_bar(x=rows["bucket"].tolist(), y=rows["ead"].to_numpy(), name="EAD 风险敞口")
    fig.update_layout(
        barmode="group",
        yaxis_type="log",
        title="Expected loss and exposure by bucket 各阶段预期损失与敞口 (CNY)",
        height=380,
    )
    return fig


def portfolio_report(
    analysis: PortfolioAnalysis, title: str = "Portfolio report 资产组合报告", source: str = ""
) -> str:
    """Render a :class:`PortfolioAnalysis` as one offline HTML page (plotly.js embedded once)."""
    from jinja2 import Environment, select_autoescape
    from plotly.offline import get_plotlyjs

    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    overview = analysis.overview.copy()
    overview["value"] = [f"{v:,.4f}" if abs(v) < 10 else f"{v:,.0f}" for v in overview["value"]]
    segments = [
        {
            "title": _SEGMENT_TITLES[name],
            "table": _table_html(table),
            "figure": _fig_html(_segment_figure(table, name)),
        }
        for name, table in analysis.segments.items()
    ]
    net = analysis.net_flow.dropna(subset=["net_flow"])
    ctx = {
        "title": title,
        "source": source,
        "as_of": analysis.as_of.date().isoformat(),
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": creditfactory.__version__,
        "plotlyjs": get_plotlyjs(),
        "overview": _table_html(overview),
        "vintage90_fig": _fig_html(
            _curves_figure(analysis.vintage90, "Ever 90+ by vintage 曾90+逾期 (按放款月)")
        ),
        "vintage30_fig": _fig_html(
            _curves_figure(analysis.vintage30, "Ever 30+ by vintage 曾30+逾期 (按放款月)")
        ),
        "vintage_product_fig": _fig_html(
            _curves_figure(
                analysis.vintage90_by_product, "Ever 90+ by product and quarter 按产品与季度"
            )
        ),
        "roll_fig": _fig_html(_roll_figure(analysis.roll_rates)),
        "roll_table": _table_html(analysis.roll_rates, index=True),
        "roll_balance_table": _table_html(analysis.roll_rates_balance, index=True),
        "flow_fig": _fig_html(_flow_figure(analysis.flow_rates)),
        "net_fig": _fig_html(_net_figure(net)),
        "net_table": _table_html(net.rename_axis("month").reset_index().astype({"month": str})),
        "segments": segments,
        "el_fig": _fig_html(_el_figure(analysis.expected_loss)),
        "el_table": _table_html(analysis.expected_loss),
        "lgd": analysis.lgd,
        "horizon": analysis.horizon,
    }
    return env.from_string(_TEMPLATE).render(**ctx)
