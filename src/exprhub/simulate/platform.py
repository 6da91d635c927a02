"""Simulated GEO platforms: Affymetrix-like probe set tables and sequencing platforms."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from exprhub.records import Platform, Table
from exprhub.simulate.genes import Gene, gene_catalogue, organism_info
from exprhub.simulate.manifest import SimulatedPlatform
from exprhub.simulate.vocab import INSTRUMENTS, geo_date

__all__ = ["PlatformSpec", "build_platform", "platform_record"]

#: Probe kinds.
SINGLE, MULTI, UNMAPPED, CONTROL = 0, 1, 2, 3

_CONTROL_STEMS = (
    "BioB",
    "BioC",
    "BioDn",
    "CreX",
    "DapX",
    "LysX",
    "PheX",
    "ThrX",
    "TrpnX",
    "r2-Bs-dap",
    "r2-Bs-lys",
    "r2-Bs-phe",
    "r2-Bs-thr",
    "r2-Ec-bioB",
    "r2-Ec-bioC",
    "r2-Ec-bioD",
    "r2-P1-cre",
)
_CONTROL_POOL = tuple(f"AFFX-{stem}-{part}_at" for stem in _CONTROL_STEMS for part in "5M3")
_COLUMNS = (
    ("ID", "Affymetrix Probe Set ID"),
    ("GB_ACC", "GenBank Accession Number"),
    ("SPOT_ID", "identifies controls"),
    (
        "Species Scientific Name",
        "The genus and species of the organism represented by the probe set.",
    ),
    ("Sequence Type", ""),
    ("Gene Title", "Title of Gene represented by the probe set."),
    ("Gene Symbol", "A gene symbol, when one is available (from UniGene)."),
    ("ENTREZ_GENE_ID", 'Entrez Gene Database UID DELIMIT:" /// "'),
    ("ENSEMBL", 'Ensembl gene identifier DELIMIT:" /// "'),
    ("RefSeq Transcript ID", "References to multiple sequences in RefSeq."),
)


@dataclass
class PlatformSpec:
    """Everything needed to write one simulated platform and data measured on it.

    ``kinds`` and ``gene_of`` run parallel to ``ids`` (table order); ``gene_of`` is the index
    into ``genes`` of the probe's (first) gene, -1 for control and unmapped probes.
    """

    accession: str
    index: int
    organism: str
    title: str
    sequencing: bool
    submitted: date
    ids: list[str] = field(default_factory=list)
    kinds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    gene_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    multi_genes: dict[int, list[int]] = field(default_factory=dict)
    genes: list[Gene] = field(default_factory=list)
    gene_offset: int = 0
    series_ids: list[str] = field(default_factory=list)
    sample_ids: list[str] = field(default_factory=list)
    _table: Table | None = None
    _id_column: np.ndarray | None = None

    @property
    def n_probes(self) -> int:
        """Number of table rows."""
        return len(self.ids)

    @property
    def catalogue_size(self) -> int:
        """Genes of the organism's catalogue this platform needs."""
        return self.gene_offset + len(self.genes)

    def probe_genes(self, row: int) -> list[Gene]:
        """The genes a table row maps to (none for control and unmapped probes)."""
        kind = int(self.kinds[row])
        if kind == SINGLE:
            return [self.genes[int(self.gene_of[row])]]
        if kind == MULTI:
            return [self.genes[g] for g in self.multi_genes[row]]
        return []

    def table(self) -> Table:
        """The platform's annotation table (cached)."""
        if self._table is None:
            rows = [self._row(row, probe) for row, probe in enumerate(self.ids)]
            self._table = Table.from_rows([name for name, _ in _COLUMNS], rows)
        return self._table

    def id_column(self) -> np.ndarray:
        """The probe ids as a table column (cached, read-only), shared by the tables of every
        sample."""
        if self._id_column is None:
            column = self.table().column(0)
            column.flags.writeable = False
            self._id_column = column
        return self._id_column

    def _row(self, row: int, probe: str) -> list[str]:
        kind = int(self.kinds[row])
        if kind == CONTROL:
            return [probe, "", "--Control", self.organism, "Control sequence", "", "", "", "", ""]
        genes = self.probe_genes(row)
        if not genes:
            acc = f"AW{900000 + row:06d}"
            return [probe, acc, "", self.organism, "Consensus sequence", "", "", "", "", ""]

        def join(values: list[str]) -> str:
            return " /// ".join(values)

        return [
            probe,
            genes[0].refseq,
            "",
            self.organism,
            "Exemplar sequence" if kind == SINGLE else "Consensus sequence",
            join([g.name for g in genes]),
            join([g.symbol for g in genes]),
            join([str(g.entrez_id) for g in genes]),
            join([g.ensembl_id for g in genes]),
            join([g.refseq for g in genes]),
        ]

    def info(self) -> SimulatedPlatform:
        """The manifest entry of the platform."""
        kinds = self.kinds
        return SimulatedPlatform(
            accession=self.accession,
            title=self.title,
            organism=self.organism,
            technology="high-throughput sequencing"
            if self.sequencing
            else "in situ oligonucleotide",
            probes=self.n_probes,
            control_probes=int(np.count_nonzero(kinds == CONTROL)),
            unmapped_probes=int(np.count_nonzero(kinds == UNMAPPED)),
            multi_gene_probes=int(np.count_nonzero(kinds == MULTI)),
            genes=len(self.genes),
            gene_offset=self.gene_offset,
        )


