"""Initial hub schema: records, attributes, columns, relations, files, matrices.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("accession", sa.String(32), nullable=True),
        sa.Column("title", sa.Text, nullable=True),
        sa.Column("status", sa.String(255), nullable=True),
        sa.Column("submission_date", sa.Date, nullable=True),
        sa.Column("last_update_date", sa.Date, nullable=True),
        sa.Column("release_date", sa.Date, nullable=True),
        sa.Column("organisms", sa.Text, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=True),
        sa.Column("table_ref", sa.String(80), nullable=True),
        sa.Column("table_rows", sa.Integer, nullable=True),
        sa.Column("table_cols", sa.Integer, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_records"),
        sa.UniqueConstraint("type", "key", name="uq_records_type_key"),
    )
    op.create_index("ix_records_accession", "records", ["accession"])
    op.create_table(
        "attributes",
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("record_id", "position", name="pk_attributes"),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            ondelete="CASCADE",
            name="fk_attributes_record_id_records",
        ),
    )
    op.create_table(
        "columns",
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("record_id", "position", name="pk_columns"),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            ondelete="CASCADE",
            name="fk_columns_record_id_records",
        ),
    )
    op.create_table(
        "relations",
        sa.Column("source_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target_key", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("source_id", "kind", "target_key", name="pk_relations"),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["records.id"],
            ondelete="CASCADE",
            name="fk_relations_source_id_records",
        ),
    )
    op.create_index("ix_relations_kind_target_key", "relations", ["kind", "target_key"])
    op.create_table(
        "files",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("format", sa.String(32), nullable=True),
        sa.Column("imported_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_files"),
    )
    op.create_table(
        "matrices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("owner_key", sa.String(255), nullable=True),
        sa.Column("dtype", sa.String(16), nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("n_columns", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_matrices"),
        sa.UniqueConstraint("name", name="uq_matrices_name"),
    )
    op.create_table(
        "matrix_rows",
        sa.Column("matrix_id", sa.Integer, nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("feature", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("matrix_id", "row", name="pk_matrix_rows"),
        sa.UniqueConstraint("matrix_id", "feature", name="uq_matrix_rows_matrix_id_feature"),
        sa.ForeignKeyConstraint(
            ["matrix_id"],
            ["matrices.id"],
            ondelete="CASCADE",
            name="fk_matrix_rows_matrix_id_matrices",
        ),
    )
    op.create_table(
        "matrix_columns",
        sa.Column("matrix_id", sa.Integer, nullable=False),
        sa.Column("column", sa.Integer, nullable=False),
        sa.Column("sample_key", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("matrix_id", "column", name="pk_matrix_columns"),
        sa.ForeignKeyConstraint(
            ["matrix_id"],
            ["matrices.id"],
            ondelete="CASCADE",
            name="fk_matrix_columns_matrix_id_matrices",
        ),
    )
    op.create_index("ix_matrix_columns_sample_key", "matrix_columns", ["sample_key"])


def downgrade() -> None:
    for name in (
        "matrix_columns",
        "matrix_rows",
        "matrices",
        "files",
        "relations",
        "columns",
        "attributes",
        "records",
    ):
        op.drop_table(name)
