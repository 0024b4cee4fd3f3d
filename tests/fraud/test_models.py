"""Anomaly and supervised fraud scores: the saved artefacts score like the fitted models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from creditfactory.exceptions import ArtefactError, DataError
from creditfactory.fraud import (
    FraudAnomaly,
    fit_fraud_model,
    fraud_features,
    load_anomaly,
    model_frame,
)
from creditfactory.models import load_challenger, save_challenger


@pytest.fixture(scope="module")
def frames(book) -> tuple[pd.DataFrame, pd.DataFrame]:
    features = fraud_features(book.applications)
    return features, model_frame(features, book.applications)


def test_anomaly_scores_match_scikit_learn_and_survive_a_round_trip(frames, book, tmp_path) -> None:
    _, X = frames
    model = FraudAnomaly(n_estimators=50).fit(X)
    ours = model.score_samples(X)
    filled = X.fillna(pd.Series(model.fill_, index=X.columns)).to_numpy(float)
    np.testing.assert_allclose(ours, -model.forest_.score_samples(filled), rtol=1e-12)
    path = model.save(tmp_path / "anomaly.json")
    again = load_anomaly(path)
    np.testing.assert_array_equal(again.score_samples(X), ours)
    fraud = book.truth["is_fraud"].to_numpy(bool)
    assert roc_auc_score(fraud, ours) > 0.6  # no labels used: unusual is not always fraud


def test_anomaly_artefact_refuses_edits_and_bad_input(frames, tmp_path) -> None:
    _, X = frames
    path = FraudAnomaly(n_estimators=5).fit(X).save(tmp_path / "a.json")
    body = json.loads(path.read_text())
    body["fill"][0] += 1.0
    path.write_text(json.dumps(body))
    with pytest.raises(ArtefactError, match="checksum"):
        load_anomaly(path)
    model = FraudAnomaly(n_estimators=5).fit(X)
    with pytest.raises(DataError, match="ring_size"):
        model.score_samples(X.drop(columns="ring_size"))
    with pytest.raises(DataError, match="DataFrame"):
        model.score_samples(X.to_numpy())


def test_supervised_model_on_first_payment_default(frames, book, tmp_path) -> None:
    features, _ = frames
    features = features.join(book.applications[["form_fill_seconds", "loan_apps_installed"]])
    booked = features["application_id"].isin(book.loans["application_id"]).to_numpy()
    fpd = book.truth["fpd"].to_numpy(bool)
    model = fit_fraud_model(features[booked], fpd[booked], n_estimators=60)
    save_challenger(model, tmp_path / "fraud_gbm")
    loaded = load_challenger(tmp_path / "fraud_gbm")
    X = model_frame(features)
    np.testing.assert_allclose(loaded.predict_proba(X)[:, 1], model.predict_proba(X)[:, 1])
    # trained on booked loans' first-payment default, it ranks all applications' fraud
    fraud = book.truth["is_fraud"].to_numpy(bool)
    assert roc_auc_score(fraud, model.predict_proba(X)[:, 1]) > 0.7
