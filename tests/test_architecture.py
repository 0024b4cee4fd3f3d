"""Dependencies point inward: the lifecycle never imports the delivery layers; the delivery
layers follow their own map; no import circle; no reaching into another package's privates.

``data`` (the portfolio twin) sits at the bottom with ``pricing`` beneath it: the twin's
incumbent prices with the same lifetime cash-flow model as every strategy (issue 12), so
``data`` may import ``pricing``, and ``pricing`` may import nothing of creditfactory but
``exceptions``.

Every module under ``src/creditfactory`` is parsed (not imported) and its imports resolved,
relative and lazy ones included, as are ``importlib.import_module("...")`` calls with a literal
name. Packages added later are covered without editing this file.

The delivery map (:data:`DELIVERY_MAY_NOT`): ``store`` (tables, repositories, migrations, the
ledger, the group-commit writer) knows no one above it; ``factory`` (the unit of work, both its
modes) uses the store but never the HTTP front (``api``) nor the command line; ``api`` forwards to
the factory; ``cli`` may use them all.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "creditfactory"

LIFECYCLE = frozenset(
    {
        "data",
        "scorecard",
        "models",
        "fraud",
        "decision",
        "pricing",
        "servicing",
        "collections",
        "marketing",
        "monitoring",
        "audit",
    }
)
DELIVERY = frozenset({"api", "store", "cli", "web", "batch", "factory"})
# what each delivery package must not import (the layers above it)
DELIVERY_MAY_NOT: dict[str, frozenset[str]] = {
    "store": frozenset({"factory", "api", "cli", "web", "batch"}),
    "factory": frozenset({"api", "cli", "web", "batch"}),
    "batch": frozenset({"api", "cli", "web"}),
    "api": frozenset({"cli", "batch"}),
    "web": frozenset({"cli"}),
}
# Circles and private imports found when these checks were added (issue 13), in modules other
# sessions own at the time: each is named here until it is fixed there, and the test fails when
# one goes away too (so that the list only shrinks). Nothing new may join them.
KNOWN_CIRCLES: frozenset[frozenset[str]] = frozenset(
    {
        # decision's expression evaluation: _expr_types looks up _expr_functions (lazily) and
        # _expr_functions imports _expr_types; the package __init__ closes a wider loop
        frozenset({"decision._expr_types", "decision._expr_functions"}),
        # decision simulation: Strategy.simulate imports _simulate (lazily), which imports it
        frozenset({"decision._simulate", "decision._strategy"}),
        # models/scorecard: an artefact module and its estimator import each other (lazily)
        frozenset({"models._artefact", "models._challenger"}),
        frozenset({"scorecard._artefact", "scorecard._scorecard"}),
    }
)
# decision._expr_functions -> pricing._formulas is gone (it imports the pricing package since
# the lifetime model): nothing left
KNOWN_PRIVATE: frozenset[tuple[str, str]] = frozenset()
WEB_AND_SQL = frozenset({"fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn"})
# What `data` may import from creditfactory besides itself, and what `pricing`, the very bottom
# of the stack, may import.
DATA_MAY_IMPORT = frozenset({"exceptions", "pricing"})
PRICING_MAY_IMPORT = frozenset({"exceptions"})
# `monitoring` holds the stability maths (PSI/CSI) that `scorecard` uses for its own
# train-against-test stability, so it sits below `scorecard`: it takes a fitted model through a
# small protocol (points, probabilities, bin indices) rather than importing it, and may import
# nothing of creditfactory but `exceptions` (issue 18). Loading a model artefact and reading the
# store happen in the delivery layers (`cli`, `web`).
# It may also import `_html` (issue 14), deliberately: the top-level module that renders every
# offline HTML report (figure, table, page) and holds the one English/Chinese translation table
# the reports and the table outputs share. `_html` imports nothing of creditfactory but
# `exceptions` (checked below), so `monitoring` stays at the bottom of the stack; without it the
# monitoring report kept its own copy of the page, the styles and the table and figure helpers.
MONITORING_MAY_IMPORT = frozenset({"exceptions", "_html"})
# what `_html` itself may import from creditfactory: it sits beneath `monitoring`
HTML_MAY_IMPORT = frozenset({"exceptions"})
# What every package may take from the root package's own ``__init__``, which imports nothing
# of creditfactory: the version, and the helper that makes a package's exports lazy.
ROOT_NAMES = frozenset({"__version__", "_lazy_exports"})


@dataclass(frozen=True)
class Import:
    module: str  # dotted name of the importing module
    path: Path
    line: int
    target: str  # absolute dotted name imported


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> list[Import]:
    """Every import in one file, resolved to absolute names (``from a import b`` gives a.b)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (
                    isinstance(node.func, ast.Name)
                    and node.func.id in {"import_module", "__import__"}
                )
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            targets = [node.args[0].value]
        found.extend(Import(name, path, node.lineno, t) for t in targets)
    return found


def violations(root: Path) -> list[str]:
    """Wrong-way imports in the package at ``root`` (a folder named after the package)."""
    top = root.name
    problems = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        owner = parts[0]
        if owner in DELIVERY_MAY_NOT:
            for imp in imports_of(path, root):
                head, _, rest = imp.target.partition(".")
                sub = rest.split(".")[0]
                if head == top and sub in DELIVERY_MAY_NOT[owner]:
                    where = f"{path.relative_to(root.parent)}:{imp.line}"
                    problems.append(f"{where}: {owner!r} imports {imp.target} (a layer above it)")
        if owner not in LIFECYCLE:
            continue
        for imp in imports_of(path, root):
            head, _, rest = imp.target.partition(".")
            where = f"{path.relative_to(root.parent)}:{imp.line}"
            if head in WEB_AND_SQL:
                problems.append(f"{where}: lifecycle package {owner!r} imports {imp.target}")
            if head != top or not rest:
                continue
            sub = rest.split(".")[0]
            if rest in ROOT_NAMES:
                continue
            if sub in DELIVERY:
                problems.append(f"{where}: lifecycle package {owner!r} imports {imp.target}")
            elif owner == "data" and sub not in DATA_MAY_IMPORT | {"data"}:
                problems.append(
                    f"{where}: 'data' may import only {top}.exceptions and pricing: {imp.target}"
                )
            elif owner == "pricing" and sub not in PRICING_MAY_IMPORT | {"pricing"}:
                problems.append(
                    f"{where}: 'pricing' may import only {top}.exceptions: {imp.target}"
                )
            elif owner == "monitoring" and sub not in MONITORING_MAY_IMPORT | {"monitoring"}:
                problems.append(
                    f"{where}: 'monitoring' may import only {top}.exceptions and _html: "
                    f"{imp.target}"
                )
    html = root / "_html.py"
    if html.is_file():
        for imp in imports_of(html, root):
            head, _, rest = imp.target.partition(".")
            sub = rest.split(".")[0]
            if head == top and rest and sub not in HTML_MAY_IMPORT:
                where = f"{html.relative_to(root.parent)}:{imp.line}"
                problems.append(f"{where}: '_html' may import only {top}.exceptions: {imp.target}")
    return problems


def module_graph(root: Path) -> dict[str, dict[str, int]]:
    """``{module: {module it imports: line}}`` among the package's own modules (relative to
    ``root``'s parent, dotted), lazy imports included.

    A submodule naming its own package only to reach a sibling (``from creditfactory.api import
    _app``) imports the sibling, not the package's ``__init__`` (which runs first anyway).
    """
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, dict[str, int]] = {}
    for name, path in paths.items():
        out = graph.setdefault(name, {})
        found = imports_of(path, root)
        for imp in found:
            target = imp.target
            if target in paths and name.startswith(target + "."):
                # its own package, named to reach siblings: skipped when every name the
                # statement imports from it is a module
                names = [i.target for i in found if i.line == imp.line and i.target != target]
                if names and all(t in paths for t in names):
                    continue
            while target and target not in paths:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.setdefault(target, imp.line)
    return graph


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The import circles: strongly connected groups of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def private_imports(graph: dict[str, dict[str, int]]) -> list[tuple[str, str, int]]:
    """``(module, private module, line)`` where a package imports another's ``_private``
    module (the package's root-level ``creditfactory._x`` helpers are shared by all)."""
    out = []
    for name, targets in graph.items():
        owner = name.split(".")[1] if name.count(".") else ""
        for target, line in targets.items():
            parts = target.split(".")
            if len(parts) >= 3 and parts[1] != owner and any(p.startswith("_") for p in parts[2:]):
                out.append((name, target, line))
    return out


def _short(name: str) -> str:
    return name.partition(".")[2]


def test_no_import_circles() -> None:
    found = circles(module_graph(SRC))
    unknown = [c for c in found if not any(k <= {_short(m) for m in c} for k in KNOWN_CIRCLES)]
    assert not unknown, "import circles (lazy imports included):\n" + "\n".join(
        " <-> ".join(c) for c in unknown
    )
    seen = {frozenset(_short(m) for m in c) for c in found}
    gone = [k for k in KNOWN_CIRCLES if not any(k <= c for c in seen)]
    assert not gone, f"fixed, take them off KNOWN_CIRCLES: {gone}"


def test_no_imports_of_another_packages_private_modules() -> None:
    found = {(_short(a), _short(b)): line for a, b, line in private_imports(module_graph(SRC))}
    unknown = {k: v for k, v in found.items() if k not in KNOWN_PRIVATE}
    assert not unknown, "private modules of another package imported:\n" + "\n".join(
        f"{a}:{line} imports {b}" for (a, b), line in unknown.items()
    )
    gone = KNOWN_PRIVATE - set(found)
    assert not gone, f"fixed, take them off KNOWN_PRIVATE: {gone}"


