"""What the store-backed pages show, read with aggregate queries (no metric is recomputed here:
counts and sums of stored decisions, grouped in the database)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from creditfactory.store import (
    Activation,
    Application,
    DecisionRecord,
    Review,
    StrategyVersion,
    active_strategy,
)

DECISIONS = ("approve", "refer", "decline")


@dataclass
class Overview:
    """Decisions by day and in total."""

    days: list[str] = field(default_factory=list)
    by_day: dict[str, list[int]] = field(default_factory=dict)  # decision -> count per day
    amount_by_day: list[float] = field(default_factory=list)  # approved limits per day
    totals: dict[str, int] = field(default_factory=dict)
    applications: int = 0
    pending_reviews: int = 0
    overrides: int = 0


def overview(session: Session) -> Overview:
    """Applications, decisions and approved amounts by day of decision."""
    day = func.date(DecisionRecord.decided_at)
    rows = session.execute(
        select(day, DecisionRecord.decision, func.count(), func.sum(DecisionRecord.limit))
        .group_by(day, DecisionRecord.decision)
        .order_by(day)
    ).all()
    out = Overview()
    days = sorted({str(r[0]) for r in rows})
    index = {d: i for i, d in enumerate(days)}
    out.days = days
    out.by_day = {d: [0] * len(days) for d in DECISIONS}
    out.amount_by_day = [0.0] * len(days)
    for d, decision, count, amount in rows:
        i = index[str(d)]
        out.by_day.setdefault(decision, [0] * len(days))[i] += int(count)
        out.totals[decision] = out.totals.get(decision, 0) + int(count)
        if decision == "approve" and amount is not None:
            out.amount_by_day[i] += float(amount)
    out.applications = int(session.execute(select(func.count(Application.id))).scalar_one())
    out.pending_reviews = int(
        session.execute(
            select(func.count(Review.id)).where(Review.status == "pending")
        ).scalar_one()
    )
    out.overrides = int(
        session.execute(
            select(func.count(Review.id))
            .join(DecisionRecord, DecisionRecord.id == Review.decision_id)
            .where(Review.status == "done", Review.outcome != DecisionRecord.decision)
        ).scalar_one()
    )
    return out


@dataclass
class QueueRow:
    review: Review
    decision: DecisionRecord
    external_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)  # the application, as stored


def queue(session: Session, status: str | None, limit: int = 500) -> list[QueueRow]:
    """Reviews (oldest first) with their decisions and applications' external ids."""
    stmt = (
        select(Review, DecisionRecord, Application.external_id)
        .join(DecisionRecord, DecisionRecord.id == Review.decision_id)
        .join(Application, Application.id == DecisionRecord.application_id)
        .order_by(Review.id)
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(Review.status == status)
    return [QueueRow(r, d, e) for r, d, e in session.execute(stmt).all()]


def review_of(session: Session, review_id: int) -> QueueRow | None:
    """One review with its decision, or ``None``."""
    row = session.execute(
        select(Review, DecisionRecord, Application.external_id, Application.payload)
        .join(DecisionRecord, DecisionRecord.id == Review.decision_id)
        .join(Application, Application.id == DecisionRecord.application_id)
        .where(Review.id == review_id)
    ).first()
    return None if row is None else QueueRow(row[0], row[1], row[2], dict(row[3] or {}))


@dataclass
class Strategies:
    active: StrategyVersion | None
    versions: list[dict[str, Any]]
    activations: list[dict[str, Any]]
    arms: list[dict[str, Any]] = field(default_factory=list)


def split_arms(source: str) -> dict[str, list[str]]:
    """The champion/challenger splits in a strategy's YAML source (at any depth), each with the
    names of its arms.

    Examples
    --------
    >>> split_arms("flow: [{split: {name: cc, arms: [{name: a}, {name: b}]}}]")
    {'cc': ['a', 'b']}
    """
    try:
        doc = yaml.safe_load(source)
    except yaml.YAMLError:
        return {}
    out: dict[str, list[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            split = node.get("split")
            if isinstance(split, dict) and isinstance(split.get("name"), str):
                arms = split.get("arms")
                out[split["name"]] = [
                    a["name"]
                    for a in (arms if isinstance(arms, list) else [])
                    if isinstance(a, dict) and isinstance(a.get("name"), str)
                ]
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return out


# the arms' counts so far, per store (its engine: two stores never share counts) and version:
# decisions are only ever added, never updated or deleted, so each request counts only the
# decisions stored since the last one counted
_Counts = dict[tuple[str, str], dict[str, float]]
_arm_counts: weakref.WeakKeyDictionary[Any, dict[tuple[int, str], tuple[int, _Counts]]] = (
    weakref.WeakKeyDictionary()
)
_arm_lock = threading.Lock()
SETTLED = dt.timedelta(seconds=60)  # a decision older than this has committed


def _count_arms(session: Session, version_id: int, steps: list[tuple[str, str]], after: int,
                upto: int, counts: _Counts) -> None:  # fmt: skip
    """Add the decisions ``after < id <= upto`` of the version to ``counts``, one aggregate
    query per arm: the trace (JSON text) holds the step ``"<split>:<arm>"``, quoted as the
    store writes it (so ``cc:a`` never matches ``cc:ab``)."""
    text = cast(DecisionRecord.trace, String)
    for split, arm in steps:
        needle = json.dumps(f"{split}:{arm}")
        rows = session.execute(
            select(DecisionRecord.decision, func.count(), func.sum(DecisionRecord.limit))
            .where(DecisionRecord.strategy_id == version_id, DecisionRecord.id > after,
                   DecisionRecord.id <= upto, text.contains(needle, autoescape=True))
            .group_by(DecisionRecord.decision)
        ).all()  # fmt: skip
        for decision, n, amount in rows:
            c = counts.setdefault((split, arm), {"decisions": 0, "amount": 0.0})
            c["decisions"] += int(n)
            c[decision] = c.get(decision, 0) + int(n)
            if decision == "approve" and amount is not None:
                c["amount"] += float(amount)


def _count_traces(session: Session, version_id: int, prefixes: tuple[str, ...], after: int,
                  upto: int, counts: _Counts) -> None:  # fmt: skip
    """The same counts read trace by trace (arms whose names differ only in case, which a
    database's ``LIKE`` may not tell apart)."""
    rows = session.execute(
        select(DecisionRecord.trace, DecisionRecord.decision, DecisionRecord.limit).where(
            DecisionRecord.strategy_id == version_id,
            DecisionRecord.id > after,
            DecisionRecord.id <= upto,
        )
    )
    for trace, decision, limit in rows:
        for step in trace or ():
            if isinstance(step, str) and step.startswith(prefixes):
                split, arm = step.split(":", 1)
                c = counts.setdefault((split, arm), {"decisions": 0, "amount": 0.0})
                c["decisions"] += 1
                c[decision] = c.get(decision, 0) + 1
                if decision == "approve" and limit is not None:
                    c["amount"] += float(limit)


def arms(session: Session, version: StrategyVersion) -> list[dict[str, Any]]:
    """Decisions of ``version`` by champion/challenger arm (the engine's trace records
    ``<split>:<arm>`` for each application that reached the split).

    Counted in the database (one aggregate per arm), and kept between requests: a request
    counts only the decisions stored since the last one counted."""
    splits = split_arms(version.source)
    if not splits:
        return []
    steps = [(split, arm) for split, names in splits.items() for arm in names]
    key = (version.id, version.sha256)
    folded = {f"{s}:{a}".lower() for s, a in steps}

    def count(after: int, upto: int, counts: _Counts) -> None:
        if len(folded) == len(set(steps)):
            _count_arms(session, version.id, steps, after, upto, counts)
        else:
            _count_traces(session, version.id, tuple(f"{n}:" for n in splits), after, upto,
                          counts)  # fmt: skip

    # kept: the decisions of more than a minute ago (ids are handed out before a transaction
    # commits, so a lower id may still appear for a moment); the last minute's: each request
    settled = dt.datetime.now(dt.UTC) - SETTLED
    mine = DecisionRecord.strategy_id == version.id
    with _arm_lock:
        known = _arm_counts.setdefault(session.get_bind(), {})
        last, kept = known.get(key, (0, {}))
        upto = session.execute(
            select(func.max(DecisionRecord.id)).where(mine, DecisionRecord.decided_at < settled)
        ).scalar_one()
        if upto is not None and upto > last:
            kept = {k: dict(v) for k, v in kept.items()}
            count(last, upto, kept)
            last = int(upto)
            known[key] = (last, kept)
    counts = {k: dict(v) for k, v in kept.items()}
    newest = session.execute(select(func.max(DecisionRecord.id)).where(mine)).scalar_one()
    if newest is not None and newest > last:
        count(last, newest, counts)
    out = []
    for (split, arm), c in sorted(counts.items()):
        n = int(c["decisions"])
        out.append(
            {"split": split, "arm": arm, "decisions": n,
             **{d: int(c.get(d, 0)) for d in DECISIONS},
             "approval_rate": c.get("approve", 0) / n, "amount": c["amount"]}
        )  # fmt: skip
    return out


def strategies(session: Session) -> Strategies:
    """Stored versions with their decision counts (champion and challengers: every version that
    decided), and the activation history."""
    counts: dict[int | None, dict[str, int]] = {}
    for sid, decision, n in session.execute(
        select(DecisionRecord.strategy_id, DecisionRecord.decision, func.count()).group_by(
            DecisionRecord.strategy_id, DecisionRecord.decision
        )
    ).all():
        counts.setdefault(sid, {})[decision] = int(n)
    active = active_strategy(session)
    versions = []
    for row in session.execute(select(StrategyVersion).order_by(StrategyVersion.id)).scalars():
        c = counts.get(row.id, {})
        total = sum(c.values())
        versions.append(
            {
                "id": row.id, "name": row.name, "version": row.version,
                "active": active is not None and active.id == row.id,
                "uploaded_by": row.uploaded_by, "uploaded_at": row.uploaded_at,
                "decisions": total, **{d: c.get(d, 0) for d in DECISIONS},
                "approval_rate": (c.get("approve", 0) / total) if total else None,
            }
        )  # fmt: skip
    history = [
        {"id": a.id, "strategy_id": a.strategy_id, "action": a.action, "actor": a.actor, "at": a.at}
        for a in session.execute(select(Activation).order_by(Activation.id.desc())).scalars()
    ]
    return Strategies(active, versions, history, [] if active is None else arms(session, active))
