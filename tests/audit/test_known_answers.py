"""Known answers for the ledger hash: a change that would break stored ledgers fails here.

The expected digests were computed once by the reference below (hashlib and json written in
this file, not the code under test) and pasted as literals, so both the reference and the
module are pinned: if either drifts, a literal no longer matches.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from creditfactory.audit import GENESIS, canonical_json, digest, entry_hash, make_entry
from creditfactory.audit._ledger import entry_hash_text

T1 = "2026-01-01T00:00:00+00:00"
T2 = "2026-01-01T00:00:01.000001+00:00"
PAYLOAD2: dict[str, Any] = {
    "decision": "approve",
    "limit": 1500.5,
    "reasons": ["R001", "R017"],
    "name": "Zoë Ünal",  # non-ASCII stays as UTF-8, not \u escapes
    "missing": None,
    "ok": True,
}
CANONICAL2 = (
    '{"decision":"approve","limit":1500.5,"missing":null,"name":"Zoë Ünal","ok":true,'
    '"reasons":["R001","R017"]}'
)
H1 = "d86f689a6b006ce7179a56f1d7f4f4e35a0787c20f51f4f76305beb800411026"
H2 = "e9984926e3f8b03f86facb35e2f92f444f7d6ba01848eea3c838a06336704bbb"


def reference_hash(body: dict[str, Any]) -> str:
    """SHA-256 of sorted-key, whitespace-free, UTF-8 JSON, as docs/service.md describes."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def body(seq: int, kind: str, subject: str, actor: str, at: str, payload: Any, prev: str) -> Any:
    return {
        "seq": seq, "kind": kind, "subject": subject, "actor": actor,
        "created_at": at, "payload": payload, "prev_hash": prev,
    }  # fmt: skip


def test_reference_gives_the_pasted_digests() -> None:
    assert reference_hash(body(1, "note", "x:0", "alice", T1, {"i": 0}, GENESIS)) == H1
    assert reference_hash(body(2, "decision", "decision:42", "api-key:7", T2, PAYLOAD2, H1)) == H2


def test_canonical_json_known_answers() -> None:
    assert canonical_json(PAYLOAD2) == CANONICAL2
    assert canonical_json({"b": [1, 2.5], "a": {"z": None, "y": False}}) == (
        '{"a":{"y":false,"z":null},"b":[1,2.5]}'
    )
    assert canonical_json([float("nan"), float("inf"), -0.0, 10**20]) == (
        "[null,null,-0.0,100000000000000000000]"
    )
    assert digest({"a": 1}) == hashlib.sha256(b'{"a":1}').hexdigest()
    assert digest({"a": 1}) == "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"


def test_entry_hash_known_answers() -> None:
    assert GENESIS == "0" * 64
    assert entry_hash(1, "note", "x:0", "alice", T1, {"i": 0}, GENESIS) == H1
    assert entry_hash(2, "decision", "decision:42", "api-key:7", T2, PAYLOAD2, H1) == H2
    text = entry_hash_text(2, "decision", "decision:42", "api-key:7", T2, CANONICAL2, H1)
    assert text == H2


def test_make_entry_chains_to_the_known_answers() -> None:
    first = make_entry(None, "note", "x:0", "alice", {"i": 0}, T1)
    second = make_entry(first, "decision", "decision:42", "api-key:7", PAYLOAD2, T2)
    assert (first.hash, second.prev_hash, second.hash) == (H1, H1, H2)
