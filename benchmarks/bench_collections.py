"""Score-driven collections against the incumbent's one-size-fits-all policy, on the twin's truth.

Target (issue 17 §5): at least 15% more net recovery (recovered minus action costs) at the same or
lower cost. On each book the collection scores are fitted on the months before the last six; the
example strategy (``examples/strategies/collections.yaml``) plans each of those six months; the
plan and the incumbent's randomised policy are scored on the same account-months by the twin's
collection oracle. The gain is split into the action mix (the plan's actions dealt out at random
within each bucket, against the incumbent) and targeting (the plan against that shuffle). Two
references bound it: every account an agent call (the simplest rule), and the oracle's ceiling,
each account given its truly best action, which no lender can know (it needs the payer type).

Three measures. The month's expected cash (a cure pays everything due, a partial payment one
instalment), as before. The loan's life (``HORIZON = None``; the h_* metrics): the twin's exact
expected cash the borrower pays and the action costs until the account is closed or charged
off, with the written-off debt's expected agency and sale recoveries, the planned action in the
plan's month and the incumbent's policy after it, for plan and incumbent alike, so that what a
cure is worth afterwards (instalments paid instead of a roll towards charge-off) counts
(``creditfactory.data.collection_horizon``). And ``SHORT`` = 6 months (s_*). The ceiling is
recomputed under each measure (the best action per account by that measure);
``h_month_best_uplift`` scores each account's truly best action for the month over the life,
which bounds what re-aiming the cells at the life's objective could add.

Two more bounds and other twins. The cell oracle gives each cell of what the lender sees (bucket
x 20 amount-due bands x 10 C-score bands) the action that is truly best for its accounts on
average: the best a plan written on those cells could do, knowing the truth by cell but not each
account's payer type. ``VARIANTS``: the example strategy and the ceilings on twins with other
collection settings (the collections tests' twins, an incumbent that texts every M1 account, and
a sensitivity with every action three times dearer), one book each, seed 11.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import timer
from creditfactory.collections import (
    ACTIONS,
    CollectionScores,
    account_months,
    evaluate_plan,
    plan_collections,
    true_values,
)
from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import Strategy

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "strategies" / "collections.yaml"


HORIZON: int | None = None
"""The horizon of the h_* metrics: ``None``, the loan's life."""
SHORT = 6
"""A short horizon reported beside it (months)."""


_STUBBORN = {
    "forgetful": {"sms": 1.0, "robo_call": 1.1, "agent_call": 1.2, "field_visit": 1.2,
                  "agency": 0.6, "legal": 0.3},
    "unwilling": {"sms": 0.0, "robo_call": 0.1, "agent_call": 0.4, "field_visit": 1.6,
                  "agency": 0.9, "legal": 1.3},
    "unable": {"sms": 0.0, "robo_call": 0.0, "agent_call": 0.15, "field_visit": 0.25,
               "agency": 0.1, "legal": 0.15},
}  # fmt: skip
_LATE_POLICY = {
    "M2": {"robo_call": 0.20, "agent_call": 0.60, "field_visit": 0.20},
    "M3": {"agent_call": 0.30, "field_visit": 0.40, "agency": 0.30},
    "M4": {"agent_call": 0.20, "field_visit": 0.30, "agency": 0.50},
    "M5": {"field_visit": 0.20, "agency": 0.50, "legal": 0.30},
    "M6+": {"agency": 0.50, "legal": 0.50},
}  # fmt: skip
VARIANTS: dict[str, dict] = {
    "default": {},
    # the collections tests' twins (tests/collections/test_evaluate.py)
    "calls cost 16, visits 100": {"action_costs": {
        "sms": 0.05, "robo_call": 0.6, "agent_call": 16.0, "field_visit": 100.0, "agency": 20.0,
        "legal": 900.0}},
    "cures less, incumbent calls more": {
        "base_cure_logit": (0.3, -1.2, -2.5),
        "collection_policy": {
            "M1": {"sms": 0.2, "robo_call": 0.3, "agent_call": 0.5},
            "M2": {"agent_call": 0.7, "field_visit": 0.3},
            "M3": {"agent_call": 0.4, "field_visit": 0.4, "agency": 0.2},
            "M4": {"field_visit": 0.5, "agency": 0.5},
            "M5": {"field_visit": 0.3, "agency": 0.4, "legal": 0.3},
            "M6+": {"agency": 0.6, "legal": 0.4}}},
    "unwilling need a visit": {"collection_effects": _STUBBORN},
    # a one-action incumbent: a text for every M1 account
    "incumbent texts every M1": {"collection_policy": {"M1": {"sms": 1.0}, **_LATE_POLICY}},
    # sensitivity, not a DOMAIN figure: every action three times dearer
    "costs x3 (sensitivity)": {"action_costs": {
        "sms": 0.15, "robo_call": 1.8, "agent_call": 24.0, "field_visit": 450.0, "agency": 60.0,
        "legal": 2700.0}},
}  # fmt: skip
"""Twins the strategy and the ceiling are measured on besides the default (one book each)."""


def _cell_oracle(plan: pd.DataFrame, net: np.ndarray, dues: int = 20, bands: int = 10) -> float:
    """Net of the best any plan on the lender's own cells could do: each cell (bucket x
    ``dues`` amount-due bands x ``bands`` C-score bands) given the action that is truly best
    for its accounts on average; it knows the truth per cell, not each account's payer type."""
    due = pd.qcut(plan["amount_due"].rank(method="first"), dues, labels=False).to_numpy()
    score = pd.qcut(plan["p_cure"].rank(method="first"), bands, labels=False).to_numpy()
    key = pd.Series(plan["bucket"].astype(str).to_numpy()) + "|" + due.astype(str)
    key = (key + "|" + score.astype(str)).to_numpy()
    _, cell = np.unique(key, return_inverse=True)
    sums = np.zeros((cell.max() + 1, net.shape[1]))
    np.add.at(sums, cell, net)
    return float(sums.max(axis=1).sum())


def _one_book(n: int, seed: int, settings: dict | None = None) -> dict[str, float]:
    book = simulate(SimulationConfig(n_applications=n, seed=seed, **(settings or {})))
    acc = account_months(book)
    months = sorted(acc["month"].unique())[-6:]
    scores = CollectionScores().fit(acc[acc["month"] < months[0]])
    strategy = Strategy.load(EXAMPLE)
    plan = pd.concat(
        [plan_collections(book, strategy, as_of=f"{m:%Y-%m}", scores=scores) for m in months],
        ignore_index=True,
    )
    result = evaluate_plan(book, plan, horizon_months=HORIZON)
    short = evaluate_plan(book, plan, horizon_months=SHORT)
    rows = plan[["loan_id", "mob"]]
    life = "life" if HORIZON is None else HORIZON
    values = [true_values(book, rows.assign(action=a), acc, horizon_months=life) for a in ACTIONS]
    s_values = [
        true_values(book, rows.assign(action=a), acc, horizon_months=SHORT) for a in ACTIONS
    ]
    s_net = np.column_stack([v["horizon_net"].to_numpy() for v in s_values])
    net = np.column_stack([v["net"].to_numpy() for v in values])
    h_net = np.column_stack([v["horizon_net"].to_numpy() for v in values])
    calls = net[:, ACTIONS.index("agent_call")].sum()
    hp, hi, hm = result.plan, result.incumbent, result.same_mix
    return {
        "s_plan_net": short.plan["horizon_net_recovery"],
        "s_incumbent_net": short.incumbent["horizon_net_recovery"],
        "s_oracle_net": float(s_net.max(axis=1).sum()),
        "h_months": hp["horizon_months"],
        "h_plan_net": hp["horizon_net_recovery"],
        "h_incumbent_net": hi["horizon_net_recovery"],
        "h_same_mix_net": hm["horizon_net_recovery"],
        "h_plan_cost": hp["horizon_cost"],
        "h_incumbent_cost": hi["horizon_cost"],
        "h_plan_charged_off": hp["charged_off"],
        "h_incumbent_charged_off": hi["charged_off"],
        "h_all_calls_net": float(h_net[:, ACTIONS.index("agent_call")].sum()),
        "h_oracle_net": float(h_net.max(axis=1).sum()),
        "h_cell_oracle_net": _cell_oracle(plan, h_net),
        "cell_oracle_net": _cell_oracle(plan, net),
        "h_month_oracle_net": float(h_net[np.arange(len(net)), net.argmax(axis=1)].sum()),
        "accounts": float(len(plan)),
        "plan_net": result.plan["net_recovery"],
        "incumbent_net": result.incumbent["net_recovery"],
        "same_mix_net": result.same_mix["net_recovery"],
        "plan_cost": result.plan["cost"],
        "incumbent_cost": result.incumbent["cost"],
        "plan_cures": result.plan["cures"],
        "incumbent_cures": result.incumbent["cures"],
        "all_calls_net": float(calls),
        "oracle_net": float(net.max(axis=1).sum()),
    }


def run(quick: bool = False) -> dict:
    books = [(60_000, 11)] if quick else [(150_000, 11), (150_000, 12), (150_000, 13)]
    with timer() as t:
        per_book = [_one_book(n, seed) for n, seed in books]
    total = {k: sum(b[k] for b in per_book) for k in per_book[0]}
    inc = total["incumbent_net"]

    def rel(x: float) -> float:
        return (x - inc) / abs(inc)

    hinc = total["h_incumbent_net"]

    def hrel(x: float) -> float:
        return (x - hinc) / abs(hinc)

    variants = {}
    for name, settings in VARIANTS.items():
        if name == "default":
            continue
        b = _one_book(40_000 if quick else 100_000, 11, settings)
        variants[name] = {
            "month": (b["plan_net"] - b["incumbent_net"]) / abs(b["incumbent_net"]),
            "month_cost": b["plan_cost"] / b["incumbent_cost"],
            "month_ceiling": (b["oracle_net"] - b["incumbent_net"]) / abs(b["incumbent_net"]),
            "life": (b["h_plan_net"] - b["h_incumbent_net"]) / abs(b["h_incumbent_net"]),
            "life_cost": b["h_plan_cost"] / b["h_incumbent_cost"],
            "life_ceiling": (b["h_oracle_net"] - b["h_incumbent_net"]) / abs(b["h_incumbent_net"]),
        }
    metrics = {
        "accounts": total["accounts"],
        "cell_oracle_uplift": rel(total["cell_oracle_net"]),
        "h_cell_oracle_uplift": hrel(total["h_cell_oracle_net"]),
        "net_uplift_vs_incumbent": rel(total["plan_net"]),
        "cost_ratio_vs_incumbent": total["plan_cost"] / total["incumbent_cost"],
        "mix_effect": rel(total["same_mix_net"]),
        "targeting_effect": (total["plan_net"] - total["same_mix_net"]) / abs(inc),
        "all_calls_uplift": rel(total["all_calls_net"]),
        "oracle_ceiling_uplift": rel(total["oracle_net"]),
        "share_of_ceiling": (total["plan_net"] - inc) / (total["oracle_net"] - inc),
        "cure_ratio_vs_incumbent": total["plan_cures"] / total["incumbent_cures"],
        "target_15pct_met": float(rel(total["plan_net"]) >= 0.15),
        "short_horizon_months": float(SHORT),
        "s_net_uplift_vs_incumbent": (total["s_plan_net"] - total["s_incumbent_net"])
        / abs(total["s_incumbent_net"]),
        "s_oracle_ceiling_uplift": (total["s_oracle_net"] - total["s_incumbent_net"])
        / abs(total["s_incumbent_net"]),
        "h_months_spanned": max(b["h_months"] for b in per_book),
        "h_net_uplift_vs_incumbent": hrel(total["h_plan_net"]),
        "h_gain_cny_per_account": (total["h_plan_net"] - hinc) / total["accounts"],
        "month_gain_cny_per_account": (total["plan_net"] - inc) / total["accounts"],
        "h_share_of_ceiling": (total["h_plan_net"] - hinc) / (total["h_oracle_net"] - hinc),
        "h_cost_ratio_vs_incumbent": total["h_plan_cost"] / total["h_incumbent_cost"],
        "h_mix_effect": hrel(total["h_same_mix_net"]),
        "h_targeting_effect": (total["h_plan_net"] - total["h_same_mix_net"]) / abs(hinc),
        "h_all_calls_uplift": hrel(total["h_all_calls_net"]),
        "h_oracle_ceiling_uplift": hrel(total["h_oracle_net"]),
        "h_month_best_uplift": hrel(total["h_month_oracle_net"]),
        "h_charge_off_ratio_vs_incumbent": total["h_plan_charged_off"]
        / total["h_incumbent_charged_off"],
        "h_target_15pct_met": float(hrel(total["h_plan_net"]) >= 0.15),
        "seconds": t.seconds,
    }
    table = [["book (apps, seed)", "accounts", "plan net", "incumbent net", "uplift",
              "cost ratio", "oracle ceiling", "life uplift", "life cost ratio",
              "life ceiling"]]  # fmt: skip
    for (n, seed), b in zip(books, per_book, strict=True):
        i = b["incumbent_net"]
        table.append([
            f"{n:,}, {seed}", f"{b['accounts']:,.0f}", f"{b['plan_net']:,.0f}", f"{i:,.0f}",
            f"{(b['plan_net'] - i) / abs(i):+.1%}", f"{b['plan_cost'] / b['incumbent_cost']:.2f}",
            f"{(b['oracle_net'] - i) / abs(i):+.1%}",
            f"{(b['h_plan_net'] - b['h_incumbent_net']) / abs(b['h_incumbent_net']):+.1%}",
            f"{b['h_plan_cost'] / b['h_incumbent_cost']:.2f}",
            f"{(b['h_oracle_net'] - b['h_incumbent_net']) / abs(b['h_incumbent_net']):+.1%}",
        ])  # fmt: skip
    table.append(["twin (one book, seed 11)", "", "", "", "month", "cost ratio", "ceiling",
                  "life", "life cost ratio", "life ceiling"])  # fmt: skip
    for name, v in variants.items():
        table.append([
            name, "", "", "", f"{v['month']:+.1%}", f"{v['month_cost']:.2f}",
            f"{v['month_ceiling']:+.1%}", f"{v['life']:+.1%}", f"{v['life_cost']:.2f}",
            f"{v['life_ceiling']:+.1%}",
        ])  # fmt: skip
        slug = "".join(c if c.isalnum() else "_" for c in name).strip("_")
        metrics[f"variant_{slug}_month_ceiling"] = v["month_ceiling"]
        metrics[f"variant_{slug}_life_ceiling"] = v["life_ceiling"]
    return {
        "name": "collections",
        "metrics": metrics,
        "table": table,
        "notes": (
            "Example strategy vs the incumbent's randomised policy on the last six months of "
            f"{len(books)} simulated book(s), true expected figures from the twin's collection "
            "oracle: the month's cash; the loan's life (h_*: cash and costs until the account is "
            "closed or charged off, with the written-off debt's recoveries, the incumbent's "
            f"policy after the plan's month); and {SHORT} months (s_*). Target >= +15% net "
            "recovery at no "
            "more cost; the oracle ceiling (each account's truly best action under the measure) "
            "bounds what any plan can get; the cell oracle, what any plan on the lender's own "
            "cells (bucket x amount due x C-score) can get. Below the books: the example and the "
            "ceilings on twins with other collection settings (one book each)."
        ),
    }
