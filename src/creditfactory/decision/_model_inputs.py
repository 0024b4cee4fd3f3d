"""What a strategy gives a model must be what the model was fitted on.

Two checks, both from the model's input schema (see ``creditfactory.scorecard.column_schema``):

- at load: each model input's declared type matches the type the model was fitted on (a
  ``bool`` for a ``bool``, text for a categorical fitted on text; an ``int`` may feed a
  numerical ``float`` input), else a :class:`StrategyError` naming the input, both types and
  the strategy's line;
- at decision time: a value of the right type that the model never saw (an unseen category)
  follows the strategy's ``unseen`` policy, counted in the decision's trace as
  ``"<step>: unseen <input>"``:

  ``missing`` (the default) scores it as missing, as the scorecard does; ``refer`` scores it
  as missing and refers the application with reason ``UNSEEN_VALUE``; ``reject`` makes the
  input invalid (online an :class:`InputError`; in batch the row is ``refer`` with
  ``INVALID_INPUT`` and the problem in ``error``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from creditfactory.exceptions import StrategyError

UNSEEN_POLICIES = ("missing", "refer", "reject")
UNSEEN_REASON = "UNSEEN_VALUE"
UNSEEN_TEXT = "a model input held a value the model never saw in training (scored as missing)"


UNSEEN_MARK = ": unseen "


def unseen_entry(step: str, variable: str) -> str:
    """The trace entry of an unseen value of ``variable`` in model step ``step``.

    >>> unseen_entry("score", "city")
    'score: unseen city'
    """
    return f"{step}{UNSEEN_MARK}{variable}"


def unseen_counts(traces: pl.Series) -> dict[str, int]:
    """How many decisions met each unseen-value trace entry (``"<step>: unseen <input>"``),
    from a batch's ``trace`` column; what batch summaries report.

    >>> unseen_counts(pl.Series([["score", "score: unseen city"], ["score"], ["score",
    ...     "score: unseen city"]]))
    {'score: unseen city': 2}
    """
    entries = traces.explode().drop_nulls()
    hits = entries.filter(entries.str.contains(UNSEEN_MARK, literal=True))
    if hits.is_empty():
        return {}
    counts = hits.value_counts(sort=True)
    return {str(k): int(v) for k, v in counts.iter_rows()}


def unseen_problem(model: str) -> str:
    """The input problem of a rejected unseen value (after ``"<input>: "``)."""
    return f"a value model {model!r} never saw in training"


def parse_unseen(doc: Any, source: str) -> str:
    """The strategy's ``unseen:`` policy (``missing`` when not declared)."""
    value = doc.get("unseen", "missing") if isinstance(doc, Mapping) else "missing"
    if value not in UNSEEN_POLICIES:
        line = getattr(doc, "line_of", lambda _: 0)("unseen")
        raise StrategyError(
            f"{source}:{line}: unseen: must be one of {', '.join(UNSEEN_POLICIES)}, got {value!r}"
        )
    return str(value)


def type_problem(
    alias: str, feature: str, variable: str, schema: Mapping[str, Any], declared: str
) -> str | None:
    """The load error text when ``variable`` (declared ``declared``) cannot feed ``feature``.

    >>> type_problem("ascore", "gps", "gps", {"type": "bool", "kind": "categorical"}, "str")
    "type mismatch: model 'ascore' input 'gps' was fitted on bool (categorical), the strategy declares str"
    """  # noqa: E501
    want, kind = schema["type"], schema["kind"]
    if declared == want or (declared == "int" and want == "float" and kind == "numerical"):
        return None
    via = "" if variable == feature else f" (given {variable!r})"
    return (
        f"type mismatch: model {alias!r} input {feature!r}{via} was fitted on {want} ({kind}), "
        f"the strategy declares {declared}"
    )