def build_platform(
    accession: str,
    index: int,
    organism: str,
    n_probes: int,
    seed: int,
    *,
    sequencing: bool = False,
) -> PlatformSpec:
    """Lay out a simulated platform: probe ids, kinds and the genes they measure.

    Parameters
    ----------
    accession
        The GPL accession.
    index
        Position among the simulated platforms of its kind (varies titles and gene ranges).
    organism
        ``Homo sapiens`` or ``Mus musculus``.
    n_probes
        Table rows (ignored for sequencing platforms, which have no table).
    seed
        Simulation seed.
    sequencing
        Build a high-throughput sequencing platform instead of an array.
    """
    info = organism_info(organism)
    number = int(accession[3:])
    rng = np.random.default_rng([seed, 1, number])
    submitted = date(2002, 1, 1) + timedelta(days=int(rng.integers(0, 2500)))
    if sequencing:
        title = f"{INSTRUMENTS[organism]} ({organism})"
        return PlatformSpec(accession, index, organism, title, True, submitted)
    label = "Human" if info.taxid == 9606 else "Mouse"
    code = "HG" if info.taxid == 9606 else "MG"
    title = f"[{code}-SIM{index + 1}] Affymetrix {label} Genome SIM{index + 1} Array"
    spec = PlatformSpec(accession, index, organism, title, False, submitted)
    _lay_out_probes(spec, rng, n_probes)
    return spec


def _lay_out_probes(spec: PlatformSpec, rng: np.random.Generator, n_probes: int) -> None:
    """Probe ids in table order and what each measures: one gene (several probes per gene,
    suffixed ``_s_at`` ... after the first), several genes, nothing, or a control."""
    n_control = min(len(_CONTROL_POOL), max(4, n_probes // 300))
    n_unmapped = max(1, round(n_probes * 0.04))
    n_multi = max(1, round(n_probes * 0.03))
    n_single = n_probes - n_control - n_unmapped - n_multi
    n_genes = max(2, round(n_single / 1.35))
    spec.gene_offset = (spec.index // 2) * (n_genes // 4)
    spec.genes = gene_catalogue(spec.organism, spec.gene_offset + n_genes)[spec.gene_offset :]

    single = np.concatenate([np.arange(n_genes), rng.integers(0, n_genes, n_single - n_genes)])
    rng.shuffle(single)
    seen: set[int] = set()
    base = 9_000_000 + (spec.index + 1) * 100_000
    entries: list[tuple[str, int, int, list[int]]] = []  # id, kind, gene, multi genes
    for k, gene in enumerate(single.tolist()):
        suffix = "_at" if gene not in seen else ("_s_at", "_x_at", "_a_at")[k % 3]
        seen.add(gene)
        entries.append((f"{base + k}{suffix}", SINGLE, gene, []))
    for k in range(n_multi):
        genes = rng.choice(n_genes, size=2 + int(k % 4 == 0), replace=False).tolist()
        entries.append((f"{base + n_single + k}_x_at", MULTI, genes[0], genes))
    for k in range(n_unmapped):
        entries.append((f"{base + n_single + n_multi + k}_at", UNMAPPED, -1, []))
    for k in range(n_control):
        entries.append((_CONTROL_POOL[k], CONTROL, -1, []))
    entries.sort(key=lambda e: e[0])
    spec.ids = [e[0] for e in entries]
    spec.kinds = np.array([e[1] for e in entries], dtype=np.int8)
    spec.gene_of = np.array([e[2] for e in entries], dtype=np.int64)
    spec.multi_genes = {row: e[3] for row, e in enumerate(entries) if e[1] == MULTI}


def platform_record(spec: PlatformSpec) -> Platform:
    """The record of a simulated platform, with its table unless it is a sequencing platform."""
    info = organism_info(spec.organism)
    released = spec.submitted + timedelta(days=21)
    attrs = [
        ("Platform_title", spec.title),
        ("Platform_geo_accession", spec.accession),
        ("Platform_status", f"Public on {geo_date(released)}"),
        ("Platform_submission_date", geo_date(spec.submitted)),
        ("Platform_last_update_date", geo_date(date(2019, 3, 12))),
        (
            "Platform_technology",
            "high-throughput sequencing" if spec.sequencing else "in situ oligonucleotide",
        ),
        ("Platform_distribution", "virtual" if spec.sequencing else "commercial"),
        ("Platform_organism", spec.organism),
        ("Platform_taxid", str(info.taxid)),
    ]
    if spec.sequencing:
        attrs += [("Platform_contact_name", ",,GEO"), ("Platform_contact_country", "USA")]
    else:
        attrs += [
            ("Platform_manufacturer", "Affymetrix"),
            ("Platform_manufacture_protocol", "see manufacturer's web site"),
            (
                "Platform_description",
                f"Simulated {info.common} expression array generated by exprhub; not real data.",
            ),
            ("Platform_description", ""),
            ("Platform_description", "Keywords = high density oligonucleotide array"),
            ("Platform_web_link", "http://www.affymetrix.com/support/technical/byproduct.affx"),
            ("Platform_contact_name", ",,Affymetrix, Inc."),
            ("Platform_contact_email", "support@affymetrix.com"),
            ("Platform_contact_phone", "888-362-2447"),
            ("Platform_contact_institute", "Affymetrix, Inc."),
            ("Platform_contact_city", "Santa Clara"),
            ("Platform_contact_state", "CA"),
            ("Platform_contact_zip/postal_code", "95051"),
            ("Platform_contact_country", "USA"),
        ]
    attrs += [("Platform_series_id", s) for s in spec.series_ids]
    attrs += [("Platform_sample_id", s) for s in spec.sample_ids]
    attrs.append(("Platform_data_row_count", str(spec.n_probes)))
    if spec.sequencing:
        return Platform(spec.accession, attrs)
    return Platform(spec.accession, attrs, list(_COLUMNS), spec.table())
