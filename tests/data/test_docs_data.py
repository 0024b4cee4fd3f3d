"""The snippets of docs/data.md's twin sections run (the blacklist and the oracles)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"
SECTIONS = ("### Blacklists from the twin", "### Counterfactual oracles")


def _snippets() -> list[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    out = []
    for title in SECTIONS:
        start = text.index(title)
        end = text.find("\n### ", start + len(title))
        body = text[start : end if end > 0 else len(text)]
        out += [(title, code) for code in re.findall(r"```python\n(.*?)```", body, re.S)]
    return out


@pytest.mark.parametrize(("title", "code"), _snippets(), ids=lambda v: str(v)[:30])
def test_snippet_runs(title: str, code: str) -> None:
    namespace: dict[str, object] = {}
    exec(compile(code, f"docs/data.md {title}", "exec"), namespace)
    if "listed" in namespace:
        assert len(namespace["listed"]) > 0  # type: ignore[arg-type]
    if "gain" in namespace:
        assert 0.0 < float(namespace["gain"]) < 1.0  # type: ignore[arg-type]
