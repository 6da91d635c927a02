"""``feature_lists``: the row labels of matrices, each distinct list once, named from
``matrices.feature_list``; replaces ``matrix_rows`` (one row per feature of each matrix).

The encoding is that of ``exprhub.hub.feature_lists`` at this revision, written out here so
that this migration stays what it was: the features joined by ``\\n`` in UTF-8, named by the
SHA-256 of those bytes, stored zlib-compressed at level 1.

Revision ID: 0014
Revises: 0013
"""

import hashlib
import zlib

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_MATRICES = sa.table(
    "matrices",
    sa.column("id", sa.Integer),
    sa.column("feature_list", sa.String(64)),
)
_LISTS = sa.table(
    "feature_lists",
    sa.column("sha256", sa.String(64)),
    sa.column("n_features", sa.Integer),
    sa.column("features", sa.LargeBinary),
)
_ROWS = sa.table(
    "matrix_rows",
    sa.column("matrix_id", sa.Integer),
    sa.column("row", sa.Integer),
    sa.column("feature", sa.String(255)),
)


def upgrade() -> None:
    op.create_table(
        "feature_lists",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("n_features", sa.Integer, nullable=False),
        sa.Column("features", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_feature_lists"),
    )
    op.add_column("matrices", sa.Column("feature_list", sa.String(64), nullable=True))
    bind = op.get_bind()
    stored: set[str] = set()
    for (matrix_id,) in bind.execute(sa.select(_MATRICES.c.id).order_by(_MATRICES.c.id)).all():
        features = (
            bind.execute(
                sa.select(_ROWS.c.feature)
                .where(_ROWS.c.matrix_id == matrix_id)
                .order_by(_ROWS.c.row)
            )
            .scalars()
            .all()
        )
        if not features:
            continue
        raw = "\n".join(features).encode("utf-8")
        digest = hashlib.sha256(raw).hexdigest()
        if digest not in stored:
            bind.execute(
                sa.insert(_LISTS).values(
                    sha256=digest, n_features=len(features), features=zlib.compress(raw, 1)
                )
            )
            stored.add(digest)
        bind.execute(
            sa.update(_MATRICES).where(_MATRICES.c.id == matrix_id).values(feature_list=digest)
        )
    op.drop_table("matrix_rows")


def downgrade() -> None:
    bind = op.get_bind()
    pairs = bind.execute(
        sa.select(_MATRICES.c.id, _LISTS.c.features).join(
            _LISTS, _LISTS.c.sha256 == _MATRICES.c.feature_list
        )
    ).all()
    # Natively, not by copying the table as Alembic's batch mode does on SQLite: dropping the
    # old copy would delete the rows referring to it (ON DELETE CASCADE, foreign keys on).
    if bind.dialect.name == "sqlite":
        op.execute("ALTER TABLE matrices DROP COLUMN feature_list")
    else:
        op.drop_column("matrices", "feature_list")
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
    for matrix_id, data in pairs:
        features = zlib.decompress(data).decode("utf-8").split("\n")
        bind.execute(
            sa.insert(_ROWS),
            [{"matrix_id": matrix_id, "row": i, "feature": f} for i, f in enumerate(features)],
        )
    op.drop_table("feature_lists")
