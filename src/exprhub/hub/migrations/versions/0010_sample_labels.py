"""``sample_labels``: standardized labels of samples with their evidence;
``sample_label_changes``: every value a relabel changed.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sample_labels",
        sa.Column("sample_key", sa.String(255), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("ontology_id", sa.String(64), nullable=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("span_start", sa.Integer, nullable=False),
        sa.Column("span_end", sa.Integer, nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("labeller_version", sa.String(32), nullable=False),
        sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sample_key", "field", "position", name="pk_sample_labels"),
    )
    op.create_index("ix_sample_labels_field_value", "sample_labels", ["field", "value"])
    op.create_index("ix_sample_labels_field_ontology_id", "sample_labels", ["field", "ontology_id"])
    op.create_table(
        "sample_label_changes",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("sample_key", sa.String(255), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("old_value", sa.Text, nullable=True),
        sa.Column("new_value", sa.Text, nullable=True),
        sa.Column("old_version", sa.String(32), nullable=True),
        sa.Column("new_version", sa.String(32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sample_label_changes"),
    )
    op.create_index("ix_sample_label_changes_sample_key", "sample_label_changes", ["sample_key"])


def downgrade() -> None:
    op.drop_index("ix_sample_label_changes_sample_key", table_name="sample_label_changes")
    op.drop_table("sample_label_changes")
    op.drop_index("ix_sample_labels_field_ontology_id", table_name="sample_labels")
    op.drop_index("ix_sample_labels_field_value", table_name="sample_labels")
    op.drop_table("sample_labels")
