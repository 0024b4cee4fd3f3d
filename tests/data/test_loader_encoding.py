"""``read_table`` on files that are not UTF-8: the first bad line is named, GBK is suggested, and
``encoding="gbk"`` reads them."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from creditfactory.data import Column, Schema, read_table
from creditfactory.exceptions import DataError, SchemaError

SCHEMA = Schema([Column("城市", "category"), Column("额度", "int", min=0)])
ROWS = "城市,额度\n北京,1000\n深圳,2000\n"


def test_a_gbk_file_read_as_utf8_names_the_line_and_suggests_gbk(tmp_path) -> None:
    path = tmp_path / "limits.csv"
    path.write_bytes(ROWS.encode("gbk"))
    with pytest.raises(SchemaError, match=r'line 1: the text is not UTF-8.*encoding="gbk"') as e:
        read_table(path, SCHEMA)
    assert e.value.row == 1


def test_a_bad_line_inside_the_file_is_named(tmp_path) -> None:
    path = tmp_path / "mixed.csv.gz"
    with gzip.open(path, "wb") as out:
        out.write("城市,额度\n北京,1\n上海,2\n".encode() + "深圳,3\n".encode("gbk"))
    with pytest.raises(SchemaError, match="line 4: the text is not UTF-8") as e:
        read_table(path, SCHEMA)
    assert e.value.row == 4


def test_encoding_gbk_reads_what_pandas_reads(tmp_path) -> None:
    path = tmp_path / "limits.csv"
    path.write_bytes(ROWS.encode("gbk"))
    frame = read_table(path, SCHEMA, encoding="gbk")
    expected = pd.read_csv(path, encoding="gbk")
    assert list(frame["城市"].astype(str)) == list(expected["城市"]) == ["北京", "深圳"]
    assert list(frame["额度"]) == list(expected["额度"])


def test_a_utf8_file_read_as_gbk_gets_no_gbk_hint(tmp_path) -> None:
    path = tmp_path / "limits.csv"
    path.write_bytes("城市,额度\n北京,1\n".encode() + b"\xff\xfe,2\n")
    with pytest.raises(DataError) as e:
        read_table(path, SCHEMA, encoding="gbk")
    assert "not gbk" in str(e.value)
    assert 'encoding="gbk"' not in str(e.value)


def test_an_unknown_encoding_is_named(tmp_path) -> None:
    path = tmp_path / "limits.csv"
    path.write_text(ROWS, encoding="utf-8")
    with pytest.raises(DataError, match="unknown encoding 'klingon'"):
        read_table(path, SCHEMA, encoding="klingon")
