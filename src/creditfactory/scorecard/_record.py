"""Scoring one application at a time (online decisions): plain Python, no pandas per call."""

from __future__ import annotations

import math
import warnings
from bisect import bisect_right
from collections.abc import Mapping
from typing import Any

from creditfactory.exceptions import DataError
from creditfactory.scorecard._inputs import ScorecardWarning

__all__ = ["RecordScorer"]

# (feature, numeric?, splits (empty when categorical), value -> bin, points per bin, missing bin)
_Spec = tuple[str, bool, list[float], dict[Any, int], list[float], int]


class RecordScorer:
    """Points of one record (a mapping of column to raw value), identical to batch scoring.

    Built once from a fitted scorecard; each call costs a dictionary lookup or a binary search
    per characteristic. Missing values (``None``, NaN) take the missing bin; an unseen category
    takes the missing bin with a :class:`ScorecardWarning`; an absent key or text in a numeric
    characteristic raises :class:`DataError`.
    """

    def __init__(self, sc: Any) -> None:
        self._specs: list[_Spec] = []
        for f in sc.selected_features_:
            t = sc.binning_tables_[f]
            pts = [float(p) for p in sc.bin_points_[f]]
            if t.kind == "numerical":
                special = {float(c): t.n_regular + k for k, c in enumerate(t.special_codes)}
                self._specs.append((f, True, list(t.splits), special, pts, t.missing_bin))
            else:
                lookup: dict[Any, int] = {c: i for i, g in enumerate(t.groups) for c in g}
                lookup.update({str(c): t.n_regular + k for k, c in enumerate(t.special_codes)})
                self._specs.append((f, False, [], lookup, pts, t.missing_bin))

    def points(self, record: Mapping[str, Any]) -> float:
        """Total points of ``record`` (higher = safer)."""
        total = 0.0
        for f, numeric, splits, lookup, pts, missing in self._specs:
            try:
                v = record[f]
            except KeyError:
                raise DataError(f"column '{f}' is required by the scorecard but missing") from None
            if v is None or (isinstance(v, float) and math.isnan(v)):
                total += pts[missing]
            elif numeric:
                try:
                    x = float(v)
                except (TypeError, ValueError):
                    raise DataError(
                        f"column '{f}' is numeric but holds non-numeric value {v!r}"
                    ) from None
                if math.isnan(x):
                    total += pts[missing]
                else:
                    b = lookup.get(x)
                    total += pts[bisect_right(splits, x) if b is None else b]
            else:
                b = lookup.get(str(v))
                if b is None:
                    warnings.warn(
                        f"unseen categories scored as the missing bin ('{f}': 1 rows)",
                        ScorecardWarning,
                        stacklevel=3,
                    )
                    b = missing
                total += pts[b]
        return total
