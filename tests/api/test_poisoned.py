"""A poisoned application among good ones, through a real server with its engine process: the
good ones are 201 and stored, the bad ones 422 naming the field (or a generic 500 for an
unexpected failure, logged once on the server, never its traceback in the answer)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tests.store.test_poisoned import POISON_STRATEGY, POISONED, good

from creditfactory.api import start_server
from creditfactory.store import Application, Store, verify


def _post(url: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{url}/v1/applications", data=body, method="POST",
        headers={"X-API-Key": "cf-poison-admin-Vb7Kq2Mx9Lw4Zt", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_poisoned_application_fails_alone_in_the_engine_process(
    db_url: str, tmp_path: Path
) -> None:
    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(POISON_STRATEGY, encoding="utf-8")
    env = {
        "CREDITFACTORY_DATABASE_URL": db_url,
        "CREDITFACTORY_ADMIN_KEY": "cf-poison-admin-Vb7Kq2Mx9Lw4Zt",
        "CREDITFACTORY_STRATEGY": str(strategy),
    }  # fmt: skip
    goods = [good(i) for i in range(40)]
    bad = [app for app, _, _ in POISONED]
    bodies = [json.dumps(a).encode() for a in goods]
    for k, app in enumerate(bad):  # in the middle of what arrives together
        bodies.insert(5 + 7 * k, json.dumps(app).encode())
    with start_server(env=env, engine_process=True) as server:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda b: _post(server.url, b), bodies))
        log = server.output()
    by_id = {json.loads(b)["application_id"]: a for b, a in zip(bodies, answers, strict=True)}
    for app in goods:
        assert by_id[app["application_id"]][0] == 201, by_id[app["application_id"]]
    for app, _cls, field in POISONED:
        status, body = by_id[app["application_id"]]
        if field:
            assert status == 422, body
            assert [e["loc"] for e in body["detail"]] == [["body", field]]
        else:  # the unexpected failure: a generic 500, its traceback only in the server's log
            assert status == 500, body
            assert "reference" in body["detail"]
            assert "Traceback" not in body["detail"]
            assert "Overflow" not in body["detail"]
            ref = body["detail"].split("reference ")[1].split(")")[0]
            assert log.count(ref) == 1
            assert "OverflowError" in log
    assert log.count("Traceback") == 1  # the one unexpected failure, logged once
    store = Store(db_url)
    try:
        with store.session() as s:
            stored = s.execute(select(Application.external_id)).scalars().all()
            assert verify(s).ok
    finally:
        store.dispose()
    assert sorted(stored) == sorted(a["application_id"] for a in goods)  # nothing lost


def test_an_answer_that_cannot_be_built_fails_alone_and_the_engine_goes_on(
    db_url: str, caplog: Any, monkeypatch: Any
) -> None:
    from creditfactory.exceptions import DecisionFailedError
    from creditfactory.factory import Decide, Decided, Factory, FactoryConfig, Failed, answer
    from creditfactory.store import activate, add_strategy

    store = Store(db_url)
    store.migrate()
    with store.session() as s:
        activate(s, add_strategy(s, POISON_STRATEGY, "test").id, "test")
    factory = Factory(FactoryConfig(db_url), store)

    def answer_but_g1(out: Any) -> Any:
        if out.application.external_id == "G1":
            raise TypeError("cannot encode")
        return answer(out)

    monkeypatch.setattr("creditfactory.factory._unit.answer", answer_but_g1)
    try:
        replies, stop = factory.handle([Decide(i, good(i), "c") for i in range(3)])
    finally:
        factory.close()
        store.dispose()
    assert [type(r) for r in replies] == [Decided, Failed, Decided]
    assert not stop
    err = replies[1].error.rebuild()  # type: ignore[union-attr]
    assert isinstance(err, DecisionFailedError)
    assert "Idempotency-Key" in str(err)
    assert "answering a decided application failed" in caplog.text
