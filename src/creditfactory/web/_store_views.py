"""What the store-backed pages show, read with aggregate queries (no metric is recomputed here:
counts and sums of stored decisions, grouped in the database)."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import func, select
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


def split_names(source: str) -> list[str]:
    """The names of the champion/challenger splits in a strategy's YAML source (at any depth).

    Examples
    --------
    >>> split_names("flow: [{split: {name: cc, arms: []}}]")
    ['cc']
    """
    try:
        doc = yaml.safe_load(source)
    except yaml.YAMLError:
        return []
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            split = node.get("split")
            if isinstance(split, dict) and isinstance(split.get("name"), str):
                out.append(split["name"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return out


# the arms' counts so far, per store and version: decisions are only ever added (never updated
# or deleted), so each request reads only the decisions after the last one counted
# (keyed on the store's engine, so that two stores never share counts)
_Counts = dict[tuple[str, str], dict[str, float]]
_arm_counts: weakref.WeakKeyDictionary[Any, dict[tuple[int, str], tuple[int, _Counts]]] = (
    weakref.WeakKeyDictionary()
)
_arm_lock = threading.Lock()


def arms(session: Session, version: StrategyVersion) -> list[dict[str, Any]]:
    """Decisions of ``version`` by champion/challenger arm (the engine's trace records
    ``<split>:<arm>`` for each application that reached the split).

    The counts are kept between requests and brought up to date with the decisions stored
    since (by id), so a page reads each decision's trace once, not on every request."""
    names = split_names(version.source)
    if not names:
        return []
    prefixes = tuple(f"{n}:" for n in names)
    key = (version.id, version.sha256)
    with _arm_lock:
        known = _arm_counts.setdefault(session.get_bind(), {})
        last, counts = known.get(key, (0, {}))
        counts = {k: dict(v) for k, v in counts.items()}
        rows = session.execute(
            select(DecisionRecord.id, DecisionRecord.trace, DecisionRecord.decision,
                   DecisionRecord.limit)
            .where(DecisionRecord.strategy_id == version.id, DecisionRecord.id > last)
            .order_by(DecisionRecord.id)
        )  # fmt: skip
        for row_id, trace, decision, limit in rows:
            last = max(last, int(row_id))
            for step in trace or ():
                if isinstance(step, str) and step.startswith(prefixes):
                    split, arm = step.split(":", 1)
                    c = counts.setdefault((split, arm), {"decisions": 0, "amount": 0.0})
                    c["decisions"] += 1
                    c[decision] = c.get(decision, 0) + 1
                    if decision == "approve" and limit is not None:
                        c["amount"] += float(limit)
        known[key] = (last, counts)
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
