"""LightGBM challenger: monotone constraints from the binning trends, reason codes by SHAP.

``pred_contrib`` gives each feature's additive contribution to the log-odds of bad (TreeSHAP),
so reason codes come without extra packages: the features that raise the risk most.
"""

from __future__ import annotations

import warnings
from typing import Any, cast

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from creditfactory.exceptions import DataError
from creditfactory.scorecard import (
    BinningConstraints,
    PointsScaling,
    ScorecardWarning,
    TabularEstimatorMixin,
    as_frame,
    bin_feature,
    check_target,
    column_schema,
    infer_kind,
)

__all__ = ["GBMChallenger"]


class GBMChallenger(TabularEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A gradient-boosted challenger to the scorecard (LightGBM), same inputs and outputs.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree,
    reg_lambda : LightGBM settings (defaults tuned for a few thousand to a million rows)
    monotone : bool, default True
        Constrain each numeric feature to the direction of its optimal-binning bad-rate trend
        (ascending -> risk rises with the value, descending -> falls, otherwise free).
    monotone_constraints : dict, optional
        ``{column: -1 | 0 | 1}`` overrides (1 = risk rises with the value).
    special_codes : list or dict, optional
        Special values of numeric columns; they are scored as missing.
    max_n_categories : int, default 100
        Text columns with more distinct values are identifier-like and left out.
    base_points, base_odds, pdo : points scaling of :meth:`predict_points`
    random_state : int, default 0
    n_jobs : int, default 1
        LightGBM threads. One is fastest on small and shared machines (threads contend on
        data of tens of thousands of rows); raise it for millions of rows on idle cores.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        monotone: bool = True,
        monotone_constraints: dict[str, int] | None = None,
        special_codes: list[Any] | dict[str, list[Any]] | None = None,
        max_n_categories: int = 100,
        base_points: float = 600.0,
        base_odds: float = 50.0,
        pdo: float = 20.0,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.monotone = monotone
        self.monotone_constraints = monotone_constraints
        self.special_codes = special_codes
        self.max_n_categories = max_n_categories
        self.base_points = base_points
        self.base_odds = base_odds
        self.pdo = pdo
        self.random_state = random_state
        self.n_jobs = n_jobs

    def lgb_params(self) -> dict[str, Any]:
        """The LightGBM training parameters (without monotone constraints)."""
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "seed": self.random_state,
            "num_threads": self.n_jobs,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }

    def fit(self, X: object, y: object, sample_weight: object = None) -> GBMChallenger:
        """Learn the feature layout, the monotone directions and the boosted trees."""
        import lightgbm as lgb

        frame = as_frame(X)
        target = check_target(y, len(frame))
        self._learn_columns(X, frame)
        kinds: dict[str, str] = {}
        categories: dict[str, list[str]] = {}
        dropped: dict[str, str] = {}
        schema: dict[str, dict[str, Any]] = {}
        for col, name in zip(frame.columns, self._columns, strict=True):
            s = frame[col]
            if pd.api.types.is_datetime64_any_dtype(s.dtype):
                dropped[name] = "datetime column"
                continue
            if s.notna().sum() == 0:
                dropped[name] = "column is entirely missing"
                continue
            kind = infer_kind(s, name)
            if kind == "categorical":
                cats = sorted({str(v) for v in s.dropna()})
                if len(cats) > self.max_n_categories:
                    dropped[name] = f"{len(cats)} categories: identifier-like"
                    continue
                categories[name] = cats
            kinds[name] = kind
            schema[name] = column_schema(
                s, kind, self._specials_for(name) if kind == "numerical" else ()
            )
        if not kinds:
            raise DataError("no usable column: every column is missing, datetime or an identifier")
        self.kinds_ = kinds
        self.input_schema_ = schema
        self.categories_ = categories
        self.dropped_ = dropped
        M = self._matrix(frame)
        self.monotone_ = self._directions(M, target)
        params = self.lgb_params()
        params["monotone_constraints"] = [self.monotone_[f] for f in kinds]
        # "advanced" can break the constraint along paths through missing values (seen here
        # with LightGBM 4.7; see LightGBM issues #5358 and #6155); "intermediate" keeps it.
        params["monotone_constraints_method"] = "intermediate"
        cat_idx = [i for i, f in enumerate(kinds) if kinds[f] == "categorical"]
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        ds = lgb.Dataset(
            M, label=target, weight=w, feature_name=list(kinds), categorical_feature=cat_idx,
            free_raw_data=True,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            self.booster_ = lgb.train(params, ds, num_boost_round=self.n_estimators)
        self.classes_ = np.array([0, 1])
        return self

    def _directions(self, M: np.ndarray, target: np.ndarray) -> dict[str, int]:
        user = self.monotone_constraints or {}
        out = {}
        for i, f in enumerate(self.kinds_):
            if f in user:
                out[f] = int(user[f])
            elif self.monotone and self.kinds_[f] == "numerical":
                t = bin_feature(
                    M[:, i], target, name=f, kind="numerical",
                    constraints=BinningConstraints(max_n_bins=8),
                )  # fmt: skip
                out[f] = {"ascending": 1, "descending": -1}.get(t.trend(), 0)
                if t.n_regular < 2:
                    out[f] = 0
            else:
                out[f] = 0
        return out

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Float matrix: numeric values (specials as NaN), categories as integer codes."""
        lookup = {str(c): c for c in frame.columns}
        missing = [f for f in self.kinds_ if f not in lookup]
        if missing:
            raise DataError(f"column '{missing[0]}' is required by the challenger but missing")
        cols = []
        unseen: dict[str, int] = {}
        for f, kind in self.kinds_.items():
            s = frame[lookup[f]]
            if kind == "numerical":
                v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, copy=True)
                bad = np.isnan(v) & s.notna().to_numpy()
                if bad.any():
                    raise DataError(
                        f"column '{f}' is numeric but holds non-numeric value "
                        f"{s[bad].iloc[0]!r} ({int(bad.sum())} such rows)"
                    )
                for code in self._specials_for(f):
                    v[v == float(code)] = np.nan
            else:
                mapping = {c: float(i) for i, c in enumerate(self.categories_[f])}
                present = s.notna().to_numpy()
                codes = np.full(len(s), np.nan)
                codes[present] = [mapping.get(str(x), np.nan) for x in s.to_numpy()[present]]
                n_unseen = int((np.isnan(codes) & present).sum())
                if n_unseen:
                    unseen[f] = n_unseen
                v = codes
            cols.append(v)
        if unseen:
            detail = ", ".join(f"'{c}': {n} rows" for c, n in unseen.items())
            warnings.warn(
                f"unseen categories scored as missing ({detail})", ScorecardWarning, stacklevel=3
            )
        return np.column_stack(cols)

    def _frame(self, X: object) -> pd.DataFrame:
        check_is_fitted(self, "booster_")
        if isinstance(X, pd.DataFrame):
            return X
        return as_frame(X, columns=self._columns, name=type(self).__name__)

    def decision_function(self, X: object) -> np.ndarray:
        """Log-odds of bad."""
        # a dense matrix in: LightGBM hands back a dense array (sparse only for sparse input)
        return cast(np.ndarray, self.booster_.predict(self._matrix(self._frame(X)), raw_score=True))

    def predict_proba(self, X: object) -> np.ndarray:
        """Probabilities ``[P(good), P(bad)]`` per row."""
        z = self.decision_function(X)
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: object) -> np.ndarray:
        """1 (bad) where the probability of bad is at least 0.5, else 0."""
        return (self.decision_function(X) >= 0).astype(int)

    def predict_points(self, X: object) -> np.ndarray:
        """Score on the scorecard's points scale (higher = safer)."""
        scaling = PointsScaling(self.base_points, self.base_odds, self.pdo)
        return scaling.points_from_logit(self.decision_function(X))

    def contributions(self, X: object) -> pd.DataFrame:
        """Per-feature contributions to the log-odds of bad (TreeSHAP), plus ``(base)``."""
        frame = self._frame(X)
        c = self.booster_.predict(self._matrix(frame), pred_contrib=True)
        return pd.DataFrame(c, columns=[*self.kinds_, "(base)"], index=frame.index)

    def reason_code_of(self, feature: str) -> str:
        """Stable reason code of a training column: ``R`` + its 3-digit position by name."""
        return f"R{sorted(self._columns).index(feature) + 1:03d}"

    def reason_codes(self, X: object, n: int = 4) -> pd.DataFrame:
        """The ``n`` characteristics that raise each row's risk most (positive contributions).

        Same long layout as :meth:`Scorecard.reason_codes`; ``points_lost`` is the contribution
        converted to points (``factor * contribution``).
        """
        frame = self._frame(X)
        contrib = self.contributions(frame).drop(columns="(base)")
        vals = contrib.to_numpy()
        order = np.argsort(-vals, axis=1, kind="stable")[:, :n]
        top = np.take_along_axis(vals, order, axis=1)
        keep = top > 0
        keep &= np.cumprod(keep, axis=1).astype(bool)
        row, col = np.nonzero(keep)
        j = order[row, col]
        factor = PointsScaling(self.base_points, self.base_odds, self.pdo).factor
        feats = list(contrib.columns)
        lookup = {str(c): c for c in frame.columns}
        value = np.empty(row.size, dtype=object)
        for k, f in enumerate(feats):  # one vectorised read per feature, not per row
            sel = j == k
            if sel.any():
                value[sel] = frame[lookup[f]].to_numpy(dtype=object)[row[sel]]
        value_txt = np.asarray([str(v) for v in value], dtype=object)
        feature = np.asarray(feats, dtype=object)[j]
        return pd.DataFrame(
            {
                "row": row,
                "rank": col + 1,
                "code": np.asarray([self.reason_code_of(f) for f in feats], dtype=object)[j],
                "feature": feature,
                "bin": value_txt,
                "points": np.full(row.size, np.nan),
                "points_lost": factor * vals[row, j],
                "text": feature + ": " + value_txt,
            }
        )

    def save(self, path: str) -> None:
        """Write ``challenger.json`` and ``model.txt`` into directory ``path``."""
        from creditfactory.models._artefact import save_challenger

        save_challenger(self, path)
