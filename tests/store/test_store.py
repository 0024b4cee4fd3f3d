"""The store on SQLite and PostgreSQL: migrations, keys, strategies, lists, decisions, reviews."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from creditfactory.decision import InputError
from creditfactory.exceptions import ArtefactError, ConfigError, StrategyError
from creditfactory.store import (
    AuthError,
    ConflictError,
    ListEntry,
    NotFoundError,
    Review,
    Store,
    activate,
    active_strategy,
    add_list_entries,
    add_strategy,
    authenticate,
    create_key,
    current_revision,
    hash_identifier,
    ledger_head,
    list_summary,
    register_model,
    remove_list_entries,
    revoke_key,
    rollback,
    verify,
)

SECRET = "test-list-secret"


def test_migrations_match_the_models_and_are_idempotent(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from creditfactory.store import Base

    store.migrate()  # a second run is a no-op
    assert current_revision(store.engine) == "0006_id_card_checks"
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    with store.session() as s:
        assert ledger_head(s) == (0, "0" * 64)


def test_unreachable_database_is_a_config_error() -> None:
    bad = Store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    with pytest.raises(ConfigError, match="database_url: cannot migrate"):
        bad.migrate()


def test_keys_hash_authenticate_and_revoke(store: Store) -> None:
    with store.session() as s:
        key, secret = create_key(s, "ops", "underwriter", "bootstrap")
        assert key.key_hash != secret
        assert secret not in key.key_hash
    with store.session() as s:
        assert authenticate(s, secret).role == "underwriter"
        with pytest.raises(ConflictError, match="'ops' already exists"):
            create_key(s, "ops", "admin", "bootstrap")
        with pytest.raises(ConfigError, match="role: 'boss'"):
            create_key(s, "x", "boss", "bootstrap")
    with store.session() as s:
        revoke_key(s, key.id, "admin")
    with store.session() as s, pytest.raises(AuthError, match="unknown or revoked"):
        authenticate(s, secret)
    with store.session() as s, pytest.raises(AuthError, match="missing API key"):
        authenticate(s, None)


def test_strategies_upload_activate_rollback(
    store: Store, strategy_yaml: str, strategy_yaml_v2: str
) -> None:
    with store.session() as s:
        v1 = add_strategy(s, strategy_yaml, "ana")
        v2 = add_strategy(s, strategy_yaml_v2, "ana")
        assert active_strategy(s) is None
        with pytest.raises(ConflictError, match="nothing to roll back"):
            rollback(s, "boss")
    with store.session() as s, pytest.raises(ConflictError, match="version 1 already exists"):
        add_strategy(s, strategy_yaml, "ana")
    with store.session() as s, pytest.raises(StrategyError, match="unknown variable 'salary'"):
        add_strategy(s, strategy_yaml.replace('"1"', '"9"').replace("< 3000", "< salary"), "ana")
    with store.session() as s:
        activate(s, v1.id, "boss")
        activate(s, v2.id, "boss")
        assert active_strategy(s).version == "2"
        assert rollback(s, "boss").id == v1.id
        assert active_strategy(s).version == "1"
    with store.session() as s, pytest.raises(NotFoundError, match="strategy 99"):
        activate(s, 99, "boss")


def test_models_register_and_reject_bad_specs(store: Store) -> None:
    spec = {
        "format": "creditfactory.scoring_spec", "format_version": 1,
        "scaling": {"factor": 28.85, "offset": 487.1},
        "characteristics": [{"name": "age", "kind": "numerical", "code": "R001",
                             "missing_points": 10.0, "special": [], "upper_edges": [25.0],
                             "points": [20.0, 40.0]}],
    }  # fmt: skip
    with store.session() as s:
        register_model(s, "ascore", "1", spec, "ana")
    with store.session() as s, pytest.raises(ConflictError, match="ascore@1"):
        register_model(s, "ascore", "1", spec, "ana")
    with store.session() as s, pytest.raises(ArtefactError, match="not a creditfactory"):
        register_model(s, "bad", "1", {"format": "pickle"}, "ana")


def test_lists_store_only_hmac_digests(store: Store, db_url: str) -> None:
    phone = "13912345678"
    with store.session() as s:
        added = add_list_entries(s, SECRET, "blacklist", "phone", [phone, phone, "1"], "ana")
        assert len(added) == 2
        assert add_list_entries(s, SECRET, "blacklist", "phone", [phone], "ana") == []
    with store.engine.connect() as conn:
        dump = " ".join(
            str(v) for row in conn.execute(text("select * from list_entries")) for v in row
        )
        ledger = " ".join(str(v) for row in conn.execute(text("select * from ledger")) for v in row)
    assert phone not in dump
    assert phone not in ledger
    assert hash_identifier(SECRET, "phone", phone) in dump
    with store.session() as s:
        assert list_summary(s) == [("blacklist", "phone", 2)]
        assert remove_list_entries(s, SECRET, "blacklist", "phone", [phone], "ana") == 1
        assert s.execute(select(ListEntry)).scalars().all()[0].value_hash != phone
    with store.session() as s, pytest.raises(ConfigError, match="CREDITFACTORY_LIST_SECRET"):
        add_list_entries(s, None, "blacklist", "phone", [phone], "ana")
    with store.session() as s, pytest.raises(ConfigError, match="list: 'redlist'"):
        add_list_entries(s, SECRET, "redlist", "phone", [phone], "ana")


@pytest.fixture
def service(store: Store, strategy_yaml: str, make_service: Any) -> Any:
    with store.session() as s:
        activate(s, add_strategy(s, strategy_yaml, "ana").id, "boss")
    return make_service(store, list_secret=SECRET, qc_rate=0.0, seed=1)


def test_decide_stores_and_chains(service: Any, good_application: dict[str, Any]) -> None:
    out = service.decide(good_application, "channel")
    assert (out.decision.decision, out.decision.limit, out.decision.apr) == (
        "approve",
        30000.0,
        0.15,
    )
    assert out.review is None
    assert not out.replayed
    refer = service.decide({**good_application, "inquiries_3m": 5}, "channel")
    assert refer.decision.reasons == ["RF_INQUIRIES"]
    assert refer.review.queue_reason == "refer"
    with service.store.session() as s:
        verdict = verify(s)
    assert verdict.ok, verdict.problems
    assert verdict.checked == 4  # upload, activation, two decisions


def test_invalid_application_is_not_stored(service: Any, good_application: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="age: below minimum 18") as info:
        service.decide({**good_application, "age": 12}, "channel")
    assert info.value.fields == ["age"]
    with service.store.session() as s:
        assert ledger_head(s)[0] == 2  # only the upload and the activation


def test_idempotency_key_returns_the_first_decision(
    service: Any, good_application: dict[str, Any]
) -> None:
    first = service.decide(good_application, "channel", idempotency_key="k-1")
    again = service.decide(good_application, "channel", idempotency_key="k-1")
    assert again.replayed
    assert again.decision.id == first.decision.id
    with pytest.raises(ConflictError, match="'k-1' was already used for a different request"):
        service.decide({**good_application, "age": 40}, "channel", idempotency_key="k-1")
    other = service.decide(good_application, "channel", idempotency_key="k-2")
    assert other.decision.id != first.decision.id


def test_lists_decline_and_refer(service: Any, good_application: dict[str, Any]) -> None:
    with service.store.session() as s:
        add_list_entries(s, SECRET, "greylist", "phone", [good_application["phone"]], "ana")
    service.invalidate()  # as the API does after a change (the lists are cached in memory)
    grey = service.decide(good_application, "channel")
    assert grey.decision.decision == "refer"
    assert grey.decision.reasons == ["LIST_GREYLIST_PHONE"]
    with service.store.session() as s:
        add_list_entries(
            s, SECRET, "blacklist", "id_number", [good_application["id_number"]], "ana"
        )
    service.invalidate()
    black = service.decide(good_application, "channel")
    assert black.decision.decision == "decline"
    assert black.decision.limit is None
    assert black.decision.reasons[0] == "LIST_BLACKLIST_ID_NUMBER"
    assert black.decision.list_hits == ["blacklist:id_number", "greylist:phone"]


def test_review_override_is_stored_beside_the_original(
    service: Any, good_application: dict[str, Any]
) -> None:
    out = service.decide({**good_application, "inquiries_3m": 5}, "channel")
    review, decision = service.review(out.review.id, "decline", "income not verified", "uw1")
    assert (review.outcome, review.reviewer, decision.decision) == ("decline", "uw1", "refer")
    with pytest.raises(ConflictError, match="already completed by uw1"):
        service.review(out.review.id, "approve", "changed my mind", "uw2")
    with pytest.raises(NotFoundError, match="review 99"):
        service.review(99, "approve", "x", "uw1")
    with service.store.session() as s:
        assert verify(s).ok


def test_qc_sample_queues_automatic_decisions(
    store: Store, strategy_yaml: str, good_application: dict[str, Any], make_service: Any
) -> None:
    with store.session() as s:
        activate(s, add_strategy(s, strategy_yaml, "ana").id, "boss")
    always = make_service(store, qc_rate=1.0, seed=0)
    out = always.decide(good_application, "channel")
    assert out.review is not None
    assert out.review.queue_reason == "qc_sample"
    never = make_service(store, qc_rate=0.0)
    assert never.decide(good_application, "channel").review is None


def test_concurrent_retries_with_one_idempotency_key_store_one_decision(
    service: Any, good_application: dict[str, Any], make_service: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from creditfactory.store import Application

    with service.store.session() as s:
        key, _ = create_key(s, "channel", "underwriter", "test")
    # a factory is one thread's (its loop's): concurrent retries reach factories of their own
    # (uvicorn workers, say: each process with its own store and connection pool), racing on
    # the unique key. Eight factories on one pool of 15 could starve it: each keeps its
    # writer's connection and needs a second one while deciding.
    url = service.store.engine.url.render_as_string(hide_password=False)
    stores = [Store(url) for _ in range(8)]
    workers = [make_service(store, list_secret=SECRET) for store in stores]
    try:
        with ThreadPoolExecutor(8) as pool:
            outs = list(
                pool.map(
                    lambda w: w.decide(good_application, "channel", key.id, "same-key"),
                    workers + workers,
                )
            )
    finally:
        for worker in workers:  # before their stores go (the fixture closes them again: a no-op)
            worker.close()
        for store in stores:
            store.dispose()
    assert len({o.decision.id for o in outs}) == 1
    assert sum(not o.replayed for o in outs) == 1
    with service.store.session() as s:
        assert len(s.execute(select(Application)).scalars().all()) == 1
        assert verify(s).ok


def test_concurrent_reviews_of_one_item_let_exactly_one_win(
    service: Any, good_application: dict[str, Any]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    out = service.decide({**good_application, "inquiries_3m": 5}, "channel")

    def attempt(i: int) -> str:
        try:
            service.review(out.review.id, "approve" if i % 2 else "decline", f"reason {i}", f"u{i}")
        except ConflictError:
            return "lost"
        return f"u{i}"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(attempt, range(6)))
    winners = [r for r in results if r != "lost"]
    assert len(winners) == 1
    with service.store.session() as s:
        assert verify(s).ok
        assert s.get(Review, out.review.id).reviewer == winners[0]
