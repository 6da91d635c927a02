"""Gene look-ups in the hub's ``genes`` table and reads that genes and profiles need:
the platforms with a stored GEO annotation, the matrices of one kind and one feature's row
across a matrix's samples.

Plain reads: what a gene record or a profile is belongs to :mod:`exprhub.analysis`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import and_, func, or_, select

from exprhub.hub import schema as s
from exprhub.hub.feature_lists import matrix_row_of
from exprhub.hub.refinery_tables import GeneRow

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub

__all__ = ["annotated_platforms", "find_gene_rows", "matrices_of_kind", "matrix_feature_row"]


def _gene(row: object) -> GeneRow:
    def split(text: str) -> tuple[str, ...]:
        return tuple(x for x in text.split("|") if x)

    return GeneRow(
        row.tax_id,  # type: ignore[attr-defined]
        row.gene_id,  # type: ignore[attr-defined]
        row.symbol,  # type: ignore[attr-defined]
        split(row.synonyms),  # type: ignore[attr-defined]
        split(row.ensembl_ids),  # type: ignore[attr-defined]
        row.description,  # type: ignore[attr-defined]
        row.type_of_gene,  # type: ignore[attr-defined]
        row.source,  # type: ignore[attr-defined]
    )


def find_gene_rows(
    hub: Hub, text: str, *, tax_id: int | None = None, limit: int = 200
) -> list[GeneRow]:
    """Stored genes whose symbol, gene id, a synonym, an Ensembl id or description holds
    ``text`` (compared ignoring case; symbols and ids as whole values, descriptions as
    substrings of every word given), at most ``limit``, in no particular order."""
    words = text.split()
    if not words:
        return []
    g = s.genes
    needle = _escape(text.strip().lower())
    conditions = [
        func.lower(g.c.symbol) == text.strip().lower(),
        func.lower(g.c.gene_id) == text.strip().lower(),
        func.lower("|" + g.c.synonyms + "|").like(f"%|{needle}|%", escape="\\"),
        func.lower("|" + g.c.ensembl_ids + "|").like(f"%|{needle}|%", escape="\\"),
    ]
    if len(text.strip()) >= 3:  # a two-letter word would match half the descriptions
        conditions.append(
            and_(
                *(
                    func.lower(g.c.description).like(f"%{_escape(w.lower())}%", escape="\\")
                    for w in words
                )
            )
        )
    query = select(g).where(or_(*conditions))
    if tax_id is not None:
        query = query.where(g.c.tax_id == tax_id)
    with hub.engine.connect() as connection:
        return [_gene(r) for r in connection.execute(query.limit(limit))]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def annotated_platforms(hub: Hub) -> list[str]:
    """Platforms with a GEO annotation (``.annot``) stored, in key order."""
    with hub.engine.connect() as connection:
        return list(
            connection.execute(
                select(s.platform_annotations.c.platform_key).order_by(
                    s.platform_annotations.c.platform_key
                )
            ).scalars()
        )


def matrices_of_kind(hub: Hub, kind: str) -> list[str]:
    """Names of the stored matrices of one kind (``"refined"``, ``"submitted"`` ...)."""
    with hub.engine.connect() as connection:
        return list(
            connection.execute(
                select(s.matrices.c.name)
                .where(s.matrices.c.kind == kind)
                .order_by(s.matrices.c.name)
            ).scalars()
        )


def matrix_feature_row(hub: Hub, name: str, feature: str) -> tuple[list[str], np.ndarray]:
    """One feature's values across the current columns of a matrix: ``(sample keys,
    values)``; no samples when the matrix or the feature is not stored."""
    with hub.engine.connect() as connection:
        found = matrix_row_of(connection, hub.feature_lists, name, feature)
    if found is None:
        return [], np.empty(0, dtype=np.float32)
    matrix, row = found
    if row is None:
        return [], np.empty(0, dtype=np.float32)
    samples = hub.matrix_samples(name)
    values = hub.store.open(name).row(row, matrix.n_columns)
    return [k for k, _ in samples], values[[c for _, c in samples]]
