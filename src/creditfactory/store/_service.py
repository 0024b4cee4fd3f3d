"""The decision service's unit of work: decide one application, store it, chain it, queue it.

Used by the HTTP API (and anything else that decides online with persistence). The compiled
strategy is cached per stored version, so a request costs one engine call plus the inserts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from creditfactory._nested import first_problem, path_text, text_problem, unstorable
from creditfactory.audit import canonical_json
from creditfactory.decision import Decision, FileAccess, InputError, Strategy
from creditfactory.exceptions import CreditFactoryError, DecisionFailedError
from creditfactory.store._db import Store
from creditfactory.store._errors import ConflictError, NotFoundError
from creditfactory.store._ledger import append
from creditfactory.store._list_cache import ListCache
from creditfactory.store._pii import Protector
from creditfactory.store._records import record_digest, subject_of
from creditfactory.store._repo import (
    active_strategy,
    compile_source,
    now,
)
from creditfactory.store._tables import (
    Application,
    DecisionRecord,
    Review,
    StrategyVersion,
)
from creditfactory.store._writer import Pending, Writer

OUTCOMES = ("approve", "decline")
_log = logging.getLogger("creditfactory.service")


def failed(exc: BaseException) -> DecisionFailedError:
    """The generic error answering an application whose decision raised ``exc`` unexpectedly;
    ``exc`` and its traceback are logged here, once, with a reference the answer repeats."""
    ref = secrets.token_hex(6)
    _log.error("deciding an application failed (reference %s)", ref, exc_info=exc)
    return DecisionFailedError(
        f"the application could not be decided: an internal error (reference {ref}); "
        "it was not stored"
    )


def _own_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is one application's unexpected failure (not an error raised on purpose,
    nor the database's, which is every application's)."""
    return isinstance(exc, Exception) and not isinstance(exc, CreditFactoryError | SQLAlchemyError)


@dataclass
class Outcome:
    """What ``decide`` did: the stored rows and whether this was an idempotent replay.

    A replay carries the ORM rows read back; a new decision carries plain records with the same
    attributes (built by the writer, which inserts with Core statements).
    """

    application: Application | Any
    decision: DecisionRecord | Any
    review: Review | Any | None
    replayed: bool


