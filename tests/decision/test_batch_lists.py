"""The batch path's per-row lists (reason codes, traces, list hits) built from flag columns by
one boolean matrix and a gather, checked against a plain per-row Python loop."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from creditfactory.decision._batch_lists import empty_lists, lists_by_pattern


def _frame(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, pl.Series] = {}
    for j in range(5):
        flags = rng.random(n) < (0.1 + 0.2 * j)
        nulls = rng.random(n) < 0.05
        cols[f"f{j}"] = pl.Series(
            [None if z else bool(b) for b, z in zip(flags, nulls, strict=True)]
        )
    cols["code"] = pl.Series([None if r < 0.3 else f"T{int(r * 10)}" for r in rng.random(n)])
    tails = []
    for _ in range(2):
        lens = rng.integers(0, 3, n)
        tails.append(pl.Series([[f"M{k}_{i}" for k in range(m)] for i, m in enumerate(lens)]))
    cols["tail0"], cols["tail1"] = tails
    return pl.DataFrame(cols)


def _by_row(df: pl.DataFrame, entries: list[tuple[str, object]], tails: list[str]) -> list:
    """The same lists, one row at a time (independent of the code under test)."""
    out = []
    for row in df.iter_rows(named=True):
        items = []
        for flag, value in entries:
            if row[flag] is not True:  # null counts as false
                continue
            if isinstance(value, str):
                items.append(value)
            elif row["code"] is not None:  # the expression entry: the code column
                items.append(row["code"])
        for t in tails:
            items.extend(row[t])
        out.append(items)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_tails", [0, 1, 2])
def test_lists_match_a_row_by_row_loop(seed: int, n_tails: int) -> None:
    df = _frame(400, seed)
    entries: list[tuple[str, str | pl.Expr]] = [
        ("f0", "A"), ("f1", "B"), ("f2", pl.col("code")), ("f3", "A"), ("f4", "E"),
    ]  # fmt: skip
    tails = [f"tail{i}" for i in range(n_tails)]
    got = lists_by_pattern(df, entries, "x", [df[t] for t in tails])
    assert got.dtype == pl.List(pl.String)
    assert got.to_list() == _by_row(df, entries, tails)
    # the rows carry different lists: the check is not of a constant column
    assert len({tuple(v) for v in got.to_list()}) > 10


def test_only_literals_and_only_tails() -> None:
    df = _frame(300, 7)
    entries: list[tuple[str, str | pl.Expr]] = [("f1", "X"), ("f4", "Y")]
    assert lists_by_pattern(df, entries, "x").to_list() == _by_row(df, entries, [])
    tail_only = lists_by_pattern(df, [], "x", [df["tail0"], df["tail1"]]).to_list()
    assert tail_only == [
        a + b for a, b in zip(df["tail0"].to_list(), df["tail1"].to_list(), strict=True)
    ]


def test_empty_frame_and_no_entries() -> None:
    df = _frame(10, 3).head(0)
    assert lists_by_pattern(df, [("f0", "A"), ("f2", pl.col("code"))], "x").len() == 0
    none = lists_by_pattern(_frame(5, 3), [], "x")
    assert none.to_list() == [[]] * 5
    assert empty_lists(3).to_list() == [[], [], []]
