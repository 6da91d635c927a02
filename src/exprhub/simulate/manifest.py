"""The manifest of a GEO simulation: what was written and the truth behind the data."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DEGene",
    "SimulatedDataSet",
    "SimulatedFile",
    "SimulatedPlatform",
    "SimulatedSeries",
    "SimulationManifest",
]


@dataclass
class SimulatedFile:
    """A file written by the simulator and what a reader should find in it."""

    path: str
    kind: str
    accession: str
    records: dict[str, int] = field(default_factory=dict)
    rows: int | None = None


@dataclass
class SimulatedPlatform:
    """A simulated platform (GPL)."""

    accession: str
    title: str
    organism: str
    technology: str
    probes: int
    control_probes: int
    unmapped_probes: int
    multi_gene_probes: int
    genes: int
    gene_offset: int


@dataclass
class DEGene:
    """A gene whose expression truly differs between the case and the control group."""

    symbol: str
    entrez_id: int
    ensembl_id: str
    probes: list[str]
    log2_fold_change: float


@dataclass
class SimulatedSeries:
    """A simulated series (GSE) and the truth about its samples."""

    accession: str
    kind: str
    title: str
    organism: str
    platforms: list[str]
    samples: list[str]
    factor: str | None = None
    factor_type: str | None = None
    control_group: str | None = None
    case_group: str | None = None
    groups: dict[str, list[str]] = field(default_factory=dict)
    characteristic_keys: dict[str, str] = field(default_factory=dict)
    scale: str | None = None
    value_columns: list[str] = field(default_factory=list)
    de_genes: list[DEGene] = field(default_factory=list)
    missing_rows: dict[str, list[str]] = field(default_factory=dict)
    null_values: dict[str, list[str]] = field(default_factory=dict)
    subseries: list[str] = field(default_factory=list)
    superseries: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass
class SimulatedDataSet:
    """A simulated curated DataSet (GDS) and its subsets."""

    accession: str
    series: str
    platform: str
    value_type: str
    samples: list[str]
    subsets: list[dict[str, Any]]


@dataclass
class SimulationManifest:
    """What :func:`simulate` wrote, and the truth behind the simulated data.

    Attributes
    ----------
    seed, parameters
        The arguments of the simulation.
    files
        Every file written (paths relative to the output directory), with the records and
        rows a reader should find in it.
    accessions
        Accessions by type: ``GSE``, ``GSM``, ``GPL``, ``GDS``.
    platforms, series, datasets
        Details per record; a series lists its groups, DE genes and data quirks.
    genes
        Size of the simulated gene catalogue written per organism.
    """

    seed: int
    parameters: dict[str, int | None]
    files: list[SimulatedFile] = field(default_factory=list)
    accessions: dict[str, list[str]] = field(default_factory=dict)
    platforms: list[SimulatedPlatform] = field(default_factory=list)
    series: list[SimulatedSeries] = field(default_factory=list)
    datasets: list[SimulatedDataSet] = field(default_factory=list)
    genes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as plain JSON-ready values."""
        return asdict(self)

    def to_json(self, indent: int | None = 1) -> str:
        """The manifest as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulationManifest:
        """Rebuild a manifest from :meth:`to_dict` output."""
        series = []
        for item in data.get("series", []):
            item = dict(item)
            item["de_genes"] = [DEGene(**g) for g in item.get("de_genes", [])]
            series.append(SimulatedSeries(**item))
        return cls(
            seed=data["seed"],
            parameters=data["parameters"],
            files=[SimulatedFile(**f) for f in data.get("files", [])],
            accessions=data.get("accessions", {}),
            platforms=[SimulatedPlatform(**p) for p in data.get("platforms", [])],
            series=series,
            datasets=[SimulatedDataSet(**d) for d in data.get("datasets", [])],
            genes=data.get("genes", {}),
        )

    @classmethod
    def load(cls, path: str | Path) -> SimulationManifest:
        """Read a ``manifest.json`` written by :func:`simulate`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def series_by_accession(self, accession: str) -> SimulatedSeries:
        """The series with that accession.

        Raises
        ------
        KeyError
            If the simulation wrote no such series.
        """
        for item in self.series:
            if item.accession == accession:
                return item
        raise KeyError(f"no simulated series {accession}")

    def files_of_kind(self, kind: str) -> list[SimulatedFile]:
        """Files of one kind: ``family_soft``, ``platform_soft``, ``series_matrix``, ``gds_soft``,
        ``rnaseq_counts``, ``gene_info``, ``gene2ensembl``."""
        return [f for f in self.files if f.kind == kind]
