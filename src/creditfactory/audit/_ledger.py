"""A hash-chained ledger: each entry's hash covers its content and the previous entry's hash.

Pure functions and value objects only; the store persists entries and the CLI presents the
verdict. The hash is SHA-256 over a canonical JSON rendering (sorted keys, no whitespace,
UTF-8) of ``seq``, ``kind``, ``subject``, ``actor``, ``created_at``, ``payload`` and
``prev_hash``, so any change to any of them, or to the order of entries, breaks the chain.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from creditfactory.exceptions import DataError

GENESIS = "0" * 64


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return value
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):  # NumPy scalars
        return _clean(value.item())
    raise DataError(f"cannot hash a value of type {type(value).__name__}: {value!r}")


# built once: ``json.dumps`` with options builds an encoder per call
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> str:
    """Canonical JSON text of ``value``: sorted keys, no whitespace, NaN and inf as null.

    Dates and times become ISO-8601 text, NumPy scalars plain numbers; any other type is a
    :class:`DataError`.

    Examples
    --------
    >>> canonical_json({"b": 1, "a": [1.5, None, float("nan")]})
    '{"a":[1.5,null,null],"b":1}'
    """
    try:  # the common case: plain JSON values, no NaN
        return _CANONICAL.encode(value)
    except (TypeError, ValueError):
        pass
    return _CANONICAL.encode(_clean(value))


def digest(value: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``value``.

    Examples
    --------
    >>> digest({"a": 1}) == digest({"a": 1.0 if False else 1})
    True
    >>> len(digest([]))
    64
    """
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def utc_now() -> str:
    """The current UTC time as ISO-8601 text with microseconds (how entries record time)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Entry:
    """One ledger entry.

    ``seq`` counts from 1; ``kind`` says what happened (``decision``, ``review``,
    ``strategy.upload`` ...); ``subject`` names the record (``decision:42``); ``actor`` who did
    it; ``payload`` the facts (including digests of the records it vouches for).
    """

    seq: int
    kind: str
    subject: str
    actor: str
    created_at: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """The hashed content (everything except ``hash``)."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "subject": self.subject,
            "actor": self.actor,
            "created_at": self.created_at,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
        }


