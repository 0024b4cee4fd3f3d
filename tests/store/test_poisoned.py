"""One bad application fails alone: whatever it holds, whatever deciding it raises, the rest of
its batch is decided and stored (``Factory.decide``, the one entry point, and the
path both modes run)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from creditfactory.decision import InputError, OutputError
from creditfactory.exceptions import DecisionFailedError
from creditfactory.factory import Outcome
from creditfactory.store import (
    Application,
    Store,
    activate,
    add_strategy,
    verify,
)

# ``growth`` multiplies an input without a maximum seventeen times: exact for every integer a
# batch column holds up to 2**61, an OverflowError (int too large for a float) above: the kind of
# failure nobody raised on purpose, from a strategy the language accepts
POISON_STRATEGY = """
strategy: poison
version: "1"
key: application_id
inputs:
  application_id: str
  monthly_income: {type: float, min: 0, max: 1000000}
  n: {type: int, min: 0}
flow:
  - assign:
      name: offer
      set:
        growth: "n * n * n * n * n * n * n * n * n * n * n * n * n * n * n * n * n * 1.0"
        limit: "min(monthly_income * 3, 50000)"
        apr: "0.15"
        term: "12"
"""


def good(i: int) -> dict[str, Any]:
    return {"application_id": f"G{i}", "monthly_income": 10000.0, "n": 1}


# (application, the error it must get, the field its message names)
POISONED: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"application_id": "P1", "monthly_income": 10**400, "n": 1}, InputError, "monthly_income"),
    ({"application_id": "P2", "monthly_income": 10000.0, "n": 2**63}, InputError, "n"),
    ({"application_id": "P3", "monthly_income": float("inf"), "n": 1}, InputError,
     "monthly_income"),
    ({"application_id": "P4", "monthly_income": 1e308, "n": 1}, InputError, "monthly_income"),
    ({"application_id": "P5", "monthly_income": 10000.0, "n": 2**62}, DecisionFailedError, ""),
]  # fmt: skip


@pytest.fixture
def service(store: Store, make_service: Any) -> Any:
    with store.session() as s:
        activate(s, add_strategy(s, POISON_STRATEGY, "test").id, "test")
    svc = make_service(store)
    yield svc
    svc.close()


def test_a_poisoned_application_fails_alone_in_decide_many(
    service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    batch = [good(i) for i in range(6)]
    for k, (app, _, _) in enumerate(POISONED):  # spread through the batch
        batch.insert(1 + 2 * k, app)
    with caplog.at_level(logging.ERROR, logger="creditfactory.service"):
        outs = service.decide_many([(a, "c", None, None) for a in batch])
    expected = {a["application_id"]: (cls, field) for a, cls, field in POISONED}
    for app, out in zip(batch, outs, strict=True):
        name = app["application_id"]
        if name not in expected:
            assert isinstance(out, Outcome), (name, out)
            assert out.decision.decision == "approve"
            continue
        cls, field = expected[name]
        assert type(out) is cls, (name, out)
        if isinstance(out, InputError):
            assert out.fields == [field]
        else:  # generic: no traceback, no exception text, a reference to the log
            assert "reference" in str(out)
            assert "Overflow" not in str(out)
    failures = [r for r in caplog.records if "deciding an application failed" in r.getMessage()]
    assert len(failures) == 1  # logged once, with its traceback
    assert failures[0].exc_info is not None
    assert failures[0].exc_info[0] is OverflowError
    with service.store.session() as s:
        stored = s.execute(select(Application.external_id)).scalars().all()
        assert sorted(stored) == sorted(f"G{i}" for i in range(6))  # nothing lost, no bad one
        assert verify(s).ok


@pytest.mark.parametrize(
    ("app", "cls", "field"), POISONED, ids=[a["application_id"] for a, *_ in POISONED]
)
def test_decide_fails_one_poisoned_application_with_its_own_error(
    service: Any, app: dict[str, Any], cls: type[Exception], field: str
) -> None:
    with pytest.raises(cls) as info:
        service.decide(app, "c")
    if field:
        assert getattr(info.value, "fields", None) == [field]
    assert not isinstance(service.decide(good(0), "c"), Exception)  # the next one is fine


def test_one_batch_fails_its_poisoned_applications_alone(service: Any) -> None:
    apps = [good(0), POISONED[4][0], good(1), POISONED[0][0]]
    outs = service.decide_many([(a, "c", None, None) for a in apps])
    assert [type(o) for o in outs] == [Outcome, DecisionFailedError, Outcome, InputError]


def test_a_limit_no_loan_can_carry_is_an_error_not_an_approval(
    store: Store, make_service: Any
) -> None:
    """An infinite limit (a formula without bounded inputs) fails that application alone."""
    source = POISON_STRATEGY.replace('"min(monthly_income * 3, 50000)"', '"monthly_income * 1e304"')
    with store.session() as s:
        activate(s, add_strategy(s, source, "test").id, "test")
    service = make_service(store)
    try:
        apps = [good(0), {**good(1), "monthly_income": 100000.0}, good(2)]
        outs = service.decide_many([(a, "c", None, None) for a in apps])
        assert [type(o) for o in outs] == [Outcome, OutputError, Outcome]
        assert outs[1].fields == ["limit"]  # type: ignore[union-attr]
        assert "limit: not a finite number" in str(outs[1])
        with store.session() as s:
            assert s.execute(select(func.count(Application.id))).scalar_one() == 2
    finally:
        service.close()


def test_a_value_the_database_refuses_fails_only_its_application(
    service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement-level refusal (``sqlalchemy.exc.DataError``: a number out of a column's range,
    say) fails the whole transaction; ``decide_many`` then writes each alone."""
    from sqlalchemy.exc import DataError as DatabaseDataError

    real = service.writer._write

    def refuse_p9(batch: list[Any]) -> Any:
        if any(item.application["external_id"] == "P9" for item in batch):
            raise DatabaseDataError("insert", {}, Exception("integer out of range"))
        return real(batch)

    monkeypatch.setattr(service.writer, "_write", refuse_p9)
    apps = [good(0), {**good(1), "application_id": "P9"}, good(2)]
    outs = service.decide_many([(a, "c", None, None) for a in apps])
    assert [type(o) for o in outs] == [Outcome, DatabaseDataError, Outcome]
    with service.store.session() as s:
        assert sorted(s.execute(select(Application.external_id)).scalars()) == ["G0", "G2"]
        assert verify(s).ok


