"""The first offending value in nested JSON-like data (dicts and lists), and where it is."""

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
