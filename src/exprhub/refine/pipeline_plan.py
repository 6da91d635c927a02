"""Planning a refine run: which samples, where their values are, and how each platform's
probes map to genes; plus the organism gene references stored in the hub.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from exprhub.formats.errors import FormatError
from exprhub.hub import Hub
from exprhub.hub import gene_accessions as accessions_store
from exprhub.hub import refined as store
from exprhub.hub import schema as s
from exprhub.records import RecordType, Table
from exprhub.refine.genes import (
    Gene,
    GeneReference,
    read_gene2accession,
    read_gene2ensembl,
    read_gene_info,
    strip_accession_version,
)
from exprhub.refine.mapping import (
    GENE_COLUMNS,
    ProbeMap,
    build_probe_map,
    detect_gene_column,
    is_control_probe,
    split_multi,
)
from exprhub.refine.pipeline_work import PlatformPlan, RefineOptions, SampleInput

_SYMBOL_COLUMNS = ("gene symbol", "gene_symbol", "symbol", "ilmn_gene")
_TITLE_COLUMNS = ("gene title", "gene_title", "gene name", "description")

# ------------------------------------------------------------------------------ genes


def import_genes(
    hub: Hub,
    gene_info: Sequence[str],
    gene2ensembl: Sequence[str] = (),
    tax_ids: Sequence[int] | None = None,
) -> dict[int, int]:
    """Import NCBI ``gene_info`` (and ``gene2ensembl``) files; each organism found replaces
    that organism's stored NCBI genes. Returns genes stored per tax id."""
    by_tax: dict[int, dict[str, Gene]] = {}
    for path in gene_info:
        for gene in read_gene_info(path, tax_ids):
            by_tax.setdefault(gene.tax_id, {})[gene.gene_id] = gene
    extra: dict[tuple[int, str], list[str]] = {}
    for path in gene2ensembl:
        for tax, gene_id, ensembl in read_gene2ensembl(path, tax_ids):
            extra.setdefault((tax, gene_id), []).append(ensembl)
    out: dict[int, int] = {}
    with hub.writer() as writer:
        for tax, genes in sorted(by_tax.items()):
            rows = []
            for g in genes.values():
                ens = list(g.ensembl_ids)
                ens += [e for e in extra.get((tax, g.gene_id), []) if e not in ens]
                rows.append(
                    store.GeneRow(
                        tax,
                        g.gene_id,
                        g.symbol,
                        g.synonyms,
                        tuple(ens),
                        g.description,
                        g.type_of_gene,
                        "gene_info",
                    )
                )
            out[tax] = store.replace_genes(writer, tax, rows)
    return out


def import_gene_accessions(
    hub: Hub, gene2accession: Sequence[str], tax_ids: Sequence[int] | None = None
) -> dict[int, int]:
    """Import NCBI ``gene2accession`` files; each organism found replaces that organism's
    stored accession -> gene links. Returns distinct links stored per tax id."""
    by_tax: dict[int, set[tuple[str, str]]] = {}
    for path in gene2accession:
        for tax, gene_id, accession in read_gene2accession(path, tax_ids):
            by_tax.setdefault(tax, set()).add((accession, gene_id))
    return {
        tax: accessions_store.replace_accessions(hub, tax, pairs)
        for tax, pairs in sorted(by_tax.items())
    }


def ncbi_file_kind(path: str | Path) -> str:
    """``"gene_info"``, ``"gene2ensembl"`` or ``"gene2accession"``, from the file's header.

    Raises
    ------
    FormatError
        When the header is neither.
    """
    path = Path(path)
    with path.open("rb") as raw:
        magic = raw.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        header = handle.readline()
    if "Ensembl_gene_identifier" in header:
        return "gene2ensembl"
    if "RNA_nucleotide_accession" in header and "GeneID" in header:
        return "gene2accession"
    if "Symbol" in header and "GeneID" in header:
        return "gene_info"
    raise FormatError(
        path, 1, "expected an NCBI gene_info, gene2ensembl or gene2accession header line"
    )


def gene_reference(hub: Hub, tax_id: int, *, ncbi_only: bool = True) -> GeneReference | None:
    """The organism's gene reference from the hub (None when no NCBI genes are stored)."""
    rows = store.gene_rows(hub, tax_id, source="gene_info" if ncbi_only else None)
    if not rows:
        return None
    return GeneReference.from_genes(
        tax_id,
        (
            Gene(
                r.gene_id,
                r.symbol,
                tax_id,
                r.synonyms,
                r.ensembl_ids,
                r.description,
                r.type_of_gene,
            )
            for r in rows
        ),
    )


def reference_digest(ref: GeneReference | None) -> str:
    if ref is None:
        return "none"
    h = hashlib.sha256()
    for gene_id in sorted(ref.genes):
        g = ref.genes[gene_id]
        h.update(
            f"{gene_id}\t{g.symbol}\t{'|'.join(g.synonyms)}\t{'|'.join(g.ensembl_ids)}\n".encode()
        )
    return h.hexdigest()


# ------------------------------------------------------------------------------ planning


