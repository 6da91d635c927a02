"""GEO-generated platform annotations (``GPLxxx.annot``), one per platform.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annotations",
        sa.Column("platform_key", sa.String(255), nullable=False),
        sa.Column("annotation_date", sa.String(64), nullable=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("table_ref", sa.String(80), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform_key", name="pk_annotations"),
    )


def downgrade() -> None:
    op.drop_table("annotations")
