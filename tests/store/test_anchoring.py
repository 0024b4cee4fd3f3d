"""The anchoring schedule: the head is anchored when it moved and time or entries say so."""

from __future__ import annotations

from pathlib import Path

import pytest

from creditfactory.audit import read_anchor_file
from creditfactory.exceptions import ConfigError
from creditfactory.store import Anchorer, Store, append


def test_the_head_is_anchored_when_due(store: Store, tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "anchors.jsonl"
    a = Anchorer(store, path, "k", every_seconds=60, every_entries=3, clock=lambda: now[0])

    def note(n: int) -> None:
        with store.session() as s:
            for _ in range(n):
                append(s, "note", "x:1", "me", {})

    assert a.tick().seq == 0  # the first tick anchors whatever the head is
    note(2)
    assert a.tick() is None  # 2 entries, no time passed
    note(1)
    assert a.tick().seq == 3  # 3 entries
    note(1)
    now[0] = 59.0
    assert a.tick() is None
    now[0] = 60.0
    assert a.tick().seq == 4  # 60 seconds
    now[0] = 500.0
    assert a.tick() is None  # nothing moved
    note(1)
    assert a.tick(force=True).seq == 5
    anchors, forged = read_anchor_file(path, "k")
    assert ([x.seq for x in anchors], forged) == ([0, 3, 4, 5], [])


def test_an_anchorer_needs_a_key_and_a_writable_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="anchor_key"):
        Anchorer(store, tmp_path / "a", "")
    with pytest.raises(ConfigError, match="anchor_file: cannot append"):
        Anchorer(store, tmp_path / "missing" / "a", "k").tick()
