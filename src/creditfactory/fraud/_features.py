"""``fraud_features``: every fraud feature of a batch of applications, and its online twin."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError
from creditfactory.fraud._columns import Columns
from creditfactory.fraud._contacts import ContactState, contacts_known_batch
from creditfactory.fraud._identity import applied_seconds, identity_arrays, identity_checks
from creditfactory.fraud._rings import RingState, rings_point_in_time, rings_retro
from creditfactory.fraud._score import score, score_arrays
from creditfactory.fraud._velocity import VelocityState, velocity_batch, velocity_meanings

Progress = Callable[[str, float], None]

REQUIRED: tuple[str, ...] = ("application_id", "applied_at", "id_number")
"""Columns ``fraud_features`` cannot do without; every other input column is optional (a
missing identifier links nothing and counts zero)."""

FEATURES: dict[str, str] = {
    "application_id": "the application",
    "id_valid": "the resident ID number passes format, region, birth-date and check-digit checks",
    "id_problem": "the first ID check that failed (ID_MISSING, ID_FORMAT, ID_REGION, "
    "ID_BIRTH_DATE, ID_CHECK_DIGIT) or null",
    "ring_size": "distinct customers in the application's group (strongly linked applications)",
    "ring_score": "group and weak-link evidence, 0 to 1 (1: a burst of 3+ linked customers)",
    "fraud_flag": "flagged at the recommended threshold (FLAG_THRESHOLD) or invalid ID",
    "fraud_points": "points of every piece of evidence (see _score.py); flag at >= 2.25",
    "fraud_reasons": "reason codes behind a flag, ';'-joined, or null",
    "ring_apps": "applications in the group",
    "ring_burst": "group's customers who first applied within 7 days of this application",
    "ring_invalid_ids": "applications in the group with an invalid ID number",
    "ring_known_bad": "other members of the group known bad before this application (from "
    "the optional column known_bad_at: when a member was declined as fraud or missed its first "
    "payment); retro: all of them",
    "ring_span_days": "days from the group's first application to this one (retro: to its last)",
    "ring_group": "a label of the group (the same for every member)",
    "id_age": "age by the ID number's birth date at application (-1 if unreadable)",
    "id_age_mismatch": "declared age differs from id_age by more than a year",
    "id_gender_mismatch": "declared gender differs from the ID number's sequence parity",
    "id_underage": "the ID number's holder is under 18",
    "phone_carrier": "carrier by mobile prefix (china_mobile ... virtual, unknown, invalid)",
    "gps_city_mismatch": "GPS city differs from the declared city",
    "ip_city_mismatch": "IP city (column ip_city, when given) differs from the declared city",
    "fast_form": "form filled in under 120 seconds",
    "night": "applied between 00:00 and 06:00",
    "identity_reasons": "identity reason codes that fired, ';'-joined, or null",
    "identity_hits": "how many identity reason codes fired",
    "contacts_known_applicants": "declared contacts (emergency_contact_phone, "
    "emergency_contacts) that are the phone of another customer's earlier application (retro: "
    "of any other customer's)",
    **velocity_meanings(),
}
"""Every output column of :func:`fraud_features` with its meaning."""

_HEAD = ("application_id", "id_valid", "id_problem", "ring_size", "ring_score", "fraud_flag")


def _validate(applications: pd.DataFrame) -> None:
    if not isinstance(applications, pd.DataFrame):
        raise DataError(
            f"applications: expected a pandas DataFrame, got {type(applications).__name__}"
        )
    missing = [c for c in REQUIRED if c not in applications.columns]
    if missing:
        raise DataError(f"applications: required column(s) {missing} missing")
    ids = applications["application_id"]
    if ids.isna().any():
        raise DataError("applications: column 'application_id' has empty values")
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise DataError(f"applications: column 'application_id' repeats {dup!r}")


def fraud_features(
    applications: pd.DataFrame,
    *,
    point_in_time: bool = True,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Identity, velocity, group and score features of every application.

    Parameters
    ----------
    applications : pandas.DataFrame
        One row per application: ``application_id``, ``applied_at`` and ``id_number`` at
        least; ``customer_id``, ``device_id``, ``phone``, ``emergency_contact_phone``,
        ``ip_address``, ``address_id``, ``age``, ``gender``, ``city``, ``gps_city``,
        ``ip_city``, ``form_fill_seconds``, ``contacts_blacklisted_share``,
        ``loan_apps_installed``, ``contact_list_size`` and ``emergency_contacts`` (a list of
        declared contact phones) are used when present.
    point_in_time : bool, default True
        Use, for each application, only the applications that arrived before it (as an online
        decision would); False looks at the whole history (investigation, retro-scans).
    progress : callable, optional
        ``progress(step, fraction_done)`` as the work advances (the CLI draws a bar with it).

    Returns
    -------
    pandas.DataFrame
        One row per application in the input's order, ``application_id`` first; the columns
        are documented in :data:`FEATURES`.

    Examples
    --------
    >>> apps = pd.DataFrame({
    ...     "application_id": ["A1", "A2", "A3"],
    ...     "applied_at": pd.to_datetime(["2024-03-01 10:00", "2024-03-01 11:00",
    ...                                   "2024-03-02 09:00"]),
    ...     "customer_id": ["C1", "C2", "C3"],
    ...     "id_number": ["11010519491231002X", "110105194912310021", "440106196211290339"],
    ...     "device_id": ["D1", "D1", "D1"],
    ... })
    >>> fraud_features(apps)[["id_valid", "ring_size", "fraud_flag"]].to_numpy().tolist()
    [[True, 1, False], [False, 2, True], [True, 3, True]]
    """
    _validate(applications)
    report = progress or (lambda step, done: None)
    report("identity", 0.0)
    t_raw = applied_seconds(applications)
    order = np.argsort(t_raw, kind="stable")
    frame = applications.iloc[order].reset_index(drop=True)
    t = t_raw[order]
    ident = identity_checks(frame)
    id_valid = ident["id_valid"].to_numpy(bool)
    report("velocity", 0.1)
    vel = velocity_batch(frame, t, point_in_time=point_in_time)
    report("groups", 0.3)
    if point_in_time:

        def tick(done: float) -> None:
            report("groups", 0.3 + 0.6 * done)

        rings = rings_point_in_time(frame, t, id_valid, progress=tick)
    else:
        rings = rings_retro(frame, t, id_valid)
    report("score", 0.9)
    feats = pd.concat([ident, rings, vel], axis=1)
    scored = score(frame, feats)
    out = pd.concat([frame[["application_id"]], feats, scored], axis=1)
    out["contacts_known_applicants"] = contacts_known_batch(frame, point_in_time=point_in_time)
    rest = [c for c in FEATURES if c not in _HEAD and c in out.columns]
    out = out[[*_HEAD, *rest]]
    result = out.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    result.index = applications.index
    report("done", 1.0)
    return result


