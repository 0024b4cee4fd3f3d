"""read_table and Schema: good files round-trip, bad files name the column, the row and why."""

from __future__ import annotations

import datetime as dt
import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditfactory.data._loader import read_table
from creditfactory.data._schema import Column, Schema
from creditfactory.exceptions import ConfigError, DataError, SchemaError

ID_PATTERN = r"\d{17}[\dX]"

SCHEMA = Schema(
    [
        Column("application_id", "int", nullable=False, unique=True, min=1),
        Column("amount", "float", nullable=False, min=0, max=200_000),
        Column("channel", "category", allowed=["app", "branch", "travel"]),
        Column("applied_at", "datetime", nullable=False),
        Column("birth_date", "date", min="1940-01-01"),
        Column("id_number", "string", pattern=ID_PATTERN),
        Column("thin_file", "bool", nullable=False),
        Column("inquiries_3m", "int"),
    ]
)
HEADER = "application_id,amount,channel,applied_at,birth_date,id_number,thin_file,inquiries_3m"
GOOD_ROWS = [
    "1,5000.5,app,2024-01-02T10:00:00,1990-05-06,11010519491231002X,true,3",
    "2,12000,branch,2024-01-03 11:30:00,1985-12-31,110105194912310021,no,",
    "3,0,travel,2024-01-04,,,0,0",
]


def write_csv(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def good_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "application_id": np.array([1, 2, 3], dtype=np.int64),
            "amount": [5000.5, 12000.0, 0.0],
            "channel": pd.Categorical(["app", "branch", "travel"]),
            "applied_at": pd.to_datetime(
                ["2024-01-02 10:00", "2024-01-03 11:30", "2024-01-04 00:00"]
            ),
            "birth_date": pd.to_datetime(["1990-05-06", "1985-12-31", None]),
            "id_number": ["11010519491231002X", "110105194912310021", None],
            "thin_file": [True, False, False],
            "inquiries_3m": pd.array([3, None, 0], dtype="Int64"),
        }
    )


