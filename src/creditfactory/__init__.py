"""creditfactory: a full-lifecycle platform for internet consumer and micro-business lending.

Importing the package is cheap: it holds the version only. The lifecycle lives in subpackages
(``creditfactory.data``, ``creditfactory.scorecard``, ``creditfactory.decision`` ...).

Importing a subpackage is cheap too: a package's ``__init__`` lists its public names as imports
under ``if typing.TYPE_CHECKING:`` (what mypy, ruff and the architecture test read) and loads
each from its module on first use (:func:`_lazy_exports`), so that ``creditfactory strategy
check`` does not import scikit-learn because ``fraud`` exports a model.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__version__ = "0.1.0"


def _lazy_exports(package: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: its public names are the ``from ... import``
    statements under ``if typing.TYPE_CHECKING:`` in its ``__init__``, imported on first use.

    The table is read from the ``__init__``'s source on the first look-up, so the imports mypy
    checks are the only list there is (no second table to keep in step).
    """
    table: dict[str, tuple[str, str]] = {}

    def exports() -> dict[str, tuple[str, str]]:
        if not table:
            import ast

            module = sys.modules[package]
            path = module.__file__
            assert path is not None
            with open(path, encoding="utf-8") as source:
                tree = ast.parse(source.read(), path)
            for node in tree.body:
                if isinstance(node, ast.If) and ast.unparse(node.test) == "typing.TYPE_CHECKING":
                    for statement in node.body:
                        if isinstance(statement, ast.ImportFrom) and statement.module:
                            for alias in statement.names:
                                name = alias.asname or alias.name
                                table[name] = (statement.module, alias.name)
        return table

    def __getattr__(name: str) -> Any:  # noqa: N807 (a module's __getattr__)
        found = exports().get(name)
        if found is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(found[0]), found[1])
        setattr(sys.modules[package], name, value)  # the next look-up is a plain attribute
        return value

    def __dir__() -> list[str]:  # noqa: N807 (a module's __dir__)
        return sorted({*vars(sys.modules[package]), *exports()})

    return __getattr__, __dir__
