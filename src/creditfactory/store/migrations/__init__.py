"""Alembic migrations of the creditfactory store (run with :func:`creditfactory.store.migrate`)."""