class FraudState:
    """The online form of :func:`fraud_features` at a point in time: feed applications in
    arrival order, get each one's features (the same values the batch gives that row; the
    group label is the state's own).

    >>> state = FraudState()
    >>> row = {"application_id": "A1", "applied_at": "2024-03-01 10:00",
    ...        "id_number": "11010519491231002X", "device_id": "D1"}
    >>> state.update(row)["ring_size"]
    1
    """

    def __init__(self) -> None:
        self.velocity = VelocityState()
        self.rings = RingState()
        self.contacts = ContactState()

    def update(self, application: Mapping[str, Any]) -> dict[str, Any]:
        """All features of ``application`` (column -> value) from those seen before it."""
        missing = [c for c in REQUIRED if c not in application]
        if missing:
            raise DataError(f"application: required field(s) {missing} missing")
        if application["application_id"] is None:
            raise DataError("application: field 'application_id' is empty")
        stamp = pd.Timestamp(application["applied_at"]) if _is_time(application) else None
        if stamp is None or pd.isna(stamp):
            raise DataError("application: field 'applied_at' is not a time")
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        t = int(stamp.value // 1_000_000_000)
        cols = Columns(application)
        ident = identity_arrays(cols, np.array([t], dtype=np.int64))
        vel = self.velocity.update(application, t=t)
        bad_at = known_bad_seconds(application)
        ring = self.rings.update(
            application, t=t, id_valid=bool(ident["id_valid"][0]), known_bad_at=bad_at
        )
        feats: dict[str, Any] = {**ident, **{c: np.array([v]) for c, v in {**vel, **ring}.items()}}
        scored = score_arrays(cols, feats)
        row: dict[str, Any] = {"application_id": application["application_id"]}
        row.update({c: _scalar(v[0]) for c, v in feats.items()})
        row.update({c: _scalar(v[0]) for c, v in scored.items()})
        row["contacts_known_applicants"] = self.contacts.update(application)
        return {c: row[c] for c in FEATURES if c in row}


def _is_time(application: Mapping[str, Any]) -> bool:
    try:
        pd.Timestamp(application["applied_at"])
    except (ValueError, TypeError):
        return False
    return True


def _scalar(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, str) else value


def known_bad_seconds(application: Mapping[str, Any]) -> int | None:
    """The optional ``known_bad_at`` of one application as UTC seconds (None when absent);
    :class:`DataError` naming the field when it is not a time."""
    bad = application.get("known_bad_at")
    if bad is None or (isinstance(bad, float) and np.isnan(bad)) or pd.isna(bad):
        return None
    try:
        stamp = pd.Timestamp(bad)
    except (ValueError, TypeError) as exc:
        raise DataError(f"application: 'known_bad_at' is not a time ({exc})") from exc
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.value // 1_000_000_000)