class DecisionService:
    """Decide, persist and audit applications against the active strategy.

    Parameters
    ----------
    store : Store
        Where applications, decisions, reviews and the ledger live.
    list_secret : str, optional
        The HMAC key of the hashed lists; without it service lists are not consulted.
    qc_rate : float
        Share of automatic (approve / decline) decisions sampled for quality-control review.
    seed : int, optional
        Seed of the QC sampler (tests use it for reproducibility).
    cache_seconds : float
        How long the active strategy and the lists are trusted between checks; :meth:`invalidate`
        makes the next decision check at once (the API calls it after a change), other
        processes see a change within this delay.
    pii : Protector, optional
        Protects personal identifiers before the application (and the decision's values) are
        stored, and keys the request digests; without it both are stored as received (the
        service always passes one).

    Notes
    -----
    The hashed lists are screened in memory (:class:`~creditfactory.store._list_cache.ListCache`,
    one copy per list version, checked once per ``cache_seconds``): no query per application.
    """

    def __init__(
        self, store: Store, list_secret: str | None = None, qc_rate: float = 0.0,
        seed: int | None = None, cache_seconds: float = 1.0, pii: Protector | None = None,
    ):  # fmt: skip
        self.store = store
        self.pii = pii
        self.list_secret = list_secret
        self.qc_rate = qc_rate
        self._rng = random.Random(seed)
        self.cache_seconds = cache_seconds
        # the bootstrap strategy's file lists and models: the largest file read (a setting)
        self.file_max_bytes = FileAccess.DEFAULT_MAX_BYTES
        self.writer = Writer(store.engine)
        self._compiled: dict[int, Strategy] = {}
        self._active_cache: tuple[float, int, Strategy] | None = None
        # (checked at, list version, {field: {value hash: list names}})
        self._lists = None if not list_secret else ListCache(list_secret)
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._refreshing = False  # a refresh started from the event loop is in flight
        self._texts: dict[tuple[Any, ...], str] = {}
        # called after invalidate(): a decision engine in another process forgets too
        self.on_invalidate: list[Callable[[], None]] = []

    # ----------------------------------------------------------------------- strategies
    def strategy(self, session: Session) -> tuple[StrategyVersion, Strategy]:
        """The active version and its compiled strategy (compiled once per version)."""
        row = active_strategy(session)
        if row is None:
            raise ConflictError("no strategy is active: upload one and activate it")
        compiled = self._compiled.get(row.id)
        if compiled is None:
            compiled = compile_source(
                session, row.source, row.base_dir, max_bytes=self.file_max_bytes
            )
            with self._lock:
                self._compiled[row.id] = compiled
        return row, compiled

    def _active(self, session: Session) -> tuple[int, Strategy]:
        """Like :meth:`strategy`, but remembered for ``cache_seconds`` (the hot path)."""
        cached = self._active_cache
        if cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1], cached[2]
        row, compiled = self.strategy(session)
        self._active_cache = (time.monotonic(), row.id, compiled)
        return row.id, compiled

    def invalidate(self) -> None:
        """Forget the cached active strategy and make the next decision check the lists' version
        (call after changing either)."""
        self._active_cache = None
        if self._lists is not None:
            self._lists.expire()
        for hook in self.on_invalidate:
            hook()

    def stale(self) -> bool:
        """Whether a cache (active strategy, lists) is older than ``cache_seconds``."""
        active = self._active_cache
        if active is None or time.monotonic() - active[0] >= self.cache_seconds:
            return True
        return self._lists is not None and self._lists.age() >= self.cache_seconds

    def refresh(self) -> None:
        """Reload the active strategy and check the lists' version (two small queries; the
        entries are read only after they changed).

        One caller refreshes while the others go on with the copies they have (at most one
        refresh older than ``cache_seconds``): a stale cache must not send every request in
        flight to the database at the same moment.
        """
        if not self._refresh_lock.acquire(blocking=False):
            return  # someone else is refreshing
        try:
            lists = self._lists
            generation = 0 if lists is None else lists.generation()
            with self.store.sessions() as session:
                row, compiled = self.strategy(session)
                self._active_cache = (time.monotonic(), row.id, compiled)
                if lists is not None:
                    lists.check(session, generation)
        finally:
            self._refresh_lock.release()

    def close(self) -> None:
        """Stop the writer thread (after writing what is queued)."""
        self.writer.close()

    # ----------------------------------------------------------------------- deciding
    def find_replay(
        self, session: Session, api_key_id: int | None, idempotency_key: str, request_sha: str
    ) -> Outcome | None:
        """The stored outcome of an earlier request with this idempotency key, if any."""
        app = session.execute(
            select(Application).where(
                Application.api_key_id == api_key_id,
                Application.idempotency_key == idempotency_key,
            )
        ).scalar_one_or_none()
        if app is None:
            return None
        if app.request_sha256 != request_sha:
            raise ConflictError(
                f"Idempotency-Key {idempotency_key!r} was already used for a different request"
            )
        decision = session.execute(
            select(DecisionRecord).where(DecisionRecord.application_id == app.id)
        ).scalar_one()
        review = session.execute(
            select(Review).where(Review.decision_id == decision.id)
        ).scalar_one_or_none()
        return Outcome(app, decision, review, replayed=True)

    def prepare(
        self, payload: Mapping[str, Any], actor: str, api_key_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> Outcome | Pending:  # fmt: skip
        """Decide without writing: the replayed :class:`Outcome` of an earlier request with
        this idempotency key, or the :class:`Pending` rows for the writer.

        Raises
        ------
        InputError, OutputError, ConflictError, DecisionFailedError
            As :meth:`decide`.
        """
        try:
            return self._prepare(payload, actor, api_key_id, idempotency_key)
        except Exception as exc:
            if _own_fault(exc):
                raise failed(exc) from exc
            raise

    def _prepare(
        self, payload: Mapping[str, Any], actor: str, api_key_id: int | None,
        idempotency_key: str | None,
    ) -> Outcome | Pending:  # fmt: skip
        payload, text = canonical_payload(payload)
        # only a retry needs telling apart from a different request under the same key
        request_sha = "" if idempotency_key is None else self._request_digest(text)
        if not self.needs_database(payload, idempotency_key):  # the hot path: no session
            cached = self._active_cache
            assert cached is not None
            row_id, strategy = cached[1], cached[2]
            result = strategy.decide(payload)
            hits = [] if self._lists is None else self._lists.hits(payload)
        else:
            with self.store.sessions() as session:
                if idempotency_key is not None:
                    replay = self.find_replay(session, api_key_id, idempotency_key, request_sha)
                    if replay is not None:
                        return replay
                row_id, strategy = self._active(session)
                result = strategy.decide(payload)
                hits = []
                if self._lists is not None:
                    if not self._lists.loaded:
                        self._lists.check(session, self._lists.generation())
                    hits = self._lists.hits(payload)
        return self._pending(
            payload, text, request_sha, actor, api_key_id, idempotency_key, row_id, result, hits
        )

    def needs_database(self, payload: Mapping[str, Any], idempotency_key: str | None) -> bool:
        """Whether :meth:`prepare` would query the database (else it is pure CPU work).

        Stale caches do not count: :meth:`refresh` renews them, once, for everyone.
        """
        if idempotency_key is not None or self._active_cache is None:
            return True
        return self._lists is not None and not self._lists.loaded

    def decide(
        self, payload: Mapping[str, Any], actor: str, api_key_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> Outcome:  # fmt: skip
        """Decide one application and store application, decision, ledger entry and review.

        The rows are written by the group-commit writer; this returns once they are committed.

        Raises
        ------
        InputError
            The application does not match the active strategy's inputs (names the fields).
        OutputError
            The strategy gave it a limit, APR or term no loan can carry (names the output).
        ConflictError
            No strategy is active, or the idempotency key was used for a different request.
        DecisionFailedError
            Deciding it raised an unexpected error (logged with its traceback; the message is
            generic). Any of these fails this application alone.
        """
        if self.stale():
            self.refresh()
        prepared = self.prepare(payload, actor, api_key_id, idempotency_key)
        if isinstance(prepared, Outcome):
            return prepared
        try:
            return self._outcome(self.writer.submit(prepared))
        except IntegrityError:
            return self._race(prepared)

    async def decide_async(
        self, payload: Mapping[str, Any], actor: str, api_key_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> Outcome:  # fmt: skip
        """:meth:`decide` for an event loop: CPU work inline, database work off the loop."""
        from anyio import to_thread

        if not self._refreshing and self.stale():  # one refresh at a time, off the loop
            self._refreshing = True
            try:
                await to_thread.run_sync(self.refresh)
            finally:
                self._refreshing = False
        if self.needs_database(payload, idempotency_key):
            prepared = await to_thread.run_sync(
                self.prepare, payload, actor, api_key_id, idempotency_key
            )
        else:
            prepared = self.prepare(payload, actor, api_key_id, idempotency_key)
        if isinstance(prepared, Outcome):
            return prepared
        try:
            return self._outcome(await self.writer.submit_async(prepared))
        except IntegrityError:
            return await to_thread.run_sync(self._race, prepared)

    def decide_many(
        self, requests: Sequence[tuple[Mapping[str, Any], str, int | None, str | None]]
    ) -> list[Outcome | Exception]:
        """Decide several applications (``payload, actor, api_key_id, idempotency_key`` each)
        and write them in one transaction, in this thread: the :class:`Outcome` of each, or the
        error :meth:`decide` would have raised for it (a failed write: the database's error for
        every application of the batch). One bad application fails alone: whatever it holds
        and whatever deciding it raises (:class:`DecisionFailedError` for the unexpected), the
        others are decided and written.
        """
        if self.stale():
            self.refresh()
        out: list[Outcome | Exception] = []
        pending: list[tuple[int, Pending]] = []
        for payload, actor, api_key_id, idempotency_key in requests:
            try:
                prepared = self.prepare(payload, actor, api_key_id, idempotency_key)
            except CreditFactoryError as exc:  # its own (a database failure is everyone's)
                out.append(exc)
                continue
            if isinstance(prepared, Pending):
                pending.append((len(out), prepared))
            out.append(prepared)  # type: ignore[arg-type]  # a Pending: replaced below
        if pending:
            # a value the database refuses fails only its item: the writer finds it
            self.writer.write([item for _, item in pending])
        for k, item in pending:
            assert item.future is not None
            failed = item.future.exception()
            if failed is None:
                out[k] = self._outcome(item.future.result())
            elif isinstance(failed, IntegrityError):
                try:
                    out[k] = self._race(item)
                except CreditFactoryError as err:
                    out[k] = err
            elif isinstance(failed, Exception):  # the database failed: every item of the batch
                out[k] = failed
            else:
                raise failed
        return out

    @staticmethod
    def _outcome(rows: tuple[Any, Any, Any]) -> Outcome:
        app, rec, review = rows
        return Outcome(app, rec, review, replayed=False)

    def _race(self, item: Pending) -> Outcome:
        """A concurrent retry with the same idempotency key won: answer with its decision."""
        app = item.application
        if app["idempotency_key"] is None:
            raise ConflictError("a unique key was violated writing the decision")
        with self.store.sessions() as session:
            replay = self.find_replay(
                session, app["api_key_id"], app["idempotency_key"], app["request_sha256"]
            )
        if replay is None:  # pragma: no cover - the unique key guarantees the row exists
            raise ConflictError(f"Idempotency-Key {app['idempotency_key']!r}: write failed")
        return replay

    def _pending(
        self, payload: dict[str, Any], text: str, request_sha: str, actor: str,
        api_key_id: int | None,
        idempotency_key: str | None, strategy_id: int, result: Decision,
        hits: list[tuple[str, str]],
    ) -> Pending:  # fmt: skip
        if hits:
            decided = apply_lists(result, hits)
            decision_, limit, apr, term = (
                decided["decision"],
                decided["limit"],
                decided["apr"],
                decided["term"],
            )
            reasons = decided["reasons"]
        else:  # the common case, without the copy
            decision_, limit, apr, term = result.decision, result.limit, result.apr, result.term
            reasons = list(result.reasons)
        external = payload.get("application_id")
        when = now()
        pii = self.pii
        if pii is not None:  # decided on the clear values; stored (and digested) protected
            stored = pii.protect(payload)
            if stored is not payload:
                payload, text = stored, _CANONICAL.encode(stored)
        application = {
            "external_id": None if external is None else str(external)[:100],
            "payload": payload, "request_sha256": request_sha,
            "idempotency_key": idempotency_key, "api_key_id": api_key_id, "received_at": when,
        }  # fmt: skip
        texts = {"payload": text}
        # the steps run and the model versions repeat from one decision to the next: their
        # canonical texts are remembered
        trace, trace_text = self._text_of(result.trace)
        versions, versions_text = self._text_of(result.model_versions)
        texts["trace"], texts["model_versions"] = trace_text, versions_text
        try:  # plain JSON values (the usual case): serialised once, stored and digested as is
            values = dict(result.values)
            if pii is not None:
                values = pii.protect(values)
            texts["values"] = _CANONICAL.encode(values)
        except (TypeError, ValueError):
            texts["values"] = canonical_json(dict(result.values))
            values = json.loads(texts["values"])
            if pii is not None:
                values = pii.protect(values)
                texts["values"] = _CANONICAL.encode(values)
        decision = {
            "strategy_id": strategy_id, "strategy": result.strategy,
            "version": str(result.version), "decision": decision_, "limit": limit, "apr": apr,
            "term": term, "reasons": reasons, "trace": trace, "model_versions": versions,
            "values": values, "list_hits": [f"{n}:{f}" for n, f in hits], "decided_at": when,
        }  # fmt: skip
        review = None
        if decision_ == "refer":
            review = "refer"
        elif self.qc_rate > 0 and self._rng.random() < self.qc_rate:
            review = "qc_sample"
        return Pending(application, decision, review, actor, texts=texts)

    def _request_digest(self, text: str) -> str:
        return _sha256(text) if self.pii is None else self.pii.request_digest(text)

    def _text_of(self, value: Any) -> tuple[Any, str]:
        """A fresh copy of ``value`` (a trace or a model-version map) and its canonical text,
        the text remembered (a few hundred distinct ones at most in practice)."""
        copy = dict(value) if isinstance(value, Mapping) else list(value)
        try:
            key = tuple(copy.items()) if isinstance(copy, dict) else tuple(copy)
            text = self._texts.get(key)
        except TypeError:  # unhashable content: not remembered
            return copy, canonical_json(copy)
        if text is None:
            if len(self._texts) > 10_000:
                self._texts.clear()
            text = self._texts[key] = canonical_json(copy)
        return copy, text

    # ----------------------------------------------------------------------- reviews
    def review(
        self, review_id: int, outcome: str, reason: str, reviewer: str
    ) -> tuple[Review, DecisionRecord]:
        """Record an underwriter's override beside the original decision.

        Raises
        ------
        NotFoundError, ConflictError
            The review does not exist, or was already completed.
        """
        if outcome not in OUTCOMES:
            from creditfactory.exceptions import DataError

            raise DataError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
        with self.store.session() as session:
            # a conditional UPDATE, so that of two concurrent reviews exactly one wins
            done = session.execute(
                update(Review)
                .where(Review.id == review_id, Review.status == "pending")
                .values(status="done", outcome=outcome, reason=reason, reviewer=reviewer,
                        reviewed_at=now())
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            rev = session.get(Review, review_id, populate_existing=True)
            if rev is None:
                raise NotFoundError(f"review {review_id} not found")
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise ConflictError(f"review {review_id} was already completed by {rev.reviewer}")
            session.flush()
            decision = session.get(DecisionRecord, rev.decision_id)
            assert decision is not None
            append(
                session, "review", subject_of(rev), reviewer,
                {
                    "decision_id": decision.id, "original": decision.decision,
                    "outcome": outcome, "reason": reason,
                    "digests": {subject_of(rev): record_digest(rev)},
                },
            )  # fmt: skip
            return rev, decision


def json_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The application as it will be stored: JSON values only (dates as ISO text, NaN as null).

    Raises
    ------
    DataError
        A value has no JSON form (the message names its type).

    Examples
    --------
    >>> from datetime import date
    >>> json_payload({"applied": date(2024, 1, 2), "x": float("nan")})
    {'applied': '2024-01-02', 'x': None}
    """
    try:
        json.dumps(payload, allow_nan=False)
        return dict(payload)
    except (TypeError, ValueError):
        return dict(json.loads(canonical_json(dict(payload))))


def canonical_payload(payload: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """:func:`json_payload` and its canonical JSON text, serialised once.

    Raises
    ------
    DataError
        A value has no JSON form (the message names its type).

    Examples
    --------
    >>> canonical_payload({"b": 1, "a": float("nan")})
    ({'a': None, 'b': 1}, '{"a":null,"b":1}')
    """
    try:  # the common case: plain JSON values already
        out, text = dict(payload), _CANONICAL.encode(payload)
    except (TypeError, ValueError):
        text = canonical_json(dict(payload))
        out = dict(json.loads(text))
    # JSON's escape of U+0000 (or a backslash before "u0000"), or text UTF-8 cannot encode
    if "\\u0000" in text or text_problem(text) is not None:
        _reject_unstorable(out)
    return out, text


def _reject_unstorable(payload: dict[str, Any]) -> None:
    """:class:`InputError` naming the first field whose name or text holds U+0000 or an
    unpaired surrogate: neither can be stored (PostgreSQL refuses U+0000, UTF-8 has no
    surrogates), and whether an application is accepted must not depend on the database."""
    found = first_problem(payload, unstorable)
    if found is not None:
        path, message = found
        field = path_text(path)
        raise InputError(f"application: {field}: {message}", [field])


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def list_codes(hits: Sequence[tuple[str, str]], list_name: str) -> list[str]:
    """Reason codes (``LIST_<LIST>_<FIELD>``) of the hits on one list, in hit order."""
    return [f"LIST_{n}_{f}".upper() for n, f in hits if n == list_name]


def apply_lists(result: Decision, hits: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The decision after the service's hashed lists.

    Any blacklist hit declines (limit, APR and term cleared) with the blacklist codes first;
    otherwise a greylist hit turns an approval into a refer with the greylist codes last;
    whitelist hits are only recorded. The batch factory applies the same rule
    (:class:`creditfactory.batch.ListScreen`).

    Examples
    --------
    >>> d = Decision("approve", 5000.0, 0.2, 12, ["R1"], ["rules"], "s", "1")
    >>> apply_lists(d, [("greylist", "phone")])["reasons"]
    ['R1', 'LIST_GREYLIST_PHONE']
    >>> apply_lists(d, [("blacklist", "id_number"), ("blacklist", "phone")])["reasons"]
    ['LIST_BLACKLIST_ID_NUMBER', 'LIST_BLACKLIST_PHONE', 'R1']
    """
    out: dict[str, Any] = {
        "decision": result.decision, "limit": result.limit, "apr": result.apr,
        "term": result.term, "reasons": list(result.reasons),
    }  # fmt: skip
    black, grey = list_codes(hits, "blacklist"), list_codes(hits, "greylist")
    if black:
        out.update(decision="decline", limit=None, apr=None, term=None)
        out["reasons"] = [*black, *out["reasons"]]
    elif grey and out["decision"] == "approve":
        out["decision"] = "refer"
        out["reasons"] = [*out["reasons"], *grey]
    return out


def get_decision(session: Session, decision_id: int) -> DecisionRecord:
    """One decision by id."""
    row = session.get(DecisionRecord, decision_id)
    if row is None:
        raise NotFoundError(f"decision {decision_id} not found")
    return row


def get_application(session: Session, application_id: int) -> Application:
    """One application by id."""
    row = session.get(Application, application_id)
    if row is None:
        raise NotFoundError(f"application {application_id} not found")
    return row


def reviews(session: Session, status: str | None = "pending", limit: int = 100) -> list[Review]:
    """Reviews, oldest first, optionally of one status."""
    stmt = select(Review).order_by(Review.id).limit(limit)
    if status is not None:
        stmt = stmt.where(Review.status == status)
    return list(session.execute(stmt).scalars())
