"""Random strategies (rules, assigns, a split) decide alike online and in batch."""

from __future__ import annotations

import json
import math
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditfactory.decision import Strategy

from .test_expr_properties import VARS, bool_expr, frame, num_expr, row_strategy

INPUTS = {
    "i": "int", "f": "float", "ni": "{type: int, nullable: true}",
    "nf": "{type: float, nullable: true}", "b": "bool", "nb": "{type: bool, nullable: true}",
    "s": "str", "ns": "{type: str, nullable: true}",
}  # fmt: skip


def rule(expr: str, action: str, k: int) -> str:
    return f"        - {{name: r{k}, when: {json.dumps(expr)}, action: {action}, reason: C{k}}}\n"


@st.composite
def strategies(draw: st.DrawFn) -> str:
    head = "strategy: random\nversion: '1'\nkey: s\ninputs:\n"
    head += "".join(f"  {k}: {v}\n" for k, v in INPUTS.items())
    head += "lists:\n  colours: {values: [red, blue]}\nflow:\n"
    first = draw(st.lists(st.tuples(bool_expr(2), st.sampled_from(["decline", "refer"])),
                          min_size=1, max_size=4))  # fmt: skip
    body = "  - rules:\n      name: first\n      rules:\n"
    body += "".join(rule(e, a, k) for k, (e, a) in enumerate(first))
    values = draw(st.lists(num_expr(2), min_size=1, max_size=3))
    body += "  - assign:\n      name: compute\n      set:\n"
    body += "".join(f"        v{k}: {json.dumps(e)}\n" for k, e in enumerate(values))
    cut = draw(st.integers(-20, 20))
    body += "  - rules:\n      name: second\n      rules:\n"
    body += rule(f"v0 > {cut}", draw(st.sampled_from(["decline", "refer"])), 90)
    if draw(st.booleans()):
        share = draw(st.sampled_from([0.3, 0.5, 0.8]))
        body += (
            "  - split:\n      name: cc\n      key: s\n      arms:\n"
            f"        - {{name: a, share: {share}, flow: [{{assign: {{name: la, set: "
            f"{{limit: 'coalesce(v0, 0) * 100'}}}}}}]}}\n"
            f"        - {{name: b, share: {round(1 - share, 10)}, flow: [{{assign: {{name: lb, "
            f"set: {{limit: '50'}}}}}}]}}\n"
        )
    return head + body + "outputs: [" + ", ".join(f"v{k}" for k in range(len(values))) + "]\n"


def close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


@settings(
    max_examples=int(os.environ.get("CF_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(strategies(), st.lists(row_strategy(), min_size=1, max_size=10))
def test_random_strategies_agree(text: str, rows: list[dict]) -> None:
    strategy = Strategy.from_yaml(text)
    assert set(VARS) == set(INPUTS)
    out = strategy.decide_batch(frame(rows))
    for row, batch in zip(rows, out.iter_rows(named=True), strict=True):
        d = strategy.decide(row)
        assert batch["error"] is None
        assert d.decision == batch["decision"], text
        assert d.reasons == batch["reasons"], text
        assert d.trace == batch["trace"], text
        assert close(d.limit, batch["limit"]), text
        for k, v in d.values.items():
            assert close(v, batch[k]), (k, text)
