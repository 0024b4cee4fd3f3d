"""Points scaling and the points arithmetic shared by scoring, reason codes and exports."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from creditfactory.exceptions import ConfigError

__all__ = ["PointsScaling"]


@dataclass(frozen=True)
class PointsScaling:
    """``points = offset + factor * ln(odds of good)``.

    ``base_points`` at ``base_odds`` (good:bad), ``pdo`` points to double the odds.

    Examples
    --------
    >>> s = PointsScaling(600, 50, 20)
    >>> round(float(s.points_from_logit(-math.log(50))), 6)
    600.0
    >>> round(float(s.points_from_logit(-math.log(100))), 6)
    620.0
    """

    base_points: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0

    def __post_init__(self) -> None:
        if not self.base_odds > 0:
            raise ConfigError(f"base_odds: must be positive, got {self.base_odds}")
        if not self.pdo > 0:
            raise ConfigError(f"pdo: must be positive, got {self.pdo}")

    @property
    def factor(self) -> float:
        """Points per unit of log-odds."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """Points at even odds (1:1)."""
        return self.base_points - self.factor * math.log(self.base_odds)

    def points_from_logit(self, logit_bad: object) -> np.ndarray:
        """Score from the log-odds of bad (the logistic regression's linear predictor)."""
        return self.offset - self.factor * np.asarray(logit_bad, dtype=float)

    def logit_from_points(self, points: object) -> np.ndarray:
        """Inverse of :meth:`points_from_logit`."""
        return (self.offset - np.asarray(points, dtype=float)) / self.factor

    def bin_points(
        self, woe: np.ndarray, coef: float, intercept: float, n_features: int
    ) -> np.ndarray:
        """Points per bin of one feature; the intercept and offset are shared out evenly."""
        return (self.offset - self.factor * intercept) / n_features - self.factor * coef * woe
