"""Alembic environment: runs on the connection handed over by ``creditfactory.store.migrate``
(or on ``sqlalchemy.url`` when Alembic's own command line is used).

Importing this module outside an Alembic run (doctest collection, say) does nothing.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import engine_from_config, pool

from creditfactory.store._tables import Base

target_metadata = Base.metadata


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Run the migrations online, on the handed-over connection or a fresh engine."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        _run(conn)


def _in_alembic() -> bool:
    try:
        context.config  # noqa: B018 - raises outside an Alembic run
    except AttributeError:
        return False
    return True


if _in_alembic():
    main()
