"""The two back-ends of the expression language, compiled from the same checked tree.

- :func:`to_python` builds nested closures ``f(env) -> value`` for one row (``env`` maps variable
  names to Python values, ``None`` for null);
- :func:`to_polars` builds one ``pl.Expr`` for a whole frame.

Semantics (the property tests hold both back-ends to them):

- null propagates through arithmetic, comparisons, ``in`` and ``not``;
- ``and``/``or`` use three-valued (Kleene) logic: ``false and null`` is false, ``true or null``
  is true, otherwise null wins;
- ``/`` is true division and always gives a float; ``x / 0`` is null;
- ``+ - *`` on two ints give an int (64-bit; overflow is the author's error);
- string comparisons order by code point.

The Python back-end skips null checks where the checker proved a value non-null, which is most
of the online path's speed.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from creditfactory.decision._expr_functions import FUNCTIONS
from creditfactory.decision._expr_parse import Binary, Call, Const, In, Node, Unary, Var
from creditfactory.decision._expr_types import NamedList

PyFn = Callable[[dict[str, Any]], Any]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# the same operators, on Polars expressions (an Expr's operators give an Expr)
_PL_OPS: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = dict(_OPS)
_PL_DTYPES = {"int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "str": pl.String}


_VAR_CONST: dict[str, Callable[[str, Any], PyFn]] = {
    "<": lambda n, c: lambda env: env[n] < c,
    "<=": lambda n, c: lambda env: env[n] <= c,
    ">": lambda n, c: lambda env: env[n] > c,
    ">=": lambda n, c: lambda env: env[n] >= c,
    "==": lambda n, c: lambda env: env[n] == c,
    "!=": lambda n, c: lambda env: env[n] != c,
    "+": lambda n, c: lambda env: env[n] + c,
    "-": lambda n, c: lambda env: env[n] - c,
    "*": lambda n, c: lambda env: env[n] * c,
}


def to_python(node: Node, lists: Mapping[str, NamedList] | None = None) -> PyFn:
    """Compile a checked tree into a closure over an environment dict."""
    lists = lists or {}
    if isinstance(node, Const):
        value = node.value
        return lambda env: value
    if isinstance(node, Var):
        return operator.itemgetter(node.name)
    if isinstance(node, Unary):
        f = to_python(node.operand, lists)
        if node.op == "-":
            if not node.operand.type.nullable:
                return lambda env: -f(env)
            return lambda env: None if (v := f(env)) is None else -v
        if not node.operand.type.nullable:
            return lambda env: not f(env)
        return lambda env: None if (v := f(env)) is None else not v
    if isinstance(node, Binary):
        return _binary(node, lists)
    if isinstance(node, In):
        f = to_python(node.operand, lists)
        values = lists[node.list_name].values if node.list_name else frozenset(node.items)
        if node.negate:
            return lambda env: None if (v := f(env)) is None else v not in values
        return lambda env: None if (v := f(env)) is None else v in values
    if isinstance(node, Call):
        spec = FUNCTIONS[node.name]
        fs = [to_python(a, lists) for a in node.args]
        return spec.py(fs, [a.type for a in node.args], node.type)
    raise TypeError(type(node).__name__)  # pragma: no cover


def _binary(node: Binary, lists: Mapping[str, NamedList]) -> PyFn:
    op = node.op
    lf, rf = to_python(node.left, lists), to_python(node.right, lists)
    if op == "and":

        def f_and(env: dict[str, Any]) -> Any:
            a = lf(env)
            if a is False:
                return False
            b = rf(env)
            if b is False:
                return False
            if a is None or b is None:
                return None
            return True

        return f_and
    if op == "or":

        def f_or(env: dict[str, Any]) -> Any:
            a = lf(env)
            if a is True:
                return True
            b = rf(env)
            if b is True:
                return True
            if a is None or b is None:
                return None
            return False

        return f_or
    if op == "/":

        def f_div(env: dict[str, Any]) -> Any:
            a = lf(env)
            if a is None:
                return None
            b = rf(env)
            if b is None or b == 0:
                return None
            return a / b

        return f_div
    fn = _OPS[op]
    nullable = node.left.type.nullable or node.right.type.nullable
    # Fast paths for the shapes rules are made of: ``var OP const`` and ``var OP var``.
    if isinstance(node.right, Const) and node.right.value is not None:
        c = node.right.value
        if isinstance(node.left, Var):
            name = node.left.name
            if not nullable:
                return _VAR_CONST[op](name, c)
            return lambda env: None if (a := env[name]) is None else fn(a, c)
        if not nullable:
            return lambda env: fn(lf(env), c)
        return lambda env: None if (a := lf(env)) is None else fn(a, c)
    if not nullable:
        return lambda env: fn(lf(env), rf(env))

    def f_bin(env: dict[str, Any]) -> Any:
        a = lf(env)
        if a is None:
            return None
        b = rf(env)
        if b is None:
            return None
        return fn(a, b)

    return f_bin


_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _has_var(n: Node) -> bool:
    if isinstance(n, Var):
        return True
    if isinstance(n, Unary):
        return _has_var(n.operand)
    if isinstance(n, Binary):
        return _has_var(n.left) or _has_var(n.right)
    if isinstance(n, In):
        return _has_var(n.operand)
    if isinstance(n, Call):
        return any(_has_var(a) for a in n.args)
    return False


def calls_vector(node: Node) -> bool:
    """Whether the tree calls a function computed by NumPy code in batch (the lifetime model)."""
    if isinstance(node, Call):
        return FUNCTIONS[node.name].vector or any(calls_vector(a) for a in node.args)
    if isinstance(node, Binary):
        return calls_vector(node.left) or calls_vector(node.right)
    if isinstance(node, Unary | In):
        return calls_vector(node.operand)
    return False


def to_polars(
    node: Node,
    lists: Mapping[str, NamedList] | None = None,
    column: Callable[[str], pl.Expr] = pl.col,
) -> pl.Expr:
    """Compile a checked tree into one Polars expression (``column`` maps a variable name)."""
    lists = lists or {}

    def typed(n: Node, kind: str) -> pl.Expr:
        if n.type.kind == "null":
            return pl.lit(None, dtype=_PL_DTYPES.get(kind, pl.Float64))
        return go(n)

    def go(n: Node) -> pl.Expr:
        if not isinstance(n, Const) and not _has_var(n):
            # Fold constant subtrees with the Python back-end: Polars 2.1 mis-sizes some
            # constant-only plans (a length-1 result that does not broadcast).
            folded = Const(n.pos, to_python(n, lists)({}))
            folded.type = n.type
            n = folded
        if isinstance(n, Const):
            dtype = _PL_DTYPES.get(n.type.kind) if n.type is not None else None
            return pl.lit(n.value, dtype=dtype)
        if isinstance(n, Var):
            return column(n.name)
        if isinstance(n, Unary):
            e = typed(n.operand, "bool" if n.op == "not" else n.type.kind)
            return -e if n.op == "-" else ~e
        if isinstance(n, Binary):
            if n.op in ("and", "or"):
                a, b = typed(n.left, "bool"), typed(n.right, "bool")
            else:  # a null operand takes the other side's kind
                a = typed(n.left, n.right.type.kind)
                b = typed(n.right, n.left.type.kind)
            if n.op == "and":
                return a & b
            if n.op == "or":
                return a | b
            if n.op == "/":
                a, b = a.cast(pl.Float64), b.cast(pl.Float64)
                return pl.when(b != 0).then(a / b)  # never .then(None): see _expr_functions
            if n.op in _FLIP and not _has_var(n.left):
                # Polars 2.1 returns one row for ``literal <cmp> when(...)`` when no predicate
                # row is true (found by the property tests); the mirrored form is correct.
                return _PL_OPS[_FLIP[n.op]](b, a)
            return _PL_OPS[n.op](a, b)
        if isinstance(n, In):
            e = go(n.operand)
            values = lists[n.list_name].values if n.list_name else frozenset(n.items)
            dtype = _PL_DTYPES.get(n.operand.type.kind, pl.String)
            if n.operand.type.kind == "null":
                return pl.lit(None, dtype=pl.Boolean)
            member = e.is_in(pl.Series(values=sorted(values), dtype=dtype).implode())
            member = ~member if n.negate else member
            return pl.when(e.is_not_null()).then(member)
        if isinstance(n, Call):
            spec = FUNCTIONS[n.name]
            kind = n.type.kind if n.name != "if" else None
            args = [
                typed(a, "bool" if (n.name == "if" and i == 0) else (kind or n.type.kind))
                for i, a in enumerate(n.args)
            ]
            return spec.pl(args, [a.type for a in n.args], n.type)
        raise TypeError(type(n).__name__)  # pragma: no cover

    return go(node)
