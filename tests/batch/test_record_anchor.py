"""The batch factory's ledger recorder anchors the ledger head when a run completes."""

from __future__ import annotations

import json
from pathlib import Path

from creditfactory.batch import LedgerRecorder
from creditfactory.store import Anchorer, Store, ledger_head, verify


def test_a_completed_run_anchors_the_head(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    store.migrate()
    anchors = tmp_path / "anchors.jsonl"
    recorder = LedgerRecorder(store, anchorer=Anchorer(store, anchors, "k", every_entries=10**6))
    part = tmp_path / "part.parquet"
    part.write_bytes(b"rows")
    recorder.chunk("run1", 0, part, 1, {"approve": 1})
    assert not anchors.exists()  # chunks alone are not anchored
    manifest = {"input_fingerprint": {"rows": 1}, "chunks": 1, "strategy": "s", "input": "i"}
    recorder.complete("run1", manifest, part, {"approve": 1})
    with store.session() as s:
        seq, head = ledger_head(s)
        assert verify(s, anchor_file=anchors, anchor_key="k").ok
    lines = [json.loads(line) for line in anchors.read_text().splitlines()]
    assert [(line["seq"], line["hash"]) for line in lines] == [(seq, head)] == [(2, head)]
    store.dispose()
