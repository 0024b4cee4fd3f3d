"""The rows of a decision before they are written: :class:`Pending` (column values without ids,
serialised once) and :func:`build_rows` (a batch's rows with its ids, chained into the ledger).

Serialising is done once, by whoever builds the :class:`Pending`: each JSON column's canonical
text is both what is stored and what the record's ledger digest covers, and the digest text
(:func:`~creditfactory.store._records.content_pieces`, the function ``audit verify`` uses) is cut
around the ids a back-end reserves, so writing only hashes. How a row is laid out for the
database (parameter tuples, JSON objects) is the back-end's :class:`RowFormat`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Protocol

from creditfactory.audit import canonical_json, entry_hash_text, utc_now
from creditfactory.store._fraud_links import LINK_COLS
from creditfactory.store._records import content_pieces, record_digest

#: the columns the back-ends insert, in this order (the ids first)
APP_COLS = ("id", "external_id", "payload", "request_sha256", "idempotency_key", "api_key_id",
             "received_at")  # fmt: skip
DEC_COLS = ("id", "application_id", "strategy_id", "strategy", "version", "decision", "limit",
             "apr", "term", "reasons", "trace", "model_versions", "values", "list_hits",
             "decided_at")  # fmt: skip
REV_COLS = ("id", "decision_id", "queue_reason", "status", "queued_at")
LEDGER_COLS = ("seq", "kind", "subject", "actor", "created_at", "payload", "prev_hash", "hash")
JSON_COLS = ("reasons", "trace", "model_versions", "values", "list_hits")


encode_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses


def cj(value: Any) -> str:
    """``canonical_json(value)``, faster for the scalars a row is made of."""
    kind = type(value)
    if kind is str:
        return str(encode_str(value))
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    if kind is list and all(type(v) is str for v in value):  # reasons, trace, list hits
        return f"[{','.join(map(encode_str, value))}]"
    if kind is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
        return (
            "{" + ",".join(f"{encode_str(k)}:{encode_str(value[k])}" for k in sorted(value)) + "}"
        )
    return canonical_json(value)


@dataclass
class Pending:
    """One decision waiting to be written: column values without ids.

    On construction the JSON columns are serialised once (canonical JSON, :attr:`texts`) and the
    canonical texts of the application's and the decision's digest content are assembled around
    the places where the ids go (:attr:`app_digest`, :attr:`dec_digest`).
    """

    application: dict[str, Any]
    decision: dict[str, Any]
    review_reason: str | None
    actor: str
    texts: dict[str, str] = field(default_factory=dict)
    app_digest: tuple[str, str] = ("", "")
    dec_digest: tuple[str, str, str] = ("", "", "")
    app_values: tuple[Any, ...] = ()  # the row after its id, JSON as text
    dec_values: tuple[Any, ...] = ()  # the row after its id and application id
    # the application's fraud link (store._fraud_links.LINK_COLS), written with it, or None
    fraud_link: tuple[Any, ...] | None = None
    # the ledger entry's payload text before and after its digests (known before the ids)
    entry_text: tuple[str, str] = ("", "")
    # the text the fraud link's digest covers, around its application id and seq
    link_text: tuple[str, str, str] = ("", "", "")

    def __post_init__(self) -> None:
        a, d, texts = self.application, self.decision, self.texts
        # what a Float / Integer column gives back, so that the digest survives the round trip
        limit, apr, term = d["limit"], d["apr"], d["term"]
        if limit is not None and type(limit) is not float:
            d["limit"] = limit = float(limit)
        if apr is not None and type(apr) is not float:
            d["apr"] = apr = float(apr)
        if term is not None and type(term) is not int:
            d["term"] = term = int(term)
        if "payload" not in texts:
            texts["payload"] = cj(a["payload"])
        for name in JSON_COLS:
            if name not in texts:
                texts[name] = cj(d[name])
        payload, reasons, trace = texts["payload"], texts["reasons"], texts["trace"]
        versions, values, hits = texts["model_versions"], texts["values"], texts["list_hits"]
        external, sha, key, key_id = (
            a["external_id"],
            a["request_sha256"],
            a["idempotency_key"],
            a["api_key_id"],
        )
        strategy_id, strategy, version, decision = (
            d["strategy_id"],
            d["strategy"],
            d["version"],
            d["decision"],
        )
        # the times as stored (UTC: SQLite keeps the wall time) and as digested (stamp text)
        received, decided = a["received_at"], d["decided_at"]
        if received is not None and received.tzinfo is not UTC:
            a["received_at"] = received = _utc(received)
        if decided is not None and decided.tzinfo is not UTC:
            d["decided_at"] = decided = _utc(decided)
        received_text = stamp_json(received)
        decided_text = received_text if decided is received else stamp_json(decided)
        # the rows in APP_COLS / DEC_COLS order after their ids, JSON columns as text
        self.app_values = (external, payload, sha, key, key_id, received)
        self.dec_values = (
            strategy_id, strategy, version, decision, limit, apr, term, reasons, trace,
            versions, values, hits, decided,
        )  # fmt: skip
        # the texts the application's and the decision's digests cover, ids left out
        a0, a1 = content_pieces(
            "application",
            {"api_key_id": cj(key_id), "external_id": cj(external),
             "idempotency_key": cj(key), "payload": payload, "received_at": received_text,
             "request_sha256": cj(sha)},
            ("id",),
        )  # fmt: skip
        self.app_digest = (a0, a1)
        decision_text, strategy_text, version_text = cj(decision), cj(strategy), cj(version)
        d0, d1, d2 = content_pieces(
            "decision",
            {"apr": cj(apr), "decided_at": decided_text, "decision": decision_text,
             "limit": cj(limit), "list_hits": hits, "model_versions": versions,
             "reasons": reasons, "strategy": strategy_text, "strategy_id": cj(strategy_id),
             "term": cj(term), "trace": trace, "values": values, "version": version_text},
            ("application_id", "id"),
        )  # fmt: skip
        self.dec_digest = (d0, d1, d2)
        # the ledger entry's payload (canonical JSON, sorted keys) around its digests
        self.entry_text = (
            f'{{"decision":{decision_text},"digests":',
            f',"reasons":{reasons},"strategy":{strategy_text},"version":{version_text}}}',
        )
        if self.fraud_link is not None:
            l0, l1, l2 = content_pieces(
                "fraud_link",
                dict(zip(LINK_COLS, map(cj, self.fraud_link), strict=True)),
                ("application_id", "seq"),
            )
            self.link_text = (l0, l1, l2)


def stamp_json(value: datetime | None) -> str:
    """``cj(stamp(value))`` for a UTC value, without the calls (ISO text needs no escaping)."""
    if value is None:
        return "null"
    return f'"{value.isoformat(timespec="microseconds")}"'


def _utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive one is UTC already (as :func:`stamp` reads it)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


sha256 = hashlib.sha256


class RowFormat(Protocol):
    """How a back-end wants a batch's rows (``None`` ids are never passed)."""

    def application_row(self, p: Pending, app_id: int, text: str) -> Any:
        """The application of ``p`` with its id; ``text`` is its digest's (canonical) text."""

    def decision_row(self, p: Pending, dec_id: int, app_id: int, text: str) -> Any:
        """The decision of ``p`` with its ids; ``text`` is its digest's (canonical) text."""

    def review_row(self, review: dict[str, Any]) -> Any:
        """A queued review (every column)."""

    def ledger_row(
        self, seq: int, subject: str, actor: str, when: str, payload: str, prev: str, h: str
    ) -> Any:
        """A ``decision`` ledger entry (``payload`` is its canonical text)."""


