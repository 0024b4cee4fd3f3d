"""Shared fixtures: ``db_url`` runs a test on SQLite and on PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (trust authentication, database ``test``), or
``CREDITFACTORY_TEST_POSTGRES_URL``. Each test gets its own schema, dropped afterwards. When the
server is unreachable the PostgreSQL variants skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

PG_URL = os.environ.get(
    "CREDITFACTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_PG_STATE: dict[str, str | None] = {}


def _pg_problem() -> str | None:
    """Why PostgreSQL cannot be used (``None`` when it can); checked once per session."""
    if "problem" not in _PG_STATE:
        try:
            import psycopg

            dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn, connect_timeout=3) as conn:
                conn.execute("select 1")
            _PG_STATE["problem"] = None
        except Exception as exc:  # any failure to connect means "not available"
            _PG_STATE["problem"] = f"{type(exc).__name__}: {exc}".strip()
    return _PG_STATE["problem"]


def _drop_schema(schema: str, test: str) -> None:
    import psycopg

    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '60s'")  # a connection left open fails, not hangs
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    except psycopg.Error as exc:
        raise RuntimeError(f"dropping the schema {schema} of {test} failed: {exc}") from exc


@pytest.fixture(scope="session")
def drop_schema_later() -> Iterator[Callable[[str, str], None]]:
    """``drop(schema, test)`` drops a PostgreSQL schema in a background thread (the server
    works while the next test runs); every drop has finished, and the first failure (naming
    the test) is raised, when the session ends."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="drop-schema")
    drops: list[Future[None]] = []
    yield lambda schema, test: drops.append(pool.submit(_drop_schema, schema, test))
    pool.shutdown(wait=True)
    for drop in drops:
        drop.result()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    drop_schema_later: Callable[[str, str], None],
) -> Iterator[str]:
    """A URL to an empty database: a fresh SQLite file, or a fresh PostgreSQL schema (dropped
    after the test, in the background)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'cf.db'}"
        return
    problem = _pg_problem()
    if problem is not None:
        message = (
            f"PostgreSQL at {PG_URL} is unreachable ({problem}); start it (trust auth, database "
            "'test') or set CREDITFACTORY_TEST_POSTGRES_URL to run these tests"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    import psycopg

    schema = f"cf_test_{uuid.uuid4().hex[:12]}"
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        drop_schema_later(schema, request.node.nodeid)


SERVICE_STRATEGY = """
strategy: service_test
version: "{version}"
key: application_id
inputs:
  application_id: str
  id_number: str
  phone: {{type: str, nullable: true}}
  age: {{type: int, min: 18, max: 100}}
  monthly_income: {{type: float, min: 0, max: 10000000}}
  bureau_monthly_debt: {{type: float, min: 0, max: 10000000}}
  inquiries_3m: {{type: int, min: 0, max: 1000}}
  term_requested: {{type: int, min: 1, max: 60}}
params:
  multiple: {multiple}
lists:
  blacklist: {{provided: true}}
  greylist: {{provided: true}}
  whitelist: {{provided: true}}
flow:
  - lists:
      name: service_lists
      checks:
        - {{field: id_number, list: blacklist, action: decline, reason: LIST_BLACKLIST_ID_NUMBER}}
        - {{field: phone, list: blacklist, action: decline, reason: LIST_BLACKLIST_PHONE}}
        - {{field: id_number, list: greylist, action: refer, reason: LIST_GREYLIST_ID_NUMBER}}
        - {{field: phone, list: greylist, action: refer, reason: LIST_GREYLIST_PHONE}}
        - {{field: id_number, list: whitelist, action: none}}
        - {{field: phone, list: whitelist, action: none}}
  - rules:
      name: knockouts
      rules:
        - {{name: low_income, when: "monthly_income < 3000", action: decline, reason: KO_INCOME}}
        - {{name: debt, when: "bureau_monthly_debt > monthly_income * 0.6", action: decline, reason: KO_DTI}}
        - {{name: shopping, when: "inquiries_3m >= 4", action: refer, reason: RF_INQUIRIES}}
  - assign:
      name: offer
      set:
        limit: "min(monthly_income * multiple, 50000)"
        apr: "if(inquiries_3m >= 2, 0.21, 0.15)"
        term: "term_requested"
"""  # noqa: E501


@pytest.fixture
def strategy_yaml() -> str:
    """A small strategy using only rules and assignments (version 1, limit multiple 3)."""
    return SERVICE_STRATEGY.format(version="1", multiple=3)


@pytest.fixture
def strategy_yaml_v2() -> str:
    """The same strategy, version 2, with a limit multiple of 2."""
    return SERVICE_STRATEGY.format(version="2", multiple=2)


@pytest.fixture
def good_application() -> dict[str, object]:
    """An application the test strategy approves."""
    return {
        "application_id": "A1",
        "id_number": "110101199001011234",
        "phone": "13800000000",
        "age": 35,
        "monthly_income": 10000.0,
        "bureau_monthly_debt": 1000.0,
        "inquiries_3m": 0,
        "term_requested": 12,
    }


MONITOR_FEATURES = ["inquiries_other_1m", "utilisation", "loan_apps_installed", "third_party_score"]


@pytest.fixture(scope="session")
def monitored_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(book folder, scorecard folder)``, built once a session for every test that monitors a
    book (tests/cli's monitor tests, the dashboard's book pages): a 12,000-application twin
    over 2024 with a macro shock from September 2024 (drift 1.0) and a scorecard on
    ``MONITOR_FEATURES`` fitted on the applications before May 2024 (3-month window, bad at 1
    month past due); a year of history, so that the collection scores can be fitted too.
    Read-only: a test that changes it copies it first."""
    import datetime as dt
    import warnings

    import numpy as np

    from creditfactory.data import SimulationConfig, simulate
    from creditfactory.monitoring import matured_outcomes
    from creditfactory.scorecard import Scorecard

    root = tmp_path_factory.mktemp("monitored")
    cfg = SimulationConfig(
        n_applications=12_000, seed=2, months_of_history=12, max_months_on_book=8,
        macro_shock_month=dt.date(2024, 9, 1), approval_rate=0.9, fraud_rate=0.005,
        macro_shock_drift=1.0, n_campaigns=1,
    )  # fmt: skip
    book = simulate(cfg)
    book.write(root / "book")
    apps = book.observable("applications")
    y = matured_outcomes(book.loans, book.performance, window=3, bad_bucket=1)
    y = y.reindex(apps["application_id"]).to_numpy()
    dev = (apps["applied_at"] < "2024-05-01").to_numpy() & ~np.isnan(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc = Scorecard(selection=None, min_bin_n_bad=10, max_iv_pvalue=0.05)
        sc.fit(apps.loc[dev, MONITOR_FEATURES], y[dev].astype(int))
    sc.save(root / "model")
    return root / "book", root / "model"