def entry_hash(
    seq: int,
    kind: str,
    subject: str,
    actor: str,
    created_at: str,
    payload: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The hash of an entry with this content chained after ``prev_hash``."""
    body = {
        "seq": seq,
        "kind": kind,
        "subject": subject,
        "actor": actor,
        "created_at": created_at,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return digest(body)


def entry_hash_text(
    seq: int,
    kind: str,
    subject: str,
    actor: str,
    created_at: str,
    payload_text: str,
    prev_hash: str,
) -> str:
    """:func:`entry_hash` from the payload's canonical JSON text (already serialised once).

    ``payload_text`` must be ``canonical_json(payload)``; the body around it is assembled in
    canonical order (sorted keys), so the hash is the one :func:`entry_hash` gives.

    Examples
    --------
    >>> p = {"b": [1, 2.5], "a": "é"}
    >>> t = canonical_json(p)
    >>> entry_hash_text(3, "k", "s:1", "bob", "2026-01-01T00:00:00", t, GENESIS) == entry_hash(
    ...     3, "k", "s:1", "bob", "2026-01-01T00:00:00", p, GENESIS)
    True
    """
    text = (
        f'{{"actor":{_text(actor)},"created_at":{_text(created_at)},"kind":{_text(kind)},'
        f'"payload":{payload_text},"prev_hash":{_text(prev_hash)},"seq":{int(seq)},'
        f'"subject":{_text(subject)}}}'
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text(value: str) -> str:
    if type(value) is str:
        return _encode_str(value)  # what json.dumps(value, ensure_ascii=False) does
    return json.dumps(value, ensure_ascii=False)


_encode_str: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]


def make_entry(
    prev: Entry | None,
    kind: str,
    subject: str,
    actor: str,
    payload: Mapping[str, Any],
    created_at: str | None = None,
) -> Entry:
    """The entry that follows ``prev`` (``None`` for the first entry of a ledger).

    Examples
    --------
    >>> first = make_entry(None, "note", "x:1", "alice", {"n": 1}, "2026-01-01T00:00:00")
    >>> second = make_entry(first, "note", "x:2", "alice", {"n": 2}, "2026-01-01T00:00:01")
    >>> second.seq, second.prev_hash == first.hash
    (2, True)
    >>> verify_chain([first, second]).ok
    True
    """
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    when = created_at or utc_now()
    clean = json.loads(canonical_json(dict(payload)))
    h = entry_hash(seq, kind, subject, actor, when, clean, prev_hash)
    return Entry(seq, kind, subject, actor, when, clean, prev_hash, h)


@dataclass(frozen=True)
class Problem:
    """What is wrong at one place of the ledger (or a record it vouches for)."""

    seq: int
    # altered | removed | reordered | inserted | record-altered | record-removed |
    # record-unvouched | anchor-missing | anchor-forged | anchor-mismatch | tail-cut
    problem: str
    detail: str


@dataclass
class Verdict:
    """The result of walking a ledger: ``ok`` and, if not, the first problem found."""

    checked: int
    head: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def verify_chain(
    entries: Iterable[Entry],
    expected_count: int | None = None,
    expected_head: str | None = None,
    lookup: Callable[[str], int | None] | None = None,
) -> Verdict:
    """Walk entries in stored order and report the first altered, removed or reordered one.

    Parameters
    ----------
    entries : iterable of Entry
        The ledger as stored, ordered by ``seq``.
    expected_count, expected_head : optional
        The number of entries and the last hash recorded elsewhere (the head record, or an
        anchor kept outside the database); they reveal entries removed from the end.
    lookup : callable, optional
        ``lookup(hash)`` gives the ``seq`` of the stored entry with that hash, or ``None``. With
        it the entries are streamed (constant memory: the store passes a database query);
        without it they are held in memory to answer that question.

    Returns
    -------
    Verdict
        ``ok`` when the chain is intact; otherwise ``first`` names the first bad ``seq``, the
        kind of problem and a human-readable detail.

    Examples
    --------
    >>> a = make_entry(None, "note", "x:1", "bob", {"v": 1}, "t1")
    >>> b = make_entry(a, "note", "x:2", "bob", {"v": 2}, "t2")
    >>> c = make_entry(b, "note", "x:3", "bob", {"v": 3}, "t3")
    >>> verify_chain([a, c]).first.problem
    'removed'
    >>> from dataclasses import replace
    >>> forged = replace(b, payload={"v": 9})
    >>> verify_chain([a, forged, c]).first.seq
    2
    """
    items: Iterable[Entry] = entries
    if lookup is None:
        items = list(entries)
        by_hash = {e.hash: e.seq for e in items}
        lookup = by_hash.get
        top = max((e.seq for e in items), default=0) + 1
    else:
        top = (expected_count or 0) + 1
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    verdict = Verdict(checked=0, head=GENESIS)
    for e in items:
        recomputed = entry_hash(
            e.seq, e.kind, e.subject, e.actor, e.created_at, e.payload, e.prev_hash
        )
        if recomputed != e.hash:
            moved = _original_seq(e, max(top, e.seq + 1))
            if moved is not None and moved != e.seq:
                verdict.problems.append(
                    Problem(
                        e.seq,
                        "reordered",
                        f"entry {e.seq} was entry {moved} ({e.kind} {e.subject})",
                    )
                )
            else:
                verdict.problems.append(
                    Problem(
                        e.seq,
                        "altered",
                        f"entry {e.seq} ({e.kind} {e.subject}): content does not match its hash",
                    )
                )
            break
        if e.seq > expected_seq:
            verdict.problems.append(
                Problem(expected_seq, "removed", f"entries {expected_seq}..{e.seq - 1} are missing")
            )
            break
        if e.seq < expected_seq:
            verdict.problems.append(
                Problem(
                    e.seq, "inserted", f"entry {e.seq} appears again after entry {expected_seq - 1}"
                )
            )
            break
        if e.prev_hash != prev_hash:
            before = lookup(e.prev_hash)
            if before is not None:
                verdict.problems.append(
                    Problem(
                        e.seq, "reordered", f"entry {e.seq} follows entry {before}, not {e.seq - 1}"
                    )
                )
            else:
                verdict.problems.append(
                    Problem(e.seq, "removed", f"the entry before {e.seq} was replaced or removed")
                )
            break
        prev_hash, expected_seq, checked = e.hash, e.seq + 1, checked + 1
    verdict.checked, verdict.head = checked, prev_hash
    if verdict.ok and expected_count is not None and expected_count != checked:
        if expected_count > checked:
            verdict.problems.append(
                Problem(
                    checked + 1,
                    "removed",
                    f"entries {checked + 1}..{expected_count} are missing (the head records them)",
                )
            )
        else:
            verdict.problems.append(
                Problem(
                    expected_count + 1,
                    "inserted",
                    f"{checked - expected_count} entries after the recorded head",
                )
            )
    elif verdict.ok and expected_head is not None and expected_head != prev_hash:
        verdict.problems.append(
            Problem(checked, "altered", "the last entry does not match the recorded head hash")
        )
    return verdict


def _original_seq(e: Entry, top: int) -> int | None:
    """The seq under which ``e``'s hash is valid, when only its seq was changed (else None)."""
    for seq in range(1, top + 1):
        if (
            seq != e.seq
            and entry_hash(seq, e.kind, e.subject, e.actor, e.created_at, e.payload, e.prev_hash)
            == e.hash
        ):
            return seq
    return None
