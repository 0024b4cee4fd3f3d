"""The first offending value in nested JSON-like data (dicts and lists), and where it is; and
which texts cannot be stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Path = tuple[str | int, ...]


def first_problem(
    value: dict[str, Any] | list[Any],
    check: Callable[[Any, Any], str | None],
    max_depth: int | None = None,
    too_deep: str = "nested too deeply",
) -> tuple[Path, str] | None:
    """Depth first, the path to the first ``(key, item)`` for which ``check`` returns a message,
    and that message; with ``max_depth``, a container nested deeper than that is a problem too
    (``too_deep`` says so), and the walk never goes deeper.

    Examples
    --------
    >>> def negative(key, item):
    ...     return "negative" if isinstance(item, int) and item < 0 else None
    >>> first_problem({"a": 1, "b": {"c": [2, -3]}}, negative)
    (('b', 'c', 1), 'negative')
    >>> first_problem({"a": [[[]]]}, negative, max_depth=2)
    (('a', 0), 'nested too deeply')
    """
    return _walk(value, check, max_depth, too_deep, 1)


def _walk(
    value: Any, check: Callable[[Any, Any], str | None], max_depth: int | None, too_deep: str,
    depth: int,
) -> tuple[Path, str] | None:  # fmt: skip
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        message = check(key, item)
        if message is not None:
            return (key,), message
        if type(item) is dict or type(item) is list:
            if max_depth is not None and depth >= max_depth:
                return (key,), too_deep
            inner = _walk(item, check, max_depth, too_deep, depth + 1)
            if inner is not None:
                return (key, *inner[0]), inner[1]
    return None


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as text, or None: U+0000 (PostgreSQL refuses it) or an
    unpaired surrogate (JSON can escape one, ``"\\ud800"``; Unicode and UTF-8 have none).

    Examples
    --------
    >>> text_problem("fine, 很好") is None
    True
    >>> text_problem("a\\x00b")
    'contains the character U+0000 (NUL), which cannot be stored'
    """
    if "\x00" in text:
        return "contains the character U+0000 (NUL), which cannot be stored"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return (
                "contains an unpaired surrogate (\\ud800-\\udfff), which is not a Unicode "
                "character and cannot be stored"
            )
    return None


def unstorable(key: Any, item: Any) -> str | None:
    """A :func:`first_problem` check: a key, or a text item, that :func:`text_problem` refuses."""
    return text_problem(str(key)) or (text_problem(item) if type(item) is str else None)


def path_text(path: Path) -> str:
    """A :func:`first_problem` path as a field name, ``notes.text[1]``, printable whatever the
    keys hold (U+0000 as ``\\u0000``, an unpaired surrogate as its ``\\udXXX`` escape).

    Examples
    --------
    >>> path_text(("notes", "text", 1))
    'notes.text[1]'
    """
    field = "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path)
    )
    return field.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode()
