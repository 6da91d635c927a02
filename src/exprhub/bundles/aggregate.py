"""The numbers of a bundle: which selected samples can be delivered (and why not the others),
how they are grouped into aggregates, the genes every sample of an aggregate measured, and the
per-gene scaling.

Values are read from the refinery's matrices, joined on the gene id
(:func:`exprhub.hub.joined_columns.joined_columns`): the quantile-normalized ``refined``
values, or the gene-level ``genes`` values before normalization (``quantile_normalize=False``).
An aggregate keeps only the genes measured in every one of its samples; how many it dropped,
and each platform's gene count, are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from exprhub.bundles.selection import BundleError, BundleOptions, Selection
from exprhub.hub import Hub
from exprhub.hub.joined_columns import joined_columns
from exprhub.records import RecordType
from exprhub.refine import store

#: Aggregate key of ``aggregate="all"``.
ALL_KEY = "ALL"


@dataclass(frozen=True)
class Delivered:
    """A sample whose values go into the bundle, with what its values came from."""

    sample: str
    series: tuple[str, ...]
    tax_id: int
    organism: str
    value_kind: str
    platform: str | None


@dataclass
class Aggregate:
    """One matrix of a bundle: its samples, the genes all of them measured, the values (genes
    x samples, float32) and what was dropped."""

    key: str
    samples: list[str]
    genes: list[str]
    values: np.ndarray
    organisms: list[str]
    genes_dropped: int
    genes_by_platform: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What the aggregate holds and dropped, JSON-ready."""
        n = len(self.samples)
        return {
            "samples": list(self.samples),
            "n_samples": n,
            "n_genes": len(self.genes),
            "organisms": list(self.organisms),
            "genes_by_platform": dict(sorted(self.genes_by_platform.items())),
            "genes_dropped": {
                "count": self.genes_dropped,
                "reason": f"measured in only some of the {n} samples (a gene is kept only "
                "when every sample of the aggregate has a value for it)",
            },
        } | self.extra


def aggregate_key(organism: str) -> str:
    """The aggregate key of an organism, as refine.bio spells it (``HOMO_SAPIENS``)."""
    return "_".join(organism.upper().split())


def deliverable(
    hub: Hub, selection: Selection, options: BundleOptions
) -> tuple[list[Delivered], dict[str, str]]:
    """The selected samples that can be delivered, and the others with the reason each one
    cannot (not in the hub, not refined, failed, waiting, no values, not normalized)."""
    samples = selection.samples
    states = store.refine_states(hub, samples)
    present = set(hub.sample_facts(samples))  # a series may list samples the hub lacks
    stage_kind = store.REFINED_KIND if options.quantile_normalize else store.GENE_LEVEL_KIND
    stored = {k for ks in hub.sample_matrices(samples, stage_kind).values() for k in ks}
    delivered: list[Delivered] = []
    filtered: dict[str, str] = {}
    for sample in samples:
        state = states.get(sample)
        reason = None
        if sample not in present:
            reason = "not in the hub"
        elif state is None:
            reason = f"not refined (run `exprhub refine {sample}`)"
        elif state.status == "failed":
            reason = f"refine failed: {state.message or 'no message'}"
        elif state.status in ("waiting", "skipped"):
            message = state.message or state.status
            reason = message if message.startswith(state.status) else f"{state.status}: {message}"
        elif options.quantile_normalize and state.status != "done":
            reason = (
                f"not quantile normalized yet (status {state.status}; run "
                f"`exprhub refine {sample}`, or bundle with --no-qn)"
            )
        elif options.quantile_normalize and state.qn_target_sha256 is None:
            reason = (
                "refined without quantile normalization (refine --skip-qn, or too few "
                "samples for a target); bundle with --no-qn, or refine it again"
            )
        elif sample not in stored or state.tax_id is None or state.value_kind is None:
            reason = "no values in the hub's store (refine it again with --force)"
        if reason is not None:
            filtered[sample] = reason
            continue
        assert state is not None and state.tax_id is not None and state.value_kind is not None
        organism = store.organism_name(state.tax_id) or _organism(hub, sample)
        delivered.append(
            Delivered(
                sample,
                tuple(selection.series_of[sample]),
                state.tax_id,
                organism,
                state.value_kind,
                state.platform_key,
            )
        )
    return delivered, filtered


def _organism(hub: Hub, sample: str) -> str:
    summary = hub.summary(sample, RecordType.SAMPLE)
    organisms = summary.get("organisms") or []
    if isinstance(organisms, str):
        return organisms.split(";")[0].strip() or "unknown"
    return str(organisms[0]) if organisms else "unknown"


