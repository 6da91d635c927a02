"""Worker-side computations of the refinery (pure functions on picklable jobs).

Workers never touch the hub: each job carries its inputs (values, probe map, target) and
returns arrays plus provenance; :mod:`exprhub.refine.pipeline` writes them.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from exprhub import __version__
from exprhub.refine.mapping import ProbeMap, collapse_to_genes
from exprhub.refine.qn import normalize_to_target
from exprhub.refine.scale import ScaleDecision, detect_scale, to_log2
from exprhub.refine.store import GeneRow

PROCESSOR = "exprhub-refinery"
#: Bump when a change alters refined values: every sample is then refined again.
PROCESSOR_VERSION = "1"
#: Value kinds that are quantile-normalized; others (log ratios, z-scores) are kept as is.
QN_KINDS = ("intensity", "rna-seq")
#: Processor of RNA-seq samples refined from quant.sf files (exprhub.refine.pipeline_rnaseq).
RNASEQ_PROCESSOR = "exprhub-refinery-rnaseq"
RNASEQ_VERSION = "1"
#: Processor of RNA-seq samples refined from an attached counts / TPM table
#: (exprhub.refine.pipeline_counts).
COUNTS_PROCESSOR = "exprhub-refinery-counts"
COUNTS_VERSION = "1"
#: Status of a sample with no values at all (no data table, counts table or reads): not a
#: failure, there is nothing to refine.
SKIPPED = "skipped"
TARGET_LABEL = f"{PROCESSOR}-{PROCESSOR_VERSION}"
CATEGORIES = ("mapped", "multi_gene", "control", "unmapped", "not_on_platform")


@dataclass(frozen=True)
class RefineOptions:
    """Choices that shape the refined values (those marked * enter the input checksum).

    Attributes
    ----------
    skip_qn
        Deliver gene-level log2 values without quantile normalization.
    min_target_samples
        Fewest reference samples for a QN target.
    scale_rule*
        ``"geo2r"`` or ``"refinebio"`` (see :func:`exprhub.refine.scale.detect_scale`).
    multi*
        Probes naming several genes: ``"drop"``, ``"first"`` or ``"all"``.
    collapse*
        Several probes of one gene: ``"mean"``, ``"median"`` or ``"max"``.
    batch_size
        Most samples in one batch (a series is split beyond it).
    commit_size
        Finished batches are committed together once they hold this many samples.
    force
        Refine again even when the provenance is current (failed samples included).
    retarget
        Move the requested samples to the current QN target of their organism and value kind,
        built anew first when its reference samples changed (see
        :mod:`exprhub.refine.pipeline_qn`); without it, delivered samples keep their version.
    """

    skip_qn: bool = False
    min_target_samples: int = 4
    scale_rule: str = "geo2r"
    multi: str = "drop"
    collapse: str = "mean"
    batch_size: int = 128
    commit_size: int = 256
    force: bool = False
    retarget: bool = False

    def __post_init__(self) -> None:
        if self.retarget and self.skip_qn:
            raise ValueError("--retarget and --skip-qn contradict each other: give one of them")

    def params(self) -> dict[str, Any]:
        """The parameters that shape gene-level values."""
        return {"scale_rule": self.scale_rule, "multi": self.multi, "collapse": self.collapse}


# ------------------------------------------------------------------------------ workers


@dataclass
class SampleInput:
    key: str
    batch: str
    platform: str | None
    tax_id: int | None
    organism: str
    channel_count: int
    value_type: str | None
    gds: str | None
    matrix: str | None
    column: int
    source_sha256: str | None
    record_version: int
    input_sha256: str = ""
    problem: str | None = None
    #: The counts matrix (``counts/<GSE>/<quantity>/<file sha256>``) and column of an RNA-seq
    #: sample with an attached counts table, when it has no submitted values.
    counts: str | None = None
    counts_column: int = -1


@dataclass
class PlatformPlan:
    """Probe -> gene mapping of one value matrix, ready for the workers."""

    platform: str
    matrix: str
    features: list[str]
    probe_map: ProbeMap
    categories: np.ndarray
    info: dict[str, Any]
    genes: list[GeneRow]


@dataclass
class GeneJob:
    batch: str
    plan: PlatformPlan
    samples: list[SampleInput]
    values: np.ndarray
    options: RefineOptions


@dataclass
class GeneResult:
    batch: str
    genes: list[str]
    values: np.ndarray
    ok: list[str]
    documents: dict[str, dict[str, Any]]
    observed: dict[str, int]
    values_sha: dict[str, str]
    kinds: dict[str, str]
    failed: dict[str, str]


def _decision_dict(d: ScaleDecision) -> dict[str, Any]:
    out = asdict(d)
    out["quantiles"] = [None if np.isnan(q) else q for q in d.quantiles]
    return out


def compute_gene_level(job: GeneJob) -> GeneResult:
    """Worker: map, scale and collapse one batch of samples to gene-level log2 vectors."""
    opts = job.options
    plan = job.plan
    n = len(job.samples)
    result = GeneResult(job.batch, [], np.empty((0, 0)), [], {}, {}, {}, {}, {})
    x = np.asarray(job.values, dtype=np.float64)
    logged = np.full_like(x, np.nan)
    decisions: dict[str, tuple[ScaleDecision, ScaleDecision]] = {}
    groups: dict[tuple[str | None, int], list[int]] = {}
    for j, smp in enumerate(job.samples):
        groups.setdefault((smp.value_type, smp.channel_count), []).append(j)
    for (vt, cc), cols in groups.items():
        try:
            series = detect_scale(x[:, cols], vt, cc, rule=opts.scale_rule)  # type: ignore[arg-type]
        except ValueError as exc:
            for j in cols:
                result.failed[job.samples[j].key] = str(exc)
            continue
        for j in cols:
            smp = job.samples[j]
            if not np.any(~np.isnan(x[:, j])):
                result.failed[smp.key] = "the sample has no observed values"
                continue
            own = detect_scale(x[:, j], vt, cc, rule=opts.scale_rule)  # type: ignore[arg-type]
            decisions[smp.key] = (series, own)
            logged[:, j] = to_log2(x[:, j], series)
    genes, gv = collapse_to_genes(plan.features, logged, plan.probe_map, opts.collapse)  # type: ignore[arg-type]
    result.genes = genes
    keep = []
    for j, smp in enumerate(job.samples):
        if smp.key in result.failed:
            continue
        col = gv[:, j] if gv.size else np.empty(0)
        observed = int(np.count_nonzero(~np.isnan(col)))
        if observed == 0:
            result.failed[smp.key] = "no probe of the sample maps to a gene"
            continue
        series, own = decisions[smp.key]
        present = ~np.isnan(x[:, j])
        counts = np.bincount(plan.categories[present], minlength=len(CATEGORIES))
        stats = {name: int(c) for name, c in zip(CATEGORIES, counts, strict=True)}
        stats["probes_with_values"] = int(present.sum())
        stats["genes"] = observed
        kind = series.value_kind
        result.kinds[smp.key] = kind
        result.observed[smp.key] = observed
        result.values_sha[smp.key] = hashlib.sha256(
            np.ascontiguousarray(x[:, j], dtype="<f4").tobytes()
        ).hexdigest()
        result.documents[smp.key] = {
            "parameters": opts.params(),
            "inputs": {
                "source_sha256": smp.source_sha256,
                "record_version": smp.record_version,
                "values_from": smp.matrix,
                "dataset": smp.gds,
                "value_type": smp.value_type,
                "channel_count": smp.channel_count,
                "gene_level_sha256": hashlib.sha256(
                    np.ascontiguousarray(col, dtype="<f4").tobytes()
                ).hexdigest(),
            },
            "mapping": {**plan.info, "sample": stats},
            "scale": {
                "applied": _decision_dict(series),
                "series": _decision_dict(series),
                "sample": _decision_dict(own),
                "agree": series.transform == own.transform,
            },
            "tools": tool_versions(),
        }
        result.ok.append(smp.key)
        keep.append(j)
    result.values = np.ascontiguousarray(gv[:, keep], dtype=np.float32) if n else gv
    return result


def tool_versions() -> dict[str, str]:

    return {"exprhub": __version__, "numpy": np.__version__, "python": platform.python_version()}


@dataclass
class QNJob:
    target: np.ndarray | None
    values: np.ndarray


def compute_normalized(job: QNJob) -> np.ndarray:
    """Worker: normalize a genes x samples block to the target (or pass it through)."""
    if job.target is None:
        return np.asarray(job.values, dtype=np.float32)
    out = normalize_to_target(job.values.astype(np.float64), job.target, threads=1)
    return np.asarray(out, dtype=np.float32)
