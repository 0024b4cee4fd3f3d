"""Action response from the randomised history agrees with the twin's truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditfactory.collections import account_months, action_response
from creditfactory.data import Portfolio, collection_oracle
from creditfactory.exceptions import DataError


def test_rates_by_bucket_and_action_match_the_oracle(book: Portfolio) -> None:
    acc = account_months(book)
    table = action_response(acc)
    # the incumbent randomises within the bucket: the rate among those given an action is the
    # whole bucket's true cure probability under that action, averaged over the pool
    checked = 0
    for _, row in table[table["accounts"] >= 50].iterrows():
        rows = acc[acc["bucket"] == row["bucket"]][["loan_id", "mob"]]
        truth = collection_oracle(book, rows.assign(action=row["action"]))
        p = truth["cure_prob"].mean()
        se = np.sqrt(p * (1 - p) / row["accounts"])
        assert abs(row["cure_rate"] - p) < 4 * se + 0.01, (row["bucket"], row["action"])
        assert row["cure_low"] <= row["cure_rate"] <= row["cure_high"]
        checked += 1
    assert checked >= 5
    m1 = table[table["bucket"] == "M1"].set_index("action")
    assert set(m1.index) == set(book.config.collection_policy["M1"])
    assert m1["net"].to_dict() == pytest.approx((m1["recovered"] - m1["cost"]).to_dict())


def test_finer_segments_and_refusals(book: Portfolio) -> None:
    acc = account_months(book)
    acc["large"] = acc["amount_due"] >= 2000
    table = action_response(acc, by=["bucket", "large"])
    assert table["accounts"].sum() == len(acc)
    assert set(table.columns[:3]) == {"bucket", "large", "action"}
    with pytest.raises(DataError, match=r"missing column\(s\) \['band'\]"):
        action_response(acc, by="band")
    with pytest.raises(DataError, match="expected a pandas DataFrame"):
        action_response(pd.Series([1.0]))  # type: ignore[arg-type]
