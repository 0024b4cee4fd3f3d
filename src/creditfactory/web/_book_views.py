"""The book-based pages: models (``creditfactory.monitoring``), portfolio
(``creditfactory.servicing``) and collections (``creditfactory.collections``) over the book
directory the settings name (``ui_book``; the models page also needs ``ui_model``).

Each page renders what those packages compute; nothing is recomputed here. A book takes
seconds to analyse (on 100,000 applications: reading its Parquet tables, the portfolio's vintage
curves and roll rates, the collection scores' fit, the monitoring report), so:

- a page's result is kept in memory, keyed on the book's identity (its resolved folder and every
  file's name, size and modification time; the models page also on the scorecard folder's): a
  new or rewritten file, a changed configuration, and the page is analysed again;
- the book is read once per identity and shared by the pages (and the strategies simulation),
  not once per page;
- :func:`prepare` analyses every page in a background thread when the app starts, so that the
  first request finds the result ready (or waits for the one being analysed, never twice).
"""

from __future__ import annotations

import logging
import threading
import time
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
    cpu_seconds: float = 0.0  # what the analysis cost (CPU of the analysing thread's process)


_log = logging.getLogger("creditfactory.web")

Builder = Callable[["Book", Any], BookView]


Identity = tuple[str, tuple[tuple[str, int, int], ...]]


def identity(folder: Path | None) -> Identity | None:
    """A folder's identity: its resolved path and each file's relative name, size and
    modification time (nanoseconds); ``None`` for no folder."""
    if folder is None:
        return None
    root = Path(folder).resolve()
    files = []
    for path in sorted(root.rglob("*")):
        try:
            st = path.stat()
        except OSError:
            continue
        if path.is_file():
            files.append((str(path.relative_to(root)), st.st_size, st.st_mtime_ns))
    return (str(root), tuple(files))


class Book:
    """A book folder whose tables are read at most once (shared by the pages that need them)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._portfolio: Any = None
        self._lock = threading.Lock()
        # held by whoever works on the shared tables (an analysis, the simulation taking its
        # copy): pandas frames are not safe to use from two threads at once
        self.busy = threading.Lock()

    def portfolio(self) -> Any:
        """The book as a ``creditfactory.data.Portfolio`` (read on first use)."""
        from creditfactory.data import Portfolio

        with self._lock:
            if self._portfolio is None:
                self._portfolio = Portfolio.read(self.path)
            return self._portfolio

    def servicing(self) -> Any:
        """The servicing view (``servicing.read_book``: a simulated book from its portfolio,
        read once, real ``loans`` and ``performance`` tables otherwise)."""
        from creditfactory.servicing import book_from_portfolio, read_book

        if (self.path / "portfolio.json").is_file():
            return book_from_portfolio(self.portfolio())
        return read_book(self.path)


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


def portfolio(book: Book, settings: Any) -> BookView:
    """Vintage curves, roll rates and loss of the book (``servicing.analyse_portfolio``)."""
    from creditfactory.servicing import analyse_portfolio, bucket_balances

    serviced = book.servicing()
    result = analyse_portfolio(serviced)
    view = BookView("Portfolio 资产组合", str(book.path))
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


def collections(book: Book, settings: Any) -> BookView:
    """Worked accounts by action and the collector league table
    (``collections.scored_history`` and ``league_table``)."""
    from creditfactory.collections import PERSONAL, league_table, scored_history

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the collection scores' solver notes
        history = scored_history(book.portfolio())
    view = BookView("Collections 催收", str(book.path))
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


def models(book: Book, settings: Any) -> BookView:
    """PSI/CSI, KS over application months and alerts (``monitoring.monitor``) of the scorecard
    the settings name (``ui_model``)."""
    from creditfactory.monitoring import matured_outcomes, monitor
    from creditfactory.scorecard import load

    if settings.ui_model is None:
        return BookView("Models 模型监控", empty=(
            "No model configured: set CREDITFACTORY_UI_MODEL to a scorecard folder "
            "(creditfactory scorecard fit --out DIR). 未配置模型。"))  # fmt: skip
    data = book.portfolio()
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
    view = BookView("Models 模型监控", f"{book.path} · {settings.ui_model}")
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

Key = tuple[Identity | None, Identity | None]

_views: dict[str, tuple[Key, BookView]] = {}  # page -> (the book's and model's identity, view)
_locks = {name: threading.Lock() for name in PAGES}  # one analysis of a page at a time
_shared_lock = threading.Lock()
_shared: tuple[Identity | None, Book] | None = None  # the book read last, for every page


def shared_book(path: Path, ident: Identity | None = None) -> Book:
    """The :class:`Book` of ``path`` at its current identity (its tables read once)."""
    global _shared
    ident = ident if ident is not None else identity(path)
    with _shared_lock:
        if _shared is None or _shared[0] != ident:
            _shared = (ident, Book(path))
        return _shared[1]


def _empty(book: Path | None, name: str) -> BookView | None:
    title = TITLES[name]
    if book is None:
        return BookView(title, empty=(
            "No book configured: set CREDITFACTORY_UI_BOOK to a book directory "
            "(creditfactory simulate --out DIR). 未配置数据目录。"))  # fmt: skip
    if not book.is_dir():
        return BookView(title, empty=f"The configured book {book} is not a directory.")
    return None


def load(book: Path | None, name: str, builder: Builder, settings: Any) -> BookView:
    """The page ``name`` of ``book`` (kept until the book's or the model's identity changes),
    or its empty state."""
    empty = _empty(book, name)
    if empty is not None or book is None:
        return empty or BookView(TITLES[name])
    ident = identity(book)
    model = getattr(settings, "ui_model", None) if name == "models" else None
    key: Key = (ident, identity(Path(model)) if model is not None else None)
    with _locks[name]:
        cached = _views.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        started = time.process_time()
        try:
            shared = shared_book(book, ident)
            with shared.busy:
                view = builder(shared, settings)
        except (CreditFactoryError, OSError) as exc:
            return BookView(TITLES[name], empty=f"Cannot read the book {book}: {exc}")
        view.cpu_seconds = time.process_time() - started
        _views[name] = (key, view)  # one result per page at most
        return view


def prepare(settings: Any) -> threading.Thread | None:
    """Analyse every book page in a background thread (the app calls it when it starts):
    the first request of a page then finds its result ready, or waits for the analysis under
    way. ``None`` when no book is configured."""
    book = getattr(settings, "ui_book", None)
    if book is None or not Path(book).is_dir():
        return None

    def work() -> None:
        for name, builder in PAGES.items():
            try:
                load(Path(book), name, builder, settings)
            except Exception:  # the page's own request analyses again and shows the error
                _log.warning("the %s page of %s could not be prepared", name, book,
                             exc_info=True)  # fmt: skip

    thread = threading.Thread(target=work, name="creditfactory-ui-prepare", daemon=True)
    thread.start()
    return thread
