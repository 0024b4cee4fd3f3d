"""Recording batch runs in the audit ledger: one entry per chunk, one for the finished file.

Each ``batch.chunk`` entry carries the SHA-256 of the chunk's Parquet part and its decision
counts; ``batch.complete`` carries the SHA-256 of the output file. A chunk written just before a
kill but not yet recorded is recorded when the run resumes, so every chunk is recorded once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from creditfactory.store import Anchorer, LedgerRow, Store, append


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class LedgerRecorder:
    """Appends a batch run's chunks and completion to the ledger of ``store``."""

    def __init__(self, store: Store, actor: str = "batch", anchorer: Anchorer | None = None):
        self.store = store
        self.actor = actor
        self.anchorer = anchorer  # anchors the ledger head when the run completes

    def recorded_chunks(self, run_id: str) -> set[int]:
        """Chunk numbers of run ``run_id`` already in the ledger."""
        stmt = select(LedgerRow.payload).where(
            LedgerRow.subject == f"batch:{run_id}", LedgerRow.kind == "batch.chunk"
        )
        with self.store.session() as s:
            return {int(json.loads(p)["chunk"]) for p in s.execute(stmt).scalars()}

    def chunk(self, run_id: str, chunk: int, part: Path, rows: int, counts: dict[str, int]) -> None:
        """Record one written chunk."""
        payload: dict[str, Any] = {
            "run": run_id, "chunk": chunk, "rows": rows, "sha256": file_sha256(part),
            "decisions": counts,
        }  # fmt: skip
        with self.store.session() as s:
            append(s, "batch.chunk", f"batch:{run_id}", self.actor, payload)

    def complete(
        self, run_id: str, manifest: dict[str, Any], out: Path, counts: dict[str, int]
    ) -> None:
        """Record the finished output file."""
        payload = {
            "run": run_id, "output": str(out.resolve()), "sha256": file_sha256(out),
            "rows": manifest["input_fingerprint"]["rows"], "chunks": manifest["chunks"],
            "strategy": manifest["strategy"], "input": manifest["input"],
            "input_fingerprint": manifest["input_fingerprint"], "decisions": counts,
        }  # fmt: skip
        with self.store.session() as s:
            append(s, "batch.complete", f"batch:{run_id}", self.actor, payload)
        if self.anchorer is not None:
            self.anchorer.tick(force=True)
