"""``profile_flag_sets``: flags of a DataSet or series computed from one version of its
values and groups; ``profile_flags``: the rows flagged in each.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profile_flag_sets",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("accession", sa.String(255), nullable=False),
        sa.Column("value_kind", sa.String(16), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("data_version", sa.String(64), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("fdr", sa.Float, nullable=False),
        sa.Column("min_log2_fold", sa.Float, nullable=False),
        sa.Column("rows_tested", sa.Integer, nullable=False),
        sa.Column("rows_flagged", sa.Integer, nullable=False),
        sa.Column("subset_types", sa.Text, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_profile_flag_sets"),
        sa.UniqueConstraint(
            "accession",
            "value_kind",
            "platform",
            name="uq_profile_flag_sets_accession_value_kind_platform",
        ),
    )
    op.create_table(
        "profile_flags",
        sa.Column("set_id", sa.Integer, nullable=False),
        sa.Column("subset_type", sa.String(255), nullable=False),
        sa.Column("feature", sa.String(255), nullable=False),
        sa.Column("fdr", sa.Float, nullable=False),
        sa.Column("log2_fold", sa.Float, nullable=False),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["profile_flag_sets.id"],
            name="fk_profile_flags_set_id_profile_flag_sets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("set_id", "subset_type", "feature", name="pk_profile_flags"),
    )
    op.create_index("ix_profile_flags_feature", "profile_flags", ["feature"])


def downgrade() -> None:
    op.drop_index("ix_profile_flags_feature", table_name="profile_flags")
    op.drop_table("profile_flags")
    op.drop_table("profile_flag_sets")
