"""``creditfactory scorecard``: fit a scorecard with its validation report, score a file."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from creditfactory.cli._common import (
    LangOption,
    cli_lang,
    console,
    fail,
    output_kind,
    write_tables,
)
from creditfactory.exceptions import ConfigError, CreditFactoryError

app = typer.Typer(
    name="scorecard",
    help="Build and apply credit scorecards (binning, WOE, selection, points, reports).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_RUN_KEYS = {
    "test_size", "random_state", "exclude", "challenger", "title", "date_column", "oot_share",
}  # fmt: skip
_READERS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def _read_table(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    if not path.exists():
        fail(f"--data: file {path} does not exist")
    suffixes = [s.lower() for s in path.suffixes]
    kind = _READERS.get(
        suffixes[-2]
        if suffixes[-1:] == [".gz"] and len(suffixes) > 1
        else (suffixes[-1] if suffixes else "")
    )
    if kind is None:
        fail(f"--data: {path.name} is not a .csv, .tsv or .parquet file")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(
            path, sep="\t" if kind == "tsv" else ",", low_memory=False, encoding=encoding
        )
    except UnicodeDecodeError as exc:
        hint = " (files from Chinese systems are often GBK: try --encoding gbk)"
        fail(
            f"--data: {path} is not {encoding} text: byte {exc.object[exc.start : exc.start + 1]!r}"
            f" at offset {exc.start}{hint if encoding.lower().replace('-', '') == 'utf8' else ''}"
        )
    except LookupError:
        fail(f"--encoding: unknown encoding {encoding!r} (try utf-8 or gbk)")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        fail(f"--data: cannot read {path}: {exc}")


_DATA_TYPES = {"bool": "bool", "int": "int", "float": "float", "str": "string"}


def _read_scoring_table(path: Path, sc: Any, encoding: str = "utf-8") -> pd.DataFrame:
    """The table to score, each characteristic read as the type the scorecard was fitted on.

    An empty cell is missing; any other text that is not a value of the column's type (``n/a``
    in a numeric column) is an error naming the column and the line, never a missing value.
    """
    from creditfactory.data import Column, Schema, read_table
    from creditfactory.scorecard import input_schema_of

    schema = input_schema_of(sc)
    columns = [Column(f, _DATA_TYPES[schema[f]["type"]]) for f in sc.selected_features_]  # type: ignore[arg-type]
    sep = "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else None
    try:
        return read_table(path, Schema(columns, extra="keep"), sep=sep, encoding=encoding)
    except CreditFactoryError as exc:
        fail(f"--data: {exc}")


def _text_target(column: pd.Series, target: str, bad_value: str) -> np.ndarray:
    """A two-valued target column as 0/1: ``bad_value`` is 1, the one other value is 0."""
    missing = np.flatnonzero(column.isna().to_numpy())
    if missing.size:
        fail(
            f"--target: column '{target}' is empty on {missing.size:,} rows (first: data row "
            f"{missing[0] + 1}); every row needs an outcome"
        )
    text = column.astype(str).str.strip()
    values = sorted(text.unique())
    if bad_value not in values:
        fail(f"--bad-value: '{bad_value}' is not a value of column '{target}' ({values[:10]})")
    if len(values) != 2:
        fail(
            f"--target: column '{target}' has {len(values)} values {values[:10]}; --bad-value "
            "needs exactly two (the bad one and the good one): filter the other rows out first"
        )
    return (text == bad_value).to_numpy().astype(np.int8)


def _binning_tables(sc: Any) -> dict[str, pd.DataFrame]:
    """The fitted binning tables: a summary sheet, then one sheet a characteristic."""
    selected = set(sc.selected_features_)
    summary = pd.DataFrame(
        [
            {"characteristic": name, "iv": t.iv, "selected": name in selected}
            for name, t in sc.binning_tables_.items()
        ]
    ).sort_values("iv", ascending=False)
    tables = {"summary": summary}
    for name in summary["characteristic"]:
        tables[name] = sc.binning_tables_[name].to_frame()
    return tables


def _write_binning(sc: Any, out: Path, lang: str = "en") -> None:
    tables = _binning_tables(sc)
    write_tables(tables, out / "binning.xlsx", lang=lang)
    long = pd.concat(
        [f.assign(characteristic=n) for n, f in tables.items() if n != "summary"],
        ignore_index=True,
    )
    long = long[["characteristic", *long.columns[:-1]]]
    write_tables({"binning": long}, out / "binning.csv", lang=lang)


def _read_config(path: Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Scorecard parameters and run options from a YAML file; unknown keys are errors."""
    from creditfactory.scorecard import Scorecard

    if path is None:
        return {}, {}
    if not path.exists():
        fail(f"--config: file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        fail(f"--config: {path} is not valid YAML: {exc}")
    if not isinstance(raw, dict):
        fail(f"--config: {path} must hold a mapping of settings")
    allowed = set(Scorecard().get_params())
    unknown = sorted(set(raw) - allowed - _RUN_KEYS)
    if unknown:
        fail(f"--config: unknown setting '{unknown[0]}' in {path}")
    params = {k: v for k, v in raw.items() if k in allowed}
    run = {k: v for k, v in raw.items() if k in _RUN_KEYS}
    return params, run


def _split(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    if not 0 <= test_size < 1:
        raise ConfigError(f"test_size: must lie in [0, 1), got {test_size}")
    idx = np.arange(y.size)
    if test_size == 0:
        return idx, idx[:0]
    return train_test_split(idx, test_size=test_size, random_state=seed, stratify=y)


@app.command("fit")
def fit(
    data: Annotated[Path, typer.Option("--data", help="Training table (.csv, .tsv, .parquet).")],
    target: Annotated[str, typer.Option("--target", help="Target column, 0/1 with 1 = bad.")],
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the artefact, report and binning tables.")
    ],
    bad_value: Annotated[
        str | None,
        typer.Option("--bad-value", help="For a text target: the value meaning bad (1)."),
    ] = None,
    encoding: Annotated[
        str, typer.Option("--encoding", help="Text encoding of a CSV (e.g. gbk).")
    ] = "utf-8",
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML with Scorecard parameters.")
    ] = None,
    test_size: Annotated[float, typer.Option(help="Hold-out share for the report.")] = 0.3,
    seed: Annotated[int, typer.Option(help="Random seed of the train/test split.")] = 0,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Column to leave out (repeatable).")
    ] = None,
    challenger: Annotated[
        bool, typer.Option("--challenger", help="Also fit a LightGBM challenger and compare.")
    ] = False,
    date_column: Annotated[
        str | None,
        typer.Option(
            "--date-column",
            help="Application date: the latest months become an out-of-time sample.",
        ),
    ] = None,
    oot_share: Annotated[
        float, typer.Option(help="Share of rows (latest whole months) held out of time.")
    ] = 0.2,
    lang: LangOption = "en",
) -> None:
    """Fit a scorecard, save its artefact and write an offline HTML validation report."""
    from creditfactory.scorecard import Scorecard, auc, build_report, check_target, ks

    lang = cli_lang(lang)
    params, run = _read_config(config)
    frame = _read_table(data, encoding)
    if target not in frame.columns:
        fail(f"--target: column '{target}' is not in {data.name}")
    date_col = date_column or run.get("date_column")
    if date_col and date_col not in frame.columns:
        fail(f"--date-column: column '{date_col}' is not in {data.name}")
    drop = [target, *(exclude or []), *run.get("exclude", []), *([date_col] if date_col else [])]
    missing = [c for c in drop if c not in frame.columns]
    if missing:
        fail(f"--exclude: column '{missing[0]}' is not in {data.name}")
    try:
        if bad_value is None:
            column = frame[target]
            if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
                seen = sorted(column.dropna().astype(str).unique())[:5]
                fail(
                    f"--target: column '{target}' holds text ({', '.join(seen)} ...); it must be "
                    "0/1 with 1 = bad, or name the value that means bad with --bad-value"
                )
            y_all = check_target(column.to_numpy(), len(frame))
        else:
            y_all = _text_target(frame[target], target, bad_value)
        oot = np.zeros(len(frame), dtype=bool)
        if date_col:
            from creditfactory.scorecard import time_split

            oot = time_split(frame[date_col], float(run.get("oot_share", oot_share)))
        in_time = np.flatnonzero(~oot)
        tr, te = _split(
            y_all[in_time],
            float(run.get("test_size", test_size)),
            int(run.get("random_state", seed)),
        )
        tr, te = in_time[tr], in_time[te]
        oot_rows = np.flatnonzero(oot)
        X = frame.drop(columns=drop)
        status = console.status(f"fitting on {len(tr):,} rows x {X.shape[1]} columns")
        with status, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sc = Scorecard(**params).fit(X.iloc[tr], y_all[tr])
        for w in caught:
            console.print(f"[yellow]warning:[/] {w.message}")
        out.mkdir(parents=True, exist_ok=True)
        sc.save(out)
        _write_binning(sc, out, lang)
        has_test = te.size > 0
        others = {}
        if challenger or run.get("challenger", False):
            from creditfactory.models import GBMChallenger

            with console.status("fitting the LightGBM challenger"):
                special = params.get("special_codes")
                gbm = GBMChallenger(special_codes=special).fit(X.iloc[tr], y_all[tr])
                gbm.save(str(out / "challenger"))
            ev = te if has_test else tr
            others["lightgbm challenger"] = gbm.predict_proba(X.iloc[ev])[:, 1]
        with console.status("writing the report"):
            html = build_report(
                sc,
                X.iloc[tr],
                y_all[tr],
                X.iloc[te] if has_test else None,
                y_all[te] if has_test else None,
                X_oot=X.iloc[oot_rows] if oot_rows.size else None,
                y_oot=y_all[oot_rows] if oot_rows.size else None,
                challengers=others,
                title=run.get("title"),
                data_name=data.name,
                lang=lang,
            )
            (out / "report.html").write_text(html, encoding="utf-8")
    except (CreditFactoryError, TypeError) as exc:
        fail(str(exc))
    table = Table(title=f"scorecard saved to {out}")
    table.add_column("set")
    table.add_column("rows", justify="right")
    table.add_column("AUC", justify="right")
    table.add_column("KS", justify="right")
    for name, idx in (("train", tr), ("test", te), ("out-of-time", oot_rows)):
        if idx.size:
            p = sc.predict_proba(X.iloc[idx])[:, 1]
            table.add_row(
                name, f"{idx.size:,}", f"{auc(y_all[idx], p):.4f}", f"{ks(y_all[idx], p):.4f}"
            )
    console.print(table)
    console.print(
        f"{len(sc.selected_features_)} characteristics: " + ", ".join(sc.selected_features_)
    )
    console.print(
        f"artefact: {out / 'scorecard.json'}   report: {out / 'report.html'}   "
        f"binning tables: {out / 'binning.xlsx'}, {out / 'binning.csv'}"
    )


