"""Planning a refine run: which samples, where their values are, and how each platform's
probes map to genes (the gene references themselves: :mod:`exprhub.refine.store.genes`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from exprhub.hub import COUNTS_KIND, Hub
from exprhub.records import RecordType, Table
from exprhub.refine.genes import GeneReference, strip_accession_version
from exprhub.refine.mapping import (
    GENE_COLUMNS,
    ProbeMap,
    build_probe_map,
    detect_gene_column,
    is_control_probe,
    split_multi,
)
from exprhub.refine.pipeline_work import PlatformPlan, RefineOptions, SampleInput
from exprhub.refine.store import GeneRow
from exprhub.refine.store import gene_accessions as accessions_store
from exprhub.refine.store.genes import genes_fetch_command, tax_id_for

#: Why a sample with no data table, counts table or reads is skipped (status ``skipped``).
NO_VALUES = (
    "skipped: no values (no data table in the hub; attach counts with "
    "`exprhub import TABLE --series GSE...` or quantify reads with `exprhub refine --reads`)"
)

_SYMBOL_COLUMNS = ("gene symbol", "gene_symbol", "symbol", "ilmn_gene")
_TITLE_COLUMNS = ("gene title", "gene_title", "gene name", "description")

# ------------------------------------------------------------------------------ planning


def chunks(items: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def resolve_samples(hub: Hub, accessions: Sequence[str]) -> list[str]:
    if not accessions:
        keys = [r.key for r in hub.records(RecordType.SAMPLE)]
        for gds in hub.records(RecordType.DATASET):
            keys += hub.samples_of(gds.key)
    else:
        keys = []
        for acc in accessions:
            keys += hub.samples_of(acc)
    return list(dict.fromkeys(keys))


#: The sample attributes a plan reads.
_PLAN_ATTRIBUTES = ("Sample_channel_count", "Sample_taxid_ch1", "Sample_platform_id")


def plan_samples(hub: Hub, keys: Sequence[str]) -> list[SampleInput]:
    """What the refinery knows of each sample before refining it: organism, batch, where its
    values are (its platform's matrix, else a DataSet's), and why it cannot be refined."""
    facts = hub.sample_facts(keys, _PLAN_ATTRIBUTES)
    sources = hub.current_columns(keys, ("submitted", "dataset", COUNTS_KIND))
    datasets: dict[str, Any] = {}
    out = []
    for key in keys:
        src = sources.get(key, {})
        gds = src["dataset"][1] if "dataset" in src else None
        if gds and gds not in datasets:
            datasets[gds] = hub.record(gds, RecordType.DATASET, table=False)
        ds = datasets.get(gds) if gds else None
        rec = facts.get(key)
        a = rec.attributes if rec is not None else {}
        organism = ""
        if rec is not None and rec.organisms:
            organism = rec.organisms[0]
        elif ds is not None and ds.organisms:
            organism = ds.organisms[0]
        tax = a.get("Sample_taxid_ch1", "").strip()
        tax_id = int(tax) if tax.isdigit() else tax_id_for(organism)
        cc = a.get("Sample_channel_count", "").strip()
        platform: str | None
        if "submitted" in src:
            matrix, platform, column = src["submitted"]
            sha = rec.source_sha256 if rec is not None else None
            version = rec.version if rec is not None else 0
        elif "dataset" in src:
            matrix, _, column = src["dataset"]
            platform = ds.platform_id if ds is not None else None
            sha, version = _record_sha(hub, gds or "")
        else:
            matrix, platform, column, sha, version = None, None, -1, None, 0
        if ds is not None and not cc:
            cc = (ds.get("channel_count") or "").strip()
        batch = ((rec.series if rec is not None else []) or [gds or key])[0]
        sample = SampleInput(
            key,
            batch,
            platform,
            tax_id,
            organism,
            int(cc) if cc.isdigit() else 1,
            ds.value_type if ds is not None else None,
            gds,
            matrix,
            column,
            sha,
            version,
        )
        if matrix is None and COUNTS_KIND in src:
            sample.counts, _, sample.counts_column = src[COUNTS_KIND]
            if tax_id is None:
                sample.problem = f"unknown organism {organism!r} (no tax id)"
        elif matrix is None:
            sample.problem = NO_VALUES
        elif tax_id is None:
            sample.problem = f"unknown organism {organism!r} (no tax id)"
        out.append(sample)
    return out


def _record_sha(hub: Hub, key: str) -> tuple[str | None, int]:
    return hub.record_origin(key) or (None, 0)


def table_ref(hub: Hub, key: str) -> str | None:
    """A tag of the platform's stored tables (record and annotation): part of the input
    checksum of its samples."""
    return hub.platform_table_tag(key)


def _find_column(table: Table, names: Sequence[str]) -> str | None:
    lowered = {n.lower().replace("_", " "): n for n in table.names}
    for name in names:
        found = lowered.get(name.replace("_", " "))
        if found:
            return found
    return None


class MissingInput(ValueError):
    """The hub lacks something needed to map a platform's probes to genes (a platform record,
    its GEO annotation, an NCBI gene reference); ``command`` is what brings it."""

    def __init__(self, reason: str, command: str) -> None:
        super().__init__(f"{reason}; run `{command}`")
        self.reason = reason
        self.command = command


AccessionLookup = Callable[[set[str]], dict[str, tuple[str, ...]]]


_ACCESSION_SEPARATORS = re.compile(r"[,;\s]+")


def split_accessions(text: str) -> list[str]:
    """The nucleotide accessions in one GenBank cell, versions stripped (``GB_LIST`` cells
    list them separated by commas: ``NM_001005221.2,XM_001129377``)."""
    return [strip_accession_version(a) for a in _ACCESSION_SEPARATORS.split(text) if a.strip(" -")]


def _genbank_column(table: Table) -> str | None:
    return _find_column(table, [name.lower() for name, kind in GENE_COLUMNS if kind == "genbank"])


def _map_table(
    table: Table,
    ref: GeneReference | None,
    options: RefineOptions,
    platform: str,
    tax_id: int | None = None,
    accessions: AccessionLookup | None = None,
) -> tuple[ProbeMap, dict[str, Any]]:
    reference = None
    if ref is not None:
        reference = (
            ref.identifiers("entrez") | ref.identifiers("symbol") | ref.identifiers("ensembl")
        )
    try:
        column, id_type = detect_gene_column(table, reference)
    except ValueError:
        # no column overlaps the gene reference: GenBank accessions are judged by gene2accession
        genbank = _genbank_column(table)
        if genbank is None:
            raise
        column, id_type = genbank, "genbank"
    if id_type != "entrez" and _find_column(table, ["locuslink"]):
        column, id_type = _find_column(table, ["locuslink"]) or column, "entrez"
    if id_type == "genbank":
        if accessions is None:
            raise MissingInput(
                f"{platform}: its gene column {column!r} holds GenBank accessions and the hub "
                f"has no NCBI gene2accession links for tax {tax_id}",
                genes_fetch_command(tax_id),
            )
        return _map_genbank(table, column, ref, options, accessions)
    if id_type != "entrez" and ref is None:
        raise MissingInput(
            f"{platform}: its gene column {column!r} holds {id_type} identifiers and the hub "
            f"has no NCBI gene reference for tax {tax_id}",
            genes_fetch_command(tax_id),
        )
    pmap = build_probe_map(
        table,
        column,
        id_type=id_type,
        multi=options.multi,  # type: ignore[arg-type]
    )
    resolved: dict[str, tuple[str, ...]] = {}
    unresolved = 0
    for probe, genes in pmap.genes.items():
        if ref is None:
            ids = genes
        elif id_type == "entrez":
            ids = tuple(g for g in genes if g in ref)
        else:
            ids = tuple(dict.fromkeys(r for r in (ref.resolve(g) for g in genes) if r))
        if ids:
            resolved[probe] = ids
        else:
            unresolved += 1
    stats = asdict(pmap.stats)
    stats["unresolved"] = unresolved
    stats["mapped"] -= unresolved
    stats["genes"] = len({g for gs in resolved.values() for g in gs})
    final = ProbeMap(resolved, "entrez", column, pmap.stats, pmap.multi)
    return final, {"column": column, "id_type": id_type, "platform_stats": stats}


def _map_genbank(
    table: Table,
    column: str,
    ref: GeneReference | None,
    options: RefineOptions,
    accessions: AccessionLookup,
) -> tuple[ProbeMap, dict[str, Any]]:
    """Probes -> genes through their accessions: a probe counts for the distinct genes its
    accessions link to (genes absent from a stored gene reference left out); the multi-gene
    rule applies to those genes, not to the number of accessions."""
    listed = build_probe_map(table, column, id_type="genbank", multi="all")
    by_probe = {
        probe: tuple(dict.fromkeys(a for cell in cells for a in split_accessions(cell)))
        for probe, cells in listed.genes.items()
    }
    links = accessions({acc for accs in by_probe.values() for acc in accs})
    resolved: dict[str, tuple[str, ...]] = {}
    multi: set[str] = set()
    unresolved = 0
    for probe, accs in by_probe.items():
        genes = tuple(
            dict.fromkeys(g for acc in accs for g in links.get(acc, ()) if ref is None or g in ref)
        )
        if not genes:
            unresolved += 1
        elif len(genes) > 1 and options.multi == "drop":
            multi.add(probe)
        else:
            resolved[probe] = genes[:1] if options.multi == "first" else genes
    base = listed.stats
    stats = {
        "probes_total": base.probes_total,
        "mapped": len(resolved),
        "multi_gene": len(multi),
        "control": base.control,
        "unmapped": base.unmapped,
        "genes": len({g for gs in resolved.values() for g in gs}),
        "unresolved": unresolved,
    }
    final = ProbeMap(resolved, "entrez", column, base, options.multi)
    info = {"column": column, "id_type": "genbank", "platform_stats": stats, "_multi": multi}
    return final, info


def plan_platform(
    hub: Hub,
    platform: str,
    matrix: str,
    ref: GeneReference | None,
    options: RefineOptions,
    *,
    tax_id: int | None = None,
) -> PlatformPlan:
    """The probe -> gene map of one value matrix of ``platform`` (see docs/refine.md: the
    platform's own gene column or the GEO annotation, whichever maps more of the matrix's
    probes; GenBank accessions through gene2accession only when neither has a gene column).

    Raises
    ------
    MissingInput
        When the hub lacks the platform, its annotation or the organism's gene reference.
    ValueError
        When no table of the platform can be mapped.
    """
    features = hub.matrix_features(matrix)
    candidates: list[tuple[str, Table]] = []
    if hub.has(platform, RecordType.PLATFORM):
        table = hub.record(platform, RecordType.PLATFORM).table
        if table is not None and table.n_cols:
            candidates.append((f"platform table {platform}", table))
    annotation = hub.annotation(platform)
    if annotation is not None and annotation.table is not None:
        date = annotation.get("date") or "undated"
        candidates.append((f"GEO annotation {platform}.annot ({date})", annotation.table))
    if not candidates:
        raise MissingInput(f"platform {platform} is not in the hub", f"exprhub fetch {platform}")
    lookup: AccessionLookup | None = None
    if tax_id is not None and accessions_store.has_accessions(hub, tax_id):
        tax = tax_id

        def lookup(wanted: set[str]) -> dict[str, tuple[str, ...]]:
            return accessions_store.genes_for_accessions(hub, tax, wanted)

    best: tuple[tuple[int, int], str, Table, ProbeMap, dict[str, Any]] | None = None
    errors: list[str] = []
    missing: list[MissingInput] = []
    feature_set = set(features)
    for label, table in candidates:
        try:
            pmap, info = _map_table(table, ref, options, platform, tax_id, lookup)
        except MissingInput as exc:
            missing.append(exc)
            continue
        except (ValueError, KeyError) as exc:
            errors.append(f"{label}: {exc}")
            continue
        hits = sum(1 for p in pmap.genes if p in feature_set)
        # a gene column of the platform table or annotation beats GenBank accessions
        rank = (1 if info["id_type"] == "genbank" else 0, -hits)
        if best is None or rank < best[0]:
            best = (rank, label, table, pmap, info)
    if best is None:
        if missing:
            raise missing[0]
        if annotation is None:
            raise MissingInput(
                f"{platform}: no gene identifier column in its table and no GEO annotation "
                "in the hub",
                f"exprhub fetch {platform} --annot",
            )
        raise ValueError("; ".join(errors))
    _, label, table, pmap, info = best
    info["source"] = label
    multi_probes: set[str] | None = info.pop("_multi", None)
    categories = np.full(len(features), 4, dtype=np.int8)
    where = {f: i for i, f in enumerate(features)}
    probes = [p.strip() for p in table.column("ID").tolist()] if table.has("ID") else []
    cells = table.column(info["column"]).tolist()
    for probe, cell in zip(probes, cells, strict=True):
        i = where.get(probe)
        if i is None:
            continue
        if probe in pmap.genes:
            categories[i] = 0
        elif multi_probes is not None:
            categories[i] = 1 if probe in multi_probes else 2 if is_control_probe(probe) else 3
        elif options.multi == "drop" and len(split_multi(cell)) > 1:
            categories[i] = 1
        elif is_control_probe(probe):
            categories[i] = 2
        else:
            categories[i] = 3
    genes = _platform_genes(table, info["column"], pmap, platform)
    return PlatformPlan(platform, matrix, features, pmap, categories, info, genes)


def _platform_genes(table: Table, column: str, pmap: ProbeMap, platform: str) -> list[GeneRow]:
    sym_col = _find_column(table, _SYMBOL_COLUMNS)
    title_col = _find_column(table, _TITLE_COLUMNS)
    if not table.has("ID"):
        return []
    probes = table.column("ID").tolist()
    syms = table.column(sym_col).tolist() if sym_col else [""] * len(probes)
    titles = table.column(title_col).tolist() if title_col else [""] * len(probes)
    seen: dict[str, GeneRow] = {}
    for probe, sym, title in zip(probes, syms, titles, strict=True):
        genes = pmap.genes.get(probe.strip(), ())
        if len(genes) != 1 or genes[0] in seen:
            continue
        symbols = split_multi(sym)
        titles_ = [t.strip() for t in title.split("///") if t.strip()]
        seen[genes[0]] = GeneRow(
            0,
            genes[0],
            symbols[0] if len(symbols) == 1 else "",
            description=titles_[0] if len(titles_) == 1 else "",
            source=f"platform:{platform}",
        )
    return list(seen.values())
