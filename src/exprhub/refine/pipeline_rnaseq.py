"""RNA-seq refinement from Salmon ``quant.sf`` files supplied by the user.

Per experiment (the sample's series): the quantifications are summarized to genes with the
tximport equivalent (``lengthScaledTPM`` by default), gene ids resolved to NCBI Gene ids through
the organism's gene reference, and ``log2(x + 1)`` stored as the gene-level values (value kind
``rna-seq``). Normalization then runs as for microarrays: to the organism's ``rna-seq`` QN
target, or, with ``skip_qn``, the refined values are the ``lengthScaledTPM`` values themselves.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from exprhub.hub import Hub
from exprhub.records import RecordType, normalize_accession
from exprhub.refine import store
from exprhub.refine.executor import Executor, SerialExecutor
from exprhub.refine.pipeline import RefineReport, _phase_normalize
from exprhub.refine.pipeline_plan import plan_samples
from exprhub.refine.pipeline_work import (
    RNASEQ_PROCESSOR,
    RNASEQ_VERSION,
    RefineOptions,
    tool_versions,
)
from exprhub.refine.salmon import SalmonIndex, build_index, kmer_for_read_length, quant
from exprhub.refine.store import RefineState
from exprhub.refine.store.genes import gene_reference, reference_digest
from exprhub.refine.tximport import CountsFromAbundance, read_tx2gene, tximport

__all__ = ["RNASEQ_PROCESSOR", "RNASEQ_VERSION", "collect_quant_files", "refine_rnaseq"]


def collect_quant_files(pairs: Sequence[str], directory: Path | None = None) -> dict[str, Path]:
    """Quantification files by sample: ``GSM=path`` pairs and ``DIR/GSMxxx/quant.sf``.

    Raises
    ------
    ValueError
        On a malformed pair or a missing file.
    """
    out: dict[str, Path] = {}
    if directory is not None:
        for path in sorted(Path(directory).glob("*/quant.sf")):
            out[normalize_accession(path.parent.name)] = path
        if not out:
            raise ValueError(f"{directory}: no <sample>/quant.sf files found")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"--quant expects GSM=path/quant.sf, got {pair!r}")
        out[normalize_accession(key.strip())] = Path(value.strip())
    for key, path in out.items():
        if not path.is_file():
            raise ValueError(f"{path}: no such file (quantification of {key})")
    return out


def collect_reads(pairs: Sequence[str]) -> dict[str, list[Path]]:
    """Reads by sample from ``GSM=reads.fastq`` or ``GSM=mate1.fastq,mate2.fastq`` pairs.

    Raises
    ------
    ValueError
        On a malformed pair or a missing file.
    """
    out: dict[str, list[Path]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        files = [Path(v.strip()) for v in value.split(",") if v.strip()]
        if not sep or not key.strip() or len(files) not in (1, 2):
            raise ValueError(f"--reads expects GSM=reads.fq or GSM=mate1.fq,mate2.fq, got {pair!r}")
        for path in files:
            if not path.is_file():
                raise ValueError(f"{path}: no such file (reads of {key.strip()})")
        out[normalize_accession(key.strip())] = files
    return out


def _mean_read_length(path: Path, n: int = 2000) -> float:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    lengths = []
    with opener(path, "rt") as handle:  # type: ignore[operator]
        for i, line in enumerate(handle):
            if i % 4 == 1:
                lengths.append(len(line.strip()))
                if len(lengths) >= n:
                    break
    return sum(lengths) / len(lengths) if lengths else 0.0


@dataclass
class _QuantJob:
    index: str
    reads: list[str]
    out_dir: str


def run_salmon_quant(job: _QuantJob) -> str:
    """Worker: ``salmon quant`` of one sample; returns the path of its ``quant.sf``."""
    result = quant(job.index, job.reads if len(job.reads) == 2 else job.reads[0], job.out_dir)
    return str(result.quant_sf)


def quantify_reads(
    hub: Hub,
    reads: Mapping[str, Sequence[Path]],
    transcriptome: Path,
    *,
    executor: Executor | None = None,
) -> tuple[dict[str, Path], dict[str, str]]:
    """Quantify each sample's reads with Salmon (refine.bio's settings, see
    :mod:`exprhub.refine.salmon`); the index and quantifications live under
    ``<hub>/work/salmon``. Returns ``(quant.sf by sample, failure message by sample)``."""
    ex = executor or SerialExecutor()
    root = hub.home / "work" / "salmon"
    lengths = [_mean_read_length(Path(files[0])) for files in reads.values()]
    k = kmer_for_read_length(sum(lengths) / len(lengths) if lengths else 0.0)
    index: SalmonIndex = build_index(transcriptome, root / f"index-k{k}", k)
    keys = sorted(reads)
    jobs = [
        _QuantJob(str(index.path), [str(p) for p in reads[key]], str(root / "quant" / key))
        for key in keys
    ]
    found: dict[str, Path] = {}
    failed: dict[str, str] = {}
    for i, outcome in ex.map_unordered(run_salmon_quant, jobs):
        if isinstance(outcome, BaseException):
            failed[keys[i]] = f"salmon quant failed: {outcome}"
        else:
            found[keys[i]] = Path(outcome)
    return found, failed


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _salmon_meta(quant: Path) -> dict[str, Any]:
    meta = quant.parent / "aux_info" / "meta_info.json"
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError):
        return {}
    keys = ("salmon_version", "index_seq_hash", "library_types", "num_processed", "percent_mapped")
    return {k: data[k] for k in keys if k in data}


@dataclass
class _RnaJob:
    experiment: str
    samples: list[str]
    files: list[str]
    tx2gene: dict[str, str]
    mode: str


def compute_rnaseq(job: _RnaJob) -> tuple[list[str], np.ndarray, int]:
    """Worker: tximport one experiment; returns (gene ids, log2(counts + 1), missing)."""
    result = tximport(
        job.files,
        job.tx2gene,
        job.mode,  # type: ignore[arg-type]
        samples=job.samples,
        ignore_tx_version=True,
    )
    counts = np.asarray(result.counts, dtype=np.float64)
    return list(result.ids), np.log2(counts + 1.0), result.missing_transcripts


def refine_rnaseq(
    hub: Hub,
    files: Mapping[str, Path],
    *,
    tx2gene: Path | None = None,
    executor: Executor | None = None,
    options: RefineOptions | None = None,
    counts_from_abundance: CountsFromAbundance = "lengthScaledTPM",
    failed_before: Mapping[str, str] | None = None,
) -> RefineReport:
    """Refine RNA-seq samples from their ``quant.sf`` files (see the module docs).

    Raises
    ------
    ValueError
        Without a ``tx2gene`` table.
    """
    if tx2gene is None:
        raise ValueError("RNA-seq refinement needs --tx2gene (transcript -> gene table)")
    opts = options or RefineOptions()
    ex = executor or SerialExecutor()
    report = RefineReport(executor=ex.describe())
    started = time.perf_counter()
    keys = sorted(files)
    report.samples = len(keys) + len(failed_before or {})
    t2g = read_tx2gene(tx2gene)
    t2g = {k.split(".", 1)[0] if k.startswith("ENS") else k: v for k, v in t2g.items()}
    t2g_sha = _sha256(Path(tx2gene))
    samples = {s.key: s for s in plan_samples(hub, keys)}
    states = store.refine_states(hub, keys)
    experiments: dict[tuple[str, int], list[str]] = {}
    failed: dict[str, str] = dict(failed_before or {})
    digests: dict[str, str] = {}
    refs: dict[int, Any] = {}
    for key in keys:
        smp = samples.get(key)
        if smp is None or not hub.has(key, RecordType.SAMPLE):
            failed[key] = f"{key} is not in the hub (import its series first)"
            continue
        if smp.tax_id is None:
            failed[key] = f"unknown organism {smp.organism!r} (no tax id)"
            continue
        if smp.tax_id not in refs:
            refs[smp.tax_id] = gene_reference(hub, smp.tax_id)
        payload = {
            "processor": [RNASEQ_PROCESSOR, RNASEQ_VERSION],
            "quant": _sha256(files[key]),
            "tx2gene": t2g_sha,
            "mode": counts_from_abundance,
            "genes": reference_digest(refs[smp.tax_id]),
        }
        digests[key] = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        experiments.setdefault((smp.batch, smp.tax_id), []).append(key)
    jobs: list[_RnaJob] = []
    for (batch, _tax), members in sorted(experiments.items()):
        current = all(
            (st := states.get(k)) is not None
            and st.input_sha256 == digests[k]
            and st.processor_version == RNASEQ_VERSION
            for k in members
        )
        if current and not opts.force:
            continue
        jobs.append(
            _RnaJob(batch, members, [str(files[k]) for k in members], t2g, counts_from_abundance)
        )
    for index, outcome in ex.map_unordered(compute_rnaseq, jobs):
        job = jobs[index]
        if isinstance(outcome, BaseException):
            for key in job.samples:
                failed[key] = f"tximport failed: {type(outcome).__name__}: {outcome}"
            continue
        genes, logged, missing = outcome
        smp0 = samples[job.samples[0]]
        assert smp0.tax_id is not None
        ref = refs[smp0.tax_id]
        ids = [ref.resolve(g) if ref is not None else g for g in genes]
        keep = [i for i, g in enumerate(ids) if g]
        if not keep:
            for key in job.samples:
                failed[key] = "no gene of the quantifications resolves to an NCBI gene id"
            continue
        labels, matrix = _collapse([ids[i] for i in keep], logged[keep])
        with hub.writer() as writer:
            items = []
            for j, key in enumerate(job.samples):
                smp = samples[key]
                store.write_sample_column(
                    writer,
                    store.gene_matrix_name(smp0.tax_id, "rna-seq"),
                    store.GENE_LEVEL_KIND,
                    key,
                    labels,
                    matrix[:, j],
                )
                observed = int(np.count_nonzero(~np.isnan(matrix[:, j])))
                state = RefineState(
                    key,
                    "gene-level",
                    job.experiment,
                    smp.tax_id,
                    "rna-seq",
                    smp.platform,
                    RNASEQ_PROCESSOR,
                    RNASEQ_VERSION,
                    digests[key],
                    _sha256(files[key]),
                    observed,
                    None,
                    None,
                )
                doc = {
                    "parameters": {
                        "counts_from_abundance": counts_from_abundance,
                        "transform": "log2(x + 1)",
                    },
                    "inputs": {
                        "quant_sf": str(files[key]),
                        "quant_sha256": _sha256(files[key]),
                        "tx2gene": str(tx2gene),
                        "tx2gene_sha256": t2g_sha,
                        "experiment_samples": job.samples,
                    },
                    "mapping": {
                        "genes_quantified": len(genes),
                        "genes_resolved": len(keep),
                        "genes": len(labels),
                        "transcripts_missing_from_tx2gene": missing,
                    },
                    "scale": {"applied": {"transform": "log2(x + 1)", "value_kind": "rna-seq"}},
                    "tools": {**tool_versions(), "salmon": _salmon_meta(files[key])},
                    "organism": smp.organism,
                }
                items.append((state, doc))
            store.put_refine_states(writer, items)
        report.gene_level += len(job.samples)
    if failed:
        report.failed.update(failed)
    touched: set[tuple[int | None, str]] = {
        (s.tax_id, s.organism) for s in samples.values() if s.tax_id is not None
    }
    _phase_normalize(hub, keys, touched, ex, opts, report, None)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _collapse(ids: list[str], values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Genes named twice after resolution (two Ensembl ids of one NCBI gene) are averaged."""
    unique, inverse = np.unique(np.asarray(ids, dtype=object).astype(str), return_inverse=True)
    if unique.size == len(ids):
        order = np.argsort(np.asarray(ids, dtype=str), kind="stable")
        return [ids[i] for i in order], values[order]
    sums = np.zeros((unique.size, values.shape[1]))
    np.add.at(sums, inverse, values)
    counts = np.bincount(inverse, minlength=unique.size)[:, None]
    return unique.tolist(), sums / counts