@dataclass
class Built:
    """A batch's rows, ready to insert, and the records to answer with."""

    apps: list[Any]
    decs: list[Any]
    revs: list[Any]
    ledger: list[Any]
    head: tuple[int, str, str]  # the new head: seq, hash, time
    out: list[tuple[Any, Any, Any]]  # (application, decision, review or None) per item
    links: list[tuple[Any, ...]] = field(default_factory=list)  # (seq, app id, *fraud link)


def reviewed(batch: list[Pending]) -> int:
    """How many items of ``batch`` queue a review (a review id each)."""
    return sum(p.review_reason is not None for p in batch)


def build_rows(
    fmt: RowFormat, batch: list[Pending], seq: int, prev_hash: str, app_ids: Any, dec_ids: Any,
    rev_ids: Any,
) -> Built:  # fmt: skip
    """The rows of ``batch`` with its reserved ids, chained after ``(seq, prev_hash)``."""
    rev_of = (
        {
            id(p): r
            for p, r in zip((p for p in batch if p.review_reason is not None), rev_ids, strict=True)
        }
        if len(rev_ids)
        else {}
    )
    when = utc_now()
    apps: list[Any] = []
    decs: list[Any] = []
    revs: list[Any] = []
    ledger: list[Any] = []
    out: list[tuple[Any, Any, Any]] = []
    links: list[tuple[Any, ...]] = []
    application_row, decision_row = fmt.application_row, fmt.decision_row
    for p, app_id, dec_id in zip(batch, app_ids, dec_ids, strict=True):
        d = p.decision
        a0, a1 = p.app_digest
        d0, d1, d2 = p.dec_digest
        app_text, dec_text = f"{a0}{app_id}{a1}", f"{d0}{app_id}{d1}{dec_id}{d2}"
        app_sha = sha256(app_text.encode("utf-8")).hexdigest()
        dec_sha = sha256(dec_text.encode("utf-8")).hexdigest()
        digests = f'{{"application:{app_id}":"{app_sha}","decision:{dec_id}":"{dec_sha}"'
        if p.fraud_link is not None:  # stored under this entry's seq (keys in sorted order)
            l0, l1, l2 = p.link_text
            link_sha = sha256(f"{l0}{app_id}{l1}{seq + 1}{l2}".encode()).hexdigest()
            digests += f',"fraud_link:{seq + 1}":"{link_sha}"'
        apps.append(application_row(p, app_id, app_text))
        decs.append(decision_row(p, dec_id, app_id, dec_text))
        review = None
        rev_id = rev_of.get(id(p)) if rev_of else None
        if rev_id is not None:
            rv = {
                "id": rev_id, "decision_id": dec_id, "queue_reason": p.review_reason,
                "status": "pending", "queued_at": d["decided_at"], "outcome": None,
                "reason": None, "reviewer": None, "reviewed_at": None,
            }  # fmt: skip
            revs.append(fmt.review_row(rv))
            review = SimpleNamespace(**rv)
            digests += f',"review:{rev_id}":"{record_digest(review, "review")}"'
        head, tail = p.entry_text
        payload = f"{head}{digests}}}{tail}"
        seq += 1
        subject = f"decision:{dec_id}"
        h = entry_hash_text(seq, "decision", subject, p.actor, when, payload, prev_hash)
        ledger.append(fmt.ledger_row(seq, subject, p.actor, when, payload, prev_hash, h))
        prev_hash = h
        if p.fraud_link is not None:  # ordered by the ledger's seq (see store._fraud_links)
            links.append((seq, app_id, *p.fraud_link))
        out.append(
            (
                SimpleNamespace(**p.application, id=app_id),
                SimpleNamespace(**d, id=dec_id, application_id=app_id),
                review,
            )
        )
    return Built(apps, decs, revs, ledger, (seq, prev_hash, when), out, links)
