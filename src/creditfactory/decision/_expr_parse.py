"""Tokenizer and Pratt parser of the strategy expression language.

The grammar, loosest binding first::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum
                   | ["not"] "in" (list | NAME)]
    sum     := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | "true" | "false" | "null" | NAME | NAME "(" args ")"
             | "(" expr ")"
    list    := "[" [atom ("," atom)*] "]"

User text is never handed to Python's ``eval`` or ``ast``: this module reads it character by
character and builds the small node classes below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from creditfactory.exceptions import StrategyError

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_TWO_CHAR = frozenset({"==", "!=", "<=", ">="})
_ONE_CHAR = frozenset("+-*/()[],<>")


class ExpressionError(StrategyError):
    """An expression is malformed or ill-typed; ``pos`` is the 0-based column in the text."""

    def __init__(self, message: str, pos: int = 0):
        super().__init__(message)
        self.pos = pos


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num", "str", "name", "op", "kw", "end"
    value: Any
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens.

    >>> [t.value for t in tokenize("a >= 1.5 and b in ['x']")]
    ['a', '>=', 1.5, 'and', 'b', 'in', '[', 'x', ']', None]
    """
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i
            while j < n and (text[j].isdigit() or text[j] in "._"):
                j += 1
            if j < n and text[j] in "eE":
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k].isdigit():
                    j = k
                    while j < n and text[j].isdigit():
                        j += 1
            raw = text[i:j].replace("_", "")
            try:
                value: Any = float(raw) if any(ch in raw for ch in ".eE") else int(raw)
            except ValueError:
                raise ExpressionError(f"malformed number {text[i:j]!r}", i) from None
            if isinstance(value, float) and value in (float("inf"), float("-inf")):
                raise ExpressionError(f"number {text[i:j]!r} is out of range", i)
            if isinstance(value, int) and value >= 2**63:
                raise ExpressionError(f"number {text[i:j]!r} does not fit 64 bits", i)
            tokens.append(Token("num", value, i))
            i = j
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            tokens.append(Token("kw" if word in KEYWORDS else "name", word, i))
            i = j
        elif c in "'\"":
            j = text.find(c, i + 1)
            if j < 0:
                raise ExpressionError("unterminated string", i)
            tokens.append(Token("str", text[i + 1 : j], i))
            i = j + 1
        elif text[i : i + 2] in _TWO_CHAR:
            tokens.append(Token("op", text[i : i + 2], i))
            i += 2
        elif c in _ONE_CHAR:
            tokens.append(Token("op", c, i))
            i += 1
        else:
            raise ExpressionError(f"unexpected character {c!r}", i)
    tokens.append(Token("end", None, n))
    return tokens


# --- nodes -------------------------------------------------------------------------------------
# ``type`` is filled in by the type checker (creditfactory.decision._expr_types.check).


@dataclass(eq=False, slots=True)
class Node:
    pos: int
    type: Any = field(default=None, init=False, repr=False)


@dataclass(eq=False, slots=True)
class Const(Node):
    value: Any = None  # int, float, str, bool or None


@dataclass(eq=False, slots=True)
class Var(Node):
    name: str = ""


