"""The ledger vouches for keys, strategies, activations, models, list entries and timestamps;
API keys get a random public ``key_id`` instead of a prefix of their secret.

Existing prefixes are dropped (they were the first 8 characters of each secret, in clear).
Existing rows are vouched for once by ``ledger.migrate`` entries (see
:mod:`creditfactory.store._upgrade`): history before them is only as good as the old rules.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from creditfactory.store._upgrade import vouch_existing

    # plain ALTERs, no table copy: on SQLite (3.35+) a batch copy of api_keys would break the
    # foreign keys of applications
    op.add_column(
        "api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False, server_default=""),
    )
    bind = op.get_bind()
    keys = sa.table("api_keys", sa.column("id", sa.Integer), sa.column("key_id", sa.String))
    for (key,) in bind.execute(sa.select(keys.c.id)).all():
        new_id = "k_" + secrets.token_hex(8)
        bind.execute(sa.update(keys).where(keys.c.id == key).values(key_id=new_id))
    if bind.dialect.name != "sqlite":  # SQLite cannot drop a default without a table copy
        op.alter_column("api_keys", "key_id", server_default=None)
    op.create_index("ix_api_keys_key_id", "api_keys", ["key_id"], unique=True)
    op.drop_column("api_keys", "prefix")
    session = Session(bind=bind)
    try:
        vouch_existing(session, revision)
        session.flush()
    finally:
        session.close()


def downgrade() -> None:
    # the prefixes are gone for good: downgraded keys show an empty one
    op.add_column(
        "api_keys",
        sa.Column("prefix", sa.String(length=12), nullable=False, server_default=""),
    )
    op.drop_index("ix_api_keys_key_id", table_name="api_keys")
    op.drop_column("api_keys", "key_id")
