"""Probe -> gene mapping from a GEO platform table or ``.annot`` table, and collapsing to genes.

Rules (also in docs/refine.md):

* **Probe column.** Probes are read from ``ID`` unless told otherwise; :func:`detect_id_column`
  finds the column a sample's ``ID_REF`` values come from (refine.bio: the column with >= 50%
  overlap with the sample's identifiers).
* **Gene column.** Candidates are known gene-identifier columns, in this order of preference:
  Entrez (``ENTREZ_GENE_ID``, ``Gene ID``, ``Entrez Gene``, ``GENE``...), Ensembl (``ENSEMBL``...),
  symbols (``Gene Symbol``, ``GENE_SYMBOL``, ``Symbol``...), GenBank (``GB_ACC``...). With a gene
  reference (a set of known gene identifiers) the first candidate whose non-empty values overlap
  it by >= 50% wins (refine.bio's rule); without one, the first candidate with any value.
* **Values.** A cell holds one or more identifiers separated by ``///``; whitespace is stripped;
  empty cells and ``---`` are unmapped. Ensembl ids lose their version (``ENSG...12.3`` ->
  ``ENSG...12``) and BrainArray's ``_at`` suffix.
* **Controls.** Probes whose id starts with ``AFFX-`` / ``AFFX_`` (Affymetrix controls) are dropped.
* **Several genes per probe.** Dropped by default (``multi="drop"``); ``"first"`` keeps the first
  listed gene, ``"all"`` lets the probe count for each of its genes.
* **Several probes per gene.** Collapsed by the mean of the observed (non-NaN) values
  (``rule="mean"``, refine.bio's choice); ``"median"`` and ``"max"`` are available. Genes come out
  sorted by identifier.
* Every probe is counted in :class:`MappingStats` as mapped, multi-gene (dropped), control or
  unmapped.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from exprhub.records.table import MISSING_TOKENS, Table

__all__ = [
    "GENE_COLUMNS",
    "MappingStats",
    "ProbeMap",
    "build_probe_map",
    "clean_gene_id",
    "collapse_to_genes",
    "detect_gene_column",
    "detect_id_column",
    "is_control_probe",
    "split_multi",
]

IdType = Literal["entrez", "ensembl", "symbol", "genbank"]
MultiRule = Literal["drop", "first", "all"]
CollapseRule = Literal["mean", "median", "max"]

#: Known gene-identifier column names (compared case-insensitively, ignoring ``_`` and spaces),
#: in order of preference, with the identifier type they hold.
GENE_COLUMNS: tuple[tuple[str, IdType], ...] = (
    ("ENTREZ_GENE_ID", "entrez"),
    ("Gene ID", "entrez"),
    ("Entrez Gene", "entrez"),
    ("Entrez Gene ID", "entrez"),
    ("ENTREZ_GENE", "entrez"),
    ("EntrezID", "entrez"),
    ("GENE", "entrez"),
    ("ENSEMBL", "ensembl"),
    ("Ensembl Gene ID", "ensembl"),
    ("ENSEMBL_ID", "ensembl"),
    ("Gene Symbol", "symbol"),
    ("GENE_SYMBOL", "symbol"),
    ("Symbol", "symbol"),
    ("ILMN_Gene", "symbol"),
    ("GB_ACC", "genbank"),
    ("GenBank Accession", "genbank"),
    ("GB_LIST", "genbank"),
)

_EMPTY = frozenset(MISSING_TOKENS | {"---", "--"})
_SPLIT = re.compile(r"\s*///\s*")
_ENSEMBL = re.compile(r"^(ENS[A-Z]*G\d+)(?:\.\d+)?(?:_at)?$")


def _squash(name: str) -> str:
    return re.sub(r"[\s_]+", "", name).lower()


def is_control_probe(probe_id: str) -> bool:
    """Whether a probe is an Affymetrix control (``AFFX-``/``AFFX_`` prefix)."""
    return probe_id[:5].upper() in ("AFFX-", "AFFX_")


def clean_gene_id(gene: str) -> str:
    """Strip an Ensembl version suffix and BrainArray's ``_at``; other ids are only stripped."""
    gene = gene.strip()
    match = _ENSEMBL.match(gene)
    return match.group(1) if match else gene


