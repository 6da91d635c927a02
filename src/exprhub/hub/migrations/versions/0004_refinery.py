"""The refinery: gene references, quantile-normalization targets and refined-sample provenance.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "genes",
        sa.Column("tax_id", sa.Integer, nullable=False),
        sa.Column("gene_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(255), nullable=False),
        sa.Column("synonyms", sa.Text, nullable=False),
        sa.Column("ensembl_ids", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("type_of_gene", sa.String(64), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("tax_id", "gene_id", name="pk_genes"),
    )
    op.create_index("ix_genes_tax_id_symbol", "genes", ["tax_id", "symbol"])
    op.create_table(
        "qn_targets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tax_id", sa.Integer, nullable=False),
        sa.Column("organism", sa.String(255), nullable=False),
        sa.Column("value_kind", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("n_samples", sa.Integer, nullable=False),
        sa.Column("platform_key", sa.String(255), nullable=True),
        sa.Column("sample_ids", sa.Text, nullable=False),
        sa.Column("target_values", sa.LargeBinary, nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_qn_targets"),
        sa.UniqueConstraint(
            "tax_id", "value_kind", "version", name="uq_qn_targets_tax_id_value_kind_version"
        ),
    )
    op.create_table(
        "refined_samples",
        sa.Column("sample_key", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("batch_key", sa.String(255), nullable=True),
        sa.Column("tax_id", sa.Integer, nullable=True),
        sa.Column("value_kind", sa.String(32), nullable=True),
        sa.Column("platform_key", sa.String(255), nullable=True),
        sa.Column("processor", sa.String(64), nullable=False),
        sa.Column("processor_version", sa.String(32), nullable=False),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("values_sha256", sa.String(64), nullable=True),
        sa.Column("genes_observed", sa.Integer, nullable=True),
        sa.Column("qn_target_sha256", sa.String(64), nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("refined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sample_key", name="pk_refined_samples"),
    )
    op.create_index(
        "ix_refined_samples_tax_id_value_kind_status",
        "refined_samples",
        ["tax_id", "value_kind", "status"],
    )


def downgrade() -> None:
    op.drop_table("refined_samples")
    op.drop_table("qn_targets")
    op.drop_index("ix_genes_tax_id_symbol", table_name="genes")
    op.drop_table("genes")