def chunks(items: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def resolve_samples(hub: Hub, accessions: Sequence[str]) -> list[str]:
    if not accessions:
        keys = [r.key for r in hub.records(RecordType.SAMPLE)]
        for gds in hub.records(RecordType.DATASET):
            keys += store.samples_for_accession(hub, gds.key)
    else:
        keys = []
        for acc in accessions:
            keys += store.samples_for_accession(hub, acc)
    return list(dict.fromkeys(keys))


def plan_samples(hub: Hub, keys: Sequence[str]) -> list[SampleInput]:
    wanted = set(keys)
    with hub.engine.connect() as connection:
        records = {}
        for chunk in chunks(sorted(wanted), 500):
            for r in connection.execute(
                select(
                    s.records.c.id,
                    s.records.c.key,
                    s.records.c.version,
                    s.records.c.source_sha256,
                    s.records.c.organisms,
                ).where(s.records.c.type == "GSM", s.records.c.key.in_(chunk))
            ):
                records[r.key] = r
        ids = {r.id: k for k, r in records.items()}
        attrs: dict[str, dict[str, str]] = {}
        series: dict[str, list[str]] = {}
        for chunk in chunks(list(ids), 500):
            for rid, k, v in connection.execute(
                select(s.attributes.c.record_id, s.attributes.c.key, s.attributes.c.value).where(
                    s.attributes.c.record_id.in_(chunk),
                    s.attributes.c.key.in_(
                        ["Sample_channel_count", "Sample_taxid_ch1", "Sample_platform_id"]
                    ),
                )
            ):
                attrs.setdefault(ids[rid], {}).setdefault(k, v)
            for rid, target in connection.execute(
                select(s.relations.c.source_id, s.relations.c.target_key)
                .where(s.relations.c.source_id.in_(chunk), s.relations.c.kind == "series")
                .order_by(s.relations.c.source_id, s.relations.c.position)
            ):
                series.setdefault(ids[rid], []).append(target)
        sources: dict[str, dict[str, tuple[str, str, int]]] = {}
        for name, kind, owner, key, column in connection.execute(
            select(
                s.matrices.c.name,
                s.matrices.c.kind,
                s.matrices.c.owner_key,
                s.matrix_columns.c.sample_key,
                s.matrix_columns.c.column,
            )
            .join(s.matrix_columns, s.matrix_columns.c.matrix_id == s.matrices.c.id)
            .where(s.matrix_columns.c.active, s.matrices.c.kind.in_(["submitted", "dataset"]))
            .order_by(s.matrices.c.name)
        ):
            if key in wanted:
                sources.setdefault(key, {}).setdefault(kind, (name, owner, column))
    datasets: dict[str, Any] = {}
    out = []
    for key in keys:
        src = sources.get(key, {})
        gds = src["dataset"][1] if "dataset" in src else None
        if gds and gds not in datasets:
            datasets[gds] = hub.record(gds, RecordType.DATASET, table=False)
        ds = datasets.get(gds) if gds else None
        rec = records.get(key)
        a = attrs.get(key, {})
        organism = ""
        if rec is not None and rec.organisms:
            organism = rec.organisms.split("; ")[0]
        elif ds is not None and ds.organisms:
            organism = ds.organisms[0]
        tax = a.get("Sample_taxid_ch1", "").strip()
        tax_id = int(tax) if tax.isdigit() else store.tax_id_for(organism)
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
        batch = (series.get(key) or [gds or key])[0]
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
        if matrix is None:
            sample.problem = "no stored values (the sample has no data table in the hub)"
        elif tax_id is None:
            sample.problem = f"unknown organism {organism!r} (no tax id)"
        out.append(sample)
    return out


def _record_sha(hub: Hub, key: str) -> tuple[str | None, int]:
    with hub.engine.connect() as connection:
        row = connection.execute(
            select(s.records.c.source_sha256, s.records.c.version).where(s.records.c.key == key)
        ).first()
    return (row.source_sha256, row.version) if row is not None else (None, 0)


def table_ref(hub: Hub, key: str) -> str | None:
    with hub.engine.connect() as connection:
        ref = connection.execute(
            select(s.records.c.table_ref).where(s.records.c.key == key, s.records.c.type == "GPL")
        ).scalar()
        annot = connection.execute(
            select(s.platform_annotations.c.table_ref).where(
                s.platform_annotations.c.platform_key == key
            )
        ).scalar()
    return f"{ref}:{annot}"


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


def organism_name(tax_id: int | None) -> str | None:
    """The organism name of a tax id in ``ORGANISM_TAX_IDS`` (``"Homo sapiens"``), else None."""
    for name, tax in store.ORGANISM_TAX_IDS.items():
        if tax == tax_id:
            return name[0].upper() + name[1:]
    return None


def genes_fetch_command(tax_id: int | None) -> str:
    """The command that downloads and imports an organism's NCBI gene reference."""
    name = organism_name(tax_id)
    return f'exprhub genes fetch "{name}"' if name else f"exprhub genes fetch {tax_id}"


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


def _platform_genes(
    table: Table, column: str, pmap: ProbeMap, platform: str
) -> list[store.GeneRow]:
    sym_col = _find_column(table, _SYMBOL_COLUMNS)
    title_col = _find_column(table, _TITLE_COLUMNS)
    if not table.has("ID"):
        return []
    probes = table.column("ID").tolist()
    syms = table.column(sym_col).tolist() if sym_col else [""] * len(probes)
    titles = table.column(title_col).tolist() if title_col else [""] * len(probes)
    seen: dict[str, store.GeneRow] = {}
    for probe, sym, title in zip(probes, syms, titles, strict=True):
        genes = pmap.genes.get(probe.strip(), ())
        if len(genes) != 1 or genes[0] in seen:
            continue
        symbols = split_multi(sym)
        titles_ = [t.strip() for t in title.split("///") if t.strip()]
        seen[genes[0]] = store.GeneRow(
            0,
            genes[0],
            symbols[0] if len(symbols) == 1 else "",
            description=titles_[0] if len(titles_) == 1 else "",
            source=f"platform:{platform}",
        )
    return list(seen.values())
