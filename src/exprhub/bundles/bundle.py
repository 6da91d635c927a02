"""A dataset bundle: the selected samples' values grouped into aggregates, their metadata, the
samples left out with reasons, and the aggregated metadata that records every option and
version that shaped the numbers; written as TSV (zip), h5ad or Parquet (zip).

The same selection, options and versions give a byte-identical file
(:func:`write_bundle`); the file's SHA-256 names it (:func:`bundle_file_name`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from exprhub import __version__
from exprhub.bundles.aggregate import (
    Aggregate,
    Delivered,
    build_aggregate,
    deliverable,
    groups,
)
from exprhub.bundles.sample_metadata import sample_rows
from exprhub.bundles.selection import BundleError, BundleOptions, Selection
from exprhub.hub import Hub
from exprhub.refine import store

#: Version of the bundle layout (bumped when files or fields change meaning).
LAYOUT_VERSION = 1
#: File name extension by format.
EXTENSIONS = {"tsv": ".zip", "parquet": ".zip", "h5ad": ".h5ad"}


@dataclass
class BundleContent:
    """Everything a bundle file holds, in memory (one aggregate's values at a time are
    produced by :meth:`aggregates`)."""

    hub: Hub
    options: BundleOptions
    selection: Selection
    delivered: list[Delivered]
    filtered: dict[str, str]
    groups: dict[str, list[Delivered]]
    metadata_columns: list[str]
    metadata_rows: dict[str, dict[str, str]]
    symbols: dict[str, str]
    metadata: dict[str, Any]

    def aggregates(self) -> Iterator[Aggregate]:
        """Each aggregate's values, read when asked for (one in memory at a time), in key
        order; the aggregate's summary is added to :attr:`metadata`."""
        for key, members in self.groups.items():
            aggregate = build_aggregate(self.hub, key, members, self.options)
            aggregate.extra["values_sha256"] = values_digest(aggregate)
            self.metadata["aggregates"][key] = aggregate.summary()
            yield aggregate

    def filtered_rows(self) -> list[dict[str, str]]:
        """The samples left out: accession, reason, then their metadata columns."""
        out = []
        for sample in sorted(self.filtered):
            row = {"accession": sample, "reason": self.filtered[sample]}
            row.update(
                {k: v for k, v in self.metadata_rows.get(sample, {}).items() if k != "accession"}
            )
            out.append(row)
        return out


