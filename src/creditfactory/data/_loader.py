"""Read real data from CSV or Parquet and validate it against a declared :class:`Schema`."""

from __future__ import annotations

import csv
import gzip
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import pandas as pd

from creditfactory.data._schema import Schema, _validate
from creditfactory.exceptions import DataError, SchemaError

_CSV_SUFFIXES = {".csv": ",", ".tsv": "\t", ".csv.gz": ",", ".tsv.gz": "\t"}
_PARQUET_SUFFIXES = (".parquet", ".pq")


def read_table(
    path: str | os.PathLike[str],
    schema: Schema,
    *,
    sep: str | None = None,
    encoding: str = "utf-8",
    missing_values: Iterable[str] = ("",),
    max_errors: int = 10,
) -> pd.DataFrame:
    """Read a CSV or Parquet file and validate it against ``schema``.

    The format follows the extension: ``.csv``, ``.tsv`` (optionally ``.gz``), ``.parquet`` or
    ``.pq``. A CSV file is read as text, then each column is parsed as its declared type, so a
    cell that does not parse is reported, never turned into a null.

    Rows in errors are counted the way a person would look them up: in a CSV file the row is
    the 1-based **line number** in the file (the header is line 1); in a Parquet file it is the
    0-based **row index**.

    Parameters
    ----------
    path : str or path-like
        The file.
    schema : Schema
        The declared columns and the policy for undeclared ones.
    sep : str, optional
        CSV delimiter; ``","`` (``"\\t"`` for ``.tsv``) when omitted.
    encoding : str, default "utf-8"
        CSV text encoding (a UTF-8 byte-order mark is skipped); ``"gbk"`` for files from older
        Chinese systems. A file that is not in this encoding raises a :class:`DataError` naming
        the first line that does not decode (and suggesting ``encoding="gbk"`` when UTF-8 fails).
    missing_values : iterable of str, default ("",)
        CSV cells read as null. Leading and trailing blanks of non-text cells are ignored.
    max_errors : int, default 10
        How many problems the error lists; it always gives the total count.

    Returns
    -------
    pandas.DataFrame
        The declared columns with their declared dtypes (see :class:`Column`), in schema order,
        then any kept extra columns; a fresh ``RangeIndex``.

    Raises
    ------
    DataError
        The file is missing, unreadable or of an unknown kind.
    SchemaError
        The content does not match the schema; ``column`` and ``row`` name the first problem.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from creditfactory.data._schema import Column, Schema
    >>> schema = Schema([Column("id", "int", nullable=False), Column("amount", "float", min=0)])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "loans.csv"
    ...     _ = path.write_text("id,amount\\n1,100.5\\n2,abc\\n")
    ...     read_table(path, schema)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    creditfactory.exceptions.SchemaError: ...: column 'amount', line 3: 'abc' is not a number
    """
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if not isinstance(schema, Schema):
        raise TypeError(f"schema must be a creditfactory.data.Schema, not {type(schema).__name__}")
    if suffix in _PARQUET_SUFFIXES:
        return _read_parquet(path, schema, max_errors)
    delimiter = sep if sep is not None else _CSV_SUFFIXES[suffix]
    return _read_csv(path, schema, delimiter, encoding, tuple(missing_values), max_errors)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in (*_CSV_SUFFIXES, *_PARQUET_SUFFIXES):
        if name.endswith(suffix):
            return suffix
    known = ", ".join((*_CSV_SUFFIXES, *_PARQUET_SUFFIXES))
    raise DataError(f"{path}: unknown file type {path.suffix!r}; expected one of {known}")


def _open_text(path: Path, encoding: str) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return path.open(encoding=encoding, newline="")


