"""Batch prices (the lifetime model's NumPy solver) only the rows a step decides: rows declined
before it or in another arm keep their earlier value, and every priced row equals the online
price to the bit."""

from __future__ import annotations

import numpy as np
import polars as pl

from creditfactory.decision import Strategy
from creditfactory.pricing import LoanEconomics, risk_based_apr

YAML = """
strategy: guarded
version: "1"
key: app
inputs:
  app: str
  age: {type: int, min: 0, max: 120}
  pd: {type: float, min: 0, max: 1}
  amount: {type: float, min: 0, max: 1000000}
  months: {type: int, min: 1, max: 120}
params: {lgd: 0.6, cof: 0.03}
flow:
  - rules:
      rules:
        - {name: young, when: "age < 21", action: decline, reason: KO_AGE}
  - split:
      name: ab
      key: app
      arms:
        - name: priced
          share: 0.5
          flow:
            - assign:
                name: lifetime
                set:
                  price: "loan_apr(pd, amount, months, 0.05, lgd, cof)"
                  apr: "min(price, 0.36)"
        - name: flat
          share: 0.5
          flow:
            - assign: {name: flat_price, set: {price: "0.2", apr: "0.2"}}
  - assign: {name: loan, set: {limit: "amount", term: "months"}}
outputs: [price]
"""


def test_priced_rows_equal_online_and_the_solver() -> None:
    s = Strategy.from_yaml(YAML)
    rng = np.random.default_rng(5)
    n = 600
    apps = pl.DataFrame({
        "app": [f"A{i}" for i in range(n)],
        "age": rng.integers(18, 60, n),
        "pd": rng.uniform(0.005, 0.3, n),
        "amount": rng.uniform(1000, 50000, n).round(0),
        "months": rng.choice([3, 6, 12, 24, 36], n),
    })  # fmt: skip
    out = s.decide_batch(apps)
    online = [s.decide(r) for r in apps.iter_rows(named=True)]
    batch_price = out["price"].to_list()
    assert batch_price == [d.values["price"] for d in online]  # bit for bit, nulls included
    assert out["apr"].to_list() == [d.apr for d in online]
    # both arms and the knock-out occur, and the solver's own price is the one given
    young = (apps["age"] < 21).to_numpy()
    arm = np.array(["ab:priced" in d.trace for d in online])
    assert young.sum() > 20
    assert (arm & ~young).sum() > 100
    assert (~arm & ~young).sum() > 100
    assert all(p is None for p, y in zip(batch_price, young, strict=True) if y)
    eco = LoanEconomics(lgd=0.6, cost_of_funds=0.03)
    rows = np.flatnonzero(arm & ~young)
    want = risk_based_apr(
        apps["pd"].to_numpy()[rows], apps["amount"].to_numpy()[rows],
        apps["months"].to_numpy()[rows].astype(float), 0.05, eco,
    )  # fmt: skip
    assert np.array_equal(np.array([batch_price[i] for i in rows]), want)
