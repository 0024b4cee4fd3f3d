"""The answer's JSON, written directly for the usual answer, is byte for byte pydantic's."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from creditfactory.factory import ApplicationDecision, Outcome, answer


def _outcome(review: Any = None, replayed: bool = False, **decision: Any) -> Outcome:
    app = SimpleNamespace(id=12, external_id="A-1")
    d = {
        "id": 34, "decision": "approve", "limit": 15000.0, "apr": 0.1825, "term": 12,
        "reasons": ["KO_X", "RF_Y"], "strategy": "ref", "version": "3",
    }  # fmt: skip
    d.update(decision)
    return Outcome(app, SimpleNamespace(**d), review, replayed)


def _pydantic(out: Outcome) -> bytes:
    return ApplicationDecision.of(out).model_dump_json().encode()


CASES = [
    {},
    {"limit": None, "apr": None, "term": None, "reasons": []},
    {"decision": 'décliné "quoted" \\ \n\t\x01 中文', "reasons": ["é", "\x1f", "/"]},
    {"limit": 0.0, "apr": -0.0},
    {"limit": 1e-4, "apr": 999999999999999.9},
    {"limit": 1e15, "apr": 1e-5},  # pydantic's path (exponents)
    {"limit": 3, "apr": True},  # not floats: pydantic's path (it coerces)
    {"version": 3},
]


@pytest.mark.parametrize("decision", CASES)
@pytest.mark.parametrize("replayed", [False, True])
def test_the_answer_is_pydantics(decision: dict[str, Any], replayed: bool) -> None:
    out = _outcome(replayed=replayed, **decision)
    try:
        expected = _pydantic(out)
    except Exception:  # pydantic refuses it: so must the answer
        with pytest.raises(Exception):  # noqa: B017, PT011
            answer(out)
        return
    assert answer(out).body == expected


def test_random_floats_are_written_as_pydantic_writes_them() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        limit = rng.uniform(0, 1) * 10 ** rng.randint(-8, 18)
        apr = round(rng.uniform(0, 0.4), rng.randint(0, 17))
        out = _outcome(limit=limit, apr=apr, external_id=None)
        out.application.external_id = None
        assert answer(out).body == _pydantic(out), (limit, apr)


def test_an_answer_with_a_review_is_pydantics() -> None:
    review = SimpleNamespace(
        id=5, decision_id=34, queue_reason="refer", status="pending", outcome=None, reason=None,
        reviewer=None, queued_at=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC), reviewed_at=None,
    )  # fmt: skip
    out = _outcome(review=review)
    assert answer(out).body == _pydantic(out)
    assert b'"queue_reason":"refer"' in answer(out).body


def test_the_usual_answer_builds_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _pydantic(_outcome())

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the model was built")

    monkeypatch.setattr(ApplicationDecision, "of", classmethod(refuse))
    assert answer(_outcome()).body == expected
    with pytest.raises(AssertionError):
        answer(_outcome(limit=1e20))