def check_good(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == SCHEMA.names
    assert frame["application_id"].dtype == np.int64
    assert frame["amount"].dtype == np.float64
    assert list(frame["channel"].cat.categories) == ["app", "branch", "travel"]
    assert frame["applied_at"].dtype == "datetime64[us]"
    assert frame["birth_date"].dtype == "datetime64[us]"
    assert frame["thin_file"].dtype == bool
    assert frame["inquiries_3m"].dtype == "Int64"
    assert pd.api.types.is_string_dtype(frame["id_number"].dtype)
    expected = good_frame()
    for name in SCHEMA.names:
        pd.testing.assert_series_equal(
            frame[name], expected[name], check_dtype=False, check_categorical=False
        )


# ---------------------------------------------------------------------------- good files


def test_csv_round_trip(tmp_path: Path) -> None:
    check_good(read_table(write_csv(tmp_path, *GOOD_ROWS), SCHEMA))


def test_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    good_frame().to_parquet(path)
    frame = read_table(path, schema=SCHEMA)
    check_good(frame)
    # and what was read writes back and reads again the same
    frame.to_parquet(tmp_path / "again.pq")
    pd.testing.assert_frame_equal(read_table(tmp_path / "again.pq", SCHEMA), frame)


def test_parquet_text_columns_are_parsed(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    good_frame().astype(str).replace({"nan": None, "NaT": None, "<NA>": None}).to_parquet(path)
    check_good(read_table(path, SCHEMA))


def test_tsv_gzip_and_custom_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv.gz"
    text = "\n".join([HEADER, *GOOD_ROWS]).replace(",", "\t").replace("\t\t", "\tNA\t")
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(text + "\n")
    check_good(read_table(path, SCHEMA, missing_values=["", "NA"]))


def test_na_text_is_not_null_by_default(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "1,NA", header="application_id,amount")
    schema = Schema([Column("application_id", "int"), Column("amount", "float")])
    with pytest.raises(SchemaError, match="column 'amount', line 2: 'NA' is not a number"):
        read_table(path, schema)


def test_utf8_bom_and_chinese_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffcity,amount\n北京,1\n".encode())
    frame = read_table(path, Schema([Column("city", "string"), Column("amount", "int")]))
    assert frame["city"].tolist() == ["北京"]


def test_datetime_offsets_become_utc(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "2024-01-02T10:00:00+08:00", "2024-01-02 02:00", header="at")
    frame = read_table(path, Schema([Column("at", "datetime")]))
    assert frame["at"].tolist() == [pd.Timestamp("2024-01-02 02:00")] * 2


def test_formats_and_bool_spellings(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "02/01/2024,YES", "31/12/2023,f", header="day,flag")
    schema = Schema([Column("day", "date", format="%d/%m/%Y"), Column("flag", "bool")])
    frame = read_table(path, schema)
    assert frame["day"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2023-12-31")]
    assert frame["flag"].tolist() == [True, False]
    assert frame["flag"].dtype == "boolean"


def test_extra_columns_ignore_and_keep(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "1,x,2.5", header="a,note,b")
    declared = [Column("a", "int"), Column("b", "float")]
    ignored = read_table(path, Schema(declared, extra="ignore"))
    assert list(ignored.columns) == ["a", "b"]
    kept = read_table(path, Schema(declared, extra="keep"))
    assert list(kept.columns) == ["a", "b", "note"]
    assert kept["note"].tolist() == ["x"]


def test_optional_column_absent_is_added_as_nulls(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "1", "2", header="a")
    frame = read_table(path, Schema([Column("a", "int"), Column("b", "float", required=False)]))
    assert frame["b"].isna().all()
    assert frame["b"].dtype == np.float64


def test_header_only_gives_an_empty_typed_frame(tmp_path: Path) -> None:
    frame = read_table(write_csv(tmp_path), SCHEMA)
    assert len(frame) == 0
    assert frame["application_id"].dtype == np.int64


def test_validate_an_in_memory_frame() -> None:
    frame = SCHEMA.validate(good_frame())
    check_good(frame)
    bad = good_frame().assign(amount=[1.0, -2.0, 3.0])
    with pytest.raises(SchemaError, match=r"column 'amount', row 1: -2\.0 is below the minimum 0"):
        SCHEMA.validate(bad)


# ------------------------------------------------------------------ every CSV error kind

ROW = GOOD_ROWS[0].split(",")
CSV_ERRORS = [
    (1, "abc", r"column 'amount', line 3: 'abc' is not a number"),
    (1, "inf", r"column 'amount', line 3: 'inf' is not a number"),
    (0, "2.5", r"column 'application_id', line 3: '2\.5' is not an integer"),
    (0, "1e3", r"column 'application_id', line 3: '1e3' is not an integer"),
    (7, "99999999999999999999", r"line 3: '99999999999999999999' is outside the 64-bit integer"),
    (6, "maybe", r"column 'thin_file', line 3: 'maybe' is not a boolean"),
    (3, "yesterday", r"column 'applied_at', line 3: 'yesterday' is not a datetime"),
    (4, "1990-02-30", r"column 'birth_date', line 3: '1990-02-30' is not a date"),
    (4, "1990-01-01 10:00", r"column 'birth_date', line 3: '1990-01-01 10:00' is not a date"),
    (1, "-1", r"column 'amount', line 3: '-1' is below the minimum 0"),
    (1, "300000", r"column 'amount', line 3: '300000' is above the maximum 200000"),
    (4, "1939-12-31", r"column 'birth_date', line 3: '1939-12-31' is below the minimum 1940-01-01"),
    (2, "rent", r"column 'channel', line 3: 'rent' is not one of \['app', 'branch', 'travel'\]"),
    (1, "", r"column 'amount', line 3: null in a non-nullable column"),
    (6, " ", r"column 'thin_file', line 3: null in a non-nullable column"),
    (5, "12345", r"column 'id_number', line 3: '12345' does not match the pattern \\d\{17\}"),
    (0, "1", r"column 'application_id', line 3: '1' is a duplicate \(first at line 2\)"),
]


@pytest.mark.parametrize(("field", "value", "message"), CSV_ERRORS)
def test_csv_cell_errors(tmp_path: Path, field: int, value: str, message: str) -> None:
    row = list(ROW)
    row[0] = "2"
    row[field] = value
    path = write_csv(tmp_path, GOOD_ROWS[0], ",".join(row))
    with pytest.raises(SchemaError, match=message) as info:
        read_table(path, SCHEMA)
    assert info.value.column == SCHEMA.names[field]
    assert info.value.row == 3
    assert str(path) in str(info.value)
    assert "schema errors" not in str(info.value)  # exactly one problem


def test_missing_and_unexpected_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "1,2", header="a,surprise")
    schema = Schema([Column("a", "int"), Column("b", "float")])
    with pytest.raises(SchemaError, match="2 schema errors") as info:
        read_table(path, schema)
    text = str(info.value)
    assert "column 'surprise': unexpected column" in text
    assert "column 'b': missing column" in text
    assert info.value.row is None


def test_duplicate_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "1,2", header="a,a")
    with pytest.raises(SchemaError, match="column 'a': appears twice in the header"):
        read_table(path, Schema([Column("a", "int")]))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["1,2", "3,4,5"], "line 3: expected 2 fields, found 3"),
        (["1,2", "", "3"], "line 4: expected 2 fields, found 1"),
        (['"a\nb",2', "   "], "line 4: expected 2 fields, found 1"),
    ],
)
def test_rows_with_the_wrong_number_of_fields(
    tmp_path: Path, rows: list[str], message: str
) -> None:
    path = write_csv(tmp_path, *rows, header="a,b")
    with pytest.raises(SchemaError, match=message) as info:
        read_table(path, Schema([Column("a", "string"), Column("b", "int")]))
    assert info.value.row == int(message.split()[1].rstrip(":"))


