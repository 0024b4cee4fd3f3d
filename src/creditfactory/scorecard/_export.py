"""Exports of a fitted scorecard that need no Python: a SQL CASE expression and a JSON spec."""

from __future__ import annotations

from typing import Any

from creditfactory._schema import input_schema_of
from creditfactory.scorecard._scorecard import Scorecard

__all__ = ["to_scoring_spec", "to_sql"]


def _q_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _q_str(v: str) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def _num(v: float) -> str:
    return repr(float(v))


def to_sql(sc: Scorecard, alias: str = "score") -> str:
    """A SQL expression summing the points of every characteristic (ANSI SQL ``CASE``).

    Missing values and, for categorical characteristics, unseen categories take the missing
    bin's points, as in Python scoring.
    """
    parts = []
    for f in sc.selected_features_:
        t = sc.binning_tables_[f]
        pts = sc.bin_points_[f]
        col = _q_ident(f)
        whens = [f"WHEN {col} IS NULL THEN {_num(pts[t.missing_bin])}"]
        for k, code in enumerate(t.special_codes):
            lit = _num(code) if t.kind == "numerical" else _q_str(code)
            whens.append(f"WHEN {col} = {lit} THEN {_num(pts[t.n_regular + k])}")
        if t.kind == "numerical":
            for i, s in enumerate(t.splits):
                whens.append(f"WHEN {col} < {_num(s)} THEN {_num(pts[i])}")
            default = _num(pts[t.n_regular - 1])
        else:
            for i, g in enumerate(t.groups):
                items = ", ".join(_q_str(c) for c in g)
                whens.append(f"WHEN {col} IN ({items}) THEN {_num(pts[i])}")
            default = _num(pts[t.missing_bin])
        parts.append("  CASE " + " ".join(whens) + f" ELSE {default} END")
    return "(\n" + "\n  + ".join(parts) + f"\n) AS {_q_ident(alias)}"


def to_scoring_spec(sc: Scorecard) -> dict[str, Any]:
    """A self-contained JSON-ready scoring spec (any language can evaluate it).

    For each characteristic, in order: ``missing_points``, ``special`` (value -> points), and
    either ``upper_edges`` with ``points`` (numeric: the first bin whose edge exceeds the value;
    the last bin otherwise) or ``groups`` with ``points`` (categorical; unseen -> missing).
    ``input`` is the column's schema (its type and the domain it was fitted on).
    ``best_points`` is the reference reason codes use (the best points among bins that held
    training rows, as :meth:`Scorecard.reason_codes`). The score is the sum over
    characteristics; ``scaling`` converts it to a probability:
    ``p_bad = 1 / (1 + exp((score - offset) / factor))``.
    """
    schema = input_schema_of(sc)
    chars = []
    for f in sc.selected_features_:
        t = sc.binning_tables_[f]
        pts = [float(p) for p in sc.bin_points_[f]]
        entry: dict[str, Any] = {
            "name": f,
            "kind": t.kind,
            "code": sc.reason_code_of(f),
            "missing_points": pts[t.missing_bin],
            "special": [
                {"value": code, "points": pts[t.n_regular + k]}
                for k, code in enumerate(t.special_codes)
            ],
            "labels": t.labels(),
            "points": pts[: t.n_regular],
            # reference of reason codes: the best points among bins seen in training
            "best_points": float(sc._best_points(f)),
            # what values it takes: type, categories, range seen (see scorecard._schema)
            "input": schema[f],
        }
        if t.kind == "numerical":
            entry["upper_edges"] = list(t.splits)
        else:
            entry["groups"] = [list(g) for g in t.groups]
        chars.append(entry)
    s = sc.scaling
    return {
        "format": "creditfactory.scoring_spec",
        "format_version": 1,
        "scaling": {
            "base_points": s.base_points,
            "base_odds": s.base_odds,
            "pdo": s.pdo,
            "factor": s.factor,
            "offset": s.offset,
        },
        "characteristics": chars,
    }
