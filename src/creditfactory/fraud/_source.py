"""Fraud features as a provider source: ``fraud:<feature>`` names, the same values online and in
batch.

A strategy declares an input as *provided* (``ring_size: {type: int, provided:
fraud:ring_size}``) and the look-ups answer it through :class:`FraudSource`, the source of kind
``fraud`` of a :class:`~creditfactory.fraud.Lookups`. The name after ``fraud:`` is a column of
:func:`~creditfactory.fraud.fraud_features` (:data:`~creditfactory.fraud.FEATURES`):
``fraud:id_valid``, ``fraud:ring_size``, ``fraud:fraud_flag``, ``fraud:vel_device_ids_24h`` ...

- In batch and simulation (:meth:`FraudSource.frame`) the history is the frame itself: each
  application's features are computed point in time, from the applications of the frame that
  arrived before it (``applied_at``, ties in row order), plus whatever the source was warmed
  with.
- Online (:meth:`FraudSource.row`) the source holds a :class:`~creditfactory.fraud.FraudState`:
  each application asked about is added to it (once: asking again about the same
  ``application_id`` gives the same answer) and its features are those of the applications
  seen before it. Arrival order is the history's order: an application stamped earlier than
  one already seen counts as arriving at that one's time. The service warms the state from the
  applications its store holds (:meth:`FraudSource.warm`), so a restarted engine sees the same
  history.

The two give the same values when they see the same applications in the same order
(``tests/fraud/test_source.py`` checks it on random histories).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import polars as pl

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.fraud._features import FEATURES, FraudState, fraud_features

KIND = "fraud"
"""The kind of the fraud features' names (``fraud:<column>``)."""

PROVIDED: tuple[str, ...] = tuple(c for c in FEATURES if c not in ("application_id", "ring_group"))
"""The columns a strategy may ask for (``ring_group`` is a label, not a value to decide on)."""


def fraud_feature(column: str) -> str:
    """The provider name of a fraud feature column.

    >>> fraud_feature("ring_size")
    'fraud:ring_size'
    """
    return f"{KIND}:{column}"


def parse_fraud_feature(name: str) -> str:
    """The column of a ``fraud:<column>`` name; a clear error for anything else.

    >>> parse_fraud_feature("fraud:id_valid")
    'id_valid'
    """
    kind, _, column = name.partition(":")
    if kind != KIND or column not in PROVIDED:
        raise ConfigError(
            f"feature {name!r}: not a fraud feature (fraud:<column>, a column of "
            f"creditfactory.fraud.FEATURES other than application_id and ring_group)"
        )
    return column