def test_the_circle_and_private_checks_find_what_they_should(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "__init__.py": "",
            "api/__init__.py": "from creditfactory.api import _app\n",
            "api/_app.py": "from creditfactory.api import _engine\n",
            "api/_engine.py": "def f():\n    from creditfactory.api._app import x\n",
            "store/__init__.py": "from creditfactory.store import _a, _b\n",
            "store/_a.py": "from creditfactory.store import _b\n",
            "store/_b.py": "from creditfactory.decision._hash import h\n",
            "decision/__init__.py": "",
            "decision/_hash.py": "",
            "factory/__init__.py": "from creditfactory.api import create_app\n",
        },
    )
    graph = module_graph(root)
    assert circles(graph) == [["creditfactory.api._app", "creditfactory.api._engine"]]
    assert private_imports(graph) == [("creditfactory.store._b", "creditfactory.decision._hash", 1)]
    assert "factory/__init__.py:1: 'factory' imports creditfactory.api.create_app" in "\n".join(
        violations(root)
    )


def test_source_tree_is_there() -> None:
    assert (SRC / "__init__.py").is_file()
    assert any(imports_of(p, SRC) for p in SRC.rglob("*.py"))  # the parser sees imports


def test_lifecycle_never_imports_delivery_layers() -> None:
    problems = violations(SRC)
    assert not problems, "wrong-way imports:\n" + "\n".join(problems)


# ------------------------------------------------- the checker itself, on a synthetic tree


def write_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "creditfactory"
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


def test_checker_finds_every_kind_of_wrong_way_arrow(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "__init__.py": "",
            "exceptions.py": "",
            "data/__init__.py": "from creditfactory.data._a import f\n",
            "data/_a.py": """
                from creditfactory.exceptions import DataError
                from . import _b
                from .. import scorecard
                def f():
                    import sqlalchemy
                    return sqlalchemy
            """,
            "data/_b.py": "from ..store import tables\n",
            "data/_c.py": "from creditfactory.pricing import risk_based_apr\n",
            "pricing/_p.py": "from creditfactory.data import simulate\n",
            "pricing/_q.py": "from creditfactory.exceptions import ConfigError\n",
            "pricing/__init__.py": "from creditfactory import _lazy_exports, settings\n",
            "monitoring/_m.py": "from creditfactory.scorecard import Scorecard\n",
            "monitoring/_n.py": "from creditfactory.exceptions import DataError\n",
            "monitoring/_o.py": "from creditfactory._html import figure\n",
            "_html.py": "from creditfactory.decision import Strategy\n",
            "scorecard/__init__.py": "import creditfactory.api.routes\n",
            "scorecard/_c.py": """
                import importlib
                from creditfactory.data import simulate
                from creditfactory import cli
                importlib.import_module("creditfactory.web")
                from fastapi import APIRouter
            """,
            "store/__init__.py": "import sqlalchemy\nfrom creditfactory.data import simulate\n",
            "newthing/__init__.py": "from creditfactory.store import x\n",
        },
    )
    found = "\n".join(violations(root))
    expected = [
        "data/_a.py:4: 'data' may import only creditfactory.exceptions and pricing: "
        "creditfactory.scorecard",
        "pricing/_p.py:1: 'pricing' may import only creditfactory.exceptions: creditfactory.data",
        "monitoring/_m.py:1: 'monitoring' may import only creditfactory.exceptions and _html: "
        "creditfactory.scorecard",
        "_html.py:1: '_html' may import only creditfactory.exceptions: creditfactory.decision",
        "data/_a.py:6: lifecycle package 'data' imports sqlalchemy",
        "data/_b.py:1: lifecycle package 'data' imports creditfactory.store",
        "scorecard/__init__.py:1: lifecycle package 'scorecard' imports creditfactory.api.routes",
        "scorecard/_c.py:4: lifecycle package 'scorecard' imports creditfactory.cli",
        "scorecard/_c.py:5: lifecycle package 'scorecard' imports creditfactory.web",
        "scorecard/_c.py:6: lifecycle package 'scorecard' imports fastapi",
    ]
    for line in expected:
        assert line in found
    assert "exceptions" not in found.replace("only creditfactory.exceptions", "")
    assert "data/_c.py" not in found  # the twin prices with pricing
    assert "pricing/_q.py" not in found
    assert (
        "pricing/__init__.py:1: 'pricing' may import only creditfactory.exceptions: "
        "creditfactory.settings"
    ) in found
    assert "creditfactory._lazy_exports" not in found  # the root's helper is beneath everything
    assert "monitoring/_n.py" not in found
    assert "monitoring/_o.py" not in found  # the shared report page and translations
    assert "store/__init__" not in found  # delivery layers may import whatever they need
    assert "newthing" not in found  # not a lifecycle package
    assert "scorecard/_c.py:3" not in found  # scorecard may use data


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("from ..store import x", "creditfactory.store"),
        ("from . import _b", "creditfactory.data._b"),
        ("from .._x import y", "creditfactory._x.y"),
        ("import a.b as c", "a.b"),
    ],
)
def test_relative_imports_resolve(tmp_path: Path, source: str, target: str) -> None:
    root = write_tree(tmp_path, {"data/_a.py": source + "\n"})
    assert target in [i.target for i in imports_of(root / "data" / "_a.py", root)]
