"""tamper: change the database behind the service's back; ``audit verify`` must catch and name it.

A database is filled through the real service in two phases (keys, strategies and
activations, models, list entries, applications, decisions, reviews, the ledger); a copy is
kept after the first phase. Then, one case at a time on a fresh copy of the filled database,
every table is tampered with directly in SQL, the cases written from the table's columns (so a
new table is covered without a new case):

- ``<table>.<column> altered``: the first row's value changed (to another row's value when
  there is one, e.g. a role to ``admin``; else a nearby value of the same type);
- ``<table> row deleted`` (the newest), ``<table> row inserted`` (a copy of the newest with a
  new key), ``<table> rows reordered`` (two rows' contents swapped);
- ``<table> rolled back`` (the table put back as it was after the first phase), and the whole
  database rolled back (the old copy restored) and its tail cut in place.

``creditfactory audit verify --database-url URL`` (the command, in this process) must exit
non-zero (**caught**) and its report must name the table or the record (**named**). The
service filling the database and ``audit verify`` are given an anchor file outside the database
(``CREDITFACTORY_ANCHOR_FILE``, signed with ``CREDITFACTORY_ANCHOR_KEY``; the service anchors
the head at start-up and at shutdown), without which a database rolled back whole or cut at
its tail looks intact.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from drills._common import (
    audit_verify,
    database,
    kinds,
    pg_dsn,
    populate,
    result,
    say,
    schema_url,
    start,
    workdir,
)

SKIP_TABLES = {"alembic_version"}
ANCHOR_KEY = secrets.token_urlsafe(32)


# ----------------------------------------------------------------------------- copies


class Copies:
    """Snapshots of a database and fresh working copies of them (SQLite files or PostgreSQL
    schemas cloned table by table)."""

    def __init__(self, kind: str, url: str, tmp: Path):
        self.kind, self.url, self.tmp = kind, url, tmp
        self.made: list[str] = []

    def snapshot(self, name: str) -> str:
        if self.kind == "sqlite":
            path = self.tmp / f"{name}.db"
            src = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            dst = sqlite3.connect(path)
            src.backup(dst)
            src.close()
            dst.close()
            return str(path)
        schema = f"cf_drill_{name}_{uuid.uuid4().hex[:8]}"
        self._clone(_schema_of(self.url), schema)
        return schema

    def fresh(self, snap: str) -> str:
        """A working copy of snapshot ``snap``: its URL."""
        if self.kind == "sqlite":
            path = self.tmp / f"case-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(snap, path)
            return f"sqlite:///{path}"
        schema = f"cf_drill_case_{uuid.uuid4().hex[:8]}"
        self._clone(snap, schema)
        return schema_url(schema)

    def restore(self, snap: str, url: str) -> None:
        """Put snapshot ``snap`` in place of the database at ``url`` (an old copy restored)."""
        if self.kind == "sqlite":
            shutil.copyfile(snap, url.removeprefix("sqlite:///"))
            return
        import psycopg

        target = _schema_of(url)
        with psycopg.connect(pg_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{target}" CASCADE')
        self.made.remove(target)
        self._clone(snap, target)

    def _clone(self, source: str, target: str) -> None:
        import psycopg

        with psycopg.connect(pg_dsn(), autocommit=True) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s", (source,)
                )
            ]
            conn.execute(f'CREATE SCHEMA "{target}"')
            for t in tables:
                conn.execute(f'CREATE TABLE "{target}"."{t}" (LIKE "{source}"."{t}" INCLUDING ALL)')
                conn.execute(f'INSERT INTO "{target}"."{t}" SELECT * FROM "{source}"."{t}"')
        self.made.append(target)

    def drop(self, url_or_schema: str) -> None:
        if self.kind == "sqlite":
            Path(url_or_schema.removeprefix("sqlite:///")).unlink(missing_ok=True)
            return
        import psycopg

        schema = _schema_of(url_or_schema) if "://" in url_or_schema else url_or_schema
        with psycopg.connect(pg_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if schema in self.made:
            self.made.remove(schema)

    def close(self) -> None:
        for schema in list(self.made):
            self.drop(schema)


def _schema_of(url: str) -> str:
    return url.rsplit("search_path%3D", 1)[1].split("&")[0]


# ----------------------------------------------------------------------------- tables


@contextmanager
def _engine(url: str) -> Iterator[Any]:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def tables(url: str) -> list[Any]:
    """The creditfactory tables (its models' metadata), plus any other table found in the
    database (reflected), so a table added later is covered without a new case."""
    from sqlalchemy import MetaData

    from creditfactory.store import Base

    known = [t for t in Base.metadata.sorted_tables if t.name not in SKIP_TABLES]
    reflected = MetaData()
    with _engine(url) as engine:
        reflected.reflect(engine)
    extra = [
        t
        for name, t in reflected.tables.items()
        if name not in SKIP_TABLES and name not in Base.metadata.tables
    ]
    return known + extra


def _rows(conn: Any, table: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    pk = list(table.primary_key.columns)
    return [dict(r._mapping) for r in conn.execute(select(table).order_by(*pk))]


def _unique_columns(table: Any) -> set[str]:
    from sqlalchemy import UniqueConstraint

    out = {c.name for c in table.columns if c.unique}
    for cons in table.constraints:
        if isinstance(cons, UniqueConstraint):
            out |= {c.name for c in cons.columns}
    for index in table.indexes:
        if index.unique:
            out |= {c.name for c in index.columns}
    return out


def nearby(value: Any, column: Any) -> Any:
    """A value of the same type as ``value``, different from it, that the column can hold."""
    from sqlalchemy import JSON, DateTime, Float, Integer

    if value is None:
        t = column.type
        if isinstance(t, DateTime):
            return datetime(2020, 1, 1)
        if isinstance(t, Integer):
            return 1
        if isinstance(t, Float):
            return 1.0
        if isinstance(t, JSON):
            return {"tampered": True}
        return "x"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 2 + 1
    if isinstance(value, datetime):
        return value - timedelta(days=1)
    if isinstance(value, dict):
        if value:
            k = sorted(value)[0]
            return {**value, k: nearby(value[k], column) if value[k] is not None else "x"}
        return {"tampered": True}
    if isinstance(value, list):
        return [nearby(value[0], column), *value[1:]] if value else ["X"]
    if isinstance(value, str):
        if value[:1] in "{[":  # JSON text (a ledger payload): change it and keep it JSON
            try:
                doc = json.loads(value)
            except ValueError:
                doc = None
            if doc is not None:
                return json.dumps(nearby(doc, column), sort_keys=True, separators=(",", ":"))
        if not value:
            return "x"
        last = value[-1]
        swap = "1" if last == "0" else "0" if last.isdigit() else "b" if last == "a" else "a"
        return value[:-1] + swap
    return value


def _changed(value: Any, column: Any, others: list[Any], unique: bool) -> Any:
    if unique and isinstance(value, int) and not isinstance(value, bool):
        return max([value, *[o for o in others if isinstance(o, int)]]) + 1
    if not unique:
        for other in others:
            if other is not None and other != value and type(other) is type(value):
                return other
    return nearby(value, column)


# ----------------------------------------------------------------------------- cases

Tamper = Callable[[Any], str]  # on a connection, returns what was done (one line)


def cases(url: str, early: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str, Tamper]]:
    """``(name, table, tamper)`` for every table of the database at ``url``."""
    from sqlalchemy import delete, insert, update

    out: list[tuple[str, str, Tamper]] = []
    with _engine(url) as engine, engine.connect() as conn:
        snapshot = {t.name: (t, _rows(conn, t)) for t in tables(url)}
    for name, (table, rows) in snapshot.items():
        pk = [c.name for c in table.primary_key.columns]
        unique = _unique_columns(table)

        def where(row: dict[str, Any], table: Any = table, pk: list[str] = pk) -> Any:
            from sqlalchemy import and_

            return and_(*[table.c[k] == row[k] for k in pk])

        if not rows:
            out.append((f"{name}: no rows to tamper with", name, lambda c: "skip"))
            continue
        first, newest = rows[0], rows[-1]
        for col in table.columns:
            if col.name in pk:
                continue
            new = _changed(
                first[col.name], col, [r[col.name] for r in rows[1:]], col.name in unique
            )

            def alter(
                c: Any,
                t: Any = table,
                row: dict = first,
                col: Any = col,
                new: Any = new,
                w: Any = where,
            ) -> str:
                c.execute(update(t).where(w(row)).values({col.name: new}))
                return f"UPDATE {t.name} SET {col.name} = {str(new)[:60]!r} WHERE {_pk(row, t)}"

            out.append((f"{name}.{col.name} altered", name, alter))

        def remove(c: Any, t: Any = table, row: dict = newest, w: Any = where) -> str:
            c.execute(delete(t).where(w(row)))
            return f"DELETE FROM {t.name} WHERE {_pk(row, t)}"

        out.append((f"{name} row deleted", name, remove))

        def add(
            c: Any,
            t: Any = table,
            row: dict = newest,
            rows: list = rows,
            pk: list = pk,
            unique: set = unique,
        ) -> str:
            copy = dict(row)
            for k in pk:
                if isinstance(copy[k], int):
                    copy[k] = max(r[k] for r in rows) + 1
            for k in unique - set(pk):
                copy[k] = nearby(copy[k], t.c[k])
            c.execute(insert(t).values(copy))
            return f"INSERT INTO {t.name} a copy of {_pk(row, t)} as {_pk(copy, t)}"

        out.append((f"{name} row inserted", name, add))
        if len(rows) >= 2:
            a, b = rows[-2], rows[-1]

            def swap(
                c: Any,
                t: Any = table,
                a: dict = a,
                b: dict = b,
                pk: list = pk,
                unique: set = unique,
                w: Any = where,
            ) -> str:
                rest = [k for k in a if k not in pk]
                parked = {k: _parked(b[k]) for k in rest if k in unique}
                if parked:  # move b's unique values aside first
                    c.execute(update(t).where(w(b)).values(parked))
                c.execute(update(t).where(w(a)).values({k: b[k] for k in rest}))
                c.execute(update(t).where(w(b)).values({k: a[k] for k in rest}))
                return f"swapped the contents of {_pk(a, t)} and {_pk(b, t)} in {t.name}"

            out.append((f"{name} rows reordered", name, swap))
        old = early.get(name)
        if old is not None and old != rows:

            def back(c: Any, t: Any = table, old: list = old) -> str:
                c.execute(delete(t))
                if old:
                    c.execute(insert(t), old)
                return f"{t.name} replaced by its {len(old)} row(s) of the earlier copy"

            out.append((f"{name} rolled back", name, back))
    return out


def _parked(value: Any) -> Any:
    """A value out of the way of a unique column's others (while two rows swap)."""
    if isinstance(value, str):  # same length: the column may hold no more
        return value[:-1] + "~" if value else "~"
    if isinstance(value, int) and not isinstance(value, bool):
        return -value - 1_000_000
    return value


def _pk(row: dict[str, Any], table: Any) -> str:
    return " AND ".join(f"{c.name} = {row[c.name]!r}" for c in table.primary_key.columns)


def names_for(table: str) -> set[str]:
    """Words a report naming ``table`` (or one of its records) would contain."""
    singular = table[:-3] + "y" if table.endswith("ies") else table.removesuffix("s")
    words = {table, singular, table.replace("_", " "), singular.replace("_", " ")}
    for part in table.split("_"):
        part = part[:-3] + "y" if part.endswith("ies") else part.removesuffix("s")
        if len(part) >= 4 and (table.startswith("ledger") or part not in ("entry", "ledger")):
            words.add(part)
    return {w.lower() for w in words}


# ----------------------------------------------------------------------------- the drill


def anchor_env(kind: str, tmp: Path) -> dict[str, str]:
    """The anchor file (outside the database) and its signing key: given to the service that
    fills the database (it anchors the head at start-up and at shutdown) and to ``audit
    verify``, so a rolled-back database or a cut tail can be told from an intact one."""
    return {
        "CREDITFACTORY_ANCHOR_FILE": str(tmp / f"anchors-{kind}.jsonl"),
        "CREDITFACTORY_ANCHOR_KEY": ANCHOR_KEY,
    }


def _fill(kind: str, tmp: Path, url: str, copies: Copies) -> tuple[str, str]:
    """Fill through the real service; snapshots after phase 1 (the service idle: every write
    it acknowledged is committed; SQLite's backup API copies a consistent state) and at the
    end (the service stopped, the head anchored)."""
    svc = start(url, tmp, **anchor_env(kind, tmp))
    try:
        say(f"  {kind}: phase 1 through the service: {len(populate(svc, 1))} writes")
        early = copies.snapshot("early")
        say(f"  {kind}: phase 2 through the service: {len(populate(svc, 2))} writes")
    finally:
        svc.stop()
    return early, copies.snapshot("filled")


def _early_rows(copies: Copies, early: str) -> dict[str, list[dict[str, Any]]]:
    url = copies.fresh(early)
    try:
        with _engine(url) as engine, engine.connect() as conn:
            return {t.name: _rows(conn, t) for t in tables(url)}
    finally:
        copies.drop(url)


def _apply(url: str, kind: str, tamper: Tamper) -> str:
    with _engine(url) as engine, engine.begin() as conn:
        if kind == "postgresql":  # foreign keys off: as an attacker with the owner's rights
            from sqlalchemy import text

            conn.execute(text("SET LOCAL session_replication_role = replica"))
        return tamper(conn)


def drill_database(kind: str, tmp: Path, only: set[str] | None) -> dict[str, Any]:
    outcomes: list[dict[str, Any]] = []
    with database(kind, tmp) as url:
        copies = Copies(kind, url, tmp)
        try:
            anchors = anchor_env(kind, tmp)
            early, filled = _fill(kind, tmp, url, copies)
            base = copies.fresh(filled)
            code, report = audit_verify(base, env=anchors)
            copies.drop(base)
            if code != 0:
                return {"outcomes": [], "error": f"the untouched copy fails audit verify: {report}"}
            say(f"  {kind}: the untouched database verifies: {report[:90]}")
            early_rows = _early_rows(copies, early)
            plan = cases(url, early_rows)
            plan += [
                ("database rolled back to an old copy", "*", lambda c: "restore"),
                ("ledger tail cut in place", "*", lambda c: "cut"),
            ]
            for name, table, tamper in plan:
                if only is not None and name not in only:
                    continue
                if table == "*" or not name.endswith(
                    ("altered", "deleted", "inserted", "reordered", "rolled back")
                ):
                    outcome = _whole(kind, name, copies, early, filled, early_rows, anchors)
                else:
                    work = copies.fresh(filled)
                    try:
                        what = _apply(work, kind, tamper)
                        code, report = audit_verify(work, env=anchors)
                    except Exception as exc:  # the tamper itself failed: say so
                        what = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
                        code, report = -1, ""
                    finally:
                        copies.drop(work)
                    outcome = _judge(kind, name, table, what, code, report)
                if outcome is None:
                    continue
                outcomes.append(outcome)
                mark = (
                    "caught+named"
                    if outcome["named"]
                    else ("caught" if outcome["caught"] else "NOT CAUGHT")
                )
                say(
                    f"    [{mark:>12}] {kind}: {name}: {outcome['did']}"
                    + (f"  ->  {outcome['report'][:110]}" if outcome["caught"] else "")
                )
        finally:
            copies.close()
    return {"outcomes": outcomes}


def _whole(
    kind: str,
    name: str,
    copies: Copies,
    early: str,
    filled: str,
    early_rows: dict[str, list[dict[str, Any]]],
    anchors: dict[str, str],
) -> dict[str, Any] | None:
    if name.endswith("no rows to tamper with"):
        say(f"    [        skip] {kind}: {name}")
        return None
    work = copies.fresh(filled)
    try:
        if name.startswith("database rolled back"):
            copies.restore(early, work)
            what = "the copy taken after phase 1 put in place of the database"
        else:
            from sqlalchemy import delete, insert

            def cut(c: Any) -> str:
                for t in reversed(tables(work)):
                    c.execute(delete(t))
                    rows = early_rows.get(t.name, [])
                    if rows:
                        c.execute(insert(t), rows)
                return "every table cut back to its rows after phase 1 (ledger head included)"

            what = _apply(work, kind, cut)
        code, report = audit_verify(work, env=anchors)
    finally:
        copies.drop(work)
    return _judge(kind, name, "*", what, code, report)


def _judge(kind: str, name: str, table: str, did: str, code: int, report: str) -> dict[str, Any]:
    caught = code not in (0, -1)
    words = names_for(table) if table != "*" else {"anchor", "head", "removed", "rolled", "tail"}
    named = caught and any(w in report.lower() for w in words)
    if code == -1:
        did = f"could not tamper: {did}"
    return {
        "db": kind,
        "case": name,
        "table": table,
        "did": did,
        "exit": code,
        "report": report,
        "caught": caught,
        "named": named,
    }


def run(
    quick: bool = False, databases: list[str] | None = None, only: set[str] | None = None
) -> dict[str, Any]:
    """Every case on every database (``only``: just the cases of these names)."""
    notes: list[str] = []
    todo = databases or kinds(notes)
    say(
        f"tamper drill on {', '.join(todo)}: every table altered (each column), a row deleted, "
        "inserted, rows reordered, tables and the whole database rolled back; audit verify "
        "(the CLI) must exit non-zero and name the table or record"
    )
    outcomes: list[dict[str, Any]] = []
    findings: list[str] = []
    with workdir("tamper") as tmp:
        for kind in todo:
            got = drill_database(kind, tmp, only)
            if got.get("error"):
                findings.append(f"{kind}: {got['error']}")
            outcomes += got["outcomes"]
    passed_cases = [o for o in outcomes if o["named"]]
    missed = [o for o in outcomes if not o["named"]]
    for o in missed:
        state = "caught but not named" if o["caught"] else "not caught"
        findings.append(f"{o['db']}: {o['case']} {state} ({o['did'][:120]})")
    say(
        f"  {len(passed_cases)} of {len(outcomes)} cases caught and named; "
        f"{sum(o['caught'] for o in outcomes)} caught"
    )
    return result(
        "tamper",
        not missed and not any("untouched" in f for f in findings),
        tamper_caught=len(passed_cases),
        tamper_tried=len(outcomes),
        findings=findings,
        figures={"cases": outcomes},
        notes="; ".join(notes),
    )
