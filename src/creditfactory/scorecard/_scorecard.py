"""The ``Scorecard`` estimator: binning, WOE, selection, logistic regression and points."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from creditfactory._schema import column_schema
from creditfactory.exceptions import ConfigError, DataError
from creditfactory.scorecard._binners import BinningConstraints
from creditfactory.scorecard._binning import fit_feature, infer_kind
from creditfactory.scorecard._binning_table import BinningTable
from creditfactory.scorecard._defaults import resolve_defaults
from creditfactory.scorecard._inputs import (
    ScorecardWarning,
    TabularEstimatorMixin,
    as_frame,
    check_target,
    check_weights,
    column_stats,
)
from creditfactory.scorecard._logit import _fit_design, fit_logit
from creditfactory.scorecard._points import PointsScaling
from creditfactory.scorecard._record import RecordScorer
from creditfactory.scorecard._scorer import PointsScorer
from creditfactory.scorecard._selection import SelectionReport, _stepwise, filter_features

__all__ = ["Scorecard"]


def _drop_column(Z: np.ndarray, j: int, block: int = 4096) -> np.ndarray:
    """``np.delete(Z, j, axis=1)`` of a row-major ``Z``, in place: the later columns move left
    block by block of rows, and the result is a view of the first columns (a new array of all
    rows costs its page faults, more system time than the copy itself on a busy machine)."""
    for lo in range(0, Z.shape[0], block):
        rows = Z[lo : lo + block]
        rows[:, j:-1] = rows[:, j + 1 :]
    return Z[:, :-1]


def _without(
    params: np.ndarray, hessian: np.ndarray | None, j: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """A warm start for the fit without coefficient ``j``: the other coefficients moved by the
    Newton step that sets ``j`` to zero (with the gradient zero at ``params``, the other
    coefficients absorb ``beta_j`` through their Hessian block), and that Hessian block."""
    rest = np.delete(params, j)
    if hessian is None:
        return rest, None
    h = np.delete(np.delete(hessian, j, axis=0), j, axis=1)
    try:
        shift = np.linalg.solve(h, np.delete(hessian[:, j], j) * params[j])
    except np.linalg.LinAlgError:
        return rest, h
    return (rest + shift if np.all(np.isfinite(shift)) else rest), h


class Scorecard(TabularEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A credit scorecard: optimal binning, WOE, selection, logistic regression, points.

    ``fit(X, y)`` takes a pandas DataFrame of raw characteristics (numeric and text columns,
    missing values allowed) and a 0/1 target with 1 = bad. ``predict_proba`` gives the
    probability of bad in column 1; ``predict_points`` the score (higher = safer).

    Parameters
    ----------
    special_codes : list or dict, optional
        Special values with bins of their own: one list for every numeric column, or a dict
        ``{column: [values]}``.
    categorical_features : list of str, optional
        Columns to bin as categories even if numeric (e.g. codes).
    monotonic_trend : str, default "auto"
        Bad-rate shape over numeric bins (see :class:`BinningConstraints`).
    max_n_bins, min_bin_share, min_bin_n_bad, min_bin_n_good : binning constraints
        Defaults 10 bins and 1 % of the rows per bin; ``min_bin_n_bad="auto"`` adapts to the
        book: 5 bads per bin with up to 300 bads in the data, 20 from 10,000 bads on, and in
        between on a log scale (see :func:`resolve_defaults` and docs/scorecard.md).
    solver : str, default "dp"
        Registered binning solver: ``dp`` (exact dynamic programming, reaches at least
        optbinning's IV under the same constraints) or ``optbinning``.
    user_bins : dict, optional
        Manual bins, ``{column: {"splits": [...]}}`` or ``{column: {"groups": [[...], ...]}}``
        (take them from an edited :class:`BinningTable`).
    min_iv, max_missing_share, max_single_share, max_corr, max_vif : selection filters
        Defaults ``"auto"`` (0 on books of up to 1,000 bads, 0.01 from 10,000 bads on), 0.95,
        0.95, 0.8 and 10.
    max_iv_pvalue : float, "auto" or None, default "auto"
        Drop a feature whose IV is not significant (:attr:`BinningTable.iv_pvalue`): on small
        samples optimised bins give pure noise an IV above any fixed threshold. ``"auto"``:
        0.2 on books of up to 300 bads, 0.001 from 3,000 bads on. The values in force after
        ``fit`` are in ``defaults_``.
    max_n_categories : int, default 100
        Text columns with more distinct values are identifier-like (ids, phones): they are
        dropped and logged rather than binned.
    selection : {"forward", "backward", "both"}, "auto" or None, default "auto"
        Stepwise method after the filters; ``None`` keeps every feature that passed them.
        ``"auto"``: ``"forward"`` on books of 1,000 bads or more, ``None`` below (on a few
        hundred bads stepwise drops characteristics that are weak alone but add to the model
        out of sample; see :func:`resolve_defaults`).
    criterion : {"aic", "bic", "pvalue"}, default "aic"
    p_enter, p_remove : float
        Thresholds for ``criterion="pvalue"``.
    selection_max_rows : int or None, default 50000
        Stepwise selection runs on a stratified random sample of at most this many rows
        (seeded, so fits are reproducible); the bins and the final coefficients always use
        every row. ``None`` selects on all rows.
    sign_constraint : bool, default True
        Drop (and log) features whose coefficient has the wrong sign, so that points always
        rise with WOE.
    base_points, base_odds, pdo : float, default 600, 50, 20
        Points scaling: ``base_points`` at good:bad odds ``base_odds``, ``pdo`` to double.
    points_decimals : int or None, default 0
        Round every bin's points to this many decimals: whole points by default, as printed
        scorecards have them. Scores, probabilities and exports follow the rounded points
        (each characteristic moves the score by at most half a point); ``None`` keeps the
        exact points of the regression.
    reason_texts : dict, optional
        Human text per column for reason codes (default: the column name).
    reason_code_map : dict, optional
        Fixed reason code per column (default: ``R`` + position among the sorted columns).
    """

    def __init__(
        self,
        *,
        special_codes: list[Any] | dict[str, list[Any]] | None = None,
        categorical_features: list[str] | None = None,
        monotonic_trend: str = "auto",
        max_n_bins: int | None = 10,
        min_bin_share: float | None = 0.01,
        min_bin_n_bad: int | str | None = "auto",
        min_bin_n_good: int | None = None,
        solver: str = "dp",
        user_bins: dict[str, dict[str, Any]] | None = None,
        min_iv: float | str = "auto",
        max_iv_pvalue: float | str | None = "auto",
        max_missing_share: float = 0.95,
        max_single_share: float = 0.95,
        max_n_categories: int = 100,
        max_corr: float = 0.8,
        max_vif: float = 10.0,
        selection: str | None = "auto",
        criterion: str = "aic",
        p_enter: float = 0.05,
        p_remove: float = 0.10,
        selection_max_rows: int | None = 50_000,
        sign_constraint: bool = True,
        base_points: float = 600.0,
        base_odds: float = 50.0,
        pdo: float = 20.0,
        points_decimals: int | None = 0,
        reason_texts: dict[str, str] | None = None,
        reason_code_map: dict[str, str] | None = None,
    ) -> None:
        self.special_codes = special_codes
        self.categorical_features = categorical_features
        self.monotonic_trend = monotonic_trend
        self.max_n_bins = max_n_bins
        self.min_bin_share = min_bin_share
        self.min_bin_n_bad = min_bin_n_bad
        self.min_bin_n_good = min_bin_n_good
        self.solver = solver
        self.user_bins = user_bins
        self.min_iv = min_iv
        self.max_iv_pvalue = max_iv_pvalue
        self.max_missing_share = max_missing_share
        self.max_single_share = max_single_share
        self.max_n_categories = max_n_categories
        self.max_corr = max_corr
        self.max_vif = max_vif
        self.selection = selection
        self.criterion = criterion
        self.p_enter = p_enter
        self.p_remove = p_remove
        self.selection_max_rows = selection_max_rows
        self.sign_constraint = sign_constraint
        self.base_points = base_points
        self.base_odds = base_odds
        self.pdo = pdo
        self.points_decimals = points_decimals
        self.reason_texts = reason_texts
        self.reason_code_map = reason_code_map

    # ------------------------------------------------------------------ fitting
    def fit(self, X: object, y: object, sample_weight: object = None) -> Scorecard:
        """Bin every column, select features, fit the logistic regression and scale points.

        Columns entirely missing or constant are dropped and logged in ``selection_report_``
        (with a :class:`ScorecardWarning`); a target that is not 0/1 raises :class:`DataError`.
        ``sample_weight`` (frequency weights) is used by the binning, the stepwise selection
        and the regression.
        """
        # One BLAS thread: the products here are thin (rows x a few dozen columns), where a
        # second thread gains little and, on a busy machine, spins and waits for a core.
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(X, y, sample_weight)

    def _fit(self, X: object, y: object, sample_weight: object) -> Scorecard:
        frame = as_frame(X)
        target = check_target(y, len(frame))
        weights = check_weights(sample_weight, len(frame))
        if weights is not None and (weights == 0).any():  # a zero weight is a removed row
            keep = weights > 0
            frame, target, weights = frame.loc[keep], target[keep], weights[keep]
        PointsScaling(self.base_points, self.base_odds, self.pdo)  # fail early on bad scaling
        n_bads = float(target.sum() if weights is None else (weights * target).sum())
        auto = resolve_defaults(
            {
                "min_bin_n_bad": self.min_bin_n_bad,
                "max_iv_pvalue": self.max_iv_pvalue,
                "min_iv": self.min_iv,
                "selection": self.selection,
            },
            n_bads,
        )
        constraints = BinningConstraints(
            monotonic_trend=self.monotonic_trend,
            max_n_bins=self.max_n_bins,
            min_bin_share=self.min_bin_share,
            min_bin_n_bad=auto["min_bin_n_bad"],
            min_bin_n_good=self.min_bin_n_good,
        )
        self._learn_columns(X, frame)
        report = SelectionReport()
        forced_cat = set(self.categorical_features or ())
        user_bins = self.user_bins or {}
        tables: dict[str, BinningTable] = {}
        bin_idx: dict[str, np.ndarray] = {}
        col_stats: dict[str, dict[str, float]] = {}
        kinds: dict[str, str] = {}
        schema: dict[str, dict[str, Any]] = {}
        for col, name in zip(frame.columns, self._columns, strict=True):
            series = frame[col]
            # a text column is hashed once here, for its statistics and its binning
            numeric = isinstance(series.dtype, np.dtype) and series.dtype.kind in "fiub"
            fz = None if numeric else pd.factorize(series, use_na_sentinel=True)
            s = column_stats(series, weights, fz)
            if s["n_unique"] == 0:
                report.drop(name, "input", "column is entirely missing", 1.0)
                continue
            if s["n_unique"] == 1 and s["missing_share"] == 0:
                report.drop(name, "input", "column is constant", 1.0)
                continue
            if pd.api.types.is_datetime64_any_dtype(series.dtype):
                report.drop(name, "input", "datetime column; derive numeric features from it")
                continue
            kind = "categorical" if name in forced_cat else infer_kind(series, name, fz)
            if kind == "categorical" and s["n_unique"] > self.max_n_categories:
                report.drop(
                    name,
                    "input",
                    f"{int(s['n_unique'])} categories (over {self.max_n_categories}): "
                    "identifier-like",
                    s["n_unique"],
                )
                continue
            kinds[name] = kind
            col_stats[name] = s
            schema[name] = column_schema(
                series, kind, self._specials_for(name) if kind == "numerical" else (), fz
            )
            tables[name], bin_idx[name] = self._bin_one(
                series, target, name, kind, constraints, user_bins, weights, fz
            )
        dropped_input = [r["feature"] for r in report.records]
        if dropped_input:
            warnings.warn(
                f"dropped {len(dropped_input)} unusable column(s): {', '.join(dropped_input)} "
                "(entirely missing, constant, datetime or identifier-like; see selection_report_)",
                ScorecardWarning,
                stacklevel=3,
            )
        if not tables:
            raise DataError("no usable column: every column is entirely missing or constant")
        # the WOE matrix, one contiguous float64 array (a frame view for the filters)
        names = list(tables)
        W_arr = np.empty((target.size, len(names)), order="F")  # columns are read whole
        for j, n in enumerate(names):
            np.take(tables[n].woe, bin_idx[n], out=W_arr[:, j])
        col_of = {n: j for j, n in enumerate(names)}
        W = pd.DataFrame(W_arr, columns=names, copy=False)
        ivs = {n: t.iv for n, t in tables.items()}
        kept = filter_features(
            W,
            ivs,
            col_stats,
            report,
            min_iv=auto["min_iv"],
            max_missing_share=self.max_missing_share,
            max_single_share=self.max_single_share,
            max_corr=self.max_corr,
            max_vif=self.max_vif,
            sample_weight=weights,
            iv_pvalues={n: t.iv_pvalue for n, t in tables.items()},
            max_iv_pvalue=auto["max_iv_pvalue"],
        )
        start: Any = None  # coefficients, or (coefficients, Hessian) from the stepwise
        if auto["selection"] is not None and kept:
            rows = self._selection_rows(target)
            kept, sel = _stepwise(
                W_arr[np.ix_(rows, np.array([col_of[f] for f in kept], dtype=np.intp))],
                kept,
                target[rows],
                report,
                method=auto["selection"],
                criterion=self.criterion,
                p_enter=self.p_enter,
                p_remove=self.p_remove,
                sample_weight=None if weights is None else weights[rows],
            )
            start = sel.params
            if sel.hessian is not None:  # the sample's Hessian, scaled to every row: a first
                # step's Hessian that costs nothing (Newton refreshes it after that step)
                n_all = float(target.size if weights is None else weights.sum())
                start = (sel.params, sel.hessian * (n_all / sel.n_obs))
        kept, res = self._fit_signed(W_arr, col_of, target, weights, kept, report, start)
        if not kept:
            # A scorecard needs a characteristic: keep the strongest one and say so.
            best = max(ivs, key=lambda f: ivs[f])
            kept = [best]
            report.keep(best, "fallback", "no feature survived selection; kept the highest IV")
            res = fit_logit(W_arr[:, [col_of[best]]], target, weights)
        for f in kept:
            report.keep(f, "final", "in the model", ivs[f])
        self.defaults_ = auto
        self.binning_tables_ = tables
        self.kinds_ = kinds
        self.input_schema_ = schema
        self.column_stats_ = col_stats
        self.selection_report_ = report
        self.selected_features_ = kept
        self.intercept_ = float(res.params[0])
        self.coef_ = np.asarray(res.params[1:], dtype=float)
        self.bse_ = np.asarray(res.bse, dtype=float)
        self.pvalues_ = np.asarray(res.pvalues, dtype=float)
        self.classes_ = np.array([0, 1])
        self._build_points()
        train_points = np.zeros(target.size)
        for f in kept:
            train_points += self.bin_points_[f][bin_idx[f]]
        self.train_score_edges_ = np.unique(np.quantile(train_points, np.linspace(0, 1, 11)[1:-1]))
        idx = np.searchsorted(self.train_score_edges_, train_points, side="right")
        self.train_score_counts_ = np.bincount(idx, minlength=self.train_score_edges_.size + 1)
        return self

    def _selection_rows(self, target: np.ndarray) -> np.ndarray:
        n, cap = target.size, self.selection_max_rows
        if cap is None or n <= cap:
            return np.arange(n)
        rng = np.random.default_rng(0)
        rows = [
            rng.choice(np.flatnonzero(target == k), round(cap * np.mean(target == k)), False)
            for k in (0, 1)
        ]
        return np.sort(np.concatenate(rows))

    def _bin_one(
        self, series, target, name, kind, constraints, user_bins, weights, factorized=None
    ) -> tuple[BinningTable, np.ndarray]:
        specials = self._specials_for(name) if kind == "numerical" else ()
        if name in user_bins:
            rule = user_bins[name]
            unknown = set(rule) - {"splits", "groups"}
            if unknown:
                raise ConfigError(f"user_bins['{name}']: unknown key {sorted(unknown)[0]!r}")
            table = BinningTable.from_data(
                name,
                kind,  # type: ignore[arg-type]
                series.to_numpy(dtype=object) if kind == "categorical" else series.to_numpy(),
                target,
                splits=rule.get("splits", ()),
                groups=rule.get("groups", ()),
                special_codes=specials,
                sample_weight=weights,
            )
            return table, table.bin_index(series)
        return fit_feature(
            series,
            target,
            name=name,
            kind=kind,  # type: ignore[arg-type]
            special_codes=specials,
            constraints=constraints,
            solver=self.solver,
            sample_weight=weights,
            factorized=factorized if kind == "categorical" else None,
        )

    def _fit_signed(self, W, col_of, target, weights, kept, report, start=None):
        """The regression on every row, dropping wrong-signed characteristics one at a time.

        ``start`` (the stepwise's last fit, on the sample: its coefficients, or they and an
        approximate Hessian there) and, after a drop, the previous fit without the dropped
        coefficient (and its Hessian without that row and column) are warm starts: the maximum
        likelihood is unique, so they change how fast Newton gets there, not where.
        """
        h0 = None
        if isinstance(start, tuple):
            start, h0 = start
        kept = list(kept)
        # the design (intercept first), built once; a dropped column is deleted from it
        Z = np.empty((target.size, len(kept) + 1))
        Z[:, 0] = 1.0
        for j, f in enumerate(kept):
            Z[:, j + 1] = W[:, col_of[f]]
        y = target.astype(float)
        while True:
            cap = self.selection_max_rows
            if start is None and cap is not None and cap < target.size:  # start from a sample
                rows = self._selection_rows(target)
                wr = None if weights is None else weights[rows]
                start = _fit_design(Z[rows], y[rows], wr, tol=1e-4).params
            res = _fit_design(Z, y, weights, start=start, hessian0=h0, chord=True)
            if not self.sign_constraint or not kept:
                return kept, res
            # WOE is ln(%good/%bad): a positive coefficient on P(bad) would reverse the trend.
            z = res.params[1:] / np.where(res.bse[1:] > 0, res.bse[1:], 1.0)
            worst = int(np.argmax(z))
            if res.params[1 + worst] <= 0:
                return kept, res
            f = kept.pop(worst)
            report.drop(f, "sign", "coefficient has the wrong sign", float(res.params[1 + worst]))
            start, h0 = _without(res.params, res.hessian, 1 + worst)
            Z = _drop_column(Z, 1 + worst)

    def _build_points(self) -> None:
        self._record_scorer: RecordScorer | None = None
        k = len(self.selected_features_)
        self.bin_points_ = {
            f: self.scaling.bin_points(self.binning_tables_[f].woe, c, self.intercept_, k)
            for f, c in zip(self.selected_features_, self.coef_, strict=True)
        }
        if self.points_decimals is not None:
            self.bin_points_ = {
                f: np.round(p, self.points_decimals) for f, p in self.bin_points_.items()
            }
        # built here, not on first use: predicting must not change the estimator's __dict__
        self._points_scorer = PointsScorer(self.binning_tables_, self.bin_points_)

    # ------------------------------------------------------------------ scoring
    def _frame_for_scoring(self, X: object) -> pd.DataFrame:
        check_is_fitted(self, "coef_")
        if isinstance(X, pd.DataFrame):
            frame = X
            missing = [c for c in self.selected_features_ if c not in set(map(str, frame.columns))]
            if missing:
                raise DataError(
                    f"column '{missing[0]}' is required by the scorecard but missing from X"
                    + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                )
            if any(not isinstance(c, str) for c in frame.columns):
                frame = frame.rename(columns=str)
            return frame
        return as_frame(X, columns=self._columns, name=type(self).__name__)

    def _bins(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        out = {}
        unseen: dict[str, int] = {}
        for f in self.selected_features_:
            idx, n_unseen = self.binning_tables_[f].bin_index_and_unseen(frame[f])
            if n_unseen:
                unseen[f] = n_unseen
            out[f] = idx
        if unseen:
            detail = ", ".join(f"'{c}': {n} rows" for c, n in unseen.items())
            warnings.warn(
                f"unseen categories scored as the missing bin ({detail})",
                ScorecardWarning,
                stacklevel=3,
            )
        return out

    def bin_indices(self, X: object) -> pd.DataFrame:
        """Bin index of every selected feature for every row (unseen categories: missing bin).

        Unseen categories are counted in a :class:`ScorecardWarning`.
        """
        frame = self._frame_for_scoring(X)
        return pd.DataFrame(self._bins(frame), index=frame.index)

    def _points_matrix(self, X: object) -> np.ndarray:
        bins = self._bins(self._frame_for_scoring(X))
        return np.column_stack([self.bin_points_[f][i] for f, i in bins.items()])

    def predict_points(self, X: object) -> np.ndarray:
        """Score in points, higher = safer (``base_points`` at ``base_odds`` good:bad).

        Unseen categories take the missing bin's points, counted in a
        :class:`ScorecardWarning`.
        """
        frame = self._frame_for_scoring(X)
        scorer: PointsScorer | None = getattr(self, "_points_scorer", None)
        if scorer is None:  # an estimator pickled before the scorer existed
            scorer = PointsScorer(self.binning_tables_, self.bin_points_)
        total, unseen = scorer.points(frame)
        if unseen:
            detail = ", ".join(f"'{c}': {n} rows" for c, n in unseen.items())
            warnings.warn(
                f"unseen categories scored as the missing bin ({detail})",
                ScorecardWarning,
                stacklevel=2,
            )
        return total

    def score_record(self, record: dict[str, Any]) -> float:
        """Points of one application given as a mapping of column to raw value.

        The online path: plain Python, no DataFrame, same points as :meth:`predict_points`.
        """
        check_is_fitted(self, "coef_")
        scorer: RecordScorer | None = getattr(self, "_record_scorer", None)
        if scorer is None:
            scorer = self._record_scorer = RecordScorer(self)
        return scorer.points(record)

    def decision_function(self, X: object) -> np.ndarray:
        """Log-odds of bad."""
        return self.scaling.logit_from_points(self.predict_points(X))

    def predict_proba(self, X: object) -> np.ndarray:
        """Probabilities ``[P(good), P(bad)]`` per row."""
        z = self.decision_function(X)
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: object) -> np.ndarray:
        """1 (bad) where the probability of bad is at least 0.5, else 0."""
        return (self.decision_function(X) >= 0).astype(int)

    def transform_woe(self, X: object) -> pd.DataFrame:
        """WOE of every selected feature."""
        idx = self.bin_indices(X)
        return pd.DataFrame(
            {f: self.binning_tables_[f].woe[idx[f].to_numpy()] for f in idx.columns},
            index=idx.index,
        )

    # ------------------------------------------------------------------ explanations
    def reason_code_of(self, feature: str) -> str:
        """Reason code of a training column.

        From ``reason_code_map`` when given (codes your adverse-action list prescribes), else
        ``R`` + the column's 3-digit position among the training columns sorted by name.
        """
        mapped = (self.reason_code_map or {}).get(feature)
        if mapped is not None:
            return str(mapped)
        return f"R{sorted(self._columns).index(feature) + 1:03d}"

    def reason_codes(self, X: object, n: int = 4) -> pd.DataFrame:
        """For each row, the ``n`` characteristics that cost most points against their best.

        Returns a long frame: ``row`` (position), ``rank`` (1 = costliest), ``code``,
        ``feature``, ``bin``, ``points``, ``points_lost`` and ``text``. Characteristics at
        their best attainable points are not reasons; a row may have fewer than ``n``.
        """
        frame = self._frame_for_scoring(X)
        bins = self._bins(frame)
        feats = self.selected_features_
        idx = np.column_stack([bins[f] for f in feats])
        pts = np.column_stack([self.bin_points_[f][bins[f]] for f in feats])
        best = np.array([self._best_points(f) for f in feats])
        lost = best[None, :] - pts
        order = np.argsort(-lost, axis=1, kind="stable")[:, :n]
        lost_top = np.take_along_axis(lost, order, axis=1)
        keep = lost_top > 1e-9
        # a characteristic at its best ends the list: keep ranks before the first non-reason
        keep &= np.cumprod(keep, axis=1).astype(bool)
        row, col = np.nonzero(keep)
        j = order[row, col]
        texts = self.reason_texts or {}
        labels = [np.asarray(self.binning_tables_[f].labels(), dtype=object) for f in feats]
        offsets = np.cumsum([0] + [len(lb) for lb in labels[:-1]])
        bin_label = np.concatenate(labels)[offsets[j] + idx[row, j]]
        feature = np.asarray(feats, dtype=object)[j]
        prefix = np.asarray([texts.get(f, f) for f in feats], dtype=object)[j]
        return pd.DataFrame(
            {
                "row": row,
                "rank": col + 1,
                "code": np.asarray([self.reason_code_of(f) for f in feats], dtype=object)[j],
                "feature": feature,
                "bin": bin_label,
                "points": pts[row, j],
                "points_lost": lost[row, j],
                "text": prefix + ": " + bin_label,
            }
        )

    def _best_points(self, f: str) -> float:
        t = self.binning_tables_[f]
        seen = t.count > 0
        return float(self.bin_points_[f][seen].max())

    def points_table(self) -> pd.DataFrame:
        """Every selected feature's bins with WOE, coefficient and points."""
        check_is_fitted(self, "coef_")
        rows = []
        for f, c in zip(self.selected_features_, self.coef_, strict=True):
            t = self.binning_tables_[f]
            for label, w, p, n, br in zip(
                t.labels(), t.woe, self.bin_points_[f], t.count, t.bad_rate, strict=True
            ):
                rows.append((f, self.reason_code_of(f), label, n, br, w, c, p))
        cols = ["feature", "code", "bin", "count", "bad_rate", "woe", "coefficient", "points"]
        return pd.DataFrame(rows, columns=cols)

    def coefficients(self) -> pd.DataFrame:
        """Intercept and coefficients with standard errors, z and p-values, and IV."""
        check_is_fitted(self, "coef_")
        names = ["(intercept)", *self.selected_features_]
        params = np.r_[self.intercept_, self.coef_]
        ivs = [np.nan, *(self.binning_tables_[f].iv for f in self.selected_features_)]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = params / self.bse_
        return pd.DataFrame(
            {
                "feature": names,
                "coefficient": params,
                "std_error": self.bse_,
                "z": z,
                "p_value": self.pvalues_,
                "iv": ivs,
            }
        )

    def _repr_html_(self) -> str:
        """A fitted scorecard in a notebook: coefficients and the points of every bin.

        Before ``fit``, scikit-learn's estimator diagram.
        """
        if not hasattr(self, "coef_"):
            return str(self._repr_html_inner())
        from creditfactory.scorecard._html import frame_html

        s = self.scaling
        head = (
            f"<b>Scorecard 评分卡</b>: {len(self.selected_features_)} characteristics; "
            f"{s.base_points:g} points at odds {s.base_odds:g}:1, {s.pdo:g} points to double"
        )
        points = self.points_table().drop(columns=["coefficient"])
        return (
            head
            + frame_html(self.coefficients(), floats="{:.4g}")
            + frame_html(points, max_rows=400)
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        """What Jupyter shows: the fitted view, or scikit-learn's diagram before ``fit``."""
        if not hasattr(self, "coef_"):
            return dict(super()._repr_mimebundle_(**kwargs))
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    @property
    def scaling(self) -> PointsScaling:
        """The points scaling in use."""
        return PointsScaling(self.base_points, self.base_odds, self.pdo)

    def stability(self, X: object) -> pd.DataFrame:
        """PSI of the score and of every selected feature's bins, training data against ``X``."""
        from creditfactory.monitoring import psi_from_counts

        idx = self.bin_indices(X)
        rows = []
        pts = self.predict_points(X)
        cur = np.bincount(
            np.searchsorted(self.train_score_edges_, pts, side="right"),
            minlength=self.train_score_edges_.size + 1,
        )
        rows.append(("(score)", psi_from_counts(self.train_score_counts_, cur)))
        for f in idx.columns:
            t = self.binning_tables_[f]
            cur = np.bincount(idx[f].to_numpy(), minlength=t.n_bins)
            rows.append((f, psi_from_counts(t.count, cur)))
        return pd.DataFrame(rows, columns=["feature", "psi"])

    def save(self, path: str | Path) -> None:
        """Write the versioned JSON artefact to directory ``path`` (see :func:`load`)."""
        from creditfactory.scorecard._artefact import save

        save(self, path)
