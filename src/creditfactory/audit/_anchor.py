"""Anchors: the ledger head written outside the database, signed, so a cut tail or a rewrite shows.

An anchor file is append-only JSON lines, one per anchor::

    {"at":"2026-12-05T23:57:31.123456+00:00","hash":"<64 hex>","seq":42,"sig":"<64 hex>"}

``sig`` is HMAC-SHA256, keyed by the operator's anchor key, of the canonical JSON of the line
without ``sig``. Each line is appended with one ``write`` on a descriptor opened with
``O_APPEND`` and then ``fsync``-ed: concurrent writers (several workers) never interleave, and
a line cut short by a crash has no newline and is ignored by the reader (it was never
acknowledged). The signature and line checks are pure; only :func:`append_anchor` and
:func:`read_anchor_file` touch the file system.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from creditfactory.audit._ledger import canonical_json, utc_now
from creditfactory.exceptions import ConfigError


@dataclass(frozen=True)
class Anchor:
    """One anchored ledger head: ``seq`` entries, the last one's ``hash``, written ``at``."""

    seq: int
    hash: str
    at: str


def _sign(key: str, seq: int, hash_: str, at: str) -> str:
    body = canonical_json({"at": at, "hash": hash_, "seq": seq})
    return hmac.new(key.encode("utf-8"), body.encode("utf-8"), hashlib.sha256).hexdigest()


def anchor_line(key: str, seq: int, hash_: str, at: str | None = None) -> str:
    """The signed JSON line (with its newline) anchoring the head ``(seq, hash_)``.

    Examples
    --------
    >>> line = anchor_line("k", 3, "ab" * 32, "2026-01-01T00:00:00.000000+00:00")
    >>> a = parse_anchor_line("k", line)
    >>> a.seq, a.hash == "ab" * 32, parse_anchor_line("other key", line)
    (3, True, None)
    """
    if not key:
        raise ConfigError("anchor_key: set CREDITFACTORY_ANCHOR_KEY to sign anchors")
    when = at or utc_now()
    sig = _sign(key, seq, hash_, when)
    return canonical_json({"at": when, "hash": hash_, "seq": seq, "sig": sig}) + "\n"


def parse_anchor_line(key: str, line: str) -> Anchor | None:
    """The anchor a line holds if its signature is right under ``key``; ``None`` if not."""
    try:
        data = json.loads(line)
        seq, hash_, at, sig = data["seq"], data["hash"], data["at"], data["sig"]
    except (ValueError, KeyError, TypeError):
        return None
    if type(seq) is not int or not all(isinstance(v, str) for v in (hash_, at, sig)):
        return None
    if not hmac.compare_digest(_sign(key, seq, hash_, at), sig):
        return None
    return Anchor(seq, hash_, at)


def append_anchor(path: str | Path, key: str, seq: int, hash_: str) -> Anchor:
    """Append one signed line to the anchor file at ``path`` (created if missing), durably.

    Raises
    ------
    ConfigError
        No key, or the file cannot be written (the message names the setting and the reason).
    """
    line = anchor_line(key, seq, hash_)
    data = line.encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            written = os.write(fd, data)  # one write: O_APPEND keeps lines whole
            if written != len(data):
                raise OSError(f"short write ({written} of {len(data)} bytes)")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ConfigError(f"anchor_file: cannot append to {path}: {exc.strerror or exc}") from exc
    return Anchor(seq, hash_, json.loads(line)["at"])


def read_anchor_file(path: str | Path, key: str) -> tuple[list[Anchor], list[int]]:
    """``(anchors, forged)``: the well-signed anchors in file order, and the line numbers
    (from 1) of lines whose signature or form is wrong. A missing file holds no anchors; a
    last line without its newline (a write cut short) is skipped.

    Raises
    ------
    ConfigError
        No key, or the file exists but cannot be read.
    """
    if not key:
        raise ConfigError("anchor_key: set CREDITFACTORY_ANCHOR_KEY to check the anchor file")
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise ConfigError(f"anchor_file: cannot read {path}: {exc.strerror or exc}") from exc
    lines = text.split("\n")
    lines.pop()  # after the last newline: empty, or a line cut short
    anchors: list[Anchor] = []
    forged: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        anchor = parse_anchor_line(key, line)
        if anchor is None:
            forged.append(number)
        else:
            anchors.append(anchor)
    return anchors, forged