def test_a_batch_the_database_refuses_is_written_item_by_item(
    service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer (the same in both modes): a refused value fails only its item, an outage
    every item."""
    from sqlalchemy.exc import DataError as DatabaseDataError
    from sqlalchemy.exc import OperationalError

    real = service.writer._write
    calls: list[int] = []

    def refuse_p9(batch: list[Any]) -> Any:
        calls.append(len(batch))
        if any(item.application["external_id"] == "P9" for item in batch):
            raise DatabaseDataError("insert", {}, Exception("integer out of range"))
        return real(batch)

    monkeypatch.setattr(service.writer, "_write", refuse_p9)
    service.refresh()
    apps = [good(0), {**good(1), "application_id": "P9"}, good(2)]
    outs = service.decide_many([(a, "c", None, None) for a in apps])
    assert [type(o) for o in outs] == [Outcome, DatabaseDataError, Outcome]
    assert calls == [3, 1, 1, 1]

    import psycopg

    def down(batch: list[Any]) -> Any:
        calls.append(len(batch))
        raise OperationalError("insert", {}, psycopg.OperationalError("connection refused"))

    monkeypatch.setattr(service.writer, "_write", down)
    calls.clear()
    apps = [{**good(k), "application_id": f"D{k}"} for k in range(3)]
    outs = service.decide_many([(a, "c", None, None) for a in apps])
    assert calls == [3]  # an outage is not retried item by item
    assert all(isinstance(o, OperationalError) for o in outs)
