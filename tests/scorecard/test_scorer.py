"""The batch points scorer: known answers by hand, every input dtype, and the old arithmetic."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from creditfactory.scorecard import BinningTable, Scorecard, ScorecardWarning
from creditfactory.scorecard._scorer import PointsScorer

from .conftest import make_applications

# age: [-inf, 25) [25, 40) [40, inf), special -1, missing; city: {a, b} {c}, special "x", missing
AGE = BinningTable("age", "numerical", splits=(25.0, 40.0), special_codes=(-1,))
CITY = BinningTable("city", "categorical", groups=(("a", "b"), ("c",)), special_codes=("x",))
POINTS = {
    "age": np.array([10.0, 20.0, 30.0, 5.0, 0.5]),
    "city": np.array([7.0, 3.0, 2.0, 1.0]),
}
TABLES = {"age": AGE, "city": CITY}
AGE_VALUES = [18.0, 25.0, 39.9, 40.0, np.nan, -1.0, 100.0, 24.999]
CITY_VALUES = ["a", "c", "b", None, "zzz", "x", "a", "c"]
# by hand: age points + city points, row by row
EXPECTED = np.array([10 + 7, 20 + 3, 20 + 7, 30 + 1, 0.5 + 1, 5 + 2, 30 + 7, 10 + 3])


def frame(city: object, age: object = AGE_VALUES) -> pd.DataFrame:
    return pd.DataFrame({"age": age, "city": city})


@pytest.mark.parametrize(
    "city",
    [
        pd.Series(CITY_VALUES, dtype="str"),  # Arrow-backed text (pandas' default with pyarrow)
        pd.Series(CITY_VALUES, dtype=object),
        pd.Series(CITY_VALUES, dtype="category"),
        pd.Series(CITY_VALUES, dtype=pd.ArrowDtype(pa.large_string())),
        pd.Series(CITY_VALUES, dtype=pd.ArrowDtype(pa.string())),
        pd.Series(CITY_VALUES, dtype=pd.StringDtype("python")),
    ],
    ids=["arrow-str", "object", "category", "arrow-large-string", "arrow-string", "python-string"],
)
@pytest.mark.parametrize("block_rows", [3, 65_536])
def test_known_answers_for_every_text_dtype_and_block_size(city, block_rows):
    total, unseen = PointsScorer(TABLES, POINTS, block_rows=block_rows).points(frame(city))
    np.testing.assert_array_equal(total, EXPECTED)
    assert unseen == {"city": 1}  # "zzz"; the missing value is not unseen


def test_numeric_dtypes_give_the_same_points():
    ints = [18, 25, 39, 40, 41, -1, 100, 24]
    expected = np.array([10, 20, 20, 30, 30, 5, 30, 10]) + np.array([7, 3, 7, 1, 1, 2, 7, 3])
    city = pd.Series(CITY_VALUES, dtype="str")
    scorer = PointsScorer(TABLES, POINTS)
    for age in (
        np.array(ints, dtype=np.int64),
        np.array(ints, dtype=np.int16),
        np.array(ints, dtype=np.float32),
        pd.array(ints, dtype="Int64"),
    ):
        np.testing.assert_array_equal(scorer.points(frame(city, age))[0], expected)
    with_na = pd.array([18, None, 40, 41, 41, -1, 100, 24], dtype="Int64")
    total = scorer.points(frame(city, with_na))[0]
    assert total[1] == 0.5 + 3  # NA takes the missing bin


def test_bool_column_as_categories():
    t = BinningTable("flag", "categorical", groups=(("False",), ("True",)))
    pts = {"flag": np.array([1.5, -2.0, 0.0])}
    total, _ = PointsScorer({"flag": t}, pts).points(
        pd.DataFrame({"flag": [True, False, False, True]})
    )
    np.testing.assert_array_equal(total, [-2.0, 1.5, 1.5, -2.0])


def test_many_edges_and_many_bins_use_a_binary_search_and_a_wider_index():
    rng = np.random.default_rng(3)
    splits = np.sort(rng.choice(np.arange(-500, 500), 200, replace=False)).astype(float)
    t = BinningTable("x", "numerical", splits=tuple(splits))
    assert t.n_bins == 202  # over int8's range: the index needs int16
    pts = rng.normal(size=t.n_bins)
    x = rng.uniform(-600, 600, 10_000)
    x[::7] = splits[::7].repeat(1 + len(x[::7]) // len(splits[::7]))[: len(x[::7])]  # on edges
    x[::11] = np.nan
    expected = np.where(np.isnan(x), pts[-1], pts[np.searchsorted(splits, x, side="right")])
    total, _ = PointsScorer({"x": t}, {"x": pts}, block_rows=999).points(pd.DataFrame({"x": x}))
    np.testing.assert_array_equal(total, expected)


def test_empty_frame_and_bad_block_size():
    total, unseen = PointsScorer(TABLES, POINTS).points(frame([], []))
    assert total.shape == (0,)
    assert unseen == {}
    with pytest.raises(ValueError, match="block_rows"):
        PointsScorer(TABLES, POINTS, block_rows=0)


@pytest.fixture(scope="module")
def fitted_and_rows():
    X, y = make_applications(6_000, seed=11)
    X = X.astype({"channel": "str"})  # Arrow text; housing stays object with None
    sc = Scorecard(special_codes={"inquiries_3m": [-9]}, min_bin_n_bad=5).fit(X, y)
    rows, _ = make_applications(50_000, seed=12)
    rows = rows.astype({"channel": "str"})
    rows.loc[rows.index[::997], "channel"] = "unknown-channel"  # unseen
    rows.loc[rows.index[::13], "monthly_income"] = np.nan
    return sc, rows


def test_scores_are_bit_identical_to_summing_bin_points_of_bin_indices(fitted_and_rows):
    """The previous implementation: bin_index per feature, then bin_points added in order."""
    sc, rows = fitted_and_rows
    assert {"channel", "inquiries_3m"} <= set(sc.selected_features_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        idx = sc.bin_indices(rows)
    old = np.zeros(len(rows))
    for f in sc.selected_features_:
        old += sc.bin_points_[f][idx[f].to_numpy()]
    with pytest.warns(ScorecardWarning, match=r"'channel': 51 rows"):
        new = sc.predict_points(rows)
    assert np.array_equal(new, old)  # bit for bit, not approximately
    cat = rows.astype({"channel": "category", "housing": "category"})
    with pytest.warns(ScorecardWarning, match=r"'channel': 51 rows"):
        assert np.array_equal(sc.predict_points(cat), old)
    small = PointsScorer(sc.binning_tables_, sc.bin_points_, block_rows=1_000)
    assert np.array_equal(small.points(rows)[0], old)


def test_bool_column_with_one_value_seen_in_training_counts_the_other_as_unseen():
    # NumPy bools are read through their byte: a value no bin knows takes the missing bin
    t = BinningTable("flag", "categorical", groups=(("True",),))
    pts = {"flag": np.array([4.0, -1.0])}
    total, unseen = PointsScorer({"flag": t}, pts).points(
        pd.DataFrame({"flag": [True, False, True, False, False]})
    )
    np.testing.assert_array_equal(total, [4.0, -1.0, 4.0, -1.0, -1.0])
    assert unseen == {"flag": 3}
