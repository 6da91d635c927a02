"""``label_models``: models that predict a label field from expression, one row per version.

Revision ID: 0013
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_models",
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("tax_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("library_version", sa.String(32), nullable=False),
        sa.Column("n_samples", sa.Integer, nullable=False),
        sa.Column("n_classes", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_label_models"),
    )
    op.create_index("ix_label_models_field_tax_id", "label_models", ["field", "tax_id"])


def downgrade() -> None:
    op.drop_index("ix_label_models_field_tax_id", table_name="label_models")
    op.drop_table("label_models")
