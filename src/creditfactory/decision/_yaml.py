"""YAML loading that remembers line numbers, so strategy errors can name them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from creditfactory.exceptions import StrategyError


class LDict(dict):
    """A mapping from YAML that knows its line and the line of each key's value (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LList(list):
    """A sequence from YAML that knows its line and each item's line (1-based)."""

    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LDict:
    out = LDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
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


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file into :class:`LDict`/:class:`LList` values (errors name file and line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StrategyError(f"{path}: cannot read strategy file ({exc.strerror})") from exc
    return loads_yaml(text, str(path))


def loads_yaml(text: str, source: str = "<string>") -> Any:
    """Parse YAML text; syntax errors become :class:`StrategyError` naming source and line."""
    try:
        return yaml.load(text, Loader=_Loader)
    except StrategyError as exc:
        raise StrategyError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise StrategyError(f"{where}: invalid YAML: {problem}") from None
