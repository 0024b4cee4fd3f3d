"""Writing and reading a portfolio."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from creditfactory.data import TABLES, Portfolio, SimulationConfig, simulate
from creditfactory.exceptions import ArtefactError


@pytest.fixture(scope="module")
def small() -> Portfolio:
    return simulate(SimulationConfig(n_applications=2_000, seed=4))


def test_round_trip_is_identical(small: Portfolio, tmp_path) -> None:
    small.write(tmp_path)
    back = Portfolio.read(tmp_path)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(small, name), check_exact=True)
    assert back.config == small.config
    assert back.meta == small.meta


def test_observable_drops_the_truth_columns(small: Portfolio) -> None:
    assert "true_uplift" in small.campaigns
    assert not any(c.startswith("true_") for c in small.observable("campaigns").columns)
    with pytest.raises(KeyError, match="ground truth"):
        small.observable("truth")


def test_reading_a_missing_directory_fails_clearly(tmp_path) -> None:
    with pytest.raises(ArtefactError, match=r"no portfolio\.json"):
        Portfolio.read(tmp_path / "nowhere")


def test_reading_a_newer_format_fails_clearly(small: Portfolio, tmp_path) -> None:
    small.write(tmp_path)
    manifest = json.loads((tmp_path / "portfolio.json").read_text())
    manifest["format_version"] = 99
    (tmp_path / "portfolio.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtefactError, match="format_version 99"):
        Portfolio.read(tmp_path)


def test_reading_a_damaged_table_fails_clearly(small: Portfolio, tmp_path) -> None:
    small.write(tmp_path)
    (tmp_path / "loans.parquet").write_bytes(b"not parquet")
    with pytest.raises(ArtefactError, match=r"loans.parquet: not a readable Parquet file"):
        Portfolio.read(tmp_path)
    (tmp_path / "loans.parquet").unlink()
    with pytest.raises(ArtefactError, match="table 'loans' is missing"):
        Portfolio.read(tmp_path)


def test_truncated_table_is_caught_by_the_manifest(small: Portfolio, tmp_path) -> None:
    small.write(tmp_path)
    small.loans.head(10).to_parquet(tmp_path / "loans.parquet", index=False)
    with pytest.raises(ArtefactError, match="has 10 rows, the manifest says"):
        Portfolio.read(tmp_path)
