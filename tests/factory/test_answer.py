"""The factory's answer, built as a plain object, is what :class:`ApplicationDecision` gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from creditfactory.factory import ApplicationDecision, Outcome, answer

APP = SimpleNamespace(id=12, external_id='A-12 "é"')
REVIEW = SimpleNamespace(
    id=3, decision_id=7, queue_reason="refer", status="pending", outcome=None, reason=None,
    reviewer=None, queued_at=datetime(2026, 12, 6, 11, 0, 0, 123456, tzinfo=UTC),
    reviewed_at=None,
)  # fmt: skip


@pytest.mark.parametrize("review", [None, REVIEW])
@pytest.mark.parametrize("replayed", [False, True])
@pytest.mark.parametrize(
    ("decision", "limit", "apr", "term", "reasons"),
    [("approve", 25000.0, 0.23670621061537964, 6, []),
     ("decline", None, None, None, ["KO_INCOME", "FR_FLAG"]),
     ("refer", 1e16, 1e-05, 60, ["RF_UTIL"])],
)  # fmt: skip
def test_the_answer_is_the_models(
    review: object, replayed: bool, decision: str, limit: float | None, apr: float | None,
    term: int | None, reasons: list[str],
) -> None:  # fmt: skip
    rec = SimpleNamespace(
        id=7, decision=decision, limit=limit, apr=apr, term=term, reasons=reasons,
        strategy="reference", version="1.0.0",
    )  # fmt: skip
    out = Outcome(APP, rec, review, replayed)
    got = answer(out)
    model = ApplicationDecision.of(out)
    assert got.data == model.model_dump(mode="json")
    assert json.loads(got.body) == json.loads(model.model_dump_json())
    assert list(got.data) == list(model.model_dump())  # the same fields, in the same order
    assert got.replayed is replayed
