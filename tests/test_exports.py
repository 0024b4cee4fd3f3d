"""Each package's public face is curated: ``__all__`` is sorted, true and complete.

For every package under ``src/creditfactory`` whose ``__init__`` defines ``__all__``:
``__all__`` is sorted the way ruff's RUF022 sorts it (constants, classes, then functions and
other names, each group in natural order) with no repeats; every name in it exists; and every
public name the ``__init__`` defines (imports, classes, functions, assignments — not
submodules) is listed. Packages are found on disk, so new ones are checked without editing
this file.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def packages(src: Path, top: str) -> list[str]:
    """Dotted names of ``top`` and every package below it that has an ``__all__``."""
    found = []
    for init in sorted((src / top).rglob("__init__.py")):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        if any(name == "__all__" for name, _ in bound_names(tree)):
            found.append(".".join(init.parent.relative_to(src).parts))
    return found


def bound_names(tree: ast.Module) -> list[tuple[str, ast.stmt]]:
    """Names bound at the top level of a module (in ``if``/``try`` blocks too)."""
    names: list[tuple[str, ast.stmt]] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                continue
            if isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    if alias.name != "*":
                        names.append((bound, node))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.append((node.name, node))
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for leaf in ast.walk(target):
                        if isinstance(leaf, ast.Name):
                            names.append((leaf.id, node))
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
                visit(getattr(node, "finalbody", []))

    visit(tree.body)
    return names


def isort_key(name: str) -> tuple[int, list[int | str]]:
    """The order ruff's RUF022 gives ``__all__``: CONSTANTS, then Classes, then the rest.

    Within each group, a natural sort (``item2`` before ``item10``).
    """
    group = 0 if len(name) > 1 and name.isupper() else 1 if name[:1].isupper() else 2
    return group, [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def problems(package: ModuleType) -> list[str]:
    """What is wrong with the ``__all__`` of one imported package."""
    name = package.__name__
    exported = getattr(package, "__all__", None)
    if not isinstance(exported, list | tuple) or not all(isinstance(n, str) for n in exported):
        return [f"{name}.__all__ must be a list of strings"]
    found = []
    if list(exported) != sorted(exported, key=isort_key):
        expected = sorted(exported, key=isort_key)
        found.append(f"{name}.__all__ is not sorted (as ruff's RUF022 sorts); expected {expected}")
    repeated = sorted({n for n in exported if list(exported).count(n) > 1})
    if repeated:
        found.append(f"{name}.__all__ lists {repeated} more than once")
    for missing in [n for n in exported if not hasattr(package, n)]:
        found.append(f"{name}.__all__ names {missing!r}, which does not exist")
    init = package.__file__
    assert init is not None
    tree = ast.parse(Path(init).read_text(encoding="utf-8"))
    for defined, _ in bound_names(tree):
        if defined.startswith("_") or defined in exported:
            continue
        if isinstance(getattr(package, defined, None), ModuleType):
            continue  # a submodule (or an imported module) is not part of the curated names
        found.append(f"{name} defines public {defined!r} but __all__ does not list it")
    return found


PACKAGES = packages(SRC, "creditfactory")


def test_some_packages_are_checked() -> None:
    # `cli` has had an __all__ from the first commit; the discovery must at least find it.
    assert "creditfactory.cli" in PACKAGES


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_true_and_complete(name: str) -> None:
    found = problems(importlib.import_module(name))
    assert not found, "\n".join(found)


# -------------------------------------------------- the checker itself, on a fake package


def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, init: str) -> Path:
    root = tmp_path / name
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "__init__.py").write_text("")
    (root / "_impl.py").write_text("def f(): ...\ndef g(): ...\nclass K: ...\n")
    (root / "__init__.py").write_text(textwrap.dedent(init))
    monkeypatch.syspath_prepend(str(tmp_path))
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        monkeypatch.delitem(sys.modules, loaded)
    return root


def test_sort_order_matches_ruff() -> None:
    names = ["read_table", "item10", "Schema", "TABLES", "item2", "X", "Column", "MAX_ROWS"]
    assert sorted(names, key=isort_key) == [
        "MAX_ROWS",
        "TABLES",
        "Column",
        "Schema",
        "X",
        "item2",
        "item10",
        "read_table",
    ]


def test_checker_accepts_a_good_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_package(
        tmp_path,
        monkeypatch,
        "fake_good_exports",
        """
        from __future__ import annotations
        from fake_good_exports import sub
        from fake_good_exports._impl import K, f, g as _g
        import json
        __all__ = ["K", "f"]
        """,
    )
    assert problems(importlib.import_module("fake_good_exports")) == []
    assert packages(tmp_path, "fake_good_exports") == ["fake_good_exports"]


def test_checker_reports_each_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_package(
        tmp_path,
        monkeypatch,
        "fake_bad_exports",
        """
        from fake_bad_exports._impl import K, f, g
        VERSION = "1"
        try:
            from fake_bad_exports._impl import K as Fallback
        except ImportError:
            pass
        __all__ = ["f", "K", "f", "ghost"]
        """,
    )
    found = "\n".join(problems(importlib.import_module("fake_bad_exports")))
    assert "fake_bad_exports.__all__ is not sorted" in found
    assert "lists ['f'] more than once" in found
    assert "names 'ghost', which does not exist" in found
    assert "defines public 'g' but __all__ does not list it" in found
    assert "defines public 'VERSION'" in found
    assert "defines public 'Fallback'" in found
    assert "'K' but" not in found


def test_lazy_exports_keep_the_import_side_effects() -> None:
    # a package's names load on first use (creditfactory._lazy_exports); what registers itself
    # when imported (scorecard's binning solvers) must still be there in a fresh interpreter
    code = (
        "import creditfactory.scorecard as s, sys\n"
        "assert 'sklearn' not in sys.modules\n"  # lazy: the models are not imported yet
        "print(sorted(s.available_binners()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['dp', 'optbinning']"
