"""ID-card cross-checks: one row per image checked for an application (chained into the ledger;
nothing of the image but a keyed hash, none of the values read from the card).

Revision ID: 0006_id_card_checks
Revises: 0005_fraud_links
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_id_card_checks"
down_revision = "0005_fraud_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "id_card_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("image_hmac", sa.String(length=64), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.String(length=20), nullable=True),
        sa.Column("checked_by", sa.String(length=100), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_id_card_checks_application_id", "id_card_checks", ["application_id"])


def downgrade() -> None:
    op.drop_index("ix_id_card_checks_application_id", table_name="id_card_checks")
    op.drop_table("id_card_checks")
