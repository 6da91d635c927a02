"""``record_conflicts``: what an import refused to replace and why (an incomplete data table
that would have replaced a more complete stored one), shown with the record.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_conflicts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_record_conflicts"),
    )
    op.create_index("ix_record_conflicts_type_key", "record_conflicts", ["type", "key"])


def downgrade() -> None:
    op.drop_index("ix_record_conflicts_type_key", table_name="record_conflicts")
    op.drop_table("record_conflicts")
