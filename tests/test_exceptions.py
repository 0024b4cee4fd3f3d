"""The one error tree: ``creditfactory.exceptions``' drawing names every error class the library
defines, and no error carries an HTTP status (the front maps classes to statuses)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import creditfactory
from creditfactory import exceptions
from creditfactory.exceptions import CreditFactoryError


def _every_error_class() -> set[type[BaseException]]:
    for info in pkgutil.walk_packages(creditfactory.__path__, "creditfactory."):
        if ".migrations" in info.name:  # alembic scripts, run by alembic only
            continue
        importlib.import_module(info.name)
    out: set[type[BaseException]] = set()
    todo = [CreditFactoryError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("creditfactory."):
            out.add(cls)
        todo.extend(cls.__subclasses__())
    return out


def test_the_drawn_tree_names_every_error_class_under_its_base() -> None:
    doc = exceptions.__doc__ or ""
    lines = [line for line in doc.splitlines() if re.search(r"\w+Error", line)]
    parent: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in lines:
        m = re.match(r"^(\s*)(?:[│ ]*(?:├── |└── ))?(\w+Error)\b", line)
        if m is None:
            continue
        col = line.index(m.group(2))
        while stack and stack[-1][0] >= col:
            stack.pop()
        parent[m.group(2)] = stack[-1][1] if stack else None
        stack.append((col, m.group(2)))
    assert parent["CreditFactoryError"] is None
    for cls in _every_error_class() - {CreditFactoryError}:
        assert cls.__name__ in parent, f"{cls.__module__}.{cls.__name__} is not in the tree"
        base = next(b for b in cls.__mro__[1:] if issubclass(b, CreditFactoryError))
        assert parent[cls.__name__] == base.__name__, cls


def test_no_error_class_carries_an_http_status() -> None:
    for cls in _every_error_class():
        source = inspect.getsource(cls)
        assert "status" not in re.sub(r'"""[\s\S]*?"""', "", source), cls
