"""The pure hash chain: every kind of tampering is reported at the first bad entry."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditfactory.audit import (
    GENESIS,
    Entry,
    canonical_json,
    digest,
    entry_hash,
    make_entry,
    verify_chain,
)
from creditfactory.exceptions import DataError


def chain(n: int) -> list[Entry]:
    out: list[Entry] = []
    for i in range(n):
        out.append(
            make_entry(out[-1] if out else None, "note", f"x:{i}", "alice", {"i": i}, f"t{i}")
        )
    return out


def test_hash_covers_content_and_previous_hash() -> None:
    a, b = chain(2)
    assert a.prev_hash == GENESIS
    assert b.prev_hash == a.hash
    # independent of the code under test: SHA-256 of the sorted, whitespace-free JSON body
    text = (
        '{"actor":"alice","created_at":"t1","kind":"note","payload":{"i":1},'
        f'"prev_hash":"{a.hash}","seq":2,"subject":"x:1"}}'
    )
    assert b.hash == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert b.hash != entry_hash(2, "note", "x:1", "alice", "t1", {"i": 1}, GENESIS)
    assert len({e.hash for e in chain(50)}) == 50


def test_canonical_json_is_order_free_and_rejects_unknown_types() -> None:
    assert canonical_json({"b": 1, "a": 2}) == canonical_json({"a": 2, "b": 1}) == '{"a":2,"b":1}'
    assert digest({"x": [1, 2]}) != digest({"x": [2, 1]})
    with pytest.raises(DataError, match="cannot hash a value of type object"):
        canonical_json({"x": object()})


def test_intact_chain_verifies() -> None:
    v = verify_chain(chain(10), expected_count=10)
    assert v.ok
    assert v.checked == 10
    assert v.head == chain(10)[-1].hash


@pytest.mark.parametrize(
    ("field", "value"),
    [("payload", {"i": 99}), ("actor", "mallory"), ("kind", "other"), ("created_at", "t9")],
)
def test_altered_entry_is_reported(field: str, value: object) -> None:
    entries = chain(6)
    entries[3] = replace(entries[3], **{field: value})
    first = verify_chain(entries).first
    assert (first.seq, first.problem) == (4, "altered")


def test_altered_and_rehashed_entry_breaks_the_next_link() -> None:
    entries = chain(6)
    forged = replace(entries[2], payload={"i": 99})
    entries[2] = replace(forged, hash=entry_hash(**dict(forged.body().items())))
    first = verify_chain(entries).first
    assert (first.seq, first.problem) == (4, "removed")  # entry 4 no longer follows entry 3


def test_removed_entries_are_reported() -> None:
    entries = chain(6)
    first = verify_chain(entries[:2] + entries[3:]).first
    assert (first.seq, first.problem) == (3, "removed")
    tail = verify_chain(entries[:4], expected_count=6).first
    assert (tail.seq, tail.problem) == (5, "removed")


def test_reordered_entries_are_reported() -> None:
    entries = chain(6)
    swapped = [*entries[:2], replace(entries[3], seq=3), replace(entries[2], seq=4), *entries[4:]]
    first = verify_chain(swapped).first
    assert (first.seq, first.problem) == (3, "reordered")
    assert "was entry 4" in first.detail
    moved = [*entries[:2], entries[3], entries[2], *entries[4:]]  # seqs kept, rows out of order
    assert verify_chain(moved).first.problem in {"removed", "inserted"}


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12), st.data())
def test_any_single_payload_change_is_caught_at_its_entry(n: int, data: st.DataObject) -> None:
    entries = chain(n)
    k = data.draw(st.integers(0, n - 1))
    entries[k] = replace(entries[k], payload={"i": data.draw(st.integers()).__add__(10_000)})
    first = verify_chain(entries).first
    assert first is not None
    assert first.seq == k + 1


def test_streaming_walk_with_a_lookup_gives_the_same_verdicts() -> None:
    entries = chain(6)
    by_hash = {e.hash: e.seq for e in entries}
    moved = [*entries[:2], entries[3], entries[2], *entries[4:]]
    for stored in (entries, entries[:2] + entries[3:], moved):
        held = verify_chain(stored, expected_count=len(stored))
        streamed = verify_chain(iter(stored), expected_count=len(stored), lookup=by_hash.get)
        assert (held.ok, held.first) == (streamed.ok, streamed.first)


@given(
    payload=st.dictionaries(
        st.text(max_size=5),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
        max_size=5,
    ),
    who=st.text(max_size=10),
)
def test_entry_hash_text_is_entry_hash_of_the_canonical_text(
    payload: dict[str, object], who: str
) -> None:
    from creditfactory.audit import entry_hash_text

    clean = json.loads(canonical_json(payload))
    text = canonical_json(payload)
    assert entry_hash_text(7, "decision", "decision:1", who, "t", text, "ab") == entry_hash(
        7, "decision", "decision:1", who, "t", clean, "ab"
    )
