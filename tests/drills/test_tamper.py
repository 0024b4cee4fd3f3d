"""Tampering with every table directly: ``audit verify`` (the CLI) catches and names it.

Only the cases caught today run here; ``make drills ARGS=tamper`` runs every case and lists
the rest (keys, strategies and activations, models, list entries, timestamps, a second head
row, and a rolled-back database) as not caught. Add each here once it is.
"""

from __future__ import annotations

from drills import drill_tamper

CAUGHT_TODAY = {
    *(f"applications.{c} altered"
      for c in ("api_key_id", "external_id", "idempotency_key", "payload", "request_sha256")),
    *(f"decisions.{c} altered"
      for c in ("application_id", "apr", "decision", "limit", "list_hits", "model_versions",
                "reasons", "strategy", "strategy_id", "term", "trace", "values", "version")),
    *(f"reviews.{c} altered"
      for c in ("decision_id", "outcome", "queue_reason", "reason", "reviewer", "status")),
    *(f"ledger.{c} altered"
      for c in ("actor", "created_at", "hash", "kind", "payload", "prev_hash", "subject")),
    "ledger_head.hash altered", "ledger_head.seq altered",
    "ledger_head row deleted", "ledger_head rolled back",
    *(f"{t} {what}"
      for t in ("applications", "decisions", "reviews", "ledger")
      for what in ("row deleted", "row inserted", "rows reordered", "rolled back")),
}  # fmt: skip


# on PostgreSQL (a schema cloned per case is slower than a file copy) a sample: each kind of
# tampering on each table caught today
SAMPLE = {
    "applications.payload altered", "decisions.decision altered", "reviews.outcome altered",
    "ledger.payload altered", "ledger_head.seq altered", "ledger_head row deleted",
    *(f"{t} {what}"
      for t in ("applications", "decisions", "reviews", "ledger")
      for what in ("row deleted", "row inserted", "rows reordered", "rolled back")),
}  # fmt: skip


def test_tampering_caught_today_is_caught_and_named(kind: str) -> None:
    wanted = CAUGHT_TODAY if kind == "sqlite" else SAMPLE
    out = drill_tamper.run(databases=[kind], only=wanted)
    cases = out["figures"]["cases"]
    assert sorted(c["case"] for c in cases) == sorted(wanted)  # every one was tried
    assert [c["case"] for c in cases if not c["named"]] == []
    assert out["tamper_caught"] == out["tamper_tried"] == len(wanted)
    assert out["passed"]
