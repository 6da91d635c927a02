"""Reading a GEO file without a hub: ``read`` and the ``GeoFile`` it returns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from exprhub.formats.detect import detect_format, open_reader
from exprhub.formats.limits import Limits
from exprhub.records import (
    Annotation,
    DataSet,
    Platform,
    Record,
    Sample,
    Series,
    Subset,
    normalize_accession,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class GeoFile:
    """The records of one GEO file, in file order, with what the reader noticed.

    Attributes
    ----------
    path
        The file read.
    format
        Its kind, told by content: ``"soft"``, ``"annot"``, ``"series-matrix"``, ``"miniml"``
        or ``"miniml-bundle"``.
    records
        Every record of the file: series, platforms, samples, DataSets, subsets, annotations
        and the ``^DATABASE`` header that names who wrote the file.
    warnings
        What the reader noticed without failing (a table shorter than declared, say), one
        line each, naming the file and line.
    """

    path: Path
    format: str
    records: list[Record]
    warnings: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, accession: str) -> Record:
        """The record with this accession (or submission name).

        Raises
        ------
        KeyError
            If the file holds no such record.
        """
        wanted = normalize_accession(accession)
        for record in self.records:
            if record.key == wanted or record.id == accession:
                return record
        raise KeyError(f"{self.path} holds no record {accession}")

    def _of(self, kind: type[Record]) -> dict[str, Record]:
        return {r.key: r for r in self.records if isinstance(r, kind)}

    @property
    def series(self) -> dict[str, Series]:
        """Series records by accession."""
        return {k: r for k, r in self._of(Series).items() if isinstance(r, Series)}

    @property
    def platforms(self) -> dict[str, Platform]:
        """Platform records by accession."""
        return {k: r for k, r in self._of(Platform).items() if isinstance(r, Platform)}

    @property
    def samples(self) -> dict[str, Sample]:
        """Sample records by accession."""
        return {k: r for k, r in self._of(Sample).items() if isinstance(r, Sample)}

    @property
    def datasets(self) -> dict[str, DataSet]:
        """Curated DataSet (GDS) records by accession."""
        return {k: r for k, r in self._of(DataSet).items() if isinstance(r, DataSet)}

    @property
    def subsets(self) -> dict[str, Subset]:
        """DataSet subsets by name."""
        return {k: r for k, r in self._of(Subset).items() if isinstance(r, Subset)}

    @property
    def annotations(self) -> dict[str, Annotation]:
        """GEO platform annotations (``.annot`` files) by platform."""
        return {(r.platform_id or r.key): r for r in self.records if isinstance(r, Annotation)}

    def expression(self, platform: str | None = None) -> pd.DataFrame:
        """The values in the file as a probes x samples DataFrame (float64, NaN where a
        sample has no value), without a hub.

        The values are the samples' ``VALUE`` columns (family SOFT, MINiML, series matrix) or
        a DataSet's sample columns (GDS SOFT), exactly as submitted.

        Parameters
        ----------
        platform
            Only the samples of this platform; needed when the file's samples are on several
            platforms (their probes differ).

        Raises
        ------
        ValueError
            When the file holds no values, or values of several platforms and ``platform`` is
            not given.
        """
        import pandas as pd

        columns: dict[str, tuple[str | None, pd.Series]] = {}
        for record in self.records:
            table = record.table
            if table is None or table.n_cols == 0:
                continue
            if isinstance(record, Sample) and table.has("VALUE"):
                ids = pd.Index(table.column(0).tolist(), name="ID_REF")
                values = pd.Series(table.numeric("VALUE"), index=ids, name=record.key)
                columns[record.key] = (record.platform_id, values)
            elif isinstance(record, DataSet):
                ids = pd.Index(table.column(0).tolist(), name="ID_REF")
                for name in table.names:
                    if name.upper().startswith("GSM"):
                        key = normalize_accession(name)
                        values = pd.Series(table.numeric(name), index=ids, name=key)
                        columns[key] = (record.platform_id, values)
        platforms = sorted({p or "" for p, _ in columns.values()})
        if platform is not None:
            wanted = normalize_accession(platform)
            columns = {k: v for k, v in columns.items() if v[0] == wanted}
            if not columns:
                raise ValueError(
                    f"{self.path} holds no values of {wanted}; its platforms: "
                    f"{', '.join(p for p in platforms if p) or 'none'}"
                )
        elif len(platforms) > 1:
            raise ValueError(
                f"{self.path} holds values of {len(platforms)} platforms "
                f"({', '.join(platforms)}): pass platform= to choose one"
            )
        if not columns:
            raise ValueError(f"{self.path} holds no expression values (no sample data tables)")
        frame = pd.concat([values for _, values in columns.values()], axis=1, join="outer")
        frame.index.name = "ID_REF"
        frame.columns.name = "sample"
        return frame


def read(path: str | Path, *, limits: Limits | None = None) -> GeoFile:
    """Read the records of any GEO file, no hub needed.

    The format is told by content, never by the file name: family SOFT (any era's dialect),
    sample, platform and DataSet SOFT, GEO ``.annot`` files, series matrix, MINiML XML and
    MINiML ``.tgz`` bundles, gzip-compressed or not.

    Parameters
    ----------
    path
        The file.
    limits
        Size limits for the file (line, cell, columns, values, gzip and archive sizes;
        default: ``exprhub.formats.limits.Limits.from_env()``, see docs/limits.md).

    Returns
    -------
    GeoFile
        The file's records, in file order, and its warnings.

    Raises
    ------
    exprhub.formats.errors.FormatError
        If the file is missing, empty, of no known format, malformed, or beyond ``limits``;
        one line naming the file, the line and what was expected.
    """
    from exprhub.formats.errors import FormatError

    source = Path(path)
    if source.is_dir():
        raise FormatError(source, None, "is a directory; expected a GEO file")
    if not source.is_file():
        raise FormatError(source, None, "no such file")
    limits = limits or Limits.from_env()
    try:
        kind = detect_format(source, limits)
        reader = open_reader(source, kind, limits)
        records = list(reader.records())
    except (OSError, EOFError) as exc:
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise FormatError(source, None, detail) from None
    return GeoFile(source, kind, records, [str(w) for w in reader.warnings])
