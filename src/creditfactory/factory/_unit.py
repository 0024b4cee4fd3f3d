"""The credit factory's unit of work: decide (and screen) → persist → chain, a batch at a time.

:meth:`Factory.decide` takes a batch of applications and gives back one outcome (or error) per
application, in order: each is parsed, decided by the active strategy (whose ``lists`` steps
look the service's hashed lists up through the factory's provider, :class:`ListCache`) and
turned into rows; the batch's rows are written and chained into the
ledger in one transaction by the group-commit writer. :meth:`Factory.handle` is the loop body
both modes run: in process on the factory's thread (:class:`~creditfactory.factory.InProcess`),
or in an engine process (:mod:`creditfactory.factory._engine`); it takes the messages that have
arrived (:mod:`creditfactory.factory._messages`), applies controls in order with the
applications around them and answers each application.

A factory is used by one thread at a time (its loop's): its caches need no locks.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from creditfactory.audit import canonical_json
from creditfactory.decision import Decision, Strategy
from creditfactory.exceptions import CreditFactoryError, DecisionFailedError
from creditfactory.factory._body import parse_body
from creditfactory.factory._config import FactoryConfig
from creditfactory.factory._fraud import FraudLinks
from creditfactory.factory._messages import (
    Close,
    Decide,
    Decided,
    ErrorState,
    Failed,
    Invalidate,
    Message,
)
from creditfactory.factory._outcome import Outcome, answer
from creditfactory.factory._payload import (
    CANONICAL,
    canonical_payload,
    failed,
    own_fault,
    protected_payload,
)
from creditfactory.fraud import HashedLists, Lookups
from creditfactory.store import (
    Application,
    ConflictError,
    DecisionRecord,
    ListCache,
    Pending,
    Protector,
    Review,
    Store,
    Writer,
    active_strategy,
    compile_source,
    now,
    unavailable,
)

_log = logging.getLogger("creditfactory.engine")

_UNANSWERED = (
    "the application was decided and stored, but its answer could not be built (an internal "
    "error, logged); a retry with the same Idempotency-Key reads it back"
)


class Factory:
    """Decide (the strategy screens against the lists), store and chain applications.

    Parameters
    ----------
    config : FactoryConfig
        The database, list secret, QC sampling, protection of personal identifiers ...
    store : Store, optional
        An open store on ``config.database_url`` (the in-process mode shares the front's);
        by default the factory opens its own and disposes of it on :meth:`close`.
    pii : Protector, optional
        How personal identifiers are protected before they are stored (the front's, in
        process); by default the one ``config`` describes.
    """

    def __init__(
        self, config: FactoryConfig, store: Store | None = None, pii: Protector | None = None
    ):
        self.config = config
        self._own_store = store is None
        self.store = Store(config.database_url) if store is None else store
        if pii is None:
            pii = Protector.configured(config.pii_key, config.list_secret, config.pii_fields)
        self.pii = pii
        self.writer = Writer(self.store.engine, backend=config.backend)
        self._rng = random.Random(config.qc_seed)
        self._compiled: dict[int, Strategy] = {}
        self._active: tuple[float, int, Strategy] | None = None  # (checked at, id, strategy)
        self._lists = None if not config.list_secret else ListCache(config.list_secret)
        # what the strategy's lists steps look up (no list secret: no list can hold an entry)
        source = HashedLists.empty() if self._lists is None else self._lists
        # the fraud features (fraud:ring_size ...) of strategies that declare them: a history in
        # memory that every decided application's link (keyed hashes) joins, stored with the
        # decision and read back by every engine process (creditfactory.factory._fraud)
        self.fraud_links = FraudLinks(self.store, config.list_secret, self.writer.others_wrote)
        self.fraud = self.fraud_links.source
        self.lookups = Lookups({"list": source, "fraud": self.fraud})
        self._texts: dict[tuple[Any, ...], str] = {}

    # ----------------------------------------------------------------------- the loop body
    def handle(self, messages: Sequence[Message]) -> tuple[list[Decided | Failed], bool]:
        """Answer the messages that have arrived: each run of applications is one batch
        (:meth:`decide`), controls apply in order between them. Returns the replies and
        whether a :class:`Close` was among the messages."""
        replies: list[Decided | Failed] = []
        batch: list[Decide] = []
        stop = False
        for message in messages:
            if isinstance(message, Decide):
                batch.append(message)
                continue
            if batch:  # decided with the strategy in force when they were sent
                replies += self._answers(batch)
                batch = []
            if isinstance(message, Invalidate):
                self.invalidate()
            elif isinstance(message, Close):
                stop = True
        if batch:
            replies += self._answers(batch)
        return replies, stop

    def _answers(self, batch: list[Decide]) -> list[Decided | Failed]:
        outcomes = self.decide(batch)
        replies: list[Decided | Failed] = []
        logged: set[int] = set()
        for request, out in zip(batch, outcomes, strict=True):
            if isinstance(out, Exception):
                if not isinstance(out, CreditFactoryError) and id(out) not in logged:
                    logged.add(id(out))  # a failed write is every request's: logged once
                    if unavailable(out):  # an outage: one line a batch, the front answers 503
                        _log.warning("database unavailable: %s", type(out).__name__)
                    else:
                        _log.error("deciding applications failed", exc_info=out)
                replies.append(Failed(request.id, ErrorState.of(out)))
                continue
            try:
                replies.append(Decided(request.id, answer(out)))
            except Exception as exc:  # one answer that cannot be built must not stop the loop
                _log.error("answering a decided application failed", exc_info=exc)
                replies.append(Failed(request.id, ErrorState.of(DecisionFailedError(_UNANSWERED))))
        return replies

    # ----------------------------------------------------------------------- the entry point
    def decide(self, batch: Sequence[Decide]) -> list[Outcome | Exception]:
        """Decide a batch of applications and write them in one transaction: the
        :class:`Outcome` of each (an idempotent replay read back, or the rows written), or its
        error, in order.

        One bad application fails alone: whatever it holds and whatever deciding it raises
        (:class:`~creditfactory.exceptions.DecisionFailedError` for the unexpected), the others
        are decided and written. A database failure is every application's error.

        Errors (per application)
        ------------------------
        BodyError
            The body is not a JSON object of storable values (field-level errors).
        InputError
            The application does not match the active strategy's inputs (names the fields).
        OutputError
            The strategy gave it a limit, APR or term no loan can carry (names the output).
        ConflictError
            No strategy is active, or the idempotency key was used for a different request.
        """
        # parsed first: a body that is no application is its own error, whatever else fails
        parsed = [self._parse(r) for r in batch]
        try:
            if self.stale():
                self.refresh()
        except Exception as exc:  # the database unreachable, no strategy active ...
            return [p if isinstance(p, Exception) else exc for p in parsed]
        try:
            self.fraud_links.catch_up()  # the other processes' decisions join the history
            out: list[Outcome | Exception | Pending] = []
            need_db = self._active is None or (self._lists is not None and not self._lists.loaded)
            keyed = any(r.idempotency_key is not None for r in batch)
            if need_db or keyed:
                with self.store.sessions() as session:
                    for r, p in zip(batch, parsed, strict=True):
                        out.append(p if isinstance(p, Exception) else self._prepare(r, p, session))
            else:  # the hot path: no session
                for r, p in zip(batch, parsed, strict=True):
                    out.append(p if isinstance(p, Exception) else self._prepare(r, p, None))
            pending = [(k, p) for k, p in enumerate(out) if isinstance(p, Pending)]
            if pending:  # a value the database refuses fails only its item
                written = self.writer.write([p for _, p in pending])
                for (k, item), result in zip(pending, written, strict=True):
                    out[k] = self._written(item, result)
                self.fraud_links.stored([p for _, p in pending], written)
        except Exception as exc:  # the database failed: every application's error
            return [p if isinstance(p, Exception) else exc for p in parsed]
        return out  # type: ignore[return-value]  # every Pending was replaced

    @staticmethod
    def _parse(r: Decide) -> dict[str, Any] | Exception:
        if not isinstance(r.body, bytes):
            return dict(r.body)
        try:
            return parse_body(r.body)
        except CreditFactoryError as exc:
            return exc

    def _written(self, item: Pending, result: Any) -> Outcome | Exception:
        if isinstance(result, IntegrityError):
            try:
                return self._race(item)
            except CreditFactoryError as err:
                return err
        if isinstance(result, Exception):  # the database failed: every item of the batch
            return result
        app, rec, review = result
        return Outcome(app, rec, review, replayed=False)

    def _prepare(
        self, r: Decide, payload: dict[str, Any], session: Session | None
    ) -> Outcome | Pending | Exception:
        try:
            return self._rows(payload, r, session)
        except CreditFactoryError as exc:  # its own (a database failure is everyone's)
            return exc
        except Exception as exc:
            if own_fault(exc):
                return failed(exc)
            raise

    def _rows(
        self, payload: Mapping[str, Any], r: Decide, session: Session | None
    ) -> Outcome | Pending:
        key = r.idempotency_key
        # without a key the clear text is never needed: the stored one is encoded once
        found = None if key is not None else protected_payload(payload, self.pii)
        stored: tuple[dict[str, Any], str] | None = None
        if found is None:
            payload, text = canonical_payload(payload)
        else:
            payload, stored, text = found[0], (found[1], found[2]), ""
        # only a retry needs telling apart from a different request under the same key
        request_sha = "" if key is None else self._request_digest(text)
        if session is not None:
            if key is not None:
                replay = find_replay(session, r.api_key_id, key, request_sha)
                if replay is not None:
                    return replay
            if self._active is None:
                self._load_active(session)
            if self._lists is not None and not self._lists.loaded:
                self._lists.check(session, self._lists.generation())
        assert self._active is not None
        _, row_id, strategy = self._active
        result = strategy.decide(payload, self.lookups)
        return self._pending(payload, text, request_sha, r, row_id, result, stored)

    # ----------------------------------------------------------------------- caches
    def strategy(self, session: Session) -> tuple[Any, Strategy]:
        """The active version and its compiled strategy (compiled once per version).

        Raises
        ------
        ConflictError
            No strategy is active.
        """
        row = active_strategy(session)
        if row is None:
            raise ConflictError("no strategy is active: upload one and activate it")
        compiled = self._compiled.get(row.id)
        if compiled is None:
            compiled = self._compiled[row.id] = compile_source(
                session, row.source, row.base_dir, max_bytes=self.config.strategy_file_max_bytes
            )
        return row, compiled

    def _load_active(self, session: Session) -> None:
        row, compiled = self.strategy(session)
        self.fraud_links.wanted = any(
            f.startswith("fraud:") for f in compiled.provided_inputs.values()
        )
        self._active = (time.monotonic(), row.id, compiled)

    def invalidate(self) -> None:
        """Forget the cached active strategy and make the next decision check the lists."""
        self._active = None
        if self._lists is not None:
            self._lists.expire()

    def stale(self) -> bool:
        """Whether a cache (active strategy, lists) is older than ``cache_seconds``."""
        limit = self.config.cache_seconds
        active = self._active
        if active is None or time.monotonic() - active[0] >= limit:
            return True
        return self._lists is not None and self._lists.age() >= limit

    def refresh(self) -> None:
        """Reload the active strategy and check the lists' version (two small queries; the
        entries are read only after they changed).

        Raises
        ------
        ConflictError
            No strategy is active.
        """
        lists = self._lists
        generation = 0 if lists is None else lists.generation()
        with self.store.sessions() as session:
            self._load_active(session)
            if lists is not None:
                lists.check(session, generation)

    def close(self) -> None:
        """Let go of the writer's connection (and of the store, if the factory opened it)."""
        self.writer.close()
        self.fraud_links.close()
        if self._own_store:
            self.store.dispose()

    # ----------------------------------------------------------------------- rows
    def _race(self, item: Pending) -> Outcome:
        """A concurrent retry with the same idempotency key won: answer with its decision."""
        app = item.application
        if app["idempotency_key"] is None:
            raise ConflictError("a unique key was violated writing the decision")
        with self.store.sessions() as session:
            replay = find_replay(
                session, app["api_key_id"], app["idempotency_key"], app["request_sha256"]
            )
        if replay is None:  # pragma: no cover - the unique key guarantees the row exists
            raise ConflictError(f"Idempotency-Key {app['idempotency_key']!r}: write failed")
        return replay

    def _pending(
        self, payload: dict[str, Any], text: str, request_sha: str, r: Decide, strategy_id: int,
        result: Decision, stored: tuple[dict[str, Any], str] | None = None,
    ) -> Pending:  # fmt: skip
        """The rows of a decided application; ``stored`` is the application as stored and its
        text when :func:`protected_payload` made them (else they are made here from
        ``payload`` and its canonical ``text``)."""
        decision_, limit, apr, term = result.decision, result.limit, result.apr, result.term
        reasons = list(result.reasons)
        external = payload.get("application_id")
        payload_clear = payload
        when = now()
        pii = self.pii
        if stored is not None:  # decided on the clear values; stored (and digested) so
            payload, text = stored
        else:
            protected = pii.protect(payload)
            if protected is not payload:
                payload, text = protected, CANONICAL.encode(protected)
        application = {
            "external_id": None if external is None else str(external)[:100],
            "payload": payload, "request_sha256": request_sha,
            "idempotency_key": r.idempotency_key, "api_key_id": r.api_key_id, "received_at": when,
        }  # fmt: skip
        texts = {"payload": text}
        # the steps run and the model versions repeat from one decision to the next: their
        # canonical texts are remembered
        trace, texts["trace"] = self._text_of(result.trace)
        versions, texts["model_versions"] = self._text_of(result.model_versions)
        try:  # plain JSON values (the usual case): serialised once, stored and digested as is
            values = pii.protect(dict(result.values))
            texts["values"] = CANONICAL.encode(values)
        except (TypeError, ValueError):
            values = pii.protect(json.loads(canonical_json(dict(result.values))))
            texts["values"] = CANONICAL.encode(values)
        decision = {
            "strategy_id": strategy_id, "strategy": result.strategy,
            "version": str(result.version), "decision": decision_, "limit": limit, "apr": apr,
            "term": term, "reasons": reasons, "trace": trace, "model_versions": versions,
            "values": values, "list_hits": list(result.list_hits), "decided_at": when,
        }  # fmt: skip
        review = None
        if decision_ == "refer":
            review = "refer"
        elif self.config.qc_rate > 0 and self._rng.random() < self.config.qc_rate:
            review = "qc_sample"
        link = self.fraud_links.link(payload_clear)
        return Pending(application, decision, review, r.actor, texts=texts, fraud_link=link)

    def _request_digest(self, text: str) -> str:
        return self.pii.request_digest(text)

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


def find_replay(
    session: Session, api_key_id: int | None, idempotency_key: str, request_sha: str
) -> Outcome | None:
    """The stored outcome of an earlier request with this idempotency key, if any.

    Raises
    ------
    ConflictError
        The key was used for a different request.
    """
    app = session.execute(
        select(Application).where(
            Application.api_key_id == api_key_id, Application.idempotency_key == idempotency_key
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
