"""Fraud links: each decided application's keyed-hash identifiers, arrival time and ID validity,
written with its decision, so that every engine process's fraud history sees every decision.

Revision ID: 0005_fraud_links
Revises: 0004_loans
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_fraud_links"
down_revision = "0004_loans"
branch_labels = None
depends_on = None

IDENTIFIERS = ("customer", "device", "phone", "contact", "id_number", "ip", "subnet", "address")


def upgrade() -> None:
    op.create_table(
        "fraud_links",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("t", sa.BigInteger(), nullable=False),
        sa.Column("id_valid", sa.Boolean(), nullable=False),
        sa.Column("known_bad_at", sa.BigInteger(), nullable=True),
        *(sa.Column(name, sa.String(length=64), nullable=True) for name in IDENTIFIERS),
    )


def downgrade() -> None:
    op.drop_table("fraud_links")
