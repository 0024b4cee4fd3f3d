"""The decision engine: a safe expression language and strategies run online, in batch and in
simulation from the same compiled YAML file."""

from creditfactory.decision._expr import Expression
from creditfactory.decision._expr_parse import ExpressionError
from creditfactory.decision._expr_types import NamedList, Type

__all__ = ["Expression", "ExpressionError", "NamedList", "Type"]
