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

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
    bind = op.get_bind()
    keys = sa.table("api_keys", sa.column("id", sa.Integer), sa.column("key_id", sa.String))
    for (key,) in bind.execute(sa.select(keys.c.id)).all():
        new_id = "k_" + secrets.token_hex(8)
        bind.execute(sa.update(keys).where(keys.c.id == key).values(key_id=new_id))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("key_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint("uq_api_keys_key_id", ["key_id"])
        batch_op.drop_column("prefix")
    session = Session(bind=bind)
    try:
        vouch_existing(session, revision)
        session.flush()
    finally:
        session.close()


def downgrade() -> None:
    # the prefixes are gone for good: downgraded keys show an empty one
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prefix", sa.String(length=12), nullable=False, server_default="")
        )
        batch_op.drop_constraint("uq_api_keys_key_id", type_="unique")
        batch_op.drop_column("key_id")
