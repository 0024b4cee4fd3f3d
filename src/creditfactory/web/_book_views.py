"""The book-based pages: models (``creditfactory.monitoring``), portfolio
(``creditfactory.servicing``) and collections (``creditfactory.collections``) over the book
directory the settings name (``ui_book``; the models page also needs ``ui_model``).

Each page renders what those packages compute; nothing is recomputed here. A result is kept
per page and book (until the book's folder changes), since a book takes seconds to analyse.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.exceptions import CreditFactoryError
from creditfactory.web import _plots


@dataclass
class Table:
    id: str
    title: str
    caption: str
    columns: list[str]
    rows: list[list[tuple[str, float | None]]]


@dataclass
class BookView:
    """What a book page shows: plots (Plotly JSON), tables, alerts, or why it is empty."""

    title: str
    source: str = ""
    empty: str | None = None
    plots: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    alerts: list[dict[str, Any]] | None = None


Builder = Callable[[Path, Any], BookView]


def _cell(v: Any) -> tuple[str, float | None]:
    if isinstance(v, bool | np.bool_):
        return ("yes" if v else "no", None)
    if isinstance(v, int | np.integer):
        return (f"{int(v):,}", float(v))
    if isinstance(v, float | np.floating):
        x = float(v)
        if x != x:
            return ("—", None)
        return (f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}", x)
    if isinstance(v, pd.Timestamp):
        return (v.strftime("%Y-%m-%d"), None)
    return (str(v), None)


def frame_table(id: str, title: str, caption: str, frame: pd.DataFrame,
                index: bool = False) -> Table:  # fmt: skip
    """A table of a frame's cells (numbers keep their value for sorting)."""
    f = frame.reset_index() if index else frame
    rows = [[_cell(v) for v in row] for row in f.itertuples(index=False)]
    return Table(id, title, caption, [str(c) for c in f.columns], rows)


def portfolio(book: Path, settings: Any) -> BookView:
    """Vintage curves, roll rates and loss of the book (``servicing.analyse_portfolio``)."""
    from creditfactory.servicing import analyse_portfolio, bucket_balances, read_book

    serviced = read_book(book)
    result = analyse_portfolio(serviced)
    view = BookView("Portfolio 资产组合", str(book))
    v30 = result.vintage30
    recent = v30.tail(8)  # the latest vintages, one line each
    view.plots.append(_plots.lines(
        "Ever 30+ DPD by vintage 各放款月份30+逾期率 (vintage)", "months on book 账龄",
        "share ever 30+ 曾30+占比", [str(c) for c in recent.columns],
        {str(i)[:7]: [None if x != x else float(x) for x in row]
         for i, row in zip(recent.index, recent.to_numpy(float), strict=True)},
    ))  # fmt: skip
    balances = bucket_balances(serviced.performance)
    late = [c for c in balances.columns if c not in ("M0", "charged_off")]
    view.plots.append(_plots.stacked_amounts(
        "Delinquent exposure by bucket 各逾期阶段余额", "month 月份", "exposure 余额",
        [str(m) for m in balances.index], {c: _floats(balances[c]) for c in late},
    ))  # fmt: skip
    rr = result.roll_rates
    view.plots.append(_plots.heatmap(
        "Roll rates 滚动率 (accounts)", "to bucket 下月状态", "from bucket 本月状态",
        [str(c) for c in rr.columns], [str(i) for i in rr.index], rr.to_numpy(float).tolist(),
    ))  # fmt: skip
    view.tables.append(frame_table("overview", "Headline 概要", f"as of {result.as_of:%Y-%m-%d}",
                                   result.overview))  # fmt: skip
    view.tables.append(frame_table("rolls", "Roll rates 滚动率", "share of accounts", rr, True))
    if not result.expected_loss.empty:
        view.tables.append(frame_table("loss", "Expected loss 预期损失",
                                       f"PD x LGD ({result.lgd:.0%}) x EAD",
                                       result.expected_loss))  # fmt: skip
    return view