@app.command("score")
def score(
    model: Annotated[Path, typer.Option("--model", help="Directory of a saved scorecard.")],
    data: Annotated[Path, typer.Option("--data", help="Table to score (.csv, .tsv, .parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Output file (.parquet, .csv or .xlsx).")],
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Column copied to the output.")
    ] = None,
    reasons: Annotated[int, typer.Option(help="Reason codes per row (0 for none).")] = 0,
    chunk_size: Annotated[int, typer.Option(help="Rows per chunk.")] = 100_000,
    encoding: Annotated[
        str, typer.Option("--encoding", help="Text encoding of a CSV (e.g. gbk).")
    ] = "utf-8",
    lang: LangOption = "en",
) -> None:
    """Score a table with a saved scorecard: points, P(bad) and optional reason codes, each
    row's reasons also as texts (``reason_texts``) in ``--lang``."""
    from creditfactory.decision import PointsModel, ReasonCatalogue, reason_texts_column
    from creditfactory.scorecard import load, to_scoring_spec

    lang = cli_lang(lang)
    output_kind(out)
    if chunk_size < 1 or reasons < 0:
        fail("--chunk-size must be positive and --reasons non-negative")
    try:
        sc = load(model)
    except CreditFactoryError as exc:
        fail(f"--model: {exc}")
    frame = _read_scoring_table(data, sc, encoding)
    if id_column is not None and id_column not in frame.columns:
        fail(f"--id-column: column '{id_column}' is not in {data.name}")
    catalogue = None
    if reasons:  # the texts say what each reason cost, as the strategy's explanations do
        catalogue = ReasonCatalogue.of_model(
            PointsModel("scorecard", "1", to_scoring_spec(sc)), sc.reason_texts
        )
    parts = []
    columns = [TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    try:
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("score", total=len(frame))
            for start in range(0, len(frame), chunk_size):
                chunk = frame.iloc[start : start + chunk_size]
                part = pd.DataFrame(index=chunk.index)
                if id_column is not None:
                    part[id_column] = chunk[id_column]
                part["score"] = sc.predict_points(chunk)
                part["p_bad"] = sc.predict_proba(chunk)[:, 1]
                if reasons:
                    rc = sc.reason_codes(chunk, n=reasons)
                    for k in range(1, reasons + 1):
                        sel = rc[rc["rank"] == k].set_index("row")["code"]
                        part[f"reason_{k}"] = pd.Series(sel).reindex(range(len(chunk))).to_numpy()
                    assert catalogue is not None
                    part["reason_texts"] = _reason_texts(
                        catalogue, rc, chunk[sc.selected_features_], lang, reason_texts_column
                    )
                parts.append(part)
                bar.advance(task, len(chunk))
    except CreditFactoryError as exc:
        fail(str(exc))
    result = pd.concat(parts) if parts else pd.DataFrame(columns=["score", "p_bad"])
    write_tables({"scores": result}, out, lang=lang)
    console.print(f"scored {len(result):,} rows -> {out}")


def _reason_texts(
    catalogue: Any, rc: pd.DataFrame, chunk: pd.DataFrame, lang: str, column: Any
) -> list[str]:
    """Each row's reasons as one text in ``lang`` ("Credit inquiries in the last 3 months: 7
    (−12 points); ..."), from the long reason-code frame ``rc``."""
    codes: list[list[str]] = [[] for _ in range(len(chunk))]
    for row, code in zip(rc["row"].to_numpy(), rc["code"].to_numpy(), strict=True):
        codes[int(row)].append(str(code))
    apps: list[dict[str, Any] | None] = [None] * len(chunk)
    rows = [i for i, c in enumerate(codes) if c]
    if rows:
        picked = chunk.iloc[rows].astype(object).to_dict("records")
        for i, app in zip(rows, picked, strict=True):
            # nullable columns hold pd.NA: missing, as the scorecard scores it
            apps[i] = {k: None if v is pd.NA else v for k, v in app.items()}
    sep = "；" if lang == "zh-CN" else "; "
    return [sep.join(texts) for texts in column(catalogue, codes, apps, lang)]


# interactive bin adjustment lives in its own module; registered here with the group
from creditfactory.cli._scorecard_adjust import make_adjust  # noqa: E402

app.command("adjust")(make_adjust(_read_table))
