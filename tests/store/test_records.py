"""One function writes the text a ledger digest covers: the writer's pieces and verify's whole
text are the same text, the canonical JSON of the record's content."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from creditfactory.audit import canonical_json, digest
from creditfactory.store._records import (
    COVERED,
    RECORD_KINDS,
    content,
    content_pieces,
    content_text,
    record_digest,
)

WHEN = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def _record(kind: str) -> SimpleNamespace:
    values = {}
    for i, c in enumerate(COVERED[kind]):
        if c == "at" or c.endswith("_at"):
            values[c] = WHEN
        elif c in ("payload", "values", "model_versions"):
            values[c] = {"é": [1, 2.5, None], "b": {"z": True}}
        elif c in ("reasons", "trace", "list_hits"):
            values[c] = ["R1", 'ü"q']
        else:
            values[c] = i if c.endswith("id") else f"v{i}\n"
    return SimpleNamespace(**values)


@pytest.mark.parametrize("kind", sorted(RECORD_KINDS))
def test_content_text_is_the_canonical_json_of_the_content(kind: str) -> None:
    rec = _record(kind)
    texts = {c: canonical_json(v) for c, v in content(kind, rec).items()}
    assert content_text(kind, texts) == canonical_json(content(kind, rec))
    assert record_digest(rec, kind) == digest(content(kind, rec))


def test_the_columns_covered_are_the_tables_columns() -> None:
    for kind, (model, _) in RECORD_KINDS.items():
        assert set(COVERED[kind]) == {c.name for c in model.__table__.columns}, kind


def test_pieces_around_holes_join_to_the_whole_text() -> None:
    rec = _record("decision")
    texts = {c: canonical_json(v) for c, v in content("decision", rec).items()}
    d0, d1, d2 = content_pieces("decision", texts, ("application_id", "id"))
    assert f"{d0}{texts['application_id']}{d1}{texts['id']}{d2}" == content_text("decision", texts)
    # a hole's text is not needed
    del texts["id"]
    assert content_pieces("decision", texts, ("application_id", "id"))[2] == d2
