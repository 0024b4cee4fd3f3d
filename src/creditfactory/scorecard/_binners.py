"""Binning solvers behind one small protocol, registered by name.

A solver sees only the *regular* values of a feature (missing and special values are removed
first and get bins of their own) and returns the rule: numeric split points or category groups.
Register another solver with :func:`register_binner`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from creditfactory.exceptions import ConfigError

__all__ = [
    "Binner",
    "BinningConstraints",
    "OptbinningBinner",
    "available_binners",
    "get_binner",
    "register_binner",
]

Trend = Literal[
    "auto",
    "auto_heuristic",
    "ascending",
    "descending",
    "peak",
    "valley",
    "convex",
    "concave",
    "none",
]
_TRENDS = set(Trend.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class BinningConstraints:
    """Constraints every solver must honour.

    Parameters
    ----------
    monotonic_trend : str
        Shape of the bad rate over numeric bins: ``auto`` (ascending or descending, whichever
        fits better), ``auto_heuristic`` (optbinning's choice among all shapes), ``ascending``,
        ``descending``, ``peak``, ``valley``, ``convex``, ``concave`` or ``none``.
    max_n_bins : int or None
        Most regular bins.
    min_bin_share : float or None
        Least share of the feature's regular observations in each bin.
    min_bin_n_bad, min_bin_n_good : int or None
        Least bads / goods in each bin.
    max_n_prebins : int
        Pre-bins the solver starts from.
    """

    monotonic_trend: str = "auto"
    max_n_bins: int | None = 6
    min_bin_share: float | None = 0.05
    min_bin_n_bad: int | None = None
    min_bin_n_good: int | None = None
    max_n_prebins: int = 20

    def __post_init__(self) -> None:
        if self.monotonic_trend not in _TRENDS:
            raise ConfigError(
                f"monotonic_trend: {self.monotonic_trend!r} is not one of {sorted(_TRENDS)}"
            )
        if self.max_n_bins is not None and self.max_n_bins < 1:
            raise ConfigError(f"max_n_bins: must be at least 1, got {self.max_n_bins}")
        if self.min_bin_share is not None and not 0 < self.min_bin_share < 0.5:
            raise ConfigError(f"min_bin_share: must lie in (0, 0.5), got {self.min_bin_share}")
        if self.max_n_prebins < 2:
            raise ConfigError(f"max_n_prebins: must be at least 2, got {self.max_n_prebins}")


@runtime_checkable
class Binner(Protocol):
    """A binning solver: regular values in, a rule out."""

    def fit_numeric(
        self,
        x: np.ndarray,
        y: np.ndarray,
        constraints: BinningConstraints,
        sample_weight: np.ndarray | None = None,
    ) -> list[float]:
        """Split points (increasing) for numeric ``x`` (no missing or special values).

        A ``sample_weight`` keyword is passed only when the caller has weights.
        """
        ...

    def fit_categorical(
        self,
        x: np.ndarray,
        y: np.ndarray,
        constraints: BinningConstraints,
        sample_weight: np.ndarray | None = None,
    ) -> list[list[str]]:
        """Groups of category labels for categorical ``x`` (strings, no missing values)."""
        ...


_REGISTRY: dict[str, Callable[[], Binner]] = {}


def register_binner(name: str, factory: Callable[[], Binner]) -> None:
    """Register a solver factory under ``name`` (replaces an existing one)."""
    _REGISTRY[name] = factory


def get_binner(name: str) -> Binner:
    """A new solver registered under ``name``."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise ConfigError(
            f"binning solver: {name!r} is not registered (known: {available_binners()})"
        ) from None


def available_binners() -> list[str]:
    """Names of the registered solvers."""
    return sorted(_REGISTRY)


class OptbinningBinner:
    """optbinning's ``OptimalBinning`` (constraint programming over CART pre-bins)."""

    def _make(self, dtype: str, c: BinningConstraints):
        from optbinning import OptimalBinning

        trend = {"auto": "auto_asc_desc", "none": None}.get(c.monotonic_trend, c.monotonic_trend)
        return OptimalBinning(
            dtype=dtype,
            monotonic_trend=trend if dtype == "numerical" else None,
            max_n_bins=c.max_n_bins,
            min_bin_size=c.min_bin_share,
            min_bin_n_event=c.min_bin_n_bad,
            min_bin_n_nonevent=c.min_bin_n_good,
            max_n_prebins=c.max_n_prebins,
            min_prebin_size=min(0.05, c.min_bin_share or 0.05),
        )

    def fit_numeric(
        self,
        x: np.ndarray,
        y: np.ndarray,
        constraints: BinningConstraints,
        sample_weight: np.ndarray | None = None,
    ) -> list[float]:
        """Split points from optbinning (empty when no split satisfies the constraints)."""
        if x.size == 0 or np.unique(x).size < 2 or np.unique(y).size < 2:
            return []
        ob = self._make("numerical", constraints)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optbinning/ortools chatter on tiny problems
            ob.fit(np.asarray(x, dtype=float), np.asarray(y), sample_weight=sample_weight)
        return [float(s) for s in ob.splits]

    def fit_categorical(
        self,
        x: np.ndarray,
        y: np.ndarray,
        constraints: BinningConstraints,
        sample_weight: np.ndarray | None = None,
    ) -> list[list[str]]:
        """Category groups from optbinning (categories never seen are left to the caller)."""
        cats = [str(c) for c in np.unique(x)]
        if len(cats) < 2 or np.unique(y).size < 2:
            return [cats] if cats else []
        ob = self._make("categorical", constraints)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ob.fit(np.asarray(x, dtype=object), np.asarray(y), sample_weight=sample_weight)
        groups = [[str(c) for c in g] for g in ob.splits]
        covered = {c for g in groups for c in g}
        rest = [c for c in cats if c not in covered]
        if rest:  # optbinning drops nothing today; keep every training category in some bin
            groups.append(rest)
        return groups


register_binner("optbinning", OptbinningBinner)