class FraudSource:
    """The ``fraud`` source of the look-ups (see the module's docstring).

    Parameters
    ----------
    cache : int, default 10000
        How many recent applications' answers :meth:`row` remembers, so that a retried
        application is not counted twice.
    clock : callable, optional
        ``clock()`` gives the arrival time of an application that carries no ``applied_at``
        (the service passes its clock); without it such an application is an error.

    Examples
    --------
    >>> src = FraudSource()
    >>> app = {"application_id": "A1", "applied_at": "2024-03-01 10:00",
    ...        "id_number": "110105194912310021", "device_id": "D1"}
    >>> src.row(("fraud:id_valid", "fraud:ring_size"), app)
    {'fraud:id_valid': False, 'fraud:ring_size': 1}
    """

    def __init__(self, cache: int = 10_000, clock: Callable[[], Any] | None = None) -> None:
        self.clock = clock
        self.state = FraudState()
        self._history: list[dict[str, Any]] = []  # what warmed the state (batch sees it too)
        self._answers: OrderedDict[Any, dict[str, Any]] = OrderedDict()
        self._cache = cache
        self._digest = hashlib.sha256()
        self.seen = 0
        self._last: pd.Timestamp | None = None  # the latest arrival time seen online
        self._prepared: pd.DataFrame | None = None  # a whole history's features (prepare)

    def warm(self, applications: Iterable[Mapping[str, Any]]) -> int:
        """Feed earlier applications into the state, in ``applied_at`` order; returns how many
        (one without a readable ``applied_at`` is left out)."""
        timed = [(_stamp(a.get("applied_at")), dict(a)) for a in applications]
        rows = sorted(((t, a) for t, a in timed if t is not None), key=lambda ta: ta[0].value)
        for _, app in rows:  # an application without a readable time is left out
            self._see(app)
            self._history.append(app)
        return len(rows)

    def _see(self, application: Mapping[str, Any]) -> dict[str, Any]:
        key = application.get("application_id")
        found = self._answers.get(key)
        if found is not None:
            return found
        if self.clock is not None and application.get("applied_at") is None:
            application = {**application, "applied_at": self.clock()}
        stamp = _stamp(application.get("applied_at"))
        if stamp is not None and self._last is not None and stamp < self._last:
            # arrived after a later-stamped one (clients' clocks, concurrent requests): online,
            # the order of arrival is the order of the history
            application = {**application, "applied_at": self._last}
        feats = self.state.update(application)
        if stamp is not None and (self._last is None or stamp > self._last):
            self._last = stamp
        self.seen += 1
        self._digest.update(f"{key}\x1e".encode())
        self._answers[key] = feats
        if len(self._answers) > self._cache:
            self._answers.popitem(last=False)
        return feats

    def row(self, names: Sequence[str], application: Mapping[str, Any]) -> dict[str, Any]:
        columns = [parse_fraud_feature(n) for n in names]
        feats = self._see(application)
        return {n: feats[c] for n, c in zip(names, columns, strict=True)}

    def prepare(self, applications: pl.DataFrame) -> None:
        """Compute the features of a whole history at once (a file decided in chunks): a later
        :meth:`frame` of some of its applications answers from it, so that each chunk sees
        the whole history before its rows, not only the chunk."""
        feats = self._features(applications)
        self._prepared = feats.set_index("application_id", drop=False)
        for key in feats["application_id"]:
            self._digest.update(f"{key}\x1e".encode())
        self.seen += len(feats)

    def frame(self, names: Sequence[str], applications: pl.DataFrame) -> pl.DataFrame:
        columns = [parse_fraud_feature(n) for n in names]
        prepared = self._prepared
        if prepared is not None and "application_id" in applications.columns:
            ids = applications.get_column("application_id").to_list()
            if prepared.index.is_unique and all(i in prepared.index for i in ids):
                return _as_frame(names, columns, prepared.loc[ids])
        return _as_frame(names, columns, self._features(applications))

    def _features(self, applications: pl.DataFrame) -> pd.DataFrame:
        apps = applications.to_pandas()
        if "applied_at" in apps.columns and not pd.api.types.is_datetime64_any_dtype(
            apps["applied_at"]
        ):
            try:
                apps["applied_at"] = pd.to_datetime(apps["applied_at"])
            except (ValueError, TypeError) as exc:
                raise DataError(f"applications: column 'applied_at' is not a time ({exc})") from exc
        n_hist = len(self._history)
        if n_hist:
            hist = pd.DataFrame(self._history)
            hist["applied_at"] = pd.to_datetime(hist["applied_at"])
            apps = pd.concat([hist, apps], ignore_index=True)
        return fraud_features(apps, point_in_time=True).iloc[n_hist:]

    def fingerprint(self) -> str:
        return f"fraud:{self.seen}:{self._digest.hexdigest()}"


def _as_frame(names: Sequence[str], columns: Sequence[str], feats: pd.DataFrame) -> pl.DataFrame:
    data = {}
    for name, column in zip(names, columns, strict=True):
        values = feats[column]
        data[name] = values.astype(object).where(values.notna(), None).tolist()
    return pl.DataFrame(data, strict=False)


def _stamp(value: Any) -> pd.Timestamp | None:
    """``value`` as a naive UTC timestamp, or None when it is no time (the state says why)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp
