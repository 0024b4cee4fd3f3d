"""The batch points scorer: known answers by hand, every input dtype, and the old arithmetic."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from creditfactory.scorecard import BinningTable, Scorecard, ScorecardWarning
from creditfactory.scorecard._scorer import LOOKUP_SPAN, PointsScorer

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


def summed_bin_points(sc, rows: pd.DataFrame) -> np.ndarray:
    """The previous scorer: each row's bin per characteristic, its points added in order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        idx = sc.bin_indices(rows)
    old = np.zeros(len(rows))
    for f in sc.selected_features_:
        old += sc.bin_points_[f][idx[f].to_numpy()]
    return old


def test_scores_are_bit_identical_to_summing_bin_points_of_bin_indices(fitted_and_rows):
    """The previous implementation: bin_index per feature, then bin_points added in order."""
    sc, rows = fitted_and_rows
    assert {"channel", "inquiries_3m"} <= set(sc.selected_features_)
    old = summed_bin_points(sc, rows)
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


def test_integer_columns_use_a_lookup_table_with_the_comparisons_answers():
    # age: edges 25, 40, special -1 -> the table spans -2 .. 41; 100 and -50 are clipped to
    # its ends, which hold the last and the first regular bins (by hand: 30 and 10 points)
    ints = [18, 25, 39, 40, 41, -1, 100, 24, -50, -2, 0, 10**9]
    expected = [10, 20, 20, 30, 30, 5, 30, 10, 10, 10, 10, 30]
    scorer = PointsScorer({"age": AGE}, {"age": POINTS["age"]}, block_rows=5)
    assert scorer._specs[0][1].lookup[:2] == (-2, 41)  # type: ignore[union-attr]
    for dtype in (np.int64, np.int32, np.int16, np.uint16, np.uint32):
        values = [v for v in ints if np.can_cast(np.min_scalar_type(v), dtype)]
        want = [e for v, e in zip(ints, expected, strict=True) if v in values]
        total, _ = scorer.points(pd.DataFrame({"age": np.array(values, dtype=dtype)}))
        np.testing.assert_array_equal(total, want, err_msg=str(dtype))
    int8 = np.array([-128, -1, 24, 25, 39, 40, 127], dtype=np.int8)  # the dtype's own limits
    total, _ = scorer.points(pd.DataFrame({"age": int8}))
    np.testing.assert_array_equal(total, [10, 5, 10, 20, 20, 30, 30])
    # uint64 does not fit np.intp: the comparisons path, same answers
    total, _ = scorer.points(pd.DataFrame({"age": np.array([2**64 - 1, 24, 25], np.uint64)}))
    np.testing.assert_array_equal(total, [30, 10, 20])


def test_a_special_value_beyond_the_edges_and_a_wide_span():
    # special -999 far below the edges: the table reaches it, and values below it are clipped
    # to an end that holds the first regular bin, not the special one
    t = BinningTable("n", "numerical", splits=(1.5, 3.0), special_codes=(-999, 7.5))
    pts = np.array([1.0, 2.0, 3.0, 40.0, 50.0, 60.0])  # 3 regular, 2 special, missing
    scorer = PointsScorer({"n": t}, {"n": pts})
    assert scorer._specs[0][1].lookup is not None  # type: ignore[union-attr]
    x = np.array([-5000, -999, -998, 0, 1, 2, 3, 7, 8, 5000])
    total, _ = scorer.points(pd.DataFrame({"n": x}))
    np.testing.assert_array_equal(total, [1, 40, 1, 1, 1, 2, 3, 3, 3, 3])  # 7.5 never an int
    total, _ = scorer.points(pd.DataFrame({"n": x.astype(float)}))  # floats: the comparisons
    np.testing.assert_array_equal(total, [1, 40, 1, 1, 1, 2, 3, 3, 3, 3])
    # edges further apart than LOOKUP_SPAN integers: no table, the comparisons give the points
    wide = BinningTable("n", "numerical", splits=(0.0, float(LOOKUP_SPAN)))
    scorer = PointsScorer({"n": wide}, {"n": np.array([1.0, 2.0, 3.0, 0.0])})
    assert scorer._specs[0][1].lookup is None  # type: ignore[union-attr]
    total, _ = scorer.points(pd.DataFrame({"n": np.array([-1, 0, LOOKUP_SPAN - 1, LOOKUP_SPAN])}))
    np.testing.assert_array_equal(total, [1, 2, 2, 3])


@pytest.mark.parametrize("block_rows", [2, 65_536])
def test_arrow_dictionary_text_is_looked_up_once_per_entry(block_rows):
    # two chunks with different dictionaries; a null row (missing), "zzz" unseen, "x" special
    chunks = [pa.array(CITY_VALUES[:3]), pa.array(CITY_VALUES[3:])]
    for index_type in (pa.int8(), pa.int32()):
        arrays = [
            pa.DictionaryArray.from_arrays(
                pa.array(pc_indices(c), type=index_type),
                pa.array(sorted(set(c.to_pylist()) - {None})),
            )
            for c in chunks
        ]
        city = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array(arrays)))
        assert pa.types.is_dictionary(city.dtype.pyarrow_dtype)
        total, unseen = PointsScorer(TABLES, POINTS, block_rows=block_rows).points(frame(city))
        np.testing.assert_array_equal(total, EXPECTED)
        assert unseen == {"city": 1}


def pc_indices(chunk: pa.Array) -> list[int | None]:
    """Indices of a chunk's values into its sorted distinct non-null values (None for null)."""
    values = sorted(set(chunk.to_pylist()) - {None})
    return [None if v is None else values.index(v) for v in chunk.to_pylist()]


def test_predict_points_on_dictionary_text_and_integer_lookups_is_bit_identical(
    fitted_and_rows,
):
    sc, rows = fitted_and_rows
    old = summed_bin_points(sc, rows)
    # whole-number columns as NumPy integers take the lookup tables (inquiries_3m with its
    # special value -9), and channel as an Arrow dictionary
    ints = {"age": "int64", "inquiries_3m": "int16"}
    assert set(ints) <= set(sc.selected_features_)
    encoded = pa.chunked_array([pa.array(rows["channel"].astype(object)).dictionary_encode()])
    dictionary = rows.astype(ints).assign(channel=pd.arrays.ArrowExtensionArray(encoded))
    assert (rows["inquiries_3m"] == -9).any()
    tables = dict(PointsScorer(sc.binning_tables_, sc.bin_points_)._specs)
    assert all(tables[f].lookup is not None for f in ints)  # type: ignore[union-attr]
    with pytest.warns(ScorecardWarning, match=r"'channel': 51 rows"):
        assert np.array_equal(sc.predict_points(dictionary), old)