def values_digest(aggregate: Aggregate) -> str:
    """SHA-256 of an aggregate's genes, samples and float32 values (little-endian)."""
    digest = hashlib.sha256()
    digest.update("\t".join(aggregate.genes).encode() + b"\n")
    digest.update("\t".join(aggregate.samples).encode() + b"\n")
    values = aggregate.values
    if values.dtype == np.dtype("<f4") and values.flags.c_contiguous:
        digest.update(values.data.cast("B"))  # the buffer itself: no copy of the values
        return digest.hexdigest()
    # the store's matrices are sample-major: hash their rows a block at a time, not a copy
    # of the whole matrix
    step = max(1, DIGEST_BLOCK // max(1, 4 * values.shape[1]))
    for start in range(0, values.shape[0], step):
        digest.update(
            np.ascontiguousarray(values[start : start + step], dtype="<f4").data.cast("B")
        )
    return digest.hexdigest()


#: Bytes of values copied at a time to hash a matrix that is not stored row by row.
DIGEST_BLOCK = 64 * 2**20


def assemble(hub: Hub, selection: Selection, options: BundleOptions) -> BundleContent:
    """What the bundle of ``selection`` holds, and the aggregated metadata.

    Raises
    ------
    BundleError
        When no selected sample can be delivered (the message gives the reasons).
    """
    delivered, filtered = deliverable(hub, selection, options)
    if not delivered:
        reasons = "; ".join(f"{k}: {why}" for k, why in list(sorted(filtered.items()))[:3])
        more = f" (and {len(filtered) - 3} more)" if len(filtered) > 3 else ""
        raise BundleError(
            f"no selected sample can be delivered: {reasons or 'none selected'}{more}"
        )
    grouped = groups(delivered, options.aggregate)
    samples = sorted({*(d.sample for d in delivered), *filtered})
    columns, rows = sample_rows(hub, samples)
    tax_ids = sorted({d.tax_id for d in delivered})
    symbols: dict[str, str] = {}
    for tax in tax_ids:
        for gene, symbol in store.gene_symbols(hub, tax).items():
            symbols.setdefault(gene, symbol)
    metadata = aggregated_metadata(hub, selection, options, delivered, filtered, grouped)
    return BundleContent(
        hub, options, selection, delivered, filtered, grouped, columns, rows, symbols, metadata
    )


def aggregated_metadata(
    hub: Hub,
    selection: Selection,
    options: BundleOptions,
    delivered: list[Delivered],
    filtered: dict[str, str],
    grouped: dict[str, list[Delivered]],
) -> dict[str, Any]:
    """Every option and version that shaped the numbers, JSON-ready and free of timestamps of
    the build (so that a rebuild is byte-identical): exprhub and layout version, options,
    selection, per-sample refinement (processor, platform, QN target version and digest,
    values digest), the QN targets and processors used, gene reference digests, samples in
    several series and those filtered out. ``aggregates`` is filled as each is built."""
    keys = [d.sample for d in delivered]
    states = store.refine_states(hub, keys)
    documents = store.refine_documents(hub, keys)
    assignments = store.qn_assignments(hub, keys)
    samples: dict[str, Any] = {}
    used_targets: dict[tuple[int, str, int], int] = {}
    processors: dict[tuple[str, str], dict[str, Any]] = {}
    for d in sorted(delivered, key=lambda x: x.sample):
        state = states[d.sample]
        assignment = assignments.get(d.sample)
        version = assignment.target_version if assignment is not None else None
        samples[d.sample] = {
            "series": list(d.series),
            "organism": d.organism,
            "tax_id": d.tax_id,
            "platform": d.platform,
            "value_kind": d.value_kind,
            "processor": state.processor,
            "processor_version": state.processor_version,
            "input_sha256": state.input_sha256,
            "values_sha256": state.values_sha256,
            "qn_target_version": version,
            "qn_target_sha256": state.qn_target_sha256,
        }
        if version is not None and options.quantile_normalize:
            index = (d.tax_id, d.value_kind, version)
            used_targets[index] = used_targets.get(index, 0) + 1
        entry = processors.setdefault(
            (state.processor, state.processor_version),
            {
                "name": state.processor,
                "version": state.processor_version,
                "samples": 0,
                "tools": {},
            },
        )
        entry["samples"] += 1
        for tool, tool_version in documents.get(d.sample, {}).get("tools", {}).items():
            versions = entry["tools"].setdefault(tool, [])
            if str(tool_version) not in versions:
                versions.append(str(tool_version))
    targets = []
    for target in store.targets(hub):
        index = (target.tax_id, target.value_kind, target.version)
        if index in used_targets:
            row = target.as_dict()
            row.pop("current", None)
            row["samples_in_bundle"] = used_targets[index]
            targets.append(row)
    for entry in processors.values():
        entry["tools"] = {k: sorted(v) for k, v in sorted(entry["tools"].items())}
    tax_ids = sorted({d.tax_id for d in delivered})
    return {
        "created_by": "exprhub bundle",
        "exprhub_version": __version__,
        "layout_version": LAYOUT_VERSION,
        "options": options.as_dict(),
        "selection": selection.requested | {"not_in_hub": sorted(selection.missing)},
        "aggregate_keys": list(grouped),
        "aggregates": {},
        "samples_in_several_series": {
            k: v for k, v in sorted(selection.in_several_series().items())
        },
        "samples_in_several_series_rule": (
            "with aggregate=experiment a sample appears in the aggregate of each selected series "
            "it belongs to; with species or all it appears once"
        ),
        "n_samples_delivered": len(delivered),
        "n_samples_filtered": len(filtered),
        "filtered_samples": dict(sorted(filtered.items())),
        "quantile_normalization": {
            "applied": options.quantile_normalize,
            "targets": sorted(targets, key=lambda t: (t["tax_id"], t["value_kind"], t["version"])),
        },
        "scaling": {
            "method": options.scale,
            "applied": "per gene across the aggregate's samples, after quantile normalization",
        },
        "processors": [processors[k] for k in sorted(processors)],
        "gene_references": {
            str(tax): {
                "organism": store.organism_name(tax),
                "gene_info_sha256": store.reference_digest(store.gene_reference(hub, tax)),
                "gene_accessions_sha256": store.accession_digest(hub, tax),
            }
            for tax in tax_ids
        },
        "samples": samples,
    }


def metadata_json(metadata: dict[str, Any]) -> bytes:
    """The aggregated metadata as the bundle stores it (sorted keys, 2-space indent)."""
    return (json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def bundle_file_name(sha256: str, options: BundleOptions) -> str:
    """The file name a bundle is delivered under: aggregate, format and the first 16 hex
    digits of the file's SHA-256 (``exprhub-bundle-species-tsv-1f2e3d4c5b6a7980.zip``)."""
    return (
        f"exprhub-bundle-{options.aggregate}-{options.format}-{sha256[:16]}"
        + EXTENSIONS[options.format]
    )


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class BundleResult:
    """A written bundle: where, its SHA-256, and what it holds (the aggregated metadata)."""

    path: Path
    sha256: str
    metadata: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``exprhub bundle create --json``)."""
        aggregates = self.metadata["aggregates"]
        return {
            "path": str(self.path),
            "file": self.path.name,
            "sha256": self.sha256,
            "size": self.path.stat().st_size,
            "options": self.metadata["options"],
            "aggregates": {
                k: {
                    "n_samples": v["n_samples"],
                    "n_genes": v["n_genes"],
                    "genes_dropped": v["genes_dropped"]["count"],
                }
                for k, v in aggregates.items()
            },
            "samples_delivered": self.metadata["n_samples_delivered"],
            "filtered_samples": self.metadata["filtered_samples"],
            "samples_in_several_series": self.metadata["samples_in_several_series"],
        }


def write_bundle(content: BundleContent, target: str | Path) -> BundleResult:
    """Write the bundle to ``target``: a file path, or an existing directory (then the file is
    named by :func:`bundle_file_name`). The file appears whole or not at all.

    Raises
    ------
    BundleError
        When an aggregate has no gene measured in all its samples (nothing is written).
    """
    from exprhub.bundles.layout_h5ad import write_h5ad_bundle
    from exprhub.bundles.layout_parquet import write_parquet_bundle
    from exprhub.bundles.layout_tsv import write_tsv_bundle

    target = Path(target)
    directory = target if target.is_dir() else target.parent
    directory.mkdir(parents=True, exist_ok=True)
    writers = {"tsv": write_tsv_bundle, "h5ad": write_h5ad_bundle, "parquet": write_parquet_bundle}
    handle, temporary = tempfile.mkstemp(prefix=".bundle-", dir=directory)
    os.close(handle)
    part = Path(temporary)
    try:
        writers[content.options.format](content, part)
        sha256 = file_sha256(part)
        path = directory / bundle_file_name(sha256, content.options) if target.is_dir() else target
        part.chmod(0o644)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return BundleResult(path, sha256, content.metadata)


__all__ = [
    "BundleContent",
    "BundleError",
    "BundleResult",
    "assemble",
    "bundle_file_name",
    "write_bundle",
]
