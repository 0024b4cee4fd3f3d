"""Versioned, checksummed JSON artefacts: how every fitted model is written and read.

An artefact is a JSON object with ``format`` and ``format_version`` keys and a ``sha256`` of
its canonical content. Reading refuses a missing, unparsable, foreign, newer or edited file with
an ``ArtefactError`` rather than let it score wrongly. No pickles cross a trust boundary.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from creditfactory.exceptions import ArtefactError


def checksum(body: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``body`` (sorted keys, no spaces, no NaN)."""
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def write_artefact(target: Path, body: dict[str, Any]) -> Path:
    """Write ``body`` with its checksum to ``target`` (creating the folder)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    out = {**body, "sha256": checksum(body)}
    target.write_text(json.dumps(out, indent=1, allow_nan=False), encoding="utf-8")
    return target


def read_artefact(path: Path, fmt: str, max_version: int, what: str) -> dict[str, Any]:
    """Read and verify an artefact of format ``fmt`` (at most ``max_version``); ``what`` names
    it in messages. Returns the content without the checksum."""
    if not path.exists():
        raise ArtefactError(f"no {what} artefact at {path}")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtefactError(f"{path}: not valid JSON ({exc}); the artefact is corrupt") from exc
    if not isinstance(body, dict) or body.get("format") != fmt:
        raise ArtefactError(f"{path}: not a creditfactory {what} artefact")
    version = body.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ArtefactError(f"{path}: format_version {version!r} is invalid")
    if version > max_version:
        raise ArtefactError(
            f"{path}: format_version {version} is newer than this library reads "
            f"({max_version}); upgrade creditfactory"
        )
    digest = body.pop("sha256", None)
    if digest != checksum(body):
        raise ArtefactError(f"{path}: checksum mismatch; the artefact is corrupt or was edited")
    return body
