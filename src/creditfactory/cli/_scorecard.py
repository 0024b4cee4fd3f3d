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

from creditfactory.cli._common import console, fail
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


def _read_table(path: Path) -> pd.DataFrame:
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
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",", low_memory=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        fail(f"--data: cannot read {path}: {exc}")


_DATA_TYPES = {"bool": "bool", "int": "int", "float": "float", "str": "string"}


def _read_scoring_table(path: Path, sc: Any) -> pd.DataFrame:
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
        return read_table(path, Schema(columns, extra="keep"), sep=sep)
    except CreditFactoryError as exc:
        fail(f"--data: {exc}")


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
    out: Annotated[Path, typer.Option("--out", help="Directory for the artefact and report.")],
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
) -> None:
    """Fit a scorecard, save its artefact and write an offline HTML validation report."""
    from creditfactory.scorecard import Scorecard, auc, build_report, check_target, ks

    params, run = _read_config(config)
    frame = _read_table(data)
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
        y_all = frame[target].to_numpy()
        y_all = check_target(y_all, len(frame))
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
                title=run.get("title", "Scorecard validation report"),
                data_name=data.name,
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
    console.print(f"artefact: {out / 'scorecard.json'}   report: {out / 'report.html'}")


@app.command("score")
def score(
    model: Annotated[Path, typer.Option("--model", help="Directory of a saved scorecard.")],
    data: Annotated[Path, typer.Option("--data", help="Table to score (.csv, .tsv, .parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Output file (.csv or .parquet).")],
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Column copied to the output.")
    ] = None,
    reasons: Annotated[int, typer.Option(help="Reason codes per row (0 for none).")] = 0,
    chunk_size: Annotated[int, typer.Option(help="Rows per chunk.")] = 100_000,
) -> None:
    """Score a table with a saved scorecard: points, P(bad) and optional reason codes."""
    from creditfactory.scorecard import load

    if out.suffix.lower() not in {".csv", ".parquet"}:
        fail(f"--out: {out.name} must end in .csv or .parquet")
    if chunk_size < 1 or reasons < 0:
        fail("--chunk-size must be positive and --reasons non-negative")
    try:
        sc = load(model)
    except CreditFactoryError as exc:
        fail(f"--model: {exc}")
    frame = _read_scoring_table(data, sc)
    if id_column is not None and id_column not in frame.columns:
        fail(f"--id-column: column '{id_column}' is not in {data.name}")
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
                parts.append(part)
                bar.advance(task, len(chunk))
    except CreditFactoryError as exc:
        fail(str(exc))
    result = pd.concat(parts) if parts else pd.DataFrame(columns=["score", "p_bad"])
    try:
        if out.suffix.lower() == ".parquet":
            result.to_parquet(out, index=False)
        else:
            result.to_csv(out, index=False)
    except OSError as exc:
        fail(f"--out: cannot write {out}: {exc}")
    console.print(f"scored {len(result):,} rows -> {out}")


# interactive bin adjustment lives in its own module; registered here with the group
from creditfactory.cli._scorecard_adjust import make_adjust  # noqa: E402

app.command("adjust")(make_adjust(_read_table))