def collections(book: Path, settings: Any) -> BookView:
    """Worked accounts by action and the collector league table
    (``collections.scored_history`` and ``league_table``)."""
    from creditfactory.collections import PERSONAL, league_table, scored_history
    from creditfactory.data import Portfolio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the collection scores' solver notes
        history = scored_history(Portfolio.read(book))
    view = BookView("Collections 催收", str(book))
    last = history["month"].max()
    month = history[history["month"] == last]
    counts = (
        month.groupby(month["taken_action"].astype(str))
        .agg(accounts=("loan_id", "size"), expected_recovery=("expected_recovery", "sum"))
        .reset_index()
        .rename(columns={"taken_action": "queue (action) 队列"})
    )
    view.plots.append(_plots.bars(
        f"Accounts by queue, {last:%Y-%m} 各队列账户数", "queue (action) 队列", "accounts 账户",
        counts.iloc[:, 0].tolist(), counts["accounts"].astype(float).tolist(),
    ))  # fmt: skip
    view.tables.append(frame_table("queues", f"Queues 队列 ({last:%Y-%m})",
                                   "accounts worked by action", counts))  # fmt: skip
    worked = history[history["taken_action"].astype(str).isin(PERSONAL)]
    league = league_table(worked)
    cols = [
        "pool",
        "rank",
        "collector_id",
        "accounts",
        "contact_rate",
        "ptp_rate",
        "kept_rate",
        "cure_rate",
        "expected_cure_rate",
        "cure_rate_vs_expected",
        "amount_recovered",
    ]
    view.tables.append(frame_table("league", "Collector league table 催收员绩效排名",
                                   "risk-adjusted cure rate, ranked within each pool",
                                   league[[c for c in cols if c in league.columns]]))  # fmt: skip
    return view


def models(book: Path, settings: Any) -> BookView:
    """PSI/CSI, KS over application months and alerts (``monitoring.monitor``) of the scorecard
    the settings name (``ui_model``)."""
    from creditfactory.data import Portfolio
    from creditfactory.monitoring import matured_outcomes, monitor
    from creditfactory.scorecard import load

    if settings.ui_model is None:
        return BookView("Models 模型监控", empty=(
            "No model configured: set CREDITFACTORY_UI_MODEL to a scorecard folder "
            "(creditfactory scorecard fit --out DIR). 未配置模型。"))  # fmt: skip
    data = Portfolio.read(book)
    sc = load(settings.ui_model)
    apps = data.observable("applications")
    columns = [str(c) for c in sc.feature_names_in_]
    y = matured_outcomes(data.loans, data.performance, 3, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = monitor(
            sc, apps[columns], apps["applied_at"].dt.strftime("%Y-%m").to_numpy(),
            y.reindex(apps["application_id"]).to_numpy(), baseline_months=3, window=3,
        )  # fmt: skip
    s = report.summary
    view = BookView("Models 模型监控", f"{book} · {settings.ui_model}")
    months = s["month"].astype(str).tolist()
    view.plots.append(_plots.lines(
        "Population stability 稳定性 (PSI, max CSI)", "application month 申请月份", "index 指数",
        months, {"PSI": _floats(s["psi"]), "max CSI": _floats(s["max_csi"])},
        bands=((0.1, "watch 0.1"), (0.25, "act 0.25")),
    ))  # fmt: skip
    view.plots.append(_plots.lines(
        "Rank ordering 区分度 (KS, AUC)", "application month 申请月份", "value 值", months,
        {"KS": _floats(s["ks"]), "AUC": _floats(s["auc"])},
    ))  # fmt: skip
    view.alerts = report.alerts.to_dict("records")
    cols = ["month", "n", "psi", "psi_band", "max_csi", "max_csi_variable", "matured", "bad_rate",
            "predicted", "auc", "ks", "calibration_p_value", "alerts"]  # fmt: skip
    view.tables.append(frame_table("summary", "By month 月度汇总", "stability and performance",
                                   s[[c for c in cols if c in s.columns]]))  # fmt: skip
    if not report.alerts.empty:
        view.tables.append(frame_table("alerts", "Alerts 警报", "by month",
                                       report.alerts))  # fmt: skip
    return view


def _floats(column: pd.Series) -> list[float | None]:
    return [None if x != x else float(x) for x in column.to_numpy(float)]


PAGES: dict[str, Builder] = {"models": models, "portfolio": portfolio, "collections": collections}
TITLES = {"models": "Models 模型监控", "portfolio": "Portfolio 资产组合",
          "collections": "Collections 催收"}  # fmt: skip

_cache: dict[tuple[str, str, float, str], BookView] = {}
_lock = threading.Lock()


def load(book: Path | None, name: str, builder: Builder, settings: Any) -> BookView:
    """The page ``name`` of ``book`` (cached until the folder changes), or its empty state."""
    title = TITLES[name]
    if book is None:
        return BookView(title, empty=(
            "No book configured: set CREDITFACTORY_UI_BOOK to a book directory "
            "(creditfactory simulate --out DIR). 未配置数据目录。"))  # fmt: skip
    if not book.is_dir():
        return BookView(title, empty=f"The configured book {book} is not a directory.")
    stamp = max((p.stat().st_mtime for p in book.iterdir()), default=0.0)
    key = (name, str(book.resolve()), stamp, str(getattr(settings, "ui_model", "")))
    with _lock:
        if key in _cache:
            return _cache[key]
        try:
            view = builder(book, settings)
        except (CreditFactoryError, OSError) as exc:
            return BookView(title, empty=f"Cannot read the book {book}: {exc}")
        for stale in [k for k in _cache if k[0] == name]:  # one result per page at most
            del _cache[stale]
        _cache[key] = view
        return view
