"""``service_demo`` takes the frames a user has (pandas or Polars), as the docs say."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from creditfactory.api import service_demo
from creditfactory.api._demo import _jsonable
from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import Strategy
from creditfactory.exceptions import DataError

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "reference.yaml"


@pytest.mark.slow
def test_a_pandas_frame_is_posted_row_by_row(tmp_path: Path) -> None:
    apps = simulate(SimulationConfig(n_applications=300, seed=4)).applications.head(3)
    result = service_demo(REFERENCE, apps, tmp_path)
    assert [d["status"] for d in result["decisions"]] == [201, 201, 201]
    assert [d["external_id"] for d in result["decisions"]] == list(apps["application_id"])
    offline = Strategy.load(REFERENCE)
    expected = [offline.decide(_jsonable(r)) for r in apps.to_dict("records")]
    assert [d["decision"] for d in result["decisions"]] == [e.decision for e in expected]
    assert [d["reasons"] for d in result["decisions"]] == [e.reasons for e in expected]


@pytest.mark.parametrize(
    ("applications", "message"),
    [
        ({"application_id": "A1"}, "got dict"),
        ("A1", "got str"),
        ([{"application_id": "A1"}, ["A2"]], "item 1 is a list"),
        ([], "at least one application"),
        (pl.DataFrame({"application_id": []}), "at least one application"),
    ],
)
def test_what_is_not_applications_is_named(tmp_path: Path, applications, message) -> None:
    with pytest.raises(DataError, match=message):
        service_demo(REFERENCE, applications, tmp_path)
    assert not (tmp_path / "service.db").exists()  # refused before any server started