def split_multi(cell: str) -> list[str]:
    """The identifiers in one annotation cell (``///``-separated; empty and ``---`` dropped)."""
    text = cell.strip()
    if text in _EMPTY:
        return []
    out = []
    for part in _SPLIT.split(text):
        gene = clean_gene_id(part)
        if gene and gene not in _EMPTY and gene not in out:
            out.append(gene)
    return out


def _overlap(values: Sequence[str], reference: Collection[str]) -> float:
    """Fraction of the non-empty cells with at least one identifier in ``reference``."""
    filled = 0
    hits = 0
    for cell in values:
        genes = split_multi(cell)
        if not genes:
            continue
        filled += 1
        if any(g in reference for g in genes):
            hits += 1
    return hits / filled if filled else 0.0


def detect_id_column(table: Table, sample_ids: Collection[str], min_overlap: float = 0.5) -> str:
    """The column of ``table`` holding the sample's identifiers (``ID`` when it fits).

    The first column (``ID`` first) whose values cover >= ``min_overlap`` of ``sample_ids``.

    Raises
    ------
    ValueError
        When no column reaches the threshold.
    """
    wanted = {s.strip() for s in sample_ids if s.strip()}
    if not wanted:
        raise ValueError("no sample identifiers given")
    names = sorted(table.names, key=lambda n: n.upper() != "ID")
    best = (0.0, "")
    for name in names:
        values = {v.strip() for v in table.column(name).tolist()}
        share = len(wanted & values) / len(wanted)
        if share >= min_overlap:
            return name
        best = max(best, (share, name))
    raise ValueError(
        f"no platform column holds >= {min_overlap:.0%} of the sample's identifiers "
        f"(best: {best[1]!r} with {best[0]:.0%})"
    )


def detect_gene_column(
    table: Table,
    reference: Collection[str] | None = None,
    min_overlap: float = 0.5,
) -> tuple[str, IdType]:
    """The gene-identifier column of a platform or annotation table, and its identifier type.

    Raises
    ------
    ValueError
        When no known column qualifies (the message lists the table's columns).
    """
    by_key: dict[str, str] = {}
    for name in table.names:
        by_key.setdefault(_squash(name), name)
    tried = []
    for candidate, id_type in GENE_COLUMNS:
        found = by_key.get(_squash(candidate))
        if found is None:
            continue
        name = found
        values = table.column(name).tolist()
        if reference is None:
            if any(split_multi(v) for v in values):
                return name, id_type
            tried.append(f"{name} (empty)")
            continue
        share = _overlap(values, reference)
        if share >= min_overlap:
            return name, id_type
        tried.append(f"{name} ({share:.0%})")
    detail = f"; tried {', '.join(tried)}" if tried else ""
    raise ValueError(f"no gene identifier column among {table.names}{detail}")


@dataclass(frozen=True)
class MappingStats:
    """How the probes of a platform were mapped (every probe is in exactly one bucket)."""

    probes_total: int
    mapped: int
    multi_gene: int
    control: int
    unmapped: int
    genes: int


@dataclass(frozen=True)
class ProbeMap:
    """Probe -> gene(s) for one platform.

    Attributes
    ----------
    genes
        Probe id -> gene ids it counts for (one, or several with ``multi="all"``).
    id_type
        Type of the gene identifiers (``"entrez"``, ``"ensembl"``, ``"symbol"``, ``"genbank"``).
    column
        Table column the genes were read from.
    stats
        Counts of mapped / multi-gene / control / unmapped probes.
    multi
        Rule used for probes listing several genes.
    """

    genes: dict[str, tuple[str, ...]]
    id_type: str
    column: str
    stats: MappingStats
    multi: str = "drop"

    def __len__(self) -> int:
        return len(self.genes)

    def gene_ids(self) -> list[str]:
        """The distinct genes, sorted."""
        return sorted({g for gs in self.genes.values() for g in gs})


