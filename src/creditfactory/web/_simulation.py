"""The strategies page's simulation: an uploaded candidate strategy against the active one, on
the dashboard's book (``ui_book``), with the back-test ``creditfactory strategy simulate`` runs
(:meth:`creditfactory.decision.Strategy.simulate`; nothing is recomputed here).

Why the book and not the store's applications: approval rates and swap sets need only
decisions, but bad rates and profit need outcomes, and the service's store has outcomes only
for the few loans it disbursed itself, none matured. The book (a simulated twin, or a lender's
history in the same layout) has every application's outcome: true figures for every
application and observed ones for the loans the incumbent booked, as the command line shows.

The upload is text the caller wrote: it is compiled with the registered models and may read no
file (``file:`` lists and ``path:`` models are refused before the disk is touched, like an upload
to ``POST /v1/strategies``); it is never stored. The active version is compiled as the service
compiles it. Limits: at most :data:`MAX_SOURCE_BYTES` of YAML, the latest
:data:`MAX_ROWS` applications of the book, one simulation at a time per process.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from creditfactory.exceptions import CreditFactoryError
from creditfactory.web import _book_views, _plots

MAX_SOURCE_BYTES = 256 * 1024  # the largest strategy YAML accepted
MAX_BODY_BYTES = 4 * MAX_SOURCE_BYTES  # the form, URL-encoded (a byte may take 3)
MAX_ROWS = 100_000  # the latest applications of the book simulated at most

_busy = threading.Lock()  # one simulation at a time per process


class SimulationRefusedError(Exception):
    """An upload the page cannot simulate; ``status`` is the HTTP status, the text says why."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Comparison:
    """What the page shows: totals of both strategies, the swap sets and a chart."""

    candidate: str
    active: str
    applications: int
    book_applications: int
    totals: list[dict[str, Any]] = field(default_factory=list)  # candidate first, then active
    swap: list[dict[str, Any]] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)


def source_of(raw: str) -> str:
    """The uploaded YAML, checked for size and content before any parsing."""
    if not raw.strip():
        raise SimulationRefusedError("source: paste a strategy's YAML (the field is empty)")
    size = len(raw.encode("utf-8"))
    if size > MAX_SOURCE_BYTES:
        raise SimulationRefusedError(
            f"source: {size:,} bytes, at most {MAX_SOURCE_BYTES:,}", status=413
        )
    if "\x00" in raw:
        raise SimulationRefusedError("source: not YAML text (it holds NUL bytes: a binary file?)")
    return raw


def _population(book: Path) -> tuple[Any, int]:
    """The book's latest :data:`MAX_ROWS` applications with their outcomes and the incumbent's
    decisions (the same attributes a ``Portfolio`` gives the back-test), and the book's size."""
    shared = _book_views.shared_book(book)  # read once, shared with the book pages
    with shared.busy:  # copies: the simulation runs while other pages may use the book
        pf = shared.portfolio()
        apps = pf.applications
        total = len(apps)
        if total > MAX_ROWS:
            apps = apps.sort_values("applied_at", kind="stable").tail(MAX_ROWS)
        incumbent = getattr(pf, "incumbent_decisions", None)
        history = SimpleNamespace(
            applications=apps.copy(),
            truth=pf.truth.copy(),
            incumbent_decisions=None if incumbent is None else incumbent.copy(),
        )
    return history, total


def _lacking(strategy: Any, columns: set[str]) -> list[str]:
    provided = set(getattr(strategy, "provided_inputs", {}))
    return [i.name for i in strategy.inputs if i.name not in columns and i.name not in provided]


def compare(session: Session, source: str, book: Path | None, max_bytes: int) -> Comparison:
    """Simulate ``source`` against the active strategy on ``book``.

    Raises
    ------
    SimulationRefusedError
        Naming why: no book or no active strategy, a YAML or strategy error (with its line),
        inputs the book lacks, another simulation running.
    """
    from creditfactory.store import active_strategy, compile_source

    if book is None or not book.is_dir():
        raise SimulationRefusedError(
            "No book configured: set CREDITFACTORY_UI_BOOK to a book directory (creditfactory "
            "simulate --out DIR); the simulation runs on its applications. 未配置数据目录。",
            status=409,
        )
    row = active_strategy(session)
    if row is None:
        raise SimulationRefusedError("No strategy is active: nothing to compare with.", status=409)
    try:
        candidate = compile_source(session, source)  # no base folder: reads no file
    except CreditFactoryError as exc:
        raise SimulationRefusedError(f"the candidate: {_located(str(exc))}") from None
    try:
        active = compile_source(session, row.source, row.base_dir, max_bytes=max_bytes)
    except CreditFactoryError as exc:
        raise SimulationRefusedError(
            f"the active version #{row.id} no longer compiles: {exc}", status=409
        ) from None
    if not _busy.acquire(blocking=False):
        raise SimulationRefusedError(
            "Another simulation is running: try again in a moment. 另一模拟正在运行。", status=429
        )
    try:
        return _run(candidate, active, f"{row.name} {row.version}", book)
    finally:
        _busy.release()


def _located(message: str) -> str:
    """A strategy error about the upload: ``<string>:12: ...`` reads ``line 12: ...``."""
    if message.startswith("<string>:"):
        rest = message.removeprefix("<string>:")
        head, _, tail = rest.partition(":")
        return f"line {head}:{tail}" if head.strip().isdigit() else rest.lstrip(" :")
    return message


def _run(candidate: Any, active: Any, active_label: str, book: Path) -> Comparison:
    try:
        history, total = _population(book)
    except (CreditFactoryError, OSError) as exc:
        raise SimulationRefusedError(f"Cannot read the book {book}: {exc}", status=409) from None
    columns = {str(c) for c in history.applications.columns}
    for who, strategy in (("the candidate", candidate), (f"the active {active_label}", active)):
        missing = _lacking(strategy, columns)
        if missing:
            raise SimulationRefusedError(
                f"{who} needs inputs the book's applications do not have: "
                f"{', '.join(sorted(missing))}"
            )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = candidate.simulate(history, against=active, segment="channel")
    except CreditFactoryError as exc:
        raise SimulationRefusedError(f"the simulation stopped: {exc}") from None
    totals = report.summary.filter(pl.col("segment") == "total").to_dicts()
    labels = [f"candidate {candidate.name} {candidate.version}", f"active {active_label}"]
    for label, t in zip(labels, totals, strict=True):
        t["label"] = label
    swap = [] if report.swap is None else report.swap.to_dicts()
    out = Comparison(labels[0], labels[1], len(history.applications), total, totals, swap)
    out.plots.append(_plots.grouped(
        "Approval and bad rates 批准率与坏账率", "strategy 策略", "rate 比率", labels,
        {"approval rate 批准率": [t["approval_rate"] for t in totals],
         "bad rate (true) 坏账率(真实)": [t["bad_rate_true"] for t in totals],
         "bad rate (observed) 坏账率(观测)": [t["bad_rate_observed"] for t in totals]},
        percent=True,
    ))  # fmt: skip
    out.plots.append(_plots.grouped(
        "Profit and loss 利润与损失 (CNY)", "strategy 策略", "CNY 元", labels,
        {"profit 利润": [t["profit"] for t in totals],
         "realised loss 实际损失": [t["realised_loss"] for t in totals]},
    ))  # fmt: skip
    return out
