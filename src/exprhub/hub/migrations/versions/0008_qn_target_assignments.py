"""``qn_assignments`` and ``qn_target_moves``: the QN target version each refined sample is
normalized to, and every move of a sample between versions (``exprhub refine --retarget``).

Existing refined samples are assigned the target they were normalized to (the digest in
``refined_samples``), so an upgraded hub keeps every value as it is.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qn_assignments",
        sa.Column("sample_key", sa.String(255), nullable=False),
        sa.Column("tax_id", sa.Integer, nullable=False),
        sa.Column("value_kind", sa.String(32), nullable=False),
        sa.Column("target_version", sa.Integer, nullable=True),
        sa.Column("target_sha256", sa.String(64), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sample_key", name="pk_qn_assignments"),
    )
    op.create_index(
        "ix_qn_assignments_tax_id_value_kind_target_version",
        "qn_assignments",
        ["tax_id", "value_kind", "target_version"],
    )
    op.create_table(
        "qn_target_moves",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("sample_key", sa.String(255), nullable=False),
        sa.Column("tax_id", sa.Integer, nullable=False),
        sa.Column("value_kind", sa.String(32), nullable=False),
        sa.Column("from_version", sa.Integer, nullable=True),
        sa.Column("to_version", sa.Integer, nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_qn_target_moves"),
    )
    op.create_index("ix_qn_target_moves_sample_key", "qn_target_moves", ["sample_key"])
    op.create_index("ix_qn_target_moves_run_id", "qn_target_moves", ["run_id"])
    # every delivered sample of a normalized kind (exprhub.refine.pipeline_work.QN_KINDS)
    # keeps the target it was normalized to (or none)
    op.execute(
        sa.text(
            "INSERT INTO qn_assignments (sample_key, tax_id, value_kind, target_version, "
            "target_sha256, assigned_at) "
            "SELECT r.sample_key, r.tax_id, r.value_kind, "
            "(SELECT MIN(t.version) FROM qn_targets t WHERE t.tax_id = r.tax_id "
            "AND t.value_kind = r.value_kind AND t.sha256 = r.qn_target_sha256), "
            "r.qn_target_sha256, r.refined_at FROM refined_samples r "
            "WHERE r.status = 'done' AND r.tax_id IS NOT NULL "
            "AND r.value_kind IN ('intensity', 'rna-seq')"
        )
    )


def downgrade() -> None:
    op.drop_index("ix_qn_target_moves_run_id", table_name="qn_target_moves")
    op.drop_index("ix_qn_target_moves_sample_key", table_name="qn_target_moves")
    op.drop_table("qn_target_moves")
    op.drop_index("ix_qn_assignments_tax_id_value_kind_target_version", table_name="qn_assignments")
    op.drop_table("qn_assignments")
