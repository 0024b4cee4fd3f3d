"""docs/strategies.md, "Pricing and limits" and "Simulation": every Python snippet runs, and
what it prints is what the comments beside its ``print`` calls say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"


def snippets() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Pricing and limits")
    end = text.index("## Performance")
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)


def promised(code: str) -> list[str]:
    """The output the comments promise: ``print(...)  # a / b`` prints the lines a, then b."""
    lines: list[str] = []
    for line in code.splitlines():
        if line.lstrip().startswith("print(") and "  # " in line:
            lines.extend(part.strip() for part in line.split("  # ", 1)[1].split(" / "))
    return lines


def test_the_sections_have_snippets() -> None:
    assert len(snippets()) == 3


@pytest.mark.parametrize("code", snippets())
def test_snippet_runs_and_prints_what_it_says(code: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {})  # our own documentation
    expected = promised(code)
    if expected:
        assert out.getvalue().splitlines() == expected
    else:
        assert out.getvalue().strip()  # the table: printed, not promised digit by digit
