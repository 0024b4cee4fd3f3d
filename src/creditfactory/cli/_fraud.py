"""``creditfactory fraud scan``: fraud features of a book's applications, to Parquet."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from creditfactory.cli._common import console, fail
from creditfactory.exceptions import CreditFactoryError
from creditfactory.fraud import (
    CHECKED_FIELDS,
    FLAG_THRESHOLD,
    OCR_REASONS,
    FraudMeasures,
    cross_check,
    decode_card_image,
    evaluate,
    fraud_features,
    ocr_engine,
    read_id_card,
)

app = typer.Typer(help="Anti-fraud: identity, velocity and ring features (反欺诈).")


def _read(path: Path, what: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types
        fail(f"--book: {what} {path} is not a readable Parquet file ({exc})")


@app.command("scan")
def scan(
    book: Annotated[Path, typer.Option("--book", help="Book directory with applications.parquet.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.")],
    point_in_time: Annotated[
        bool,
        typer.Option(
            "--point-in-time/--no-point-in-time",
            help="Only what was known at each application (default) or the whole history.",
        ),
    ] = True,
) -> None:
    """Compute every fraud feature of a book's applications and write them to Parquet; on a
    simulated book, also measure the flags against the truth."""
    apps_path = book / "applications.parquet"
    if not apps_path.is_file():
        fail(f"--book: {book} has no applications.parquet")
    if out.exists() and out.is_dir():
        fail(f"--out: {out} is a directory; give a file name such as fraud.parquet")
    applications = _read(apps_path, "applications")
    columns = (TextColumn("{task.description:<12}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("fraud scan", total=1.0)

        def report(step: str, done: float) -> None:
            bar.update(task, completed=done, description=step)

        try:
            features = fraud_features(applications, point_in_time=point_in_time, progress=report)
        except CreditFactoryError as exc:
            fail(str(exc))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        features.to_parquet(out, index=False)
    except OSError as exc:
        fail(f"--out: cannot write {out}: {exc.strerror or exc}")
    _summary(features, point_in_time)
    truth_path = book / "truth.parquet"
    if truth_path.is_file():
        try:
            measures = evaluate(features, _read(truth_path, "truth"))
        except CreditFactoryError as exc:
            fail(str(exc))
        _measures(measures)
    console.print(f"[green]wrote[/] {out} ({len(features):,} rows, {features.shape[1]} columns)")


IMAGE_FILE_MAX_BYTES = 50 << 20  # a phone photo is a few MB; the pixels are checked as well


def _application(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    source = text
    if not text.lstrip().startswith(("{", "[")):
        path = Path(text)
        if not path.is_file():
            fail(f"--application: no file at {text} (give a JSON file or a JSON object)")
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--application: cannot read {text}: {exc}")
    try:
        value = json.loads(source)
    except ValueError as exc:
        fail(f"--application: not JSON ({exc})")
    if not isinstance(value, dict):
        fail("--application: must be a JSON object (the application's fields)")
    return value


@app.command("read-id")
def read_id(
    image: Annotated[Path, typer.Option("--image", help="The card's front: a PNG or JPEG file.")],
    application: Annotated[
        str | None,
        typer.Option(
            "--application",
            help="The application to cross-check with: a JSON file or a JSON object "
            "(id_number, name, gender, address).",
        ),
    ] = None,
) -> None:
    """Read the front of a resident ID card (RapidOCR, the optional extra 'ocr') and print its
    fields and their cross-check with the application (and with the card itself)."""
    declared = _application(application)
    if not image.is_file():
        fail(f"--image: no file at {image}")
    if image.stat().st_size > IMAGE_FILE_MAX_BYTES:
        fail(f"--image: {image} is larger than {IMAGE_FILE_MAX_BYTES:,} bytes")
    try:
        pixels = decode_card_image(image.read_bytes())
        with console.status("reading the card (the OCR models load in a few seconds)"):
            card = read_id_card(pixels, engine=ocr_engine())
    except CreditFactoryError as exc:
        text = str(exc)
        fail(f"--image: {text.removeprefix('image: ')}" if text.startswith("image:") else text)
    result = cross_check(card, declared)
    table = Table(title="ID card · 身份证")
    table.add_column("field")
    table.add_column("read")
    table.add_column("against the application", justify="right")
    for field in CHECKED_FIELDS:
        table.add_row(field, str(result[field] or "-"), result["fields"][field])
    console.print(table)
    conf = result["confidence"]
    console.print(f"OCR confidence: {'-' if conf is None else f'{conf:.2f}'}")
    if result["ok"]:
        console.print("[green]cross-check: no problem[/]")
    for code in result["problems"]:
        console.print(f"[red]{code}[/] {OCR_REASONS[code]}")


def _summary(features: pd.DataFrame, point_in_time: bool) -> None:
    n = len(features)
    flagged = int(features["fraud_flag"].sum())
    mode = "point in time" if point_in_time else "retro (whole history)"
    table = Table(title=f"Fraud scan · 反欺诈扫描 ({mode})", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("applications · 申请", f"{n:,}")
    table.add_row(
        f"flagged · 命中 (points >= {FLAG_THRESHOLD})",
        f"{flagged:,} ({100 * flagged / max(n, 1):.2f}%)",
    )
    table.add_row("invalid ID numbers · 身份证无效", f"{int((~features['id_valid']).sum()):,}")
    groups = features.loc[features["ring_size"] >= 3, "ring_group"].nunique()
    table.add_row("groups of 3+ customers · 3人以上团伙", f"{groups:,}")
    console.print(table)
    counts: Counter[str] = Counter()
    for text in features["fraud_reasons"].dropna():
        counts.update(str(text).split(";"))
    if counts:
        reasons = Table(title="Reasons behind flags · 命中原因")
        reasons.add_column("reason code")
        reasons.add_column("flagged applications", justify="right")
        for code, k in counts.most_common(10):
            reasons.add_row(code, f"{k:,}")
        console.print(reasons)


def _measures(m: FraudMeasures) -> None:
    table = Table(title="Against the truth · 与真实标签对比", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    pct = "{:.1%}".format
    table.add_row("precision · 精确率", pct(m.precision))
    table.add_row("recall, all fraud · 召回率", pct(m.recall))
    table.add_row("ring members flagged · 团伙成员召回", pct(m.ring_member_recall))
    table.add_row("lone fraud flagged · 个体欺诈召回", pct(m.lone_recall))
    table.add_row("honest applicants flagged · 正常客户误杀", pct(m.honest_flagged))
    table.add_row(
        "rings with a member flagged · 团伙发现率", f"{pct(m.rings_detected)} of {m.rings}"
    )
    table.add_row("rings with 80%+ flagged", pct(m.rings_mostly_flagged))
    table.add_row("forged IDs caught · 伪造身份证识别", f"{pct(m.forged_caught)} of {m.forged_ids}")
    table.add_row("valid IDs rejected · 有效身份证误拒", f"{m.valid_rejected:,}")
    console.print(table)
