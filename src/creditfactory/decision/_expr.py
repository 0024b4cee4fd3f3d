"""Parse, check and compile one expression: :class:`Expression`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from creditfactory.decision._expr_compile import PyFn, calls_vector, to_polars, to_python
from creditfactory.decision._expr_parse import (
    Binary,
    Call,
    Const,
    ExpressionError,
    In,
    Node,
    Unary,
    Var,
    parse,
)
from creditfactory.decision._expr_types import NamedList, Type, check


class Expression:
    """A parsed and type-checked expression with both back-ends compiled.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"dti > 0.5 and not thin_file"``.
    variables : mapping of str to Type
        The variables in scope and their types.
    lists : mapping of str to NamedList, optional
        Named lists usable on the right of ``in``.
    constants : mapping of str to value, optional
        Named constants (a strategy's ``params``), substituted as literals.

    Examples
    --------
    >>> from creditfactory.decision._expr_types import FLOAT, Type
    >>> e = Expression("min(income * 3, 50000)", {"income": Type("float", True)})
    >>> e.evaluate({"income": 12000.0})
    36000.0
    >>> e.evaluate({"income": None})  # min ignores nulls
    50000.0
    >>> str(e.type)
    'float'
    """

    __slots__ = ("fn", "lists", "node", "text", "type")

    def __init__(
        self,
        text: str,
        variables: Mapping[str, Type],
        lists: Mapping[str, NamedList] | None = None,
        constants: Mapping[str, Any] | None = None,
    ):
        self.text = text
        self.lists = dict(lists or {})
        self.node: Node = _substitute(parse(text), constants or {})
        try:
            self.type: Type = check(self.node, variables, self.lists)
            self.fn: PyFn = to_python(self.node, self.lists)
        except RecursionError:
            raise ExpressionError("expression nests too deeply") from None

    def evaluate(self, env: dict[str, Any]) -> Any:
        """Value for one row (``None`` is null)."""
        return self.fn(env)

    def polars(self, column: Any = pl.col) -> pl.Expr:
        """The same expression as a Polars expression over columns named like the variables."""
        return to_polars(self.node, self.lists, column)

    @property
    def vectorised(self) -> bool:
        """Whether batch computes part of it with NumPy code over whole columns (a
        ``pl.map_batches`` call: the lifetime model's ``loan_apr`` and peers)."""
        return calls_vector(self.node)

    def __repr__(self) -> str:
        return f"Expression({self.text!r}: {self.type})"


def _substitute(node: Node, constants: Mapping[str, Any]) -> Node:
    """Replace variables named in ``constants`` by literals."""
    if not constants:
        return node
    if isinstance(node, Var) and node.name in constants:
        return Const(node.pos, constants[node.name])
    if isinstance(node, Unary):
        node.operand = _substitute(node.operand, constants)
    elif isinstance(node, Binary):
        node.left = _substitute(node.left, constants)
        node.right = _substitute(node.right, constants)
    elif isinstance(node, In):
        node.operand = _substitute(node.operand, constants)
    elif isinstance(node, Call):
        node.args = tuple(_substitute(a, constants) for a in node.args)
    return node