def test_wrong_encoding_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("city\n北京\n".encode("gbk"))
    schema = Schema([Column("city", "string")])
    with pytest.raises(DataError, match="not UTF-8"):
        read_table(path, schema)
    assert read_table(path, schema, encoding="gbk")["city"].tolist() == ["北京"]


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(SchemaError, match="empty"):
        read_table(path, SCHEMA)


def test_line_numbers_survive_blank_lines_and_multiline_quotes(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('note,amount\n"two\nlines",1\n\n"ok",2\nlast,x\n')
    schema = Schema([Column("note", "string"), Column("amount", "float")])
    with pytest.raises(SchemaError, match=r"column 'amount', line 6: 'x' is not a number"):
        read_table(path, schema)


def test_many_errors_are_counted_and_the_first_listed(tmp_path: Path) -> None:
    rows = [f"{i},bad" for i in range(1, 51)]
    path = write_csv(tmp_path, *rows, header="a,b")
    schema = Schema([Column("a", "int", max=10), Column("b", "float")])
    with pytest.raises(SchemaError, match=r"90 schema errors, the first 5:") as info:
        read_table(path, schema, max_errors=5)
    listed = re.findall(r"line (\d+)", str(info.value))
    assert listed == ["2", "3", "4", "5", "6"]  # in file order, both columns of a row together
    assert (info.value.column, info.value.row) == ("b", 2)


# ----------------------------------------------------------------------------- Parquet


def write_parquet(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False)
    return path


PARQUET_ERRORS = [
    ("amount", [1.0, np.inf, 2.0], r"column 'amount', row 1: inf is not a number"),
    ("amount", ["1", "abc", "2"], r"column 'amount', row 1: 'abc' is not a number"),
    ("application_id", [1.0, 2.5, 3.0], r"column 'application_id', row 1: 2\.5 is not an integer"),
    ("application_id", [1, 1, 3], r"column 'application_id', row 1: 1 is a duplicate \(first at"),
    ("amount", [1.0, None, 2.0], r"column 'amount', row 1: null in a non-nullable column"),
    ("thin_file", [1, 2, 0], r"column 'thin_file', row 1: 2 is not a boolean"),
    ("channel", ["app", "x", None], r"column 'channel', row 1: 'x' is not one of"),
    ("birth_date", pd.to_datetime(["1990-01-01 10:00", None, None]), r"row 0: .*time of day"),
    ("id_number", [1, 2, 3], r"column 'id_number': holds integers, not string values"),
    ("amount", [True, False, True], r"column 'amount': holds booleans, not float values"),
    ("applied_at", [1, 2, 3], r"column 'applied_at': holds integers, not datetime values"),
]


@pytest.mark.parametrize(("name", "values", "message"), PARQUET_ERRORS)
def test_parquet_errors(tmp_path: Path, name: str, values: object, message: str) -> None:
    frame = good_frame()
    frame[name] = values
    with pytest.raises(SchemaError, match=message):
        read_table(write_parquet(tmp_path, frame), SCHEMA)


def test_parquet_structure_errors_and_row_attribute(tmp_path: Path) -> None:
    frame = good_frame().drop(columns="amount").assign(extra=1)
    frame.loc[2, "application_id"] = 0
    with pytest.raises(SchemaError, match="3 schema errors") as info:
        read_table(write_parquet(tmp_path, frame), SCHEMA)
    text = str(info.value)
    assert "column 'amount': missing column" in text
    assert "column 'extra': unexpected column" in text
    assert "column 'application_id', row 2: 0 is below the minimum 1" in text


def test_parquet_timezone_and_dictionary_columns(tmp_path: Path) -> None:
    frame = good_frame()
    frame["applied_at"] = frame["applied_at"].dt.tz_localize("Asia/Shanghai")
    frame["id_number"] = frame["id_number"].astype("category")
    out = read_table(write_parquet(tmp_path, frame), SCHEMA)
    assert out["applied_at"].iloc[0] == pd.Timestamp("2024-01-02 02:00")
    assert out["id_number"].iloc[0] == "11010519491231002X"


def test_parquet_written_without_pandas_keeps_big_integers_and_null_booleans(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spark.parquet"
    table = pa.table(
        {
            "id": pa.array([2**62 + 1, None, 3], pa.int64()),
            "flag": pa.array([True, None, False]),
            "small": pa.array([1, 2, None], pa.uint8()),
            "day": pa.array([dt.date(2024, 1, 2), None, dt.date(2024, 3, 4)]),
        }
    )
    pq.write_table(table, path)
    schema = Schema(
        [Column("id", "int"), Column("flag", "bool"), Column("small", "int"), Column("day", "date")]
    )
    frame = read_table(path, schema)
    assert frame["id"].tolist() == [2**62 + 1, pd.NA, 3]
    assert frame["flag"].tolist() == [True, pd.NA, False]
    assert frame["small"].tolist() == [1, 2, pd.NA]
    assert frame["day"].tolist() == [pd.Timestamp("2024-01-02"), pd.NaT, pd.Timestamp("2024-03-04")]
    pq.write_table(pa.table({"id": pa.array([1, 2**64 - 1], pa.uint64())}), path)
    with pytest.raises(SchemaError, match="row 1: 18446744073709551615 is outside the 64-bit"):
        read_table(path, Schema([Column("id", "int")]))


def test_parquet_row_numbers_are_zero_based(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, -3.0]})
    with pytest.raises(SchemaError, match="row 2:") as info:
        read_table(write_parquet(tmp_path, frame), Schema([Column("a", "float", min=0)]))
    assert info.value.row == 2


