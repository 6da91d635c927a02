"""Reading matrix values from the hub: a matrix's features and current columns, one sample,
one feature across samples, chosen columns. :class:`~exprhub.hub.Hub` inherits these."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
from sqlalchemy import select

from exprhub.hub import schema as s
from exprhub.hub.errors import HubError, RecordNotFound
from exprhub.hub.feature_lists import FeatureListCache, matrix_features, matrix_row_of
from exprhub.hub.matrix_writes import dataset_matrix_name, submitted_matrix_name
from exprhub.hub.queries import RecordQueries
from exprhub.records import RecordType, normalize_accession
from exprhub.storage.arrays import MatrixStore

#: Sample keys per ``IN (...)`` list.
_KEY_CHUNK = 500


class MatrixQueries(RecordQueries):
    """Matrix look-ups over the hub's SQL metadata and array store (needs ``store`` besides
    what :class:`~exprhub.hub.queries.RecordQueries` needs)."""

    store: MatrixStore
    feature_lists: FeatureListCache

    def _matrix_row(self, name: str) -> Any:
        with self.engine.connect() as connection:
            row = connection.execute(select(s.matrices).where(s.matrices.c.name == name)).first()
        if row is None:
            raise HubError(f"no matrix {name!r} in the hub")
        return row

    def matrix_shape(self, name: str) -> tuple[int, int] | None:
        """``(rows, columns)`` of a matrix as committed, None when there is no such matrix."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(s.matrices.c.n_rows, s.matrices.c.n_columns).where(s.matrices.c.name == name)
            ).first()
        return (int(row.n_rows), int(row.n_columns)) if row is not None else None

    def matrix_features(self, name: str) -> list[str]:
        """Row labels (probe or gene IDs) of a matrix, in row order."""
        with self.engine.connect() as connection:
            found = matrix_features(connection, self.feature_lists, name)
        if found is None:
            raise HubError(f"no matrix {name!r} in the hub")
        return list(found[1])

    def matrix_samples(self, name: str) -> list[tuple[str, int]]:
        """``(sample key, column)`` of the current columns of a matrix, in column order."""
        row = self._matrix_row(name)
        with self.engine.connect() as connection:
            return [
                (k, c)
                for k, c in connection.execute(
                    select(s.matrix_columns.c.sample_key, s.matrix_columns.c.column)
                    .where(s.matrix_columns.c.matrix_id == row.id, s.matrix_columns.c.active)
                    .order_by(s.matrix_columns.c.column)
                )
            ]

    def sample_matrices(self, samples: Collection[str], kind: str) -> dict[str, list[str]]:
        """The matrices of ``kind`` holding a current column of any of ``samples``: matrix
        name -> those samples (in column-listing order)."""
        wanted = set(samples)
        out: dict[str, list[str]] = {}
        with self.engine.connect() as connection:
            for name, key in connection.execute(
                select(s.matrices.c.name, s.matrix_columns.c.sample_key)
                .join(s.matrix_columns, s.matrix_columns.c.matrix_id == s.matrices.c.id)
                .where(s.matrices.c.kind == kind, s.matrix_columns.c.active)
            ):
                if key in wanted:
                    out.setdefault(name, []).append(key)
        return out

    def current_columns(
        self, samples: Collection[str], kinds: Sequence[str]
    ) -> dict[str, dict[str, tuple[str, str | None, int]]]:
        """Where the current values of ``samples`` are in the matrices of ``kinds``:
        sample -> kind -> ``(matrix name, matrix owner key, column)`` (the first matrix by
        name when several of a kind hold the sample)."""
        wanted = sorted(set(samples))
        out: dict[str, dict[str, tuple[str, str | None, int]]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), _KEY_CHUNK):
                for name, kind, owner, key, column in connection.execute(
                    select(
                        s.matrices.c.name,
                        s.matrices.c.kind,
                        s.matrices.c.owner_key,
                        s.matrix_columns.c.sample_key,
                        s.matrix_columns.c.column,
                    )
                    .join(s.matrix_columns, s.matrix_columns.c.matrix_id == s.matrices.c.id)
                    .where(
                        s.matrix_columns.c.active,
                        s.matrices.c.kind.in_(list(kinds)),
                        s.matrix_columns.c.sample_key.in_(wanted[start : start + _KEY_CHUNK]),
                    )
                    .order_by(s.matrices.c.name)
                ):
                    out.setdefault(key, {}).setdefault(kind, (name, owner, column))
        return out

    def read_columns(
        self, name: str, samples: Sequence[str]
    ) -> tuple[list[str], list[str], np.ndarray]:
        """The current columns of ``samples`` in a matrix: ``(features, found samples,
        values)``, values float32, features x found samples (only those columns are read).

        A matrix that does not exist reads as no features and no samples."""
        shape = self.matrix_shape(name)
        if shape is None:
            return [], [], np.empty((0, 0), dtype=np.float32)
        n_rows = shape[0]
        columns = dict(self.matrix_samples(name))
        found = [k for k in samples if k in columns]
        features = self.matrix_features(name)
        if not found:
            return features, [], np.empty((n_rows, 0), dtype=np.float32)
        values = self.store.open(name).columns([columns[k] for k in found], n_rows)
        return features, found, values

    def sample_values(self, key: str) -> tuple[list[str], np.ndarray]:
        """The submitted values of one sample as ``(feature ids, values)`` from its
        platform's matrix (NaN where the sample has no value)."""
        sample = self._find_row(key, RecordType.SAMPLE)
        with self.engine.connect() as connection:
            found = connection.execute(
                select(s.matrices.c.name, s.matrices.c.n_rows, s.matrix_columns.c.column)
                .join(s.matrix_columns, s.matrix_columns.c.matrix_id == s.matrices.c.id)
                .where(
                    s.matrix_columns.c.sample_key == sample.key,
                    s.matrix_columns.c.active,
                    s.matrices.c.kind == "submitted",
                )
            ).first()
        if found is None:
            raise HubError(f"{sample.key} has no stored values (no data table in the hub)")
        name, n_rows, column = found
        values = self.store.open(name).column(column, n_rows)
        return self.matrix_features(name), values

    def feature_values(self, platform: str, feature: str) -> tuple[list[str], np.ndarray]:
        """One probe across every sample of a platform: ``(sample keys, values)``."""
        name = submitted_matrix_name(normalize_accession(platform))
        with self.engine.connect() as connection:
            found = matrix_row_of(connection, self.feature_lists, name, feature)
        if found is None:
            raise HubError(f"no matrix {name!r} in the hub")
        matrix, row = found
        if row is None:
            raise HubError(f"{feature!r} is not a feature of {platform}")
        samples = self.matrix_samples(name)
        values = self.store.open(name).row(row, matrix.n_columns)
        return [k for k, _ in samples], values[[c for _, c in samples]]

    def samples_of(self, accession: str) -> list[str]:
        """Samples an accession stands for: a sample itself, a series' samples (its
        subseries' too), a platform's samples (also those known only as columns of its
        DataSets), or a DataSet's sample columns (sample records or not).

        Raises
        ------
        RecordNotFound
            When the accession is unknown.
        """
        key = normalize_accession(accession)
        if key.startswith("GSM"):
            if not self.has(key):
                related = self.related(key)  # raises when nothing names it
                if not related:
                    raise RecordNotFound(f"{key} is not in the hub")
            return [key]
        if key.startswith("GDS"):
            record = self.record(key, RecordType.DATASET, table=False)
            matrix = dataset_matrix_name(record.key)
            names = (
                [n for n, _ in self.matrix_samples(matrix)]
                if self.matrix_shape(matrix) is not None
                else []
            )
            return names or self._subset_samples(record.key)
        related = self.related(key)
        out = list(dict.fromkeys(related.get("sample", [])))
        if key.startswith("GSE"):
            for sub in related.get("subseries", []):
                out += [k for k in self.related(sub).get("sample", []) if k not in out]
        if key.startswith("GPL"):  # samples known only as columns of the platform's DataSets
            for gds in related.get("dataset", []):
                if self.has(gds, RecordType.DATASET):
                    out += [k for k in self.samples_of(gds) if k not in out]
        return out

    def _subset_samples(self, gds: str) -> list[str]:
        out: list[str] = []
        for subset in self.related(gds).get("subset", []):
            for sample in self.related(subset).get("sample", []):
                if sample not in out:
                    out.append(sample)
        return out
