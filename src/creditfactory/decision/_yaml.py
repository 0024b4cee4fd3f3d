"""YAML loading that remembers line numbers, so strategy errors can name them.

Nesting is limited to :data:`MAX_DEPTH` levels (a strategy is a few levels deep; a pathological
document must be a clear error, not a ``RecursionError``), and keys must be scalars.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from creditfactory.decision._files import DEFAULT_MAX_BYTES, FileRefusedError, read_regular
from creditfactory.exceptions import StrategyError

MAX_DEPTH = 64
_UNREADABLE = (ValueError, OverflowError, TypeError, AttributeError, KeyError, IndexError)


class LDict(dict[Any, Any]):
    """A mapping from YAML that knows its line and the line of each key's value (1-based).

    Keys are whatever scalar YAML resolved (text, a number, a date ...) and values any YAML
    value: the strategy loader checks both where it reads them.
    """

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LList(list[Any]):
    """A sequence from YAML that knows its line and each item's line (1-based)."""

    line: int = 0
    item_lines: list[int]


# PyYAML ships no type stubs (types-PyYAML is not installed), so its classes are Any to mypy
class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    depth = 0

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # the scanner looks ahead up to ~1,000 tokens, each costing the depth: stop a run of
        # '[' or '{' here, before composing (a 40 KB one cost half a second otherwise)
        if self.flow_level >= MAX_DEPTH:
            mark = self.get_mark()
            raise StrategyError(f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: Any, index: Any) -> Any:
        # composition is recursive: count levels and stop long before Python's stack does
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise StrategyError(
                    f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep"
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LDict:
    out = LDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict | set) or not isinstance(key, Hashable):
            raise StrategyError(f"line {key_node.start_mark.line + 1}: a key must be a text")
        if key in out:
            raise StrategyError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = value_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LList:
    out = LList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def read_source(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The text of a strategy file: a regular file of at most ``max_bytes``, UTF-8."""
    try:
        return read_regular(path, max_bytes).decode("utf-8")
    except FileRefusedError as exc:
        raise StrategyError(f"{path}: cannot read strategy file ({exc.reason})") from None
    except UnicodeDecodeError:
        raise StrategyError(f"{path}: cannot read strategy file (not UTF-8 text)") from None


def load_yaml(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Read a YAML file into :class:`LDict`/:class:`LList` values (errors name file and line)."""
    return loads_yaml(read_source(path, max_bytes), str(path))


def loads_yaml(text: str, source: str = "<string>") -> Any:
    """Parse YAML text; syntax errors become :class:`StrategyError` naming source and line."""
    try:
        return yaml.load(text, Loader=_Loader)
    except StrategyError as exc:
        raise StrategyError(f"{source}: {exc}") from None
    except RecursionError:  # a last resort: MAX_DEPTH stops nesting well before this
        raise StrategyError(f"{source}: invalid YAML: nested too deeply") from None
    except _UNREADABLE:  # a value PyYAML resolves but cannot build (a tagged scalar ...)
        raise StrategyError(
            f"{source}: invalid YAML: a value that cannot be read (an integer of more than 4,300 "
            "digits, a 13th month, a mistagged scalar ...)"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise StrategyError(f"{where}: invalid YAML: {problem}") from None
