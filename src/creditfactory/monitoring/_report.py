"""The monitoring report: one self-contained, offline HTML page (Jinja2 + Plotly).

plotly.js is embedded once in the page head; every figure is a ``<div>`` that uses it, so the
file opens without network access. Labels are in English and Chinese.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

import creditfactory
from creditfactory.monitoring._monitor import SCORE, MonitoringReport

__all__ = ["monitoring_report"]

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}</title>
<script type="text/javascript">{{ plotlyjs | safe }}</script>
<style>
body { font-family: -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif;
       margin: 2em auto; max-width: 1200px; color: #222; }
h1 { border-bottom: 2px solid #345; } h2 { margin-top: 2em; color: #345; }
table.tbl { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
table.tbl th, table.tbl td { border: 1px solid #ccc; padding: 3px 8px; text-align: right;
                             white-space: nowrap; }
table.tbl th { background: #eef; } .note { color: #555; font-size: 0.9em; }
.ok { color: #1a6b2a; } .alert { color: #a0281e; font-weight: bold; }
</style></head><body>
<h1>{{ title }}</h1>
<p class="note">{% if model %}Model 模型: {{ model }} · {% endif %}{% if source %}book 资产:
{{ source }} · {% endif %}stability baseline 稳定性基准: {{ baseline }}{% if window %} · outcome
window 表现期: {{ window }} months 个月{% endif %} · generated 生成 {{ created }}
· creditfactory {{ version }}</p>
<h2>Alerts 警报</h2>
{% if n_alerts %}<p class="alert">{{ n_alerts }} alert(s) 条警报</p>{{ alerts | safe }}
{% else %}<p class="ok">No alert 无警报</p>{% endif %}
<p class="note">Thresholds 阈值: {{ thresholds }}</p>
<h2>By month 月度汇总</h2>
{{ summary | safe }}
<h2>Population stability 群体稳定性 (PSI / CSI)</h2>
<p class="note">PSI of the score and CSI of each characteristic against the baseline, over the
model's own bins: &lt; 0.1 stable 稳定, 0.1–0.25 watch 关注, ≥ 0.25 act 行动.</p>
{{ psi_fig | safe }}
{{ csi_fig | safe }}
<h2>Score band distribution 分数段分布</h2>
<p class="note">Band 0 has the fewest points (riskiest); bands are the development sample's
score deciles. 0段分数最低(风险最高)。</p>
{{ band_fig | safe }}
<h2>Rank power 区分能力 (AUC / KS / Gini)</h2>
<p class="note">By application month, over outcomes that have matured.
按申请月份,仅含表现期已满的贷款。
{% if reference %}Reference 基准: {{ reference }}{% endif %}</p>
{{ rank_fig | safe }}
<h2>Calibration 校准</h2>
<p class="note">Observed against predicted bad rate by month; Hosmer-Lemeshow test over the
score bands and an exact binomial test per band. 实际与预测坏账率。</p>
{{ cal_fig | safe }}
{{ ratio_fig | safe }}
{{ cal_months | safe }}
{% if rates %}<h2>Decisions 审批 (approval, referral, override 通过率、转人工率、推翻率)</h2>
{{ rates_fig | safe }}
{{ rates | safe }}{% endif %}
</body></html>
"""


def _fig_html(fig: Any) -> str:
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))


def _table_html(df: pd.DataFrame, floats: str = "{:,.4f}") -> str:
    fmt = {c: floats.format for c in df.columns if pd.api.types.is_float_dtype(df[c])}
    return str(df.to_html(index=False, classes="tbl", formatters=fmt, na_rep="", border=0))


def _lines(frame: pd.DataFrame, cols: dict[str, str], title: str, fmt: str = ".3f") -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    x = frame["month"].astype(str).tolist()
    for col, label in cols.items():
        fig.add_scatter(x=x, y=frame[col].to_numpy(float), mode="lines+markers", name=label)
    fig.update_layout(title=title, yaxis_tickformat=fmt, height=380, xaxis_type="category")
    return fig


