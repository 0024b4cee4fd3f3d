"""Static types of the expression language and the type checker.

Four value kinds: ``int`` (64-bit), ``float`` (64-bit, always finite), ``bool`` and ``str``; the
literal ``null`` has kind ``null`` and fits any kind. Every type also says whether the value may be
null. ``int`` widens to ``float`` wherever a number is expected.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from creditfactory.decision._expr_parse import (
    Binary,
    Call,
    Const,
    ExpressionError,
    In,
    Node,
    Unary,
    Var,
)

if TYPE_CHECKING:
    from creditfactory.decision._expr_functions import FunctionSpec

KINDS = ("int", "float", "bool", "str")


@dataclass(frozen=True, slots=True)
class Type:
    """A value kind and whether it may be null."""

    kind: str
    nullable: bool = False

    def __str__(self) -> str:
        return self.kind + ("?" if self.nullable and self.kind != "null" else "")

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float", "null")


INT, FLOAT, BOOL, STR = Type("int"), Type("float"), Type("bool"), Type("str")
NULL = Type("null", True)


def unify(a: Type, b: Type) -> Type | None:
    """The common type of two branches, or None when they do not mix."""
    nullable = a.nullable or b.nullable
    if a.kind == "null":
        return Type(b.kind, True)
    if b.kind == "null":
        return Type(a.kind, True)
    if a.kind == b.kind:
        return Type(a.kind, nullable)
    if {a.kind, b.kind} == {"int", "float"}:
        return Type("float", nullable)
    return None


def literal_type(value: object) -> Type:
    """The type of a literal value."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    return STR


@dataclass(frozen=True, slots=True)
class NamedList:
    """A named list of values usable on the right of ``in``."""

    kind: str
    values: frozenset[object]


def check(
    node: Node,
    variables: Mapping[str, Type],
    lists: Mapping[str, NamedList] | None = None,
    functions: Mapping[str, FunctionSpec] | None = None,
) -> Type:
    """Type-check ``node`` in place (sets ``node.type`` on every node) and return its type.

    Raises
    ------
    ExpressionError
        On an unknown variable, list or function, or a type mismatch; ``pos`` is the column.
    """
    if functions is None:
        from creditfactory.decision import _expr_functions

        functions = _expr_functions.FUNCTIONS
    lists = lists or {}
    t = _check(node, variables, lists, functions)
    node.type = t
    return t


def _hint(name: str, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(name, list(known), n=3)
    if close:
        return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"
    names = sorted(known)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f" (known: {shown or 'none'})"


def _check(
    node: Node,
    variables: Mapping[str, Type],
    lists: Mapping[str, NamedList],
    functions: Mapping[str, FunctionSpec],
) -> Type:
    def sub(child: Node) -> Type:
        t = _check(child, variables, lists, functions)
        child.type = t
        return t

    if isinstance(node, Const):
        return literal_type(node.value)
    if isinstance(node, Var):
        if node.name not in variables:
            raise ExpressionError(
                f"unknown variable {node.name!r}{_hint(node.name, variables)}", node.pos
            )
        return variables[node.name]
    if isinstance(node, Unary):
        t = sub(node.operand)
        if node.op == "-":
            if not t.numeric:
                raise ExpressionError(f"unary '-' needs a number, got {t}", node.pos)
            return t if t.kind != "null" else NULL
        if t.kind not in ("bool", "null"):
            raise ExpressionError(f"'not' needs a bool, got {t}", node.pos)
        return Type("bool", t.nullable)
    if isinstance(node, Binary):
        lt, rt = sub(node.left), sub(node.right)
        nullable = lt.nullable or rt.nullable
        op = node.op
        if op in ("and", "or"):
            for t in (lt, rt):
                if t.kind not in ("bool", "null"):
                    raise ExpressionError(f"'{op}' needs bools, got {t}", node.pos)
            return Type("bool", nullable)
        if op in ("+", "-", "*", "/"):
            if not (lt.numeric and rt.numeric):
                raise ExpressionError(f"'{op}' needs numbers, got {lt} and {rt}", node.pos)
            if op == "/":  # true division; x / 0 is null
                return Type("float", True)
            kind = "int" if lt.kind in ("int", "null") and rt.kind in ("int", "null") else "float"
            return Type(kind, nullable)
        # comparisons
        if unify(lt, rt) is None:
            raise ExpressionError(f"cannot compare {lt} with {rt}", node.pos)
        if op not in ("==", "!=") and lt.kind == "bool":
            raise ExpressionError(f"'{op}' does not order bools", node.pos)
        return Type("bool", nullable)
    if isinstance(node, In):
        t = sub(node.operand)
        if node.list_name is not None:
            if node.list_name not in lists:
                known = ", ".join(sorted(lists)) or "none"
                raise ExpressionError(f"unknown list {node.list_name!r} (known: {known})", node.pos)
            kinds = {lists[node.list_name].kind}
        else:
            kinds = {literal_type(v).kind for v in node.items}
        for kind in kinds:
            if unify(t, Type(kind)) is None:
                raise ExpressionError(f"'in' tests a {t} against {kind} items", node.pos)
        return Type("bool", t.nullable)
    if isinstance(node, Call):
        spec = functions.get(node.name)
        if spec is None:
            known = ", ".join(sorted(functions))
            raise ExpressionError(f"unknown function {node.name!r} (known: {known})", node.pos)
        types = [sub(a) for a in node.args]
        lo, hi = spec.arity
        if not lo <= len(types) <= (hi if hi is not None else len(types)):
            want = f"{lo}" if lo == hi else f"{lo} to {hi if hi is not None else 'any'}"
            raise ExpressionError(
                f"{node.name}() takes {want} arguments, got {len(types)}", node.pos
            )
        try:
            return spec.check(types)
        except ExpressionError as exc:
            raise ExpressionError(f"{node.name}(): {exc}", node.pos) from None
    raise ExpressionError(f"unknown node {type(node).__name__}", node.pos)  # pragma: no cover
