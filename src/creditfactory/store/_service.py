"""The decision service's unit of work: decide one application, store it, chain it, queue it.

Used by the HTTP API (and anything else that decides online with persistence). The compiled
strategy is cached per stored version, so a request costs one engine call plus the inserts.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from creditfactory.audit import canonical_json
from creditfactory.decision import Decision, Strategy
from creditfactory.store._db import Store
from creditfactory.store._errors import ConflictError, NotFoundError
from creditfactory.store._ledger import append
from creditfactory.store._records import record_digest, subject_of
from creditfactory.store._repo import (
    active_strategy,
    compile_source,
    list_hits,
    now,
    request_digest,
)
from creditfactory.store._tables import (
    Application,
    DecisionRecord,
    Review,
    StrategyVersion,
)

OUTCOMES = ("approve", "decline")


@dataclass
class Outcome:
    """What ``decide`` did: the stored rows and whether this was an idempotent replay."""

    application: Application
    decision: DecisionRecord
    review: Review | None
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
    """

    def __init__(
        self, store: Store, list_secret: str | None = None, qc_rate: float = 0.0,
        seed: int | None = None,
    ):  # fmt: skip
        self.store = store
        self.list_secret = list_secret
        self.qc_rate = qc_rate
        self._rng = random.Random(seed)
        self._cache: dict[int, Strategy] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------- strategies
    def strategy(self, session: Session) -> tuple[StrategyVersion, Strategy]:
        """The active version and its compiled strategy (compiled once per version)."""
        row = active_strategy(session)
        if row is None:
            raise ConflictError("no strategy is active: upload one and activate it")
        compiled = self._cache.get(row.id)
        if compiled is None:
            compiled = compile_source(session, row.source)
            with self._lock:
                self._cache[row.id] = compiled
        return row, compiled

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

    def decide(
        self, payload: Mapping[str, Any], actor: str, api_key_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> Outcome:  # fmt: skip
        """Decide one application and store application, decision, ledger entry and review.

        Raises
        ------
        InputError
            The application does not match the active strategy's inputs (names the fields).
        ConflictError
            No strategy is active, or the idempotency key was used for a different request.
        """
        payload = dict(payload)
        request_sha = request_digest(payload)
        with self.store.session() as session:
            if idempotency_key is not None:
                replay = self.find_replay(session, api_key_id, idempotency_key, request_sha)
                if replay is not None:
                    return replay
            row, strategy = self.strategy(session)
            result = strategy.decide(payload)
            hits = list_hits(session, self.list_secret, payload)
            try:
                return self._store(
                    session, payload, request_sha, actor, api_key_id, idempotency_key, row,
                    result, hits,
                )  # fmt: skip
            except IntegrityError:
                if idempotency_key is None:
                    raise
                session.rollback()  # a concurrent retry won the race: answer with its decision
        with self.store.session() as session:
            replay = self.find_replay(session, api_key_id, idempotency_key, request_sha)
            if replay is None:  # pragma: no cover - the unique key guarantees the row exists
                raise ConflictError(f"Idempotency-Key {idempotency_key!r}: concurrent failure")
            return replay

    def _store(
        self, session: Session, payload: dict[str, Any], request_sha: str, actor: str,
        api_key_id: int | None, idempotency_key: str | None, row: StrategyVersion,
        result: Decision, hits: list[tuple[str, str]],
    ) -> Outcome:  # fmt: skip
        decided = apply_lists(result, hits)
        external = payload.get("application_id")
        app = Application(
            external_id=None if external is None else str(external)[:100], payload=payload,
            request_sha256=request_sha, idempotency_key=idempotency_key, api_key_id=api_key_id,
            received_at=now(),
        )  # fmt: skip
        session.add(app)
        session.flush()
        rec = DecisionRecord(
            application_id=app.id, strategy_id=row.id, strategy=result.strategy,
            version=str(result.version), decision=decided["decision"], limit=decided["limit"],
            apr=decided["apr"], term=decided["term"], reasons=decided["reasons"],
            trace=list(result.trace), model_versions=dict(result.model_versions),
            values=_plain(result.values), list_hits=[f"{n}:{f}" for n, f in hits],
            decided_at=now(),
        )  # fmt: skip
        session.add(rec)
        session.flush()
        review = None
        if rec.decision == "refer" or (self.qc_rate > 0 and self._rng.random() < self.qc_rate):
            reason = "refer" if rec.decision == "refer" else "qc_sample"
            review = Review(
                decision_id=rec.id, queue_reason=reason, status="pending", queued_at=now()
            )
            session.add(review)
            session.flush()
        records: list[Any] = [app, rec] + ([review] if review is not None else [])
        append(
            session, "decision", subject_of(rec), actor,
            {
                "decision": rec.decision, "strategy": rec.strategy, "version": rec.version,
                "reasons": rec.reasons,
                "digests": {subject_of(r): record_digest(r) for r in records},
            },
        )  # fmt: skip
        return Outcome(app, rec, review, replayed=False)

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
            rev = session.get(Review, review_id, with_for_update=True)
            if rev is None:
                raise NotFoundError(f"review {review_id} not found")
            if rev.status != "pending":
                raise ConflictError(f"review {review_id} was already completed by {rev.reviewer}")
            rev.status, rev.outcome, rev.reason = "done", outcome, reason
            rev.reviewer, rev.reviewed_at = reviewer, now()
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


def apply_lists(result: Decision, hits: list[tuple[str, str]]) -> dict[str, Any]:
    """The decision after the service's hashed lists: a blacklist hit declines, a greylist hit
    turns an approval into a refer; whitelist hits are only recorded.

    Examples
    --------
    >>> d = Decision("approve", 5000.0, 0.2, 12, [], ["rules"], "s", "1")
    >>> apply_lists(d, [("greylist", "phone")])["decision"]
    'refer'
    >>> apply_lists(d, [("blacklist", "id_number")])["reasons"]
    ['LIST_BLACKLIST_ID_NUMBER']
    """
    out = {
        "decision": result.decision, "limit": result.limit, "apr": result.apr,
        "term": result.term, "reasons": list(result.reasons),
    }  # fmt: skip
    for name, field in hits:
        code = f"LIST_{name}_{field}".upper()
        if name == "blacklist":
            out.update(decision="decline", limit=None, apr=None, term=None)
            out["reasons"] = [code, *out["reasons"]]
        elif name == "greylist" and out["decision"] == "approve":
            out["decision"] = "refer"
            out["reasons"] = [*out["reasons"], code]
    return out


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return dict(json.loads(canonical_json(dict(values))))


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
