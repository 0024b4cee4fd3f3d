"""Anomaly and supervised fraud scores (§5), as artefacts the engine loads like scorecards.

:class:`FraudAnomaly` fits scikit-learn's Isolation Forest on the fraud features (no labels: new
patterns), then keeps only its trees as arrays and scores with NumPy, so the saved JSON artefact
scores exactly as the fitted forest did without a pickle (``tests/fraud`` checks the scores
against scikit-learn's). :func:`fit_fraud_model` fits the project's LightGBM challenger
(``creditfactory.models``) on the same features with a proxy label — first-payment default —
where labels exist; it is saved and loaded with ``save_challenger``/``load_challenger``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from creditfactory._artefacts import read_artefact, write_artefact
from creditfactory.exceptions import DataError

MODEL_FEATURES: tuple[str, ...] = (
    "ring_size",
    "ring_apps",
    "ring_burst",
    "ring_invalid_ids",
    "identity_hits",
    "vel_device_apps_24h",
    "vel_device_ids_30d",
    "vel_phone_ids_30d",
    "vel_id_devices_30d",
    "vel_address_customers_7d",
    "vel_subnet_customers_24h",
    "form_fill_seconds",
    "contacts_blacklisted_share",
    "loan_apps_installed",
    "contact_list_size",
)
"""Numeric columns the anomaly and supervised scores use (from ``fraud_features`` and the
application), where present."""

FORMAT = "creditfactory.fraud_anomaly"
FORMAT_VERSION = 1
_EULER = 0.5772156649015329


def model_frame(features: pd.DataFrame, applications: pd.DataFrame | None = None) -> pd.DataFrame:
    """The :data:`MODEL_FEATURES` present in ``features`` (then ``applications``, row-aligned),
    as floats; booleans become 0/1."""
    out: dict[str, np.ndarray] = {}
    for name in MODEL_FEATURES:
        for source in (features, applications):
            if source is not None and name in source.columns:
                col = source[name]
                try:
                    out[name] = pd.to_numeric(col, errors="raise").to_numpy(float)
                except (TypeError, ValueError) as exc:
                    raise DataError(f"column {name!r} is not numeric ({exc})") from exc
                break
    if not out:
        raise DataError(f"none of the model features {list(MODEL_FEATURES)} is present")
    return pd.DataFrame(out, index=features.index)


def _path_length_adjust(n: np.ndarray) -> np.ndarray:
    """Average path length of an unsuccessful search in a binary search tree of ``n`` points."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    two = n == 2
    big = n > 2
    out[two] = 1.0
    out[big] = 2.0 * (np.log(n[big] - 1.0) + _EULER) - 2.0 * (n[big] - 1.0) / n[big]
    return out


