"""Genes as records of their own: look-up by symbol, synonym, NCBI Gene id, Ensembl id or
words of the description, over the hub's gene reference (NCBI ``gene_info``, and genes the
refinery took from platform tables) and the platforms' probe annotations
(:mod:`exprhub.analysis.probe_genes`); and a gene's record: its identifiers, the probes of
every platform that measure it, the series and DataSets on those platforms, and its refined
values across the hub summarized by series and by harmonized field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from exprhub.analysis.probe_genes import ProbeGenes, probe_genes
from exprhub.curate.harmonize import harmonize
from exprhub.hub import Hub, RecordNotFound
from exprhub.hub.gene_lookup import find_gene_rows, matrices_of_kind, matrix_feature_row
from exprhub.hub.platform_catalogue import PlatformFacts, platforms_with_probes
from exprhub.hub.refinery_tables import GeneRow
from exprhub.records import RecordType, Sample
from exprhub.refine.store import organism_name, tax_id_for

__all__ = [
    "MATCH_ORDER",
    "GeneMatch",
    "GeneNotFound",
    "GeneRecord",
    "find_genes",
    "gene_record",
    "platforms_measuring",
]

#: How a gene matched the text, best first (the order of :func:`find_genes`).
MATCH_ORDER = ("symbol", "gene id", "ensembl id", "synonym", "description")
#: Harmonized fields the refined summary groups by, when the samples have them.
SUMMARY_FIELDS = ("specimen_part", "cell_line", "disease", "sex", "genetic_information")
#: Most refined samples whose labels the summary by harmonized field reads.
LABEL_SUMMARY_LIMIT = 5000


class GeneNotFound(LookupError):
    """No gene of the hub matches the text (the message says what was searched)."""


@dataclass(frozen=True)
class GeneMatch:
    """A gene found by :func:`find_genes`.

    Attributes
    ----------
    symbol
        The official (or annotated) symbol.
    gene_id
        The NCBI Gene (Entrez) id, when known.
    tax_id, organism
        The organism, when known.
    synonyms, ensembl_ids, description, type_of_gene
        From the gene reference, or the platform annotation's gene title.
    source
        ``"gene_info"`` (NCBI gene reference), ``"platform:GPL..."`` (the refinery's genes from
        a platform table) or ``"annotation:GPL..."`` (found only in probe annotations).
    matched
        How the text matched: one of :data:`MATCH_ORDER`.
    """

    symbol: str
    gene_id: str | None
    tax_id: int | None
    organism: str | None
    synonyms: tuple[str, ...] = ()
    ensembl_ids: tuple[str, ...] = ()
    description: str = ""
    type_of_gene: str = ""
    source: str = "gene_info"
    matched: str = "symbol"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        out = asdict(self)
        out["synonyms"] = list(self.synonyms)
        out["ensembl_ids"] = list(self.ensembl_ids)
        return out


def _matched(row: GeneRow, text: str) -> str:
    needle = text.strip().lower()
    if row.symbol.lower() == needle:
        return "symbol"
    if row.gene_id.lower() == needle:
        return "gene id"
    if any(e.lower() == needle for e in row.ensembl_ids):
        return "ensembl id"
    if any(s.lower() == needle for s in row.synonyms):
        return "synonym"
    return "description"


def _from_row(row: GeneRow, text: str) -> GeneMatch:
    return GeneMatch(
        symbol=row.symbol,
        gene_id=row.gene_id,
        tax_id=row.tax_id or None,
        organism=organism_name(row.tax_id),
        synonyms=row.synonyms,
        ensembl_ids=row.ensembl_ids,
        description=row.description,
        type_of_gene=row.type_of_gene,
        source=row.source,
        matched=_matched(row, text),
    )


def find_genes(
    hub: Hub,
    text: str,
    *,
    organism: str | None = None,
    limit: int = 50,
    platforms: Mapping[str, PlatformFacts] | None = None,
) -> list[GeneMatch]:
    """Genes matching ``text``: a symbol, NCBI Gene id, Ensembl id or synonym (whole value,
    ignoring case), or words of the gene's name. Best matches first (:data:`MATCH_ORDER`,
    then organisms with a gene reference, then symbol); one entry per organism and gene.

    Parameters
    ----------
    text
        What to look for (``"ACTB"``, ``"60"``, ``"ENSG00000075624"``, ``"actin beta"``).
    organism
        Only genes of this organism (scientific name or NCBI tax id).
    limit
        At most this many genes.
    platforms
        The hub's platforms with probes, when already read
        (:func:`exprhub.hub.platform_catalogue.platforms_with_probes`); read here otherwise.
    """
    text = text.strip()
    if not text:
        return []
    tax = _tax(organism)
    found: dict[tuple[Any, str], GeneMatch] = {}
    for row in find_gene_rows(hub, text, tax_id=tax, limit=max(limit * 4, 200)):
        match = _from_row(row, text)
        found.setdefault((match.tax_id, match.symbol.upper() or match.gene_id or ""), match)
    known_ids = {(m.tax_id, m.gene_id) for m in found.values()}
    platforms = platforms_with_probes(hub) if platforms is None else platforms
    for platform, facts in platforms.items():
        genes = probe_genes(hub, platform, facts)
        platform_tax = tax_id_for(genes.organism)
        if tax is not None and platform_tax != tax:
            continue
        needle = text.lower()
        for probe in genes.search(text)[:limit]:
            symbol, gene_id = genes.gene_of(probe)
            # a probe may carry several symbols (platform table and annotation disagreeing)
            named = [s for s in genes.symbols.get(probe, ()) if s.lower() == needle]
            if named:
                symbol, matched = named[0], "symbol"
            elif text in genes.gene_ids.get(probe, ()):
                gene_id, matched = text, "gene id"
            else:
                matched = "description"
            if symbol is None and gene_id is None:
                continue
            if (platform_tax, gene_id) in known_ids and gene_id is not None:
                continue
            key = (platform_tax, (symbol or "").upper() or gene_id or "")
            if key in found:
                continue
            found[key] = GeneMatch(
                symbol=symbol or "",
                gene_id=gene_id,
                tax_id=platform_tax,
                organism=genes.organism,
                description=genes.titles.get(probe, ""),
                source=f"annotation:{platform}",
                matched=matched,
            )
    order = {m: i for i, m in enumerate(MATCH_ORDER)}
    ranked = sorted(
        found.values(),
        key=lambda m: (
            order[m.matched],
            m.source != "gene_info",
            m.symbol != text,  # exact case first: ACTB (human) before Actb (mouse)
            m.tax_id or 0,
            m.symbol.upper(),
        ),
    )
    return ranked[:limit]


def _tax(organism: str | int | None) -> int | None:
    if organism is None:
        return None
    if isinstance(organism, int) or str(organism).isdigit():
        return int(organism)
    tax = tax_id_for(str(organism))
    if tax is None:
        raise ValueError(f"unknown organism {organism!r}: give its NCBI tax id")
    return tax


def best_gene(hub: Hub, text: str, *, organism: str | None = None) -> GeneMatch:
    """The best match of :func:`find_genes`.

    Raises
    ------
    GeneNotFound
        When nothing matches.
    """
    found = find_genes(hub, text, organism=organism, limit=1)
    if not found:
        where = f" of {organism}" if organism else ""
        raise GeneNotFound(
            f"no gene{where} matches {text!r} in the hub's gene reference or platform annotations"
        )
    return found[0]


@dataclass
class PlatformProbes:
    """The probes of one platform that measure a gene, and the records on that platform."""

    platform: str
    probes: list[str]
    sources: list[str]
    series: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)


def _same_organism(genes: ProbeGenes, match: GeneMatch) -> bool:
    if match.tax_id is None or genes.organism is None:
        return True
    return tax_id_for(genes.organism) in (None, match.tax_id)


def platforms_measuring(
    hub: Hub, match: GeneMatch, *, platforms: Mapping[str, PlatformFacts] | None = None
) -> list[PlatformProbes]:
    """Every platform of the hub with probes annotated with the gene (its symbol or NCBI Gene
    id), of the gene's organism, with the series and DataSets on it.

    Parameters
    ----------
    platforms
        The hub's platforms with probes, when already read
        (:func:`exprhub.hub.platform_catalogue.platforms_with_probes`); read here otherwise.
    """
    out = []
    platforms = platforms_with_probes(hub) if platforms is None else platforms
    for platform, facts in platforms.items():
        genes = probe_genes(hub, platform, facts)
        if not _same_organism(genes, match):
            continue
        probes = genes.probes_for(
            [match.symbol] if match.symbol else [], [match.gene_id] if match.gene_id else []
        )
        if not probes:
            continue
        out.append(
            PlatformProbes(
                platform, probes, list(genes.sources), sorted(facts.series), sorted(facts.datasets)
            )
        )
    return out


def platforms_for_text(hub: Hub, text: str) -> list[str]:
    """Platforms measuring any gene whose symbol, gene id, Ensembl id or synonym is ``text``
    (what ``ACTB[GENE]`` selects in search; description words are not used there)."""
    found: set[str] = set()
    platforms = platforms_with_probes(hub)
    # search hands over its tokens joined by spaces: "beta-actin" arrives as "beta actin"
    spellings = dict.fromkeys([text, text.replace(" ", "-"), text.replace(" ", "")])
    for spelling in spellings:
        for match in find_genes(hub, spelling, limit=20, platforms=platforms):
            if match.matched == "description":
                continue
            found.update(p.platform for p in platforms_measuring(hub, match, platforms=platforms))
    return sorted(found)


@dataclass
class GeneRecord:
    """A gene's page: identifiers, platforms and probes, records measuring it, refined
    values across the hub and other genes matching the same text."""

    gene: GeneMatch
    platforms: list[PlatformProbes]
    refined: dict[str, Any]
    others: list[GeneMatch]

    @property
    def series(self) -> list[str]:
        """Series on a platform measuring the gene."""
        return sorted({s for p in self.platforms for s in p.series})

    @property
    def datasets(self) -> list[str]:
        """DataSets on a platform measuring the gene."""
        return sorted({d for p in self.platforms for d in p.datasets})

    def as_dict(self) -> dict[str, Any]:
        """JSON of ``exprhub gene --json`` and ``/api/v1/genes/{gene}``."""
        return {
            "gene": self.gene.as_dict(),
            "platforms": [asdict(p) for p in self.platforms],
            "series": self.series,
            "datasets": self.datasets,
            "refined": self.refined,
            "other_matches": [m.as_dict() for m in self.others],
        }


def gene_record(hub: Hub, text: str, *, organism: str | None = None) -> GeneRecord:
    """The record of the gene best matching ``text`` (see :func:`find_genes`).

    Raises
    ------
    GeneNotFound
        When no gene matches.
    """
    platforms = platforms_with_probes(hub)
    found = find_genes(hub, text, organism=organism, limit=20, platforms=platforms)
    if not found:
        best_gene(hub, text, organism=organism)  # raises with the message
    gene = found[0]
    return GeneRecord(
        gene,
        platforms_measuring(hub, gene, platforms=platforms),
        refined_summary(hub, gene),
        found[1:],
    )


def _stats(values: np.ndarray) -> dict[str, Any]:
    return {
        "n": int(values.size),
        "mean": round(float(np.mean(values)), 4),
        "median": round(float(np.median(values)), 4),
        "min": round(float(np.min(values)), 4),
        "max": round(float(np.max(values)), 4),
    }


def refined_summary(hub: Hub, gene: GeneMatch) -> dict[str, Any]:
    """The gene's refined (log2, quantile-normalized) values across the hub: overall, by
    series and by harmonized field (:data:`SUMMARY_FIELDS`) where the samples have one (up to
    :data:`LABEL_SUMMARY_LIMIT` samples; beyond, ``by_field_note`` says it was not computed).
    Empty when the gene has no NCBI Gene id or no refined sample holds it."""
    if gene.gene_id is None or gene.tax_id is None:
        return {}
    values: dict[str, float] = {}
    for name in matrices_of_kind(hub, "refined"):
        if not name.startswith(f"refined/{gene.tax_id}/"):
            continue
        samples, row = matrix_feature_row(hub, name, gene.gene_id)
        for key, value in zip(samples, row.tolist(), strict=True):
            if not np.isnan(value):
                values[key] = float(value)
    if not values:
        return {}
    by_series: dict[str, list[float]] = {}
    for key, facts in hub.sample_facts(list(values)).items():
        for series in facts.series:
            by_series.setdefault(series, []).append(values[key])
    by_field: dict[str, dict[str, list[float]]] = {}
    labelled = len(values) <= LABEL_SUMMARY_LIMIT
    for key, value in values.items() if labelled else ():
        try:
            record = hub.record(key, RecordType.SAMPLE, table=False)
        except RecordNotFound:
            continue
        if not isinstance(record, Sample):
            continue
        labels = harmonize(record.characteristics(1))
        for name in SUMMARY_FIELDS:
            if labels.get(name):
                by_field.setdefault(name, {}).setdefault(labels[name], []).append(value)
    return {
        "values": "refined (log2, quantile-normalized)",
        "overall": _stats(np.array(list(values.values()))),
        "by_series": {k: _stats(np.array(v)) for k, v in sorted(by_series.items())},
        "by_field": {
            name: {k: _stats(np.array(v)) for k, v in sorted(groups.items())}
            for name, groups in by_field.items()
        },
        **(
            {}
            if labelled
            else {
                "by_field_note": f"not computed: more than {LABEL_SUMMARY_LIMIT} refined samples "
                "hold the gene (each sample's labels are read one by one)"
            }
        ),
    }