def build_probe_map(
    table: Table,
    gene_column: str | None = None,
    *,
    id_column: str = "ID",
    id_type: IdType | None = None,
    reference: Collection[str] | None = None,
    multi: MultiRule = "drop",
    drop_controls: bool = True,
) -> ProbeMap:
    """Map each probe of a platform / ``.annot`` table to its gene(s).

    Parameters
    ----------
    table
        The platform's data table.
    gene_column
        Column holding gene identifiers; detected by :func:`detect_gene_column` when None.
    id_column
        Column holding the probe identifiers.
    id_type
        Identifier type of ``gene_column`` when given explicitly (default: from its name, else
        ``"symbol"``).
    reference
        Known gene identifiers, used to pick the column (>= 50% overlap).
    multi
        ``"drop"``, ``"first"`` or ``"all"`` for probes listing several genes.
    drop_controls
        Drop ``AFFX-`` control probes.
    """
    if multi not in ("drop", "first", "all"):
        raise ValueError(f"multi must be 'drop', 'first' or 'all', got {multi!r}")
    if gene_column is None:
        gene_column, detected = detect_gene_column(table, reference)
        id_type = id_type or detected
    elif id_type is None:
        known = {_squash(c): t for c, t in GENE_COLUMNS}
        id_type = known.get(_squash(gene_column), "symbol")
    probes = [p.strip() for p in table.column(id_column).tolist()]
    cells = table.column(gene_column).tolist()
    genes: dict[str, tuple[str, ...]] = {}
    n_multi = n_control = n_unmapped = 0
    for probe, cell in zip(probes, cells, strict=True):
        if drop_controls and is_control_probe(probe):
            n_control += 1
            continue
        found = split_multi(cell)
        if not found:
            n_unmapped += 1
            continue
        if len(found) > 1:
            if multi == "drop":
                n_multi += 1
                continue
            found = found[:1] if multi == "first" else found
        genes[probe] = tuple(found)
    distinct = {g for gs in genes.values() for g in gs}
    stats = MappingStats(
        probes_total=len(probes),
        mapped=len(genes),
        multi_gene=n_multi,
        control=n_control,
        unmapped=n_unmapped,
        genes=len(distinct),
    )
    return ProbeMap(genes, id_type, gene_column, stats, multi)


def collapse_to_genes(
    probe_ids: Sequence[str],
    values: np.ndarray,
    probe_map: ProbeMap,
    rule: CollapseRule = "mean",
) -> tuple[list[str], np.ndarray]:
    """Collapse a probes x samples matrix to genes x samples.

    Probes absent from ``probe_map`` are dropped. Several probes of one gene are combined by
    ``rule`` over their observed values (NaN when none is observed).

    Returns
    -------
    (gene_ids, matrix)
        Gene ids sorted; matrix float64 genes x samples.
    """
    if rule not in ("mean", "median", "max"):
        raise ValueError(f"rule must be 'mean', 'median' or 'max', got {rule!r}")
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] != len(probe_ids):
        raise ValueError(f"{len(probe_ids)} probe ids for {x.shape[0]} rows of values")
    rows: list[int] = []
    genes: list[str] = []
    for i, probe in enumerate(probe_ids):
        for gene in probe_map.genes.get(str(probe).strip(), ()):
            rows.append(i)
            genes.append(gene)
    if not rows:
        return [], np.empty((0, x.shape[1]), dtype=np.float64)
    gene_ids, inverse = np.unique(np.array(genes, dtype=str), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    grouped = x[np.asarray(rows)[order]]
    counts = np.bincount(inverse, minlength=gene_ids.size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    observed = ~np.isnan(grouped)
    n_obs = np.add.reduceat(observed.astype(np.float64), starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if rule == "mean":
            out = np.add.reduceat(np.where(observed, grouped, 0.0), starts, axis=0) / n_obs
        elif rule == "max":
            out = np.fmax.reduceat(grouped, starts, axis=0)
        else:
            out = np.empty((gene_ids.size, x.shape[1]), dtype=np.float64)
            for g, (s, c) in enumerate(zip(starts, counts, strict=True)):
                block = grouped[s : s + c]
                out[g] = block[0] if c == 1 else _nanmedian(block)
    out[n_obs == 0] = np.nan
    return gene_ids.tolist(), out


def _nanmedian(block: np.ndarray) -> np.ndarray:
    out = np.full(block.shape[1], np.nan)
    keep = ~np.isnan(block).all(axis=0)
    if keep.any():
        out[keep] = np.nanmedian(block[:, keep], axis=0)
    return out