class FraudAnomaly(BaseEstimator):
    """Isolation-Forest anomaly score of applications' fraud features, 0 to 1 (higher: more
    unusual; about 0.5 and below: ordinary).

    Parameters
    ----------
    n_estimators : int, default 100
    max_samples : int, default 256
    random_state : int, default 0
    """

    def __init__(
        self, *, n_estimators: int = 100, max_samples: int = 256, random_state: int = 0
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: object = None) -> FraudAnomaly:
        """Fit on a frame of numeric features (e.g. :func:`model_frame`); NaN is filled with
        each column's median, learnt here."""
        from sklearn.ensemble import IsolationForest

        frame = self._check_frame(X, fitted=False)
        self.feature_names_in_ = np.array(frame.columns, dtype=object)
        medians = frame.median().fillna(0.0)
        self.fill_ = medians.to_numpy(float)
        forest = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=min(self.max_samples, len(frame)),
            random_state=self.random_state,
        ).fit(frame.fillna(medians).to_numpy(float))
        self.max_samples_ = int(forest.max_samples_)
        self.trees_ = []
        for tree, cols in zip(forest.estimators_, forest.estimators_features_, strict=True):
            t = tree.tree_
            feature = np.where(t.feature >= 0, np.asarray(cols)[np.maximum(t.feature, 0)], -1)
            self.trees_.append(
                {
                    "left": t.children_left.astype(int).tolist(),
                    "right": t.children_right.astype(int).tolist(),
                    "feature": feature.astype(int).tolist(),
                    "threshold": t.threshold.astype(float).tolist(),
                    "n": t.n_node_samples.astype(int).tolist(),
                }
            )
        self.forest_ = forest
        return self

    def _check_frame(self, X: object, *, fitted: bool) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise DataError(f"X: expected a pandas DataFrame, got {type(X).__name__}")
        frame: pd.DataFrame = X
        if fitted:
            missing = [c for c in self.feature_names_in_ if c not in frame.columns]
            if missing:
                raise DataError(f"X: column(s) {missing} missing (the model was fitted on them)")
            frame = frame[list(self.feature_names_in_)]
        try:
            return frame.apply(pd.to_numeric, errors="raise").astype(float)
        except (TypeError, ValueError) as exc:
            raise DataError(f"X: every column must be numeric ({exc})") from exc

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """Anomaly score per row, ``2 ** (-mean path length / c(max_samples))``."""
        check_is_fitted(self, "trees_")
        frame = self._check_frame(X, fitted=True)
        values = frame.to_numpy(float, copy=True)
        nan = np.isnan(values)
        values[nan] = np.broadcast_to(self.fill_, values.shape)[nan]
        rows = np.arange(len(values))
        depth_sum = np.zeros(len(values))
        for tree in self.trees_:
            left, right = np.asarray(tree["left"]), np.asarray(tree["right"])
            feature, threshold = np.asarray(tree["feature"]), np.asarray(tree["threshold"])
            node = np.zeros(len(values), dtype=np.int64)
            depth = np.zeros(len(values))
            inner = left[node] >= 0
            while inner.any():
                go_left = values[rows, np.maximum(feature[node], 0)] <= threshold[node]
                nxt = np.where(go_left, left[node], right[node])
                node = np.where(inner, nxt, node)
                depth += inner
                inner = left[node] >= 0
            depth_sum += depth + _path_length_adjust(np.asarray(tree["n"])[node])
        mean = depth_sum / len(self.trees_)
        return np.power(2.0, -mean / _path_length_adjust(np.array([self.max_samples_]))[0])

    def to_dict(self) -> dict[str, Any]:
        """The artefact's content (JSON-ready)."""
        check_is_fitted(self, "trees_")
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "features": [str(c) for c in self.feature_names_in_],
            "fill": [float(v) for v in self.fill_],
            "max_samples": self.max_samples_,
            "params": self.get_params(),
            "trees": self.trees_,
        }

    def save(self, path: str | Path) -> Path:
        """Write the fitted score as a checksummed JSON artefact."""
        return write_artefact(Path(path), self.to_dict())


def load_anomaly(path: str | Path) -> FraudAnomaly:
    """Read a :class:`FraudAnomaly` artefact (``ArtefactError`` when corrupt or foreign)."""
    body = read_artefact(Path(path), FORMAT, FORMAT_VERSION, "fraud anomaly")
    model = FraudAnomaly(**body["params"])
    model.feature_names_in_ = np.array(body["features"], dtype=object)
    model.fill_ = np.array(body["fill"], dtype=float)
    model.max_samples_ = int(body["max_samples"])
    model.trees_ = body["trees"]
    return model


def fit_fraud_model(features: pd.DataFrame, label: pd.Series | np.ndarray, **params: Any) -> Any:
    """A supervised fraud score: ``creditfactory.models.GBMChallenger`` on
    :func:`model_frame` of ``features`` with a 0/1 proxy ``label`` (first-payment default where
    the loan was booked). Save it with ``creditfactory.models.save_challenger``."""
    from creditfactory.models import GBMChallenger

    frame = model_frame(features)
    y = np.asarray(label)
    if len(y) != len(frame):
        raise DataError(f"label: {len(y)} values for {len(frame)} rows")
    return GBMChallenger(**params).fit(frame, y)