# --------------------------------------------------------------------------- arguments


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown file type '\.xlsx'"):
        read_table(tmp_path / "book.xlsx", SCHEMA)
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "absent.csv", SCHEMA)


def test_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    path.write_text("a,b\n")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_table(path, SCHEMA)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Column("a", "money"), "column 'a': unknown type 'money'"),  # type: ignore[arg-type]
        (lambda: Column("a", "string", min=0), "min/max apply to"),
        (lambda: Column("a", "float", allowed=[1.0]), "allowed applies to"),
        (lambda: Column("a", "int", pattern=r"\d"), "pattern applies to"),
        (lambda: Column("a", "string", pattern="("), "invalid pattern"),
        (lambda: Column("a", "date", min="soon"), "min 'soon' is not a date"),
        (lambda: Column("a", "int", nullable=False, required=False), "must be nullable"),
        (lambda: Schema([Column("a", "int"), Column("a", "float")]), "declared twice"),
        (lambda: Schema([Column("a", "int")], extra="drop"), "extra: 'drop'"),  # type: ignore[arg-type]
    ],
)
def test_schema_declaration_errors(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()  # type: ignore[operator]


# ------------------------------------------------------------------ property: round trips

PROPERTY_SCHEMA = Schema(
    [
        Column("i", "int"),
        Column("f", "float", nullable=False),
        Column("b", "bool"),
        Column("s", "string"),
        Column("d", "date"),
    ]
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 8))
    ints = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))
    floats = st.floats(allow_nan=False, allow_infinity=False)
    text = st.one_of(st.none(), st.text(alphabet="ab ,\"'\n北京X9-", min_size=1, max_size=6))
    days = st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)))
    return pd.DataFrame(
        {
            "i": pd.array(draw(st.lists(ints, min_size=n, max_size=n)), dtype="Int64"),
            "f": np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=float),
            "b": pd.array(
                draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)),
                dtype="boolean",
            ),
            "s": pd.array(draw(st.lists(text, min_size=n, max_size=n)), dtype="str"),
            "d": pd.to_datetime(
                pd.Series(draw(st.lists(days, min_size=n, max_size=n)), dtype=object)
            ).astype("datetime64[us]"),
        }
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=frames())
def test_any_frame_round_trips_through_csv_and_parquet(tmp_path: Path, frame: pd.DataFrame) -> None:
    csv_path = tmp_path / "p.csv"
    frame.to_csv(csv_path, index=False, date_format="%Y-%m-%d")
    pd.testing.assert_frame_equal(read_table(csv_path, PROPERTY_SCHEMA), frame, check_dtype=False)
    pq_path = tmp_path / "p.parquet"
    frame.to_parquet(pq_path, index=False)
    pd.testing.assert_frame_equal(read_table(pq_path, PROPERTY_SCHEMA), frame, check_dtype=False)