def _read_csv(
    path: Path,
    schema: Schema,
    sep: str,
    encoding: str,
    missing_values: tuple[str, ...],
    max_errors: int,
) -> pd.DataFrame:
    encoding = "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
    try:
        with _open_text(path, encoding) as handle:
            header = next(csv.reader(handle, delimiter=sep), None)
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, encoding) from exc
    except LookupError as exc:
        raise DataError(f"{path}: unknown encoding {encoding!r} (try 'utf-8' or 'gbk')") from exc
    except (OSError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read the header: {exc}") from exc
    if not header:
        raise SchemaError(f"{path}: the file is empty (no header line)", row=1)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise SchemaError(f"{path}: column {name!r}: appears twice in the header", column=name)
        seen.add(name)
    usecols = None
    if schema.extra == "ignore":  # do not even parse what is thrown away
        declared = set(schema.names)
        usecols = [name for name in header if name in declared]
    frame = _read_csv_text(path, header, sep, encoding, usecols)

    def locate(rows: list[int]) -> dict[int, int]:
        return _csv_lines(path, encoding, sep, rows)

    return _validate(
        schema,
        frame,
        text=True,
        max_errors=max_errors,
        source=str(path),
        locate=locate,
        row_word="line",
        missing_values=missing_values,
    )


def _read_csv_text(
    path: Path, header: list[str], sep: str, encoding: str, usecols: list[str] | None
) -> pd.DataFrame:
    """Every cell as text (empty cells as ``""``): PyArrow's reader, pandas' when it refuses."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            path,
            # PyArrow decodes UTF-8 natively (skipping a BOM); other encodings go through Python.
            read_options=pacsv.ReadOptions(
                encoding="utf8" if encoding == "utf-8-sig" else encoding
            ),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=usecols,
            ),
        )
        return table.to_pandas()
    except (pa.ArrowInvalid, UnicodeDecodeError):
        _check_field_counts(path, len(header), sep, encoding)
    # pandas names other problems (and their lines) better than PyArrow does.
    try:
        return pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            encoding=encoding,
            keep_default_na=False,
            na_filter=False,
            usecols=usecols,
        )
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        row = int(line.group(1)) if line else None
        raise SchemaError(f"{path}: malformed CSV: {exc}", row=row) from exc
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, encoding) from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in {"utf-8", "utf8", "utf-8-sig"}


def _encoding_error(path: Path, encoding: str) -> SchemaError:
    """The error for a file that is not ``encoding`` text, naming the first line that is not
    (error path only: the file is read again line by line as bytes)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    line, sample = None, b""
    with opener(path, "rb") as raw:
        for number, data in enumerate(raw, start=1):
            try:
                data.decode(encoding)
            except UnicodeDecodeError as exc:
                line, sample = number, data[max(exc.start - 4, 0) : exc.end + 4]
                break
    name = "UTF-8" if _is_utf8(encoding) else encoding
    where = f", line {line}" if line is not None else ""
    hint = (
        '; files from Chinese systems are often GBK: read_table(..., encoding="gbk")'
        if _is_utf8(encoding)
        else ""
    )
    return SchemaError(f"{path}{where}: the text is not {name} (bytes {sample!r}){hint}", row=line)


def _check_field_counts(path: Path, expected: int, sep: str, encoding: str) -> None:
    """Raise for the first record whose number of fields differs from the header's."""
    try:
        with _open_text(path, encoding) as handle:
            reader = csv.reader(handle, delimiter=sep)
            start = 1
            for record in reader:
                if record and len(record) != expected:
                    raise SchemaError(
                        f"{path}: line {start}: expected {expected} fields, found {len(record)}",
                        row=start,
                    )
                start = reader.line_num + 1
    except (UnicodeDecodeError, csv.Error):
        return  # let pandas say what is wrong


def _csv_lines(path: Path, encoding: str, sep: str, rows: list[int]) -> dict[int, int]:
    """Map 0-based data rows to the 1-based line where each starts (error path only).

    A quoted field may span lines and blank lines are skipped, so the line of a row is found by
    reading records up to the last row wanted.
    """
    wanted = set(rows)
    found: dict[int, int] = {}
    if not wanted:
        return found
    last = max(wanted)
    with _open_text(path, encoding) as handle:
        reader = csv.reader(handle, delimiter=sep)
        start = 1
        index = -1  # the header is record -1
        for record in reader:
            if record:
                if index in wanted:
                    found[index] = start
                index += 1
                if index > last:
                    break
            start = reader.line_num + 1
    for row in wanted - found.keys():  # cannot happen for a well-formed file; stay useful
        found[row] = row + 2
    return found


def _read_parquet(path: Path, schema: Schema, max_errors: int) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        columns = None
        if schema.extra == "ignore":
            declared = set(schema.names)
            columns = [name for name in names if name in declared]
        table = pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file: {exc}") from exc
    if len(set(table.column_names)) != len(table.column_names):
        twice = sorted({n for n in table.column_names if table.column_names.count(n) > 1})
        raise SchemaError(f"{path}: column {twice[0]!r}: appears twice", column=twice[0])
    # Integers and booleans with nulls would otherwise come back as floats and objects (and
    # integers past 2**53 would lose digits); files written by pandas carry their own dtypes.
    nullable = {
        **{
            getattr(pa, f"{sign}int{bits}")(): f"{sign.upper()}Int{bits}"
            for sign in ("", "u")
            for bits in (8, 16, 32, 64)
        },
        pa.bool_(): "boolean",
    }
    mapper = {arrow: pd.api.types.pandas_dtype(name) for arrow, name in nullable.items()}
    frame = table.to_pandas(types_mapper=mapper.get)
    if not isinstance(frame.index, pd.RangeIndex):
        # An index pandas stored as metadata: a named one is data, an unnamed one is not.
        named = any(name is not None for name in frame.index.names)
        frame = frame.reset_index(drop=not named)
    return _validate(
        schema, frame, text=False, max_errors=max_errors, source=str(path), row_word="row"
    )