@dataclass(eq=False, slots=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Node


@dataclass(eq=False, slots=True)
class Binary(Node):
    op: str  # + - * / == != < <= > >= and or
    left: Node
    right: Node


@dataclass(eq=False, slots=True)
class In(Node):
    operand: Node
    items: tuple[Any, ...] = ()  # literal values
    list_name: str | None = None  # or a named list declared by the strategy
    negate: bool = False


@dataclass(eq=False, slots=True)
class Call(Node):
    name: str = ""
    args: tuple[Node, ...] = ()


_CMP = frozenset({"==", "!=", "<", "<=", ">", ">="})


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, value: Any = None) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == kind and (value is None or tok.value == value)

    def expect(self, kind: str, value: Any) -> Token:
        tok = self.next()
        if tok.kind != kind or tok.value != value:
            found = "end of expression" if tok.kind == "end" else repr(tok.value)
            raise ExpressionError(f"expected {value!r}, found {found}", tok.pos)
        return tok

    def parse(self) -> Node:
        node = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(f"unexpected {tok.value!r}", tok.pos)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("kw", "or"):
            tok = self.next()
            node = Binary(tok.pos, "or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("kw", "and"):
            tok = self.next()
            node = Binary(tok.pos, "and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.at("kw", "not"):
            tok = self.next()
            return Unary(tok.pos, "not", self.not_())
        return self.cmp()

    def cmp(self) -> Node:
        node = self.sum()
        tok = self.peek()
        if tok.kind == "op" and tok.value in _CMP:
            self.next()
            node = Binary(tok.pos, tok.value, node, self.sum())
        elif tok.kind == "kw" and tok.value in ("in", "not"):
            self.next()
            negate = tok.value == "not"
            if negate:
                self.expect("kw", "in")
            node = self.in_tail(node, negate, tok.pos)
        nxt = self.peek()
        if (nxt.kind == "op" and nxt.value in _CMP) or (nxt.kind == "kw" and nxt.value == "in"):
            raise ExpressionError("comparisons do not chain; use 'and'", nxt.pos)
        return node

    def in_tail(self, operand: Node, negate: bool, pos: int) -> Node:
        if self.at("name"):
            return In(pos, operand, (), self.next().value, negate)
        self.expect("op", "[")
        items: list[Any] = []
        while not self.at("op", "]"):
            item = self.unary()
            if isinstance(item, Unary) and item.op == "-" and isinstance(item.operand, Const):
                item = Const(item.pos, -item.operand.value)
            if not isinstance(item, Const) or item.value is None:
                raise ExpressionError("list items must be literal values", item.pos)
            items.append(item.value)
            if not self.at("op", "]"):
                self.expect("op", ",")
        self.next()
        return In(pos, operand, tuple(items), None, negate)

    def sum(self) -> Node:
        node = self.term()
        while self.at("op", "+") or self.at("op", "-"):
            tok = self.next()
            node = Binary(tok.pos, tok.value, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at("op", "*") or self.at("op", "/"):
            tok = self.next()
            node = Binary(tok.pos, tok.value, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("op", "-"):
            tok = self.next()
            operand = self.unary()
            value = operand.value if isinstance(operand, Const) else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                return Const(tok.pos, -value)
            return Unary(tok.pos, "-", operand)
        return self.atom()

    def atom(self) -> Node:
        tok = self.next()
        if tok.kind in ("num", "str"):
            return Const(tok.pos, tok.value)
        if tok.kind == "kw" and tok.value in ("true", "false", "null"):
            return Const(tok.pos, {"true": True, "false": False, "null": None}[tok.value])
        if tok.kind == "name":
            if self.at("op", "("):
                self.next()
                args: list[Node] = []
                while not self.at("op", ")"):
                    args.append(self.or_())
                    if not self.at("op", ")"):
                        self.expect("op", ",")
                self.next()
                return Call(tok.pos, tok.value, tuple(args))
            return Var(tok.pos, tok.value)
        if tok.kind == "op" and tok.value == "(":
            node = self.or_()
            self.expect("op", ")")
            return node
        found = "end of expression" if tok.kind == "end" else repr(tok.value)
        raise ExpressionError(f"expected a value, found {found}", tok.pos)


MAX_LENGTH = 10_000
MAX_DEPTH = 200


def parse(text: str) -> Node:
    """Parse ``text`` into an expression tree (no names or types are checked here).

    >>> parse("1 + 2 * x").op
    '+'
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    try:
        node = _Parser(text).parse()
    except RecursionError:
        raise ExpressionError("expression nests too deeply") from None
    if _depth(node) > MAX_DEPTH:  # the checker and both back-ends recurse over the tree
        raise ExpressionError(f"expression nests deeper than {MAX_DEPTH} levels")
    return node


def _depth(root: Node) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        kids: tuple[Any, ...] = ()
        if isinstance(node, Unary):
            kids = (node.operand,)
        elif isinstance(node, Binary):
            kids = (node.left, node.right)
        elif isinstance(node, In):
            kids = (node.operand,)
        elif isinstance(node, Call):
            kids = node.args
        stack.extend((k, d + 1) for k in kids)
    return deepest