def groups(delivered: list[Delivered], aggregate: str) -> dict[str, list[Delivered]]:
    """Aggregate key -> its samples (in accession order), keys sorted.

    ``experiment``: one aggregate per series, keyed by its accession (a sample selected
    through two series is in both); a series whose samples are of several organisms (whose
    genes cannot overlap) is split into one aggregate per organism, keyed
    ``<series>_<ORGANISM>`` (``GSE3791_HOMO_SAPIENS``). ``species``: one per organism
    (``HOMO_SAPIENS``). ``all``: one, ``ALL``.
    """
    out: dict[str, list[Delivered]] = {}
    for item in delivered:
        if aggregate == "experiment":
            keys = list(item.series)
        elif aggregate == "species":
            keys = [aggregate_key(item.organism)]
        else:
            keys = [ALL_KEY]
        for key in keys:
            out.setdefault(key, []).append(item)
    if aggregate == "experiment":
        split: dict[str, list[Delivered]] = {}
        for key, members in out.items():
            organisms = {m.organism for m in members}
            for item in members:
                own = f"{key}_{aggregate_key(item.organism)}" if len(organisms) > 1 else key
                split.setdefault(own, []).append(item)
        out = split
    return {k: sorted(out[k], key=lambda d: d.sample) for k in sorted(out)}


def build_aggregate(
    hub: Hub, key: str, members: list[Delivered], options: BundleOptions
) -> Aggregate:
    """Read, filter and scale one aggregate's values (samples in accession order).

    Raises
    ------
    BundleError
        When no gene is measured in every sample of the aggregate.
    """
    kind = store.REFINED_KIND if options.quantile_normalize else store.GENE_LEVEL_KIND
    samples = sorted(m.sample for m in members)
    # genes x samples over the union of the matrices' genes, NaN where a sample's matrix
    # lacks the gene
    joined = joined_columns(hub, samples, kind)
    values = joined.read(hub, samples, dtype=np.float32)
    measured = np.isfinite(values)
    by_platform: dict[str, int] = {}
    for platform, count in zip(
        (m.platform or "unknown" for m in sorted(members, key=lambda m: m.sample)),
        measured.sum(axis=0).tolist(),
        strict=True,
    ):
        by_platform[platform] = max(by_platform.get(platform, 0), int(count))
    n_measured = int(measured.any(axis=1).sum())
    everywhere = measured.all(axis=1)
    del measured
    organisms = sorted({m.organism for m in members})
    common = {f for f, hit in zip(joined.features, everywhere.tolist(), strict=True) if hit}
    if not common:
        hint = "; choose --aggregate species" if len(organisms) > 1 else ""
        raise BundleError(
            f"aggregate {key}: no gene is measured in every one of its {len(samples)} samples "
            f"(organisms: {', '.join(organisms)}; genes measured per platform: "
            f"{', '.join(f'{p} {n}' for p, n in sorted(by_platform.items()))}){hint}"
        )
    genes = sort_gene_ids(common)
    position = {f: i for i, f in enumerate(joined.features)}
    rows = np.fromiter((position[g] for g in genes), dtype=np.int64, count=len(genes))
    if np.array_equal(rows, np.arange(len(position))):
        out = values  # every gene, in the order read: no copy
    else:
        out = np.empty((len(genes), len(samples)), dtype=np.float32)
        np.take(values, rows, axis=0, out=out)
    del values
    scale_genes(out, options.scale)
    return Aggregate(
        key=key,
        samples=samples,
        genes=genes,
        values=out,
        organisms=organisms,
        genes_dropped=n_measured - len(genes),
        genes_by_platform=by_platform,
    )


def sort_gene_ids(genes: set[str]) -> list[str]:
    """Gene ids in numeric order when all are numbers (NCBI Gene ids), else as text."""
    if all(g.isdigit() for g in genes):
        return sorted(genes, key=int)
    return sorted(genes)


#: Genes scaled at a time (bounds the float64 working copy).
SCALE_BLOCK = 2048


def scale_genes(values: np.ndarray, scale: str) -> None:
    """Scale each gene (row) across samples, in place, as scikit-learn's scalers do on the
    samples x genes matrix: ``minmax`` to [0, 1], ``standard`` to mean 0 and (population)
    standard deviation 1, ``robust`` by subtracting the median and dividing by the
    interquartile range (25th to 75th percentile). A gene with no spread is left with divisor
    1 (as scikit-learn does). ``none`` leaves the values as they are.
    """
    if scale == "none":
        return
    for start in range(0, values.shape[0], SCALE_BLOCK):
        # C order whatever the matrix's: the sums (mean, std) then add in the same order
        block = values[start : start + SCALE_BLOCK].astype(np.float64, order="C")
        if scale == "minmax":
            low = block.min(axis=1, keepdims=True)
            spread = block.max(axis=1, keepdims=True) - low
        elif scale == "standard":
            low = block.mean(axis=1, keepdims=True)
            spread = block.std(axis=1, keepdims=True)
        elif scale == "robust":
            q25, low, q75 = np.percentile(block, [25, 50, 75], axis=1, keepdims=True)
            spread = q75 - q25
        else:
            raise BundleError(f"unknown scale {scale!r}")
        spread[spread == 0] = 1.0
        values[start : start + SCALE_BLOCK] = (block - low) / spread
