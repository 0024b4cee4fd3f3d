"""The snippets of docs/data.md that this package's behaviour adds run as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"


def _section_code(heading: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, heading
    return blocks[0]


def test_the_offer_outcomes_snippet_runs() -> None:
    exec(compile(_section_code("### The oracle: `offer_outcomes`"), str(DOC), "exec"), {})
