"""The model protocol, PointsModel (cross-checked with the real Scorecard) and the registry."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import DecisionModel, ModelRegistry, PointsModel, load_model
from creditfactory.exceptions import ArtefactError
from creditfactory.scorecard import Scorecard, ScorecardWarning, to_scoring_spec

from .conftest import TINY_SPEC

FEATURES = ["age", "monthly_income", "utilisation", "inquiries_6m", "housing", "occupation",
            "third_party_score", "form_fill_seconds", "channel"]  # fmt: skip


@pytest.fixture(scope="module")
def fitted() -> tuple[Scorecard, object]:
    pf = simulate(SimulationConfig(n_applications=6_000, seed=3))
    X = pf.applications[FEATURES]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        sc = Scorecard(selection=None).fit(X, pf.truth["bad"])
    return sc, X.head(1500)


def test_points_model_matches_scorecard(fitted: tuple[Scorecard, object]) -> None:
    sc, X = fitted
    model = PointsModel("a", "1", to_scoring_spec(sc))
    assert isinstance(model, DecisionModel)
    out = model.score_frame(pl.from_pandas(X[list(model.features)]), 4)
    np.testing.assert_allclose(out["score"].to_numpy(), sc.predict_points(X), atol=1e-9)
    np.testing.assert_allclose(out["pd"].to_numpy(), sc.predict_proba(X)[:, 1], rtol=1e-12)
    theirs = sc.reason_codes(X, n=4).groupby("row")["code"].apply(list)
    mine = out["reasons"].to_list()
    assert all(mine[i] == theirs.get(i, []) for i in range(len(X)))
    # and one row at a time, as the online path scores
    for i, row in enumerate(X.head(300).to_dict("records")):
        row = {k: None if isinstance(v, float) and v != v else v for k, v in row.items()}
        score, pd_, reasons = model.score_row(row, 4)
        assert score == out["score"][i]
        assert pd_ == pytest.approx(out["pd"][i], rel=1e-14)
        assert reasons == mine[i]


def test_load_model_from_scorecard_dir_and_spec(tmp_path: Path, fitted) -> None:
    sc, X = fitted
    sc.save(str(tmp_path / "sc"))
    m1 = load_model(tmp_path / "sc", "a", "1")
    (tmp_path / "spec.json").write_text(json.dumps(to_scoring_spec(sc)))
    m2 = load_model(tmp_path / "spec.json", "a", "1")
    row = {k: None if isinstance(v, float) and v != v else v for k, v in X.iloc[0].items()}
    assert m1.score_row(row, 4) == m2.score_row(row, 4)
    with pytest.raises(ArtefactError, match="no artefact at"):
        load_model(tmp_path / "missing", "a", "1")
    (tmp_path / "x.json").write_text('{"format": "other"}')
    with pytest.raises(ArtefactError, match=r"not a creditfactory\.scoring_spec"):
        load_model(tmp_path / "x.json", "a", "1")


def test_registry() -> None:
    tiny = PointsModel("tiny", "1", TINY_SPEC)
    reg = ModelRegistry([tiny])
    assert ("tiny", "1") in reg
    assert reg.get("tiny", "1") is tiny
    with pytest.raises(ArtefactError, match=r"model tiny@2 is not registered \(have: tiny@1\)"):
        reg.get("tiny", "2")
    with pytest.raises(ArtefactError, match="does not satisfy the DecisionModel protocol"):
        reg.register(object())  # type: ignore[arg-type]


def test_missing_special_and_unseen_values() -> None:
    m = PointsModel("tiny", "1", TINY_SPEC)
    row = {"age": None, "utilisation": -1.0, "housing": "boat", "inquiries_3m": 0}
    score, _, reasons = m.score_row(row, 4)
    assert score == 50.0 + 45.0 + 70.0 + 150.0
    schema = {"age": pl.Int64, "utilisation": pl.Float64, "housing": pl.String,
              "inquiries_3m": pl.Int64}  # fmt: skip
    frame = pl.DataFrame([row], schema=schema)
    out = m.score_frame(frame, 4)
    assert out["score"].to_list() == [score]
    assert out["reasons"].to_list() == [reasons]
