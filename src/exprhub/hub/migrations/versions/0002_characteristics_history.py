"""Parsed characteristics (queryable key/value pairs) and the history of replaced records.

Hubs made with 0001 get their characteristics back-filled from the stored attributes.

Revision ID: 0002
Revises: 0001
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_CHANNEL = re.compile(r"characteristics_ch(\d+)$", re.IGNORECASE)


def upgrade() -> None:
    op.create_table(
        "characteristics",
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("record_id", "channel", "position", name="pk_characteristics"),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            ondelete="CASCADE",
            name="fk_characteristics_record_id_records",
        ),
    )
    op.create_index("ix_characteristics_key", "characteristics", ["key"])
    op.create_table(
        "record_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_update_date", sa.Date, nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("table_ref", sa.String(80), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_record_history"),
    )
    op.create_index("ix_record_history_type_key", "record_history", ["type", "key"])

    # Back-fill: parse the characteristics attributes already stored by 0001 hubs.
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT record_id, position, key, value FROM attributes "
            "WHERE lower(key) LIKE '%characteristics_ch%' ORDER BY record_id, position"
        )
    ).fetchall()
    out = []
    for record_id, position, key, value in rows:
        match = _CHANNEL.search(key)
        if not match:
            continue
        name, sep, rest = value.partition(":")
        if sep and name.strip() and len(name) <= 120:
            pair = (name.strip(), rest.strip())
        else:
            pair = ("", value.strip())
        out.append(
            {
                "record_id": record_id,
                "channel": int(match.group(1)),
                "position": position,
                "key": pair[0][:255],
                "value": pair[1],
            }
        )
    if out:
        table = sa.table(
            "characteristics",
            sa.column("record_id"),
            sa.column("channel"),
            sa.column("position"),
            sa.column("key"),
            sa.column("value"),
        )
        op.bulk_insert(table, out)


def downgrade() -> None:
    op.drop_table("record_history")
    op.drop_table("characteristics")
