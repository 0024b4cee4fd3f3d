"""Plotly figures of the dashboard, as JSON for ``Plotly.newPlot`` (plotly.js is served by the
dashboard itself from plotly's package data: no CDN)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies
COLOURS = {"approve": "#009E73", "refer": "#E69F00", "decline": "#D55E00"}
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _layout(fig: go.Figure, title: str, x: str, y: str) -> str:
    fig.update_layout(
        title={"text": title}, xaxis_title=x, yaxis_title=y, template="plotly_white",
        margin={"l": 60, "r": 20, "t": 50, "b": 90}, height=400,
        legend={"orientation": "h", "y": -0.3},
    )  # fmt: skip
    # "</" would end the <script> element the JSON is embedded in
    return str(fig.to_json()).replace("</", "<\\/")


def decisions_by_day(days: Sequence[str], by_day: Mapping[str, Sequence[int]]) -> str:
    """Stacked bars of decisions per day."""
    return stacked("Decisions by day 每日决策", "day 日期", days, by_day)


def stacked(title: str, x_title: str, x: Sequence[str], by: Mapping[str, Sequence[int]]) -> str:
    """Stacked bars of decisions (approve, refer, decline) per x."""
    fig = go.Figure()
    for decision, counts in by.items():
        fig.add_bar(x=list(x), y=list(counts), name=decision,
                    marker_color=COLOURS.get(decision))  # fmt: skip
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    return _layout(fig, title, x_title, "applications 申请数")


def amount_by_day(days: Sequence[str], amounts: Sequence[float]) -> str:
    """Approved limits per day."""
    fig = go.Figure(go.Bar(x=list(days), y=list(amounts), marker_color=PALETTE[0],
                           name="approved"))  # fmt: skip
    fig.update_xaxes(type="category")  # one bar per day that has decisions
    return _layout(fig, "Approved amount by day 每日批准额度", "day 日期", "limit total 额度合计")


def lines(
    title: str, x_title: str, y_title: str, x: Sequence[object],
    series: Mapping[str, Sequence[float | None]],
    bands: Sequence[tuple[float, str]] = (),
) -> str:  # fmt: skip
    """One line per series over a shared x, with optional horizontal threshold lines."""
    fig = go.Figure()
    for i, (name, ys) in enumerate(series.items()):
        fig.add_scatter(x=list(x), y=list(ys), mode="lines+markers", name=name,
                        line={"color": PALETTE[i % len(PALETTE)]})  # fmt: skip
    for value, label in bands:
        fig.add_hline(y=value, line_dash="dash", line_color="#555555", annotation_text=label)
    return _layout(fig, title, x_title, y_title)


def bars(title: str, x_title: str, y_title: str, x: Sequence[object],
         y: Sequence[float]) -> str:  # fmt: skip
    """One bar series."""
    fig = go.Figure(go.Bar(x=list(x), y=list(y), marker_color=PALETTE[0]))
    return _layout(fig, title, x_title, y_title)


def heatmap(title: str, x_title: str, y_title: str, x: Sequence[object], y: Sequence[object],
            z: Sequence[Sequence[float]]) -> str:  # fmt: skip
    """A matrix (roll rates) with its values written in the cells."""
    fig = go.Figure(go.Heatmap(
        x=list(x), y=list(y), z=[list(r) for r in z], colorscale="Blues",
        text=[[f"{v:.1%}" for v in r] for r in z], texttemplate="%{text}",
    ))  # fmt: skip
    return _layout(fig, title, x_title, y_title)


def stacked_amounts(title: str, x_title: str, y_title: str, x: Sequence[object],
                    by: Mapping[str, Sequence[float | None]]) -> str:  # fmt: skip
    """Stacked bars of amounts per x, one series per key (e.g. delinquency buckets)."""
    fig = go.Figure()
    for i, (name, ys) in enumerate(by.items()):
        fig.add_bar(x=list(x), y=list(ys), name=name, marker_color=PALETTE[i % len(PALETTE)])
    fig.update_layout(barmode="stack")
    return _layout(fig, title, x_title, y_title)


def grouped(title: str, x_title: str, y_title: str, x: Sequence[object],
            by: Mapping[str, Sequence[float | None]], percent: bool = False) -> str:  # fmt: skip
    """Bars side by side per x, one series per key (e.g. two strategies' rates)."""
    fig = go.Figure()
    for i, (name, ys) in enumerate(by.items()):
        fig.add_bar(x=list(x), y=list(ys), name=name, marker_color=PALETTE[i % len(PALETTE)])
    fig.update_layout(barmode="group")
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return _layout(fig, title, x_title, y_title)
