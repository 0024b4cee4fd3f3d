"""Presentation helpers shared by the CLI commands: one console, one way to fail, one way to
write a table (Parquet, CSV or Excel, chosen by the name given to ``--out``)."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, NoReturn

import pandas as pd
import typer
from rich.console import Console

# wide enough for the summary tables when the output is a file or a CI log, not a terminal
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True)

EXCEL_MAX_ROWS = 1_048_576  # rows of an .xlsx sheet, header included
OUTPUT_KINDS = {".parquet": "parquet", ".csv": "csv", ".xlsx": "xlsx"}


#: ``--lang``: the language of a command's report, column headers and reason texts; the option,
#: else ``CREDITFACTORY_LANG``, else English (resolved with :func:`cli_lang`)
LangOption = Annotated[
    str,
    typer.Option(
        "--lang",
        envvar="CREDITFACTORY_LANG",
        help="Language of the report, the column headers of .xlsx/.csv outputs and reason "
        "texts: en or zh-CN (default: CREDITFACTORY_LANG, else en).",
    ),
]


def cli_lang(value: str) -> str:
    """``en`` or ``zh-CN`` from ``--lang`` (or ``CREDITFACTORY_LANG``); anything else fails
    naming the option and the accepted values."""
    from creditfactory._html import LANGS, match_lang

    found = match_lang(value)
    if found is None:
        fail(
            f"--lang (or CREDITFACTORY_LANG): {value!r} is not supported; use one of "
            + ", ".join(LANGS)
        )
    return found


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a clear error (no stack trace) and exit with a non-zero status."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def output_kind(path: Path, option: str = "--out", kinds: tuple[str, ...] = ()) -> str:
    """``parquet``, ``csv`` or ``xlsx`` from the file name; anything else fails naming
    ``option``."""
    allowed = {s: k for s, k in OUTPUT_KINDS.items() if not kinds or k in kinds}
    kind = allowed.get(path.suffix.lower())
    if kind is None:
        names = sorted(allowed)
        listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
        fail(f"{option}: {path.name} must end in {listed}")
    return kind


def _for_excel(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones and no nested values: drop the zone (keeping the wall time) and
    write lists and dicts as text."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[col] = series.dt.tz_localize(None)
        elif series.dtype == object and series.map(lambda v: isinstance(v, list | dict)).any():
            out[col] = series.map(lambda v: str(v) if isinstance(v, list | dict) else v)
    return out


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "sheet"
    candidate, k = base, 2
    while candidate.lower() in used:
        suffix = f"_{k}"
        candidate, k = base[: 31 - len(suffix)] + suffix, k + 1
    used.add(candidate.lower())
    return candidate


def write_tables(
    tables: Mapping[str, Any],
    path: Path,
    option: str = "--out",
    index: bool = False,
    lang: str = "en",
) -> None:
    """Write one or more tables (pandas or Polars) to ``path``: an ``.xlsx`` workbook with one
    sheet a table, or for one table a ``.csv`` (UTF-8 with a byte-order mark, so that Excel
    shows Chinese text) or ``.parquet`` file. Errors name ``option`` and the reason.

    With ``lang="zh-CN"`` the column headers of a workbook or CSV file are Chinese (the
    reports' translation table, :mod:`creditfactory._html`); Parquet files, read by programs,
    keep the column names."""
    from creditfactory._html import translate_columns

    kind = output_kind(path, option)
    frames = {
        name: (t.to_pandas() if hasattr(t, "to_pandas") else pd.DataFrame(t))
        for name, t in tables.items()
    }
    if kind in ("xlsx", "csv"):
        frames = {name: translate_columns(f, lang) for name, f in frames.items()}
    if kind != "xlsx" and len(frames) != 1:
        fail(f"{option}: {len(frames)} tables need an .xlsx workbook, not {path.name}")
    try:
        if kind == "xlsx":
            too_long = [n for n, f in frames.items() if len(f) >= EXCEL_MAX_ROWS]
            if too_long:
                fail(
                    f"{option}: table '{too_long[0]}' has {len(frames[too_long[0]]):,} rows, more "
                    f"than an Excel sheet holds ({EXCEL_MAX_ROWS - 1:,}); write .csv or .parquet"
                )
            used: set[str] = set()
            with pd.ExcelWriter(path, engine="openpyxl") as writer:
                for name, frame in frames.items():
                    _for_excel(frame).to_excel(
                        writer, sheet_name=_sheet_name(name, used), index=index
                    )
        else:
            (frame,) = frames.values()
            if kind == "csv":
                frame.to_csv(path, index=index, encoding="utf-8-sig")
            else:
                frame.to_parquet(path, index=index)
    except OSError as exc:
        fail(f"{option}: cannot write {path}: {exc.strerror or exc}")
