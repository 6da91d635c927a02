"""Which genes a platform's probes measure, read from what the hub holds about the platform:
its own table (``Gene Symbol``, ``ENTREZ_GENE_ID``, ``LOCUSLINK`` ... columns), its GEO
annotation (``GPL97.annot``: ``Gene symbol``, ``Gene ID``, ``Gene title``) and the
``IDENTIFIER`` column of its DataSets' tables. Every source present contributes: a probe's
symbols and gene ids are the union of what the sources say.

Built once per platform and kept in memory while the platform's stored tables (record and
annotation, :meth:`exprhub.hub.Hub.platform_table_tag`) and DataSets are unchanged.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from exprhub.hub import Hub, RecordNotFound
from exprhub.hub.platform_catalogue import PlatformFacts, platform_facts, platforms_with_probes
from exprhub.records import RecordType
from exprhub.records.table import MISSING_TOKENS, Table
from exprhub.refine.mapping import split_multi

__all__ = ["ProbeGenes", "measured_platforms", "probe_genes"]

_EMPTY = frozenset(MISSING_TOKENS | {"---", "--"})

#: Columns holding gene symbols (compared ignoring case, spaces and underscores), preferred first.
SYMBOL_COLUMNS = ("Gene Symbol", "GENE_SYMBOL", "Symbol", "ILMN_Gene", "IDENTIFIER")
#: Columns holding NCBI Gene (Entrez) ids.
ENTREZ_COLUMNS = (
    "ENTREZ_GENE_ID",
    "Gene ID",
    "Entrez Gene",
    "Entrez Gene ID",
    "ENTREZ_GENE",
    "EntrezID",
    "LOCUSLINK",
    "LocusLink",
)
#: Columns holding gene names (descriptions).
TITLE_COLUMNS = ("Gene Title", "Gene title", "GENE_NAME", "Gene Name", "Definition")


def _squash(name: str) -> str:
    return name.replace(" ", "").replace("_", "").lower()


def _column(table: Table, names: Sequence[str]) -> str | None:
    present = {_squash(n): n for n in table.names}
    for name in names:
        found = present.get(_squash(name))
        if found is not None:
            return found
    return None


@dataclass
class ProbeGenes:
    """The genes of one platform's probes.

    Attributes
    ----------
    platform
        The platform accession.
    organism
        The platform's organism, when a source names it.
    sources
        What was read (``"platform table GPL81"``, ``"GEO annotation GPL97.annot"``,
        ``"DataSet GDS507 IDENTIFIER"``).
    symbols, gene_ids, titles
        Probe id -> gene symbols / NCBI Gene ids / gene names.
    """

    platform: str
    organism: str | None = None
    sources: list[str] = field(default_factory=list)
    symbols: dict[str, tuple[str, ...]] = field(default_factory=dict)
    gene_ids: dict[str, tuple[str, ...]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    _by_symbol: dict[str, list[str]] | None = field(default=None, repr=False)
    _by_gene_id: dict[str, list[str]] | None = field(default=None, repr=False)

    def add_table(self, table: Table, source: str) -> None:
        """Add the probes' genes named in ``table`` (probe ids in ``ID`` or ``ID_REF``)."""
        id_column = _column(table, ("ID", "ID_REF"))
        if id_column is None:
            return
        probes = [p.strip() for p in table.column(id_column).tolist()]
        found = False
        for names, into in ((SYMBOL_COLUMNS, self.symbols), (ENTREZ_COLUMNS, self.gene_ids)):
            name = _column(table, names)
            if name is None:
                continue
            found = True
            for probe, cell in zip(probes, table.column(name).tolist(), strict=True):
                if "/" in cell or cell.strip() != cell:
                    values = split_multi(cell)
                elif cell and cell not in _EMPTY:  # one identifier: most cells
                    values = [cell]
                else:
                    continue
                if values:
                    before = into.get(probe, ())
                    into[probe] = before + tuple(v for v in values if v not in before)
        title = _column(table, TITLE_COLUMNS)
        if title is not None:
            for probe, cell in zip(probes, table.column(title).tolist(), strict=True):
                text = cell.strip()
                if text and text not in ("---", "--") and probe not in self.titles:
                    self.titles[probe] = text
        if found:
            self.sources.append(source)
            self._by_symbol = self._by_gene_id = None

    def probes_for(self, symbols: Iterable[str] = (), gene_ids: Iterable[str] = ()) -> list[str]:
        """Probes measuring any of the genes (symbols compared ignoring case), in id order."""
        if self._by_symbol is None or self._by_gene_id is None:
            self._by_symbol = _inverted(self.symbols, upper=True)
            self._by_gene_id = _inverted(self.gene_ids, upper=False)
        out: set[str] = set()
        for symbol in symbols:
            out.update(self._by_symbol.get(symbol.upper(), ()))
        for gene_id in gene_ids:
            out.update(self._by_gene_id.get(gene_id, ()))
        return sorted(out)

    def gene_of(self, probe: str) -> tuple[str | None, str | None]:
        """``(symbol, gene id)`` of a probe (the first listed; None when unknown)."""
        symbols = self.symbols.get(probe, ())
        ids = self.gene_ids.get(probe, ())
        return (symbols[0] if symbols else None, ids[0] if ids else None)

    def search(self, text: str) -> list[str]:
        """Probes whose symbol or gene id is ``text`` or whose gene name holds every word of
        it (ignoring case)."""
        exact = self.probes_for([text], [text.strip()])
        if exact or len(text.strip()) < 3:
            return exact
        words = text.lower().split()
        return sorted(p for p, t in self.titles.items() if all(w in t.lower() for w in words))


