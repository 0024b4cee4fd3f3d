"""Known answers for the champion/challenger hash: a change that would reassign arms fails here.

The buckets and arms were computed once by the reference below (FNV-1a 64 over
``salt + ":" + key`` then MurmurHash3's fmix64, top 53 bits, as docs/strategies.md describes),
written in this file and not taken from the module, and pasted as literals.
"""

from __future__ import annotations

import polars as pl
import pytest

from creditfactory.decision import Strategy
from creditfactory.decision._hash import bucket, buckets

M64 = 2**64


def reference_bucket(key: str, salt: str = "") -> float:
    h = 0xCBF29CE484222325
    for b in (salt + ":" + key).encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) % M64
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) % M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) % M64
    h ^= h >> 33
    return (h >> 11) / 2**53


KNOWN = [  # (key, salt, bucket)
    ("A000001", "s1", 0.4913594728742712),
    ("A000001", "", 0.6583317712529675),
    ("A000002", "s1", 0.11878878220531897),
    ("", "", 0.43636162885441354),
    ("é-42", "cc2026", 0.4896662993570273),
    ("applicant-7", "x", 0.6523849748411491),
]
KEYS = [f"A{i:06d}" for i in range(1, 25)]
# arms a (share 0.2), b (0.3), c (0.5) of KEYS under two salts
ARMS = {"2026Q4": "cccbccccbbccccccbccccbac", "2026Q5": "bacbcabcccccccbcbbcccacc"}


@pytest.mark.parametrize(("key", "salt", "expected"), KNOWN)
def test_bucket_known_answers(key: str, salt: str, expected: float) -> None:
    assert reference_bucket(key, salt) == expected
    assert bucket(key, salt) == expected
    assert buckets([key], salt)[0] == expected


def test_vectorised_buckets_known_answers() -> None:
    keys = [k for k, s, _ in KNOWN if s == "s1"]
    assert buckets(keys, "s1").tolist() == [e for _, s, e in KNOWN if s == "s1"]


def split_strategy(salt: str) -> Strategy:
    return Strategy.from_yaml(
        "strategy: cc\nversion: '1'\nkey: id\ninputs: {id: str}\nflow:\n"
        f"  - split:\n      name: cc\n      key: id\n      salt: '{salt}'\n      arms:\n"
        "        - {name: a, share: 0.2, flow: []}\n"
        "        - {name: b, share: 0.3, flow: []}\n"
        "        - {name: c, share: 0.5, flow: []}\n"
    )


@pytest.mark.parametrize("salt", sorted(ARMS))
def test_split_arms_known_answers(salt: str) -> None:
    s = split_strategy(salt)
    expected = [f"cc:{a}" for a in ARMS[salt]]
    online = [next(t for t in s.decide({"id": k}).trace if t.startswith("cc:")) for k in KEYS]
    assert online == expected
    traces = s.decide_batch(pl.DataFrame({"id": KEYS}))["trace"].to_list()
    assert [next(t for t in tr if t.startswith("cc:")) for tr in traces] == expected
