"""The input schema a scorecard records (type and domain of each column), in its artefact and
scoring spec, inferred for artefacts written before it; typed reading of a table to score."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import creditfactory.cli._scorecard as cli
from creditfactory._artefacts import write_artefact
from creditfactory.scorecard import (
    Scorecard,
    ScorecardWarning,
    column_schema,
    load,
    to_scoring_spec,
    value_key,
)

from .conftest import make_applications

runner = CliRunner()


@pytest.fixture(scope="module")
def fitted() -> tuple[Scorecard, pd.DataFrame]:
    X, y = make_applications(n=3_000, seed=5)
    rng = np.random.default_rng(5)
    X = X.assign(
        night=rng.random(len(X)) < 0.3 + 0.4 * y.to_numpy(),
        tier=rng.integers(1, 5, len(X)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        sc = Scorecard(
            selection=None, min_iv=0.0, max_iv_pvalue=None, special_codes={"inquiries_3m": [-9]},
            categorical_features=["tier"],
        ).fit(X, y)  # fmt: skip
    return sc, X


def test_each_column_records_its_type_and_domain(fitted) -> None:
    sc, X = fitted
    s = sc.input_schema_
    assert s["night"] == {"type": "bool", "kind": "categorical", "nullable": False,
                          "special": [], "categories": ["False", "True"]}  # fmt: skip
    assert s["tier"]["type"] == "int"
    assert s["tier"]["categories"] == ["1", "2", "3", "4"]
    assert s["channel"]["type"] == "str"
    assert s["channel"]["categories"] == sorted(X["channel"].unique())
    assert s["housing"]["nullable"] is True
    assert s["channel"]["nullable"] is False
    inq = X["inquiries_3m"]
    assert s["inquiries_3m"]["special"] == [-9]
    assert s["inquiries_3m"]["min"] == inq[inq != -9].min()  # the special code is not the range
    assert s["inquiries_3m"]["max"] == inq.max()
    assert s["utilisation"]["nullable"] is True
    assert s["utilisation"]["min"] == np.nanmin(X["utilisation"])


def test_schema_travels_in_the_artefact_and_the_spec(fitted, tmp_path) -> None:
    sc, _ = fitted
    sc.save(tmp_path / "sc")
    assert load(tmp_path / "sc").input_schema_ == json.loads(json.dumps(sc.input_schema_))
    spec = to_scoring_spec(sc)
    for c in spec["characteristics"]:
        assert c["input"] == sc.input_schema_[c["name"]]


def test_an_artefact_without_a_schema_is_inferred_from_its_bins(fitted, tmp_path) -> None:
    sc, _ = fitted
    sc.save(tmp_path / "new")
    body = json.loads((tmp_path / "new" / "scorecard.json").read_text(encoding="utf-8"))
    body.pop("input_schema")
    body.pop("sha256")
    write_artefact(tmp_path / "old" / "scorecard.json", body)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inferred without a warning
        old = load(tmp_path / "old")
    s = old.input_schema_
    assert s["night"]["type"] == "bool"
    assert s["night"]["inferred"] is True
    assert s["channel"]["type"] == "str"
    assert s["utilisation"]["type"] == "float"
    assert s["utilisation"]["min"] is None
    assert s["tier"]["type"] == "str"  # text groups alone cannot say they were integers


def test_column_schema_of_object_columns() -> None:
    assert column_schema(pd.Series([True, None, False], dtype=object), "categorical")["type"] == (
        "bool"
    )
    assert column_schema(pd.Series([1, None, 3], dtype=object), "categorical")["type"] == "int"
    assert column_schema(pd.Series(["a", 1], dtype=object), "categorical")["type"] == "str"


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [("bool", "True", True), ("bool", "true", None), ("int", "5", 5), ("int", "5.0", None),
     ("float", "5.0", 5.0), ("float", "5", None), ("str", "深圳", "深圳")],
)  # fmt: skip
def test_value_key(kind: str, text: str, value: object) -> None:
    got = value_key(kind, text)
    assert got == value
    assert type(got) is type(value)


def test_score_reads_each_column_as_its_type(fitted, tmp_path) -> None:
    sc, X = fitted
    sc.save(tmp_path / "sc")
    data = X.head(50).assign(app_id=[f"A{i}" for i in range(50)])
    data.to_csv(tmp_path / "ok.csv", index=False)
    res = runner.invoke(
        cli.app,
        ["score", "--model", str(tmp_path / "sc"), "--data", str(tmp_path / "ok.csv"),
         "--out", str(tmp_path / "ok.parquet"), "--id-column", "app_id"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    scored = pd.read_parquet(tmp_path / "ok.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        np.testing.assert_array_equal(scored["score"], sc.predict_points(X.head(50)))
    assert scored["app_id"].tolist() == data["app_id"].tolist()


@pytest.mark.parametrize(("column", "cell"), [("utilisation", "n/a"), ("age", "NA")])
def test_text_in_a_numeric_cell_is_an_error_naming_row_and_column(
    fitted, tmp_path, column: str, cell: str
) -> None:
    sc, X = fitted
    sc.save(tmp_path / "sc")
    data = X.head(10).astype(object)
    data.loc[6, column] = cell
    data.to_csv(tmp_path / "bad.csv", index=False)
    res = runner.invoke(
        cli.app,
        ["score", "--model", str(tmp_path / "sc"), "--data", str(tmp_path / "bad.csv"),
         "--out", str(tmp_path / "x.csv")],
    )  # fmt: skip
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert f"column '{column}', line 8: '{cell}' is not a number" in text  # header is line 1
    assert "Traceback" not in res.output
    assert not (tmp_path / "x.csv").exists()
