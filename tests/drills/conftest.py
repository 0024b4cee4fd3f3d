"""The drills' fast versions: the real service, tiny counts (``make drills`` runs them in full).

``kind`` runs a drill on SQLite and on PostgreSQL (skipped when the server is unreachable,
except under ``CI=true``, as ``db_url`` does); the drills make their own databases.
"""

from __future__ import annotations

import os

import pytest
from drills._common import PG_URL, postgres_problem


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        require_postgres()
    return str(request.param)


def require_postgres() -> None:
    """Skip (fail under ``CI=true``) when PostgreSQL is unreachable."""
    problem = postgres_problem()
    if problem is None:
        return
    message = f"PostgreSQL at {PG_URL} is unreachable ({problem})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