def _inverted(mapping: dict[str, tuple[str, ...]], *, upper: bool) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for probe, values in mapping.items():
        for value in values:
            out.setdefault(value.upper() if upper else value, []).append(probe)
    return out


_CACHE: dict[tuple[str, str], tuple[str, ProbeGenes]] = {}
_CACHE_LOCK = threading.Lock()
#: Platforms kept in memory per process (a platform's genes take a few MB).
CACHE_SIZE = 64


def _origin(facts: PlatformFacts, key: str) -> str:
    origin = facts.origins.get(key)
    return f"{origin[0]}/{origin[1]}" if origin else "-"


def probe_genes(hub: Hub, platform: str, facts: PlatformFacts | None = None) -> ProbeGenes:
    """The genes of a platform's probes from every source the hub holds (empty when none).

    Kept in memory, and in the hub directory under ``cache/probe-genes/`` (derived data,
    rebuilt when a source changes or the file is missing or unreadable).

    Parameters
    ----------
    facts
        The platform's facts, when already read for many platforms at once
        (:func:`exprhub.hub.platform_catalogue.platforms_with_probes`); read here otherwise.
    """
    if facts is None:
        facts = platform_facts(hub, [platform])[platform]
    datasets = sorted(facts.datasets)
    tag = ";".join(
        [CACHE_FORMAT, facts.table_tag, _origin(facts, platform)]
        + [f"{d}={_origin(facts, d)}" for d in datasets]
    )
    key = (str(hub.home.resolve()), platform)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None and cached[0] == tag:
        return cached[1]
    genes = _load(hub, platform, tag)
    if genes is None:
        genes = _build(hub, platform, datasets)
        _save(hub, genes, tag)
    with _CACHE_LOCK:
        if len(_CACHE) >= CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (tag, genes)
    return genes


def _build(hub: Hub, platform: str, datasets: list[str]) -> ProbeGenes:
    genes = ProbeGenes(platform)
    if hub.has(platform, RecordType.PLATFORM):
        record = hub.record(platform, RecordType.PLATFORM, table=True)
        genes.organism = record.get("organism")
        if record.table is not None:
            genes.add_table(record.table, f"platform table {platform}")
    annotation = hub.annotation(platform)
    if annotation is not None:
        genes.organism = genes.organism or annotation.get("Annotation_platform_organism")
        if annotation.table is not None:
            genes.add_table(annotation.table, f"GEO annotation {platform}.annot")
    for dataset in datasets:
        try:
            record = hub.record(dataset, RecordType.DATASET, table=True)
        except RecordNotFound:
            continue
        genes.organism = genes.organism or next(iter(record.organisms), None)  # type: ignore[attr-defined]
        if record.table is not None:
            genes.add_table(record.table, f"DataSet {dataset} IDENTIFIER")
    return genes


#: Version of the cache files' layout (part of their tag).
CACHE_FORMAT = "probe-genes-1"


def _cache_path(hub: Hub, platform: str) -> Path:
    return hub.home / "cache" / "probe-genes" / f"{platform}.json.gz"


def _load(hub: Hub, platform: str, tag: str) -> ProbeGenes | None:
    path = _cache_path(hub, platform)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("tag") != tag:
            return None
        return ProbeGenes(
            platform,
            data["organism"],
            list(data["sources"]),
            {k: tuple(v) for k, v in data["symbols"].items()},
            {k: tuple(v) for k, v in data["gene_ids"].items()},
            dict(data["titles"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save(hub: Hub, genes: ProbeGenes, tag: str) -> None:
    path = _cache_path(hub, genes.platform)
    data = {
        "tag": tag,
        "organism": genes.organism,
        "sources": genes.sources,
        "symbols": genes.symbols,
        "gene_ids": genes.gene_ids,
        "titles": genes.titles,
    }
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False) as raw:
            temporary = raw.name
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as handle:
                handle.write(json.dumps(data).encode())
        os.replace(temporary, path)
    except (OSError, ValueError):  # a read-only hub: the cache is only an optimisation
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def measured_platforms(hub: Hub) -> list[str]:
    """Every platform the hub knows probes of: platform records, platforms with a stored GEO
    annotation and the platforms of stored DataSets."""
    return list(platforms_with_probes(hub))
