"""The files around a compendium's matrix: sample metadata (TSV and JSON), the records of
dropped genes and samples, ``aggregated_metadata.json``, ``README.md``, ``LICENSE.TXT``, and
the deterministic zip of it all."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.curate.harmonize import FIELDS, harmonize
from exprhub.hub import Hub, RecordNotFound
from exprhub.hub.refinery_tables import refine_states
from exprhub.records import RecordType, Sample

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.bundles.compendium_source import CompendiumSource

__all__ = [
    "sample_metadata",
    "write_dropped_genes",
    "write_filtered_samples",
    "write_layout_text",
    "write_metadata_files",
    "zip_directory",
]

_REFINERY_COLUMNS = ["value_kind", "refined_platform", "processor", "processor_version"]
_RECORD_COLUMNS = ["title", "series", "platform", "source_name"]


def sample_metadata(hub: Hub, source: CompendiumSource, samples: Sequence[str]) -> pd.DataFrame:
    """One row per sample (index ``accession``, text cells): the record's title, series,
    platform and source, the harmonized fields, every characteristic as ``ch1.<key>``, and
    how the refinery made its values. A sample known only by its values has the refinery
    columns alone."""
    import pandas as pd

    states = refine_states(hub, samples)
    rows: list[dict[str, str | None]] = []
    characteristic_columns: dict[str, None] = {}
    harmonized_present: set[str] = set()
    for key in samples:
        state = states.get(key)
        row: dict[str, str | None] = {
            "accession": key,
            "organism": source.organism,
            "value_kind": source.value_kinds.get(key),
            "refined_platform": state.platform_key if state else None,
            "processor": state.processor if state else None,
            "processor_version": state.processor_version if state else None,
        }
        try:
            record = hub.record(key, RecordType.SAMPLE, table=False)
        except RecordNotFound:
            record = None
        if isinstance(record, Sample):
            row["title"] = record.title
            row["series"] = "; ".join(record.series_ids) or None
            row["platform"] = record.platform_id
            row["source_name"] = record.get("source_name_ch1")
            pairs: list[tuple[str, str]] = []
            for channel in range(1, record.channel_count + 1):
                for name, value in record.characteristics(channel):
                    column = f"ch{channel}.{name or 'characteristics'}"
                    characteristic_columns.setdefault(column)
                    before = row.get(column)
                    if not before:
                        row[column] = value
                    elif value not in before.split("; "):
                        row[column] = f"{before}; {value}"
                    pairs.append((name, value))
            labels = harmonize(pairs)
            harmonized_present.update(labels)
            row.update(labels)
        rows.append(row)
    harmonized = [f for f in FIELDS if f in harmonized_present]
    columns = [
        "accession",
        *_RECORD_COLUMNS,
        "organism",
        *_REFINERY_COLUMNS,
        *harmonized,
        *sorted(characteristic_columns),
    ]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    return frame.set_index("accession")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return " ".join(str(value).split("\t"))


def _write_tsv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("\t".join(header) + "\n")
        for row in rows:
            out.write("\t".join(_cell(v) for v in row) + "\n")


def write_metadata_files(directory: Path, key: str, metadata: pd.DataFrame) -> None:
    """``metadata_<key>.tsv`` and ``metadata_<key>.json`` (accession -> non-empty fields)."""
    header = ["accession", *metadata.columns]
    rows = [
        [index, *values] for index, values in zip(metadata.index, metadata.to_numpy(), strict=True)
    ]
    _write_tsv(directory / f"metadata_{key}.tsv", header, rows)
    document = {
        str(index): {c: v for c, v in zip(metadata.columns, values, strict=True) if _cell(v)}
        for index, values in zip(metadata.index, metadata.to_numpy(), strict=True)
    }
    (directory / f"metadata_{key}.json").write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def write_dropped_genes(
    path: Path,
    genes: Sequence[str],
    missing: np.ndarray,
    n_samples: int,
    symbols: Mapping[str, str],
    threshold: float,
) -> None:
    """``dropped_genes.tsv``: gene, symbol, samples missing it, the fraction and the reason."""
    rows = [
        [
            gene,
            symbols.get(gene, ""),
            int(m),
            f"{m / n_samples:.4f}",
            f"missing in {int(m)} of {n_samples} samples (more than {threshold:.0%})",
        ]
        for gene, m in zip(genes, missing, strict=True)
    ]
    _write_tsv(path, ["gene_id", "symbol", "missing_samples", "missing_fraction", "reason"], rows)


def write_filtered_samples(
    path: Path,
    metadata: pd.DataFrame,
    samples: Sequence[str],
    missing: np.ndarray,
    n_genes: int,
    threshold: float,
) -> None:
    """``filtered_samples_metadata.tsv``: the samples left out, with the reason, then their
    metadata."""
    columns = list(metadata.columns)
    rows = []
    for key, m in zip(samples, missing, strict=True):
        reason = f"missing {int(m)} of the {n_genes} genes kept (more than {threshold:.0%})"
        rows.append([key, int(m), f"{m / n_genes:.4f}", reason, *metadata.loc[key].tolist()])
    _write_tsv(path, ["accession", "missing_genes", "missing_fraction", "reason", *columns], rows)


_LICENSE = """The values in this compendium were computed by exprhub from public records of NCBI
GEO (https://www.ncbi.nlm.nih.gov/geo/) and, where present, other records imported into this
hub. NCBI places no restrictions on the use or distribution of GEO data; submitters may claim
patent, copyright or other rights in the data they submitted (see
https://www.ncbi.nlm.nih.gov/home/about/policies/). Cite the original series of the samples
you use (metadata_<ORGANISM>.tsv lists them).
"""


def write_layout_text(directory: Path, key: str, aggregated: Mapping[str, Any]) -> None:
    """``aggregated_metadata.json``, ``README.md`` and ``LICENSE.TXT``."""
    (directory / "aggregated_metadata.json").write_text(
        json.dumps(aggregated, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n",
        encoding="utf-8",
    )
    options = aggregated["options"]
    imputation = aggregated["imputation"]
    qn = aggregated["quantile_normalization"]
    suffix = {"tsv": ".tsv", "h5ad": ".h5ad", "parquet": ".parquet"}[options["format"]]
    lines = [
        f"# {aggregated['organism']} compendium",
        "",
        f"Made by exprhub {aggregated['exprhub_version']}: {aggregated['samples']} samples x "
        f"{aggregated['genes']} genes (Entrez Gene IDs), every refined sample of "
        f"{aggregated['organism']} (NCBI taxon {aggregated['tax_id']}) in the hub.",
        "",
        "## Files",
        "",
        f"- `{key}/{key}{suffix}`: the values "
        + {
            "tsv": "(genes x samples: `gene_id`, `symbol`, then one column per sample)",
            "h5ad": "(AnnData: X samples x genes float32, obs sample metadata, var genes)",
            "parquet": "(a tidy table: `sample_id`, `gene_id`, `value`)",
        }[options["format"]],
        f"- `{key}/metadata_{key}.tsv` and `.json`: metadata of the samples in the matrix",
        "- `aggregated_metadata.json`: every option and version that shaped the numbers",
        f"- `dropped_genes.tsv`: {aggregated['dropped']['genes']} genes left out, with reasons",
        f"- `filtered_samples_metadata.tsv`: {aggregated['dropped']['samples']} samples left "
        "out, with reasons",
        "",
        "## How the values were made",
        "",
        f"1. The samples' {options['stage']} values (log2, gene level) were joined on the gene.",
        f"2. Genes missing in more than {options['max_gene_missing']:.0%} of the samples were "
        "dropped.",
        f"3. Samples missing more than {options['max_sample_missing']:.0%} of the remaining "
        "genes were dropped.",
        (
            f"4. The {imputation['missing_cells']} missing values left were imputed by "
            f"iterative SVD of rank {options['rank']} ({imputation.get('iterations')} "
            f"iterations, converged: {imputation.get('converged')})."
            if imputation["applied"]
            else f"4. Not imputed: {imputation['missing_cells']} values are missing (empty)."
        ),
        (
            "5. Every sample was quantile normalized to the mean of the compendium's sorted "
            f"samples (target SHA-256 {qn['target_sha256']})."
            if qn["applied"]
            else "5. No quantile normalization."
        ),
        "",
        "Values read back exactly as the float32 numbers computed.",
        "",
    ]
    (directory / "README.md").write_text("\n".join(lines), encoding="utf-8")
    (directory / "LICENSE.TXT").write_text(_LICENSE, encoding="utf-8")


def zip_directory(directory: Path, target: Path) -> None:
    """Zip ``directory``'s files into ``target``: sorted entries, fixed timestamps, so the
    same files give the same bytes."""
    tmp = target.with_name(target.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(
                str(path.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0)
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with path.open("rb") as src, archive.open(info, "w", force_zip64=True) as dst:
                while chunk := src.read(2**20):
                    dst.write(chunk)
    tmp.replace(target)
