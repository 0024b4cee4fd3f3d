"""The batch credit factory: decide a Parquet file chunk by chunk, resumably.

Each chunk's decisions are written to ``<out>.parts/part-NNNNNN.parquet`` atomically (written
aside, then renamed), so a chunk is either entirely there or absent. A restart reads the
manifest, checks it is the same input, strategy and chunk size, skips the chunks already
written and decides the rest; the final file is assembled from the parts in order, so every
input row appears exactly once (the ``row`` column gives its position in the input).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.fraud import FraudSource, HashedLists, Lookups, Provider

MANIFEST_VERSION = 1
Progress = Callable[[int, int, int, int], None]  # chunks done, chunks, rows done, rows


@dataclass
class BatchReport:
    """What a run did: rows, chunks decided now and chunks found already done."""

    out: Path
    rows: int
    chunks: int
    chunks_decided: int
    chunks_resumed: int
    seconds: float
    decisions: dict[str, int] = field(default_factory=dict)
    #: rows per unseen-value trace entry ("<step>: unseen <input>"): values a model never saw
    unseen: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def _fingerprint(path: Path) -> dict[str, Any]:
    """Size, row count and a digest of the Parquet footer (cheap, changes with the data)."""
    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable Parquet file: {exc}") from exc
    with path.open("rb") as fh:
        size = path.stat().st_size
        fh.seek(max(0, size - 65536))
        tail = hashlib.sha256(fh.read()).hexdigest()
    return {"size": size, "rows": meta.num_rows, "tail_sha256": tail}


def parts_dir(out: str | Path) -> Path:
    """Where the chunks of a run writing ``out`` are kept until it finishes."""
    out = Path(out)
    return out.with_name(out.name + ".parts")


def decide_file(
    strategy: Any,
    input_path: str | Path,
    out: str | Path,
    *,
    chunk_size: int = 100_000,
    strategy_id: str | None = None,
    restart: bool = False,
    progress: Progress | None = None,
    recorder: Any = None,
    lookups: Provider | None = None,
) -> BatchReport:
    """Decide every row of a Parquet file with ``strategy.decide_batch``, resumably.

    Parameters
    ----------
    strategy : Strategy
        The compiled strategy (anything with ``decide_batch(polars.DataFrame)``).
    input_path, out : path
        The applications (Parquet) and the decisions file to write (Parquet).
    chunk_size : int
        Rows per chunk: the unit of work that is written atomically and skipped on resume.
    strategy_id : str, optional
        Identifies the strategy in the manifest (e.g. the SHA-256 of its file); a resume with
        a different one is refused. Defaults to ``name@version``.
    restart : bool
        Discard the chunks of an earlier, interrupted run instead of resuming it.
    progress : callable, optional
        ``progress(chunks_done, chunks, rows_done, rows)`` after each chunk (and once at start).
    lookups : Provider, optional
        What the strategy's provided lists are looked up in (:mod:`creditfactory.fraud`): the
        service's lists (:func:`creditfactory.store.stored_lists`) or a file's, so a batch and
        the API decide an application alike; its fingerprint is part of the manifest. Without
        it, provided lists are empty.
    recorder : LedgerRecorder, optional
        Records each chunk (SHA-256 of its part, decision counts) and the finished file in the
        audit ledger of a store.

    Returns
    -------
    BatchReport

    Raises
    ------
    ConfigError
        Unfinished chunks exist for a different input, strategy or chunk size.
    DataError
        The input is not a readable Parquet file, or a chunk of it cannot be read (the message
        names the file, the chunk and its rows).
    """
    if chunk_size < 1:
        raise ConfigError(f"chunk_size: must be at least 1, got {chunk_size}")
    start = time.perf_counter()
    src, out = Path(input_path), Path(out)
    fp = _fingerprint(src)
    lookups = _with_fraud(strategy, src, lookups)
    n = int(fp["rows"])
    chunks = max(1, -(-n // chunk_size))
    manifest = {
        "version": MANIFEST_VERSION,
        "input": str(src.resolve()),
        "input_fingerprint": fp,
        "strategy": strategy_id or f"{strategy.name}@{strategy.version}",
        "chunk_size": chunk_size,
        "chunks": chunks,
        "lookups": None if lookups is None else lookups.fingerprint(),
    }
    work = parts_dir(out)
    if restart and work.exists():
        shutil.rmtree(work)
    done = _resume(work, manifest)
    run_id = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
    if recorder is not None:  # chunks written but not recorded when the last run was killed
        recorded = recorder.recorded_chunks(run_id)
        for i in sorted(done - recorded):
            part = work / f"part-{i:06d}.parquet"
            frame = pl.read_parquet(part, columns=["decision"])
            recorder.chunk(run_id, i, part, frame.height, _counts(frame))
    report = progress or (lambda *_: None)
    rows_done = sum(min(chunk_size, n - i * chunk_size) for i in done)
    report(len(done), chunks, rows_done, n)
    scan = pl.scan_parquet(src)
    decided = 0
    for i in range(chunks):
        if i in done:
            continue
        offset = i * chunk_size
        frame = _read_chunk(scan, src, i, offset, min(chunk_size, n - offset))
        result = (
            strategy.decide_batch(frame)
            if lookups is None
            else strategy.decide_batch(frame, lookups=lookups)
        )
        result = result.with_columns(
            pl.int_range(offset, offset + frame.height, dtype=pl.Int64).alias("row")
        )
        part = work / f"part-{i:06d}.parquet"
        tmp = part.with_suffix(".tmp")
        result.write_parquet(tmp)
        os.replace(tmp, part)
        if recorder is not None:
            recorder.chunk(run_id, i, part, result.height, _counts(result))
        decided += 1
        rows_done += frame.height
        report(len(done) + decided, chunks, rows_done, n)
    counts, unseen = _assemble(work, out, chunks)
    if recorder is not None:
        recorder.complete(run_id, manifest, out, dict(counts))
    shutil.rmtree(work)
    return BatchReport(
        out, n, chunks, decided, len(done), time.perf_counter() - start, dict(counts),
        dict(unseen),
    )  # fmt: skip


def _read_chunk(scan: pl.LazyFrame, src: Path, i: int, offset: int, rows: int) -> pl.DataFrame:
    """Rows ``offset .. offset + rows - 1`` of the input; a file damaged there (its footer
    read fine) is a :class:`DataError` naming the file, the chunk and its rows."""
    try:
        return scan.slice(offset, rows).collect()
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{src}: chunk {i} (rows {offset:,} to {offset + rows - 1:,}) cannot be read: "
            f"{first} (the file is damaged there; the chunks decided before it are kept)"
        ) from exc


def _counts(frame: pl.DataFrame) -> dict[str, int]:
    if "decision" not in frame.columns:
        return {}
    vc = frame["decision"].value_counts()
    return {str(k): int(v) for k, v in zip(vc[:, 0], vc[:, 1], strict=True)}


def _resume(work: Path, manifest: dict[str, Any]) -> set[int]:
    """The chunk numbers already written by an earlier run with the same manifest."""
    path = work / "manifest.json"
    if not work.exists():
        work.mkdir(parents=True)
        path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        return set()
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    if old != manifest:
        what = (
            "is unreadable"
            if not isinstance(old, dict)
            else "differs in " + ", ".join(k for k in manifest if old.get(k) != manifest[k])
        )
        raise ConfigError(
            f"{work}: an unfinished run's manifest {what}; pass restart=True (--restart) to "
            "discard it, or rerun with the same input, strategy and chunk size"
        )
    for tmp in work.glob("*.tmp"):  # a chunk cut off mid-write never counts
        tmp.unlink()
    done: set[int] = set()
    size, n = manifest["chunk_size"], manifest["input_fingerprint"]["rows"]
    for part in work.glob("part-*.parquet"):
        i = int(part.stem.split("-")[1])
        if _part_ok(part, i * size, min(size, n - i * size)):
            done.add(i)
        else:  # not this chunk's rows (or unreadable): decide it again
            part.unlink()
    return done


def _part_ok(part: Path, offset: int, length: int) -> bool:
    """Whether a part holds exactly input rows ``offset .. offset + length - 1``, in order."""
    try:
        rows = pl.read_parquet(part, columns=["row"])["row"]
    except Exception:  # unreadable part: redo it
        return False
    return rows.len() == length and rows.equals(
        pl.int_range(offset, offset + length, dtype=pl.Int64, eager=True).alias("row")
    )


def _assemble(work: Path, out: Path, chunks: int) -> tuple[Counter[str], Counter[str]]:
    """Concatenate the parts in order into ``out`` (atomically); decision counts and the
    counts of unseen model-input values."""
    from creditfactory.decision import unseen_counts

    counts: Counter[str] = Counter()
    unseen: Counter[str] = Counter()
    tmp = out.with_name(out.name + ".tmp")
    writer: pq.ParquetWriter | None = None
    try:
        for i in range(chunks):
            table = pq.read_table(work / f"part-{i:06d}.parquet")
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            elif table.schema != writer.schema:  # e.g. a chunk whose column is all null
                table = table.cast(writer.schema)
            writer.write_table(table)
            if "decision" in table.column_names:
                counts.update(table.column("decision").to_pylist())
            if "trace" in table.column_names:
                unseen.update(unseen_counts(pl.Series(table.column("trace"))))
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, out)
    return counts, unseen


def _with_fraud(strategy: Any, src: Path, lookups: Provider | None) -> Provider | None:
    """The look-ups with a ``fraud`` source prepared over the whole input, when the strategy
    declares fraud inputs: every chunk's applications then see the whole file's history before
    them (point in time), as one ``decide_batch`` over the file would."""
    provided = getattr(strategy, "provided_inputs", {})
    if not any(str(f).startswith("fraud:") for f in provided.values()):
        return lookups
    if isinstance(lookups, Lookups) and "fraud" in lookups.sources:
        return lookups
    sources = dict(lookups.sources) if isinstance(lookups, Lookups) else {}
    if lookups is not None and not isinstance(lookups, Lookups):
        raise ConfigError("lookups: a strategy with fraud inputs needs a Lookups provider")
    sources.setdefault("list", HashedLists.empty())
    fraud = FraudSource()
    try:
        fraud.prepare(pl.read_parquet(src))
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"{src}: not a readable Parquet file ({exc})") from exc
    sources["fraud"] = fraud
    return Lookups(sources)
