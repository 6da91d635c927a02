"""Indexes for looking records up by key alone and for the hub's latest write.

Without them, finding a record by accession without its type, the ``max(updated_at)`` behind
every ETag and search-index staleness check, and the index sync's ``updated_at > mark`` scanned
the whole ``records`` table (about 0.65 s per record request at a million samples).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_key", "records", ["key"])
    op.create_index("ix_records_updated_at", "records", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_records_updated_at", table_name="records")
    op.drop_index("ix_records_key", table_name="records")