def _psi_figure(report: MonitoringReport) -> Any:
    t = report.thresholds
    fig = _lines(report.summary, {"psi": "score PSI 分数PSI", "max_csi": "largest CSI 最大CSI"},
                 "Stability by month 月度稳定性")  # fmt: skip
    fig.add_hline(y=t.psi_watch, line_dash="dot", line_color="#c90", annotation_text="watch 关注")
    fig.add_hline(y=t.psi_act, line_dash="dash", line_color="#c33", annotation_text="act 行动")
    return fig


def _csi_figure(report: MonitoringReport) -> Any:
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
    fig.update_layout(title="CSI by characteristic and month 各变量稳定性",
                      height=max(320, 24 * len(wide) + 120), xaxis_type="category")  # fmt: skip
    return fig


def _band_figure(report: MonitoringReport) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    x = [str(i) for i in report.bands.index]
    for band in report.bands.columns:
        fig.add_bar(x=x, y=report.bands[band].to_numpy(float), name=f"band 段 {band}")
    fig.update_layout(barmode="stack", yaxis_tickformat=".0%", height=400,
                      title="Applications by score band 各分数段申请占比",
                      xaxis_type="category")  # fmt: skip
    return fig


def _ratio_figure(report: MonitoringReport) -> Any:
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
            y=[f"band 段 {b}" for b in ratio.index],
            colorscale="RdBu_r",
            zmin=0.0,
            zmax=2.0,  # 1 (calibrated) in the middle; beyond twice the prediction is saturated
            colorbar={"title": "obs/pred"},
        )
    )
    fig.update_layout(title="Observed / predicted bad rate by score band 各分数段实际/预测",
                      height=420, xaxis_type="category")  # fmt: skip
    return fig


def monitoring_report(
    report: MonitoringReport,
    title: str = "Model monitoring report 模型监控报告",
    model: str = "",
    source: str = "",
) -> str:
    """Render a :class:`MonitoringReport` as one offline HTML page (plotly.js embedded once)."""
    from jinja2 import Environment, select_autoescape
    from plotly.offline import get_plotlyjs

    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    perf = report.performance
    ref = ", ".join(
        f"{k.upper()} {report.reference[k]:.3f}"
        for k in ("auc", "ks", "gini")
        if k in report.reference
    )
    ctx = {
        "title": title,
        "model": model,
        "source": source,
        "baseline": report.baseline,
        "window": report.window,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": creditfactory.__version__,
        "plotlyjs": get_plotlyjs(),
        "n_alerts": len(report.alerts),
        "alerts": _table_html(report.alerts),
        "thresholds": ", ".join(f"{k}={v}" for k, v in report.thresholds.model_dump().items()),
        "summary": _table_html(report.summary),
        "psi_fig": _fig_html(_psi_figure(report)),
        "csi_fig": _fig_html(_csi_figure(report)),
        "band_fig": _fig_html(_band_figure(report)),
        "reference": ref,
        "rank_fig": _fig_html(
            _lines(
                perf,
                {"auc": "AUC", "ks": "KS", "gini": "Gini 基尼"},
                "Rank power by application month 按申请月份的区分能力",
            )
        ),
        "cal_fig": _fig_html(
            _lines(
                perf,
                {"bad_rate": "observed 实际", "predicted": "predicted 预测"},
                "Bad rate by application month 按申请月份的坏账率",
                ".1%",
            )
        ),
        "ratio_fig": _fig_html(_ratio_figure(report)),
        "cal_months": _table_html(report.calibration_months),
        "rates": _table_html(report.rates) if report.rates is not None else "",
        "rates_fig": _fig_html(
            _lines(
                report.rates,
                {
                    "approval_rate": "approval 通过率",
                    "referral_rate": "referral 转人工率",
                    "override_rate": "override 推翻率",
                },
                "Decision rates by month 月度审批比率",
                ".1%",
            )
        )
        if report.rates is not None
        else "",
    }
    return env.from_string(_TEMPLATE).render(**ctx)
