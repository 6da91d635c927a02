"""Compendia: every refined sample of an organism in one genes x samples matrix, built out of
core with refine.bio's rules as defaults (docs/compendia.md).

Microarray and RNA-seq samples are joined on the gene; genes missing in more than
``max_gene_missing`` of the samples are dropped, then samples missing more than
``max_sample_missing`` of the remaining genes; the missing cells left are imputed at the
iterative SVD fixed point of rank ``rank`` (by alternating least squares,
:mod:`~exprhub.bundles.compendium_als`); the result is quantile normalized to its own target.
Each step streams over a Dask array chunked by sample
(:mod:`~exprhub.bundles.compendium_passes`), so memory stays flat at any number of samples,
and runs on a ``dask.distributed`` cluster when given a scheduler address.

Output (a directory, or a zip of it when the path ends in ``.zip``)::

    README.md                       what is here and how it was made
    LICENSE.TXT                     terms of the data
    aggregated_metadata.json        every option and version that shaped the numbers
    <ORGANISM>/<ORGANISM>.tsv       the matrix (or .h5ad / .parquet)
    <ORGANISM>/metadata_<ORGANISM>.tsv / .json   metadata of the samples in the matrix
    dropped_genes.tsv               genes left out, with the reason
    filtered_samples_metadata.tsv   samples left out, with the reason
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exprhub.bundles.compendium_als import impute_als
from exprhub.bundles.compendium_layout import (
    sample_metadata,
    write_dropped_genes,
    write_filtered_samples,
    write_layout_text,
    write_metadata_files,
    zip_directory,
)
from exprhub.bundles.compendium_passes import (
    BlockRunner,
    ImputeResult,
    gene_means,
    impute_iterative_svd,
    missing_counts,
    normalized_blocks,
    quantile_target,
    sample_missing_counts,
)
from exprhub.bundles.compendium_source import CompendiumSource
from exprhub.bundles.matrix_streams import FORMATS, open_matrix_stream
from exprhub.hub import Hub, HubError
from exprhub.hub.refinery_tables import gene_symbols

__all__ = ["IMPUTERS", "CompendiumOptions", "CompendiumReport", "build_compendium"]

Progress = Callable[[float, str], None]

#: The imputation methods (:attr:`CompendiumOptions.imputer`).
IMPUTERS = ("als", "iterative-svd")


@dataclass(frozen=True)
class CompendiumOptions:
    """How a compendium is built (defaults: refine.bio's rules).

    Attributes
    ----------
    format
        ``tsv``, ``h5ad`` or ``parquet``.
    max_gene_missing
        Drop genes missing in more than this fraction of the samples.
    max_sample_missing
        Then drop samples missing more than this fraction of the remaining genes.
    rank
        Rank of the iterative SVD imputation.
    impute
        Impute the missing cells left (else they stay missing).
    imputer
        ``als``: the iterative SVD fixed point by alternating least squares, one pass per
        iteration (default); ``iterative-svd``: fancyimpute's iterations, each a randomized
        SVD of two passes (slow to converge; kept for comparison).
    qn
        Quantile normalize the result to its own target.
    max_iters, tolerance
        When the imputation stops: at most ``max_iters`` iterations, or when the imputed
        cells change by less than ``tolerance`` (relative root sum of squares; 3e-3 is
        fancyimpute's rule, which bounds the squared ratio by 1e-5).
    stage
        ``refined`` (values as delivered) or ``genes`` (gene-level, before the refinery's QN).
    chunk
        Samples per block.
    workers
        Local threads (without a scheduler).
    seed
        Seed of the imputation's random start.
    """

    format: str = "tsv"
    max_gene_missing: float = 0.3
    max_sample_missing: float = 0.5
    rank: int = 10
    impute: bool = True
    imputer: str = "iterative-svd"
    qn: bool = True
    max_iters: int = 200
    tolerance: float = 3e-3
    stage: str = "refined"
    chunk: int = 256
    workers: int = 2
    seed: int = 0

    def check(self) -> None:
        """Raise ``ValueError`` naming the first option out of range."""
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        for name in ("max_gene_missing", "max_sample_missing"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.rank < 1 or self.max_iters < 1 or self.chunk < 1 or self.workers < 1:
            raise ValueError("rank, max_iters, chunk and workers must be at least 1")
        if not self.tolerance > 0:
            raise ValueError(f"tolerance must be positive, got {self.tolerance}")
        if self.imputer not in IMPUTERS:
            raise ValueError(f"imputer must be one of {', '.join(IMPUTERS)}, got {self.imputer!r}")
        if self.stage not in ("refined", "genes"):
            raise ValueError(f"stage must be 'refined' or 'genes', got {self.stage!r}")


@dataclass
class CompendiumReport:
    """What a build made: where, how many samples and genes, what was dropped and why."""

    path: str
    organism: str
    tax_id: int
    format: str
    samples: int
    genes: int
    dropped_genes: int
    dropped_samples: int
    missing_cells: int
    imputation: dict[str, Any] = field(default_factory=dict)
    quantile_normalization: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def organism_key(organism: str) -> str:
    """refine.bio's folder name of an organism (``HOMO_SAPIENS``)."""
    return "_".join(organism.upper().split())


@contextlib.contextmanager
def _runner(scheduler: str | None, workers: int) -> Iterator[BlockRunner]:
    if not scheduler:
        yield BlockRunner(workers=workers, batch=max(4, 2 * workers))
        return
    try:
        import distributed
    except ImportError:
        raise RuntimeError("a scheduler address needs dask.distributed installed") from None
    with distributed.Client(scheduler, set_as_default=False) as client:
        threads = sum(client.nthreads().values()) or 1
        yield BlockRunner(client, batch=max(4, 2 * threads))


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """BLAS on one thread: the blocks run in parallel already, and BLAS threads that wait on
    a busy machine make each small product hundreds of times slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it BLAS keeps its own threads
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def build_compendium(
    hub: Hub,
    organism: str | int,
    out: str | Path,
    *,
    options: CompendiumOptions | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> CompendiumReport:
    """Build the compendium of ``organism`` (name or NCBI tax id) at ``out``.

    Parameters
    ----------
    out
        A directory to create (it must not exist, or be empty), or a ``.zip`` file.
    options
        The rules and output format (:class:`CompendiumOptions`).
    scheduler
        A ``dask.distributed`` scheduler address (``tcp://HOST:PORT``) to run on; its
        workers must see the hub's directory at the same path.
    progress
        Called with ``(fraction done, message)``.

    Raises
    ------
    HubError
        When the organism has no refined samples, or the rules leave no gene or no sample.
    """
    opts = options or CompendiumOptions()
    opts.check()
    target = Path(out)
    zipped = target.suffix.lower() == ".zip"
    if target.exists() and (zipped or not target.is_dir() or any(target.iterdir())):
        raise HubError(f"{target} exists; give a new path")
    report_to = progress or (lambda _f, _m: None)
    source = CompendiumSource.of(hub, organism, stage=opts.stage)
    directory = target.with_name(target.name + ".building") if zipped else target
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with _runner(scheduler, opts.workers) as runner, _one_blas_thread():
            report = _build(hub, source, directory, opts, runner, report_to)
        if zipped:
            zip_directory(directory, target)
            shutil.rmtree(directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        if zipped:
            target.unlink(missing_ok=True)
        raise
    report.path = str(target)
    report_to(1.0, "done")
    return report


def _build(
    hub: Hub,
    source: CompendiumSource,
    directory: Path,
    opts: CompendiumOptions,
    runner: BlockRunner,
    progress: Progress,
) -> CompendiumReport:
    samples = list(source.samples)
    n_samples = len(samples)
    all_rows = np.arange(len(source.genes))
    progress(0.02, f"{n_samples} samples, {len(source.genes)} genes: counting missing values")
    gene_missing = missing_counts(runner, source.array(all_rows, samples, opts.chunk))
    drop_gene = gene_missing > opts.max_gene_missing * n_samples
    kept_rows = all_rows[~drop_gene]
    if kept_rows.size == 0:
        raise HubError(
            f"every gene is missing in more than {opts.max_gene_missing:.0%} of the "
            f"{n_samples} samples of {source.organism}"
        )
    progress(0.1, f"{kept_rows.size} genes kept: counting missing values per sample")
    sample_missing = sample_missing_counts(runner, source.array(kept_rows, samples, opts.chunk))
    drop_sample = sample_missing > opts.max_sample_missing * kept_rows.size
    kept = [k for k, d in zip(samples, drop_sample, strict=True) if not d]
    if not kept:
        raise HubError(
            f"every sample of {source.organism} misses more than "
            f"{opts.max_sample_missing:.0%} of the {kept_rows.size} genes kept"
        )
    x = source.array(kept_rows, kept, opts.chunk)
    missing_cells = int(sample_missing[~drop_sample].sum())
    imputation: dict[str, Any] = {
        "applied": False,
        "method": IMPUTATION_METHODS[opts.imputer],
        "rank": opts.rank,
        "max_iters": opts.max_iters,
        "tolerance": opts.tolerance,
        "seed": opts.seed,
        "first_fill": "gene means",
        "missing_cells": missing_cells,
    }
    fill = None
    if opts.impute and missing_cells:
        progress(0.15, f"imputing {missing_cells} missing values (rank {opts.rank})")
        result = _impute(runner, x, opts, progress)
        fill = result.factors
        imputation.update(
            applied=True,
            iterations=result.iterations,
            converged=result.converged,
            last_change=result.last_change,
        )
    qn: dict[str, Any] = {"applied": False}
    target = None
    if opts.qn:
        progress(0.8, "quantile normalization: building the target")
        target = quantile_target(runner, x, fill, organism=source.organism, value_kind="compendium")
        qn = {
            "applied": True,
            "rule": "preprocessCore normalize.quantiles.use.target",
            "target": "mean of the compendium's sorted samples",
            "target_sha256": target.sha256,
            "target_length": len(target),
            "target_samples": len(kept),
        }
    symbols = gene_symbols(hub, source.tax_id)
    genes = [source.genes[i] for i in kept_rows]
    key = organism_key(source.organism)
    (directory / key).mkdir(exist_ok=True)
    metadata = sample_metadata(hub, source, samples)
    aggregated = _aggregated_metadata(hub, source, opts, kept, genes, imputation, qn)
    aggregated["dropped"] = {"genes": int(drop_gene.sum()), "samples": int(drop_sample.sum())}
    matrix_path = directory / key / f"{key}{FORMATS[opts.format]}"
    obs = metadata.loc[kept] if opts.format == "h5ad" else None
    stream = open_matrix_stream(
        opts.format, matrix_path, genes, symbols, len(kept), obs=obs, uns=aggregated
    )
    progress(0.85, f"writing {len(kept)} samples x {len(genes)} genes as {opts.format}")
    starts = range(0, len(kept), opts.chunk)
    for start, block in zip(starts, normalized_blocks(runner, x, fill, target), strict=True):
        stream.write(kept[start : start + opts.chunk], block)
    stream.close()
    write_metadata_files(directory / key, key, metadata.loc[kept])
    write_dropped_genes(
        directory / "dropped_genes.tsv",
        [source.genes[i] for i in all_rows[drop_gene]],
        gene_missing[drop_gene],
        n_samples,
        symbols,
        opts.max_gene_missing,
    )
    write_filtered_samples(
        directory / "filtered_samples_metadata.tsv",
        metadata,
        [k for k, d in zip(samples, drop_sample, strict=True) if d],
        sample_missing[drop_sample],
        kept_rows.size,
        opts.max_sample_missing,
    )
    write_layout_text(directory, key, aggregated)
    files = sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
    return CompendiumReport(
        path=str(directory),
        organism=source.organism,
        tax_id=source.tax_id,
        format=opts.format,
        samples=len(kept),
        genes=len(genes),
        dropped_genes=int(drop_gene.sum()),
        dropped_samples=int(drop_sample.sum()),
        missing_cells=missing_cells,
        imputation=imputation,
        quantile_normalization=qn,
        files=files,
    )


IMPUTATION_METHODS = {
    "als": (
        "IterativeSVD fixed point (fancyimpute's rule) by alternating least squares, "
        "one pass per iteration; start: randomized SVD of the gene-mean-filled matrix"
    ),
    "iterative-svd": (
        "IterativeSVD (fancyimpute's rule; randomized SVD by subspace iteration, "
        "two passes per iteration)"
    ),
}


def _impute(
    runner: BlockRunner, x: Any, opts: CompendiumOptions, progress: Progress
) -> ImputeResult:
    def step(iteration: int, change: float | None) -> None:
        fraction = 0.15 + 0.6 * min(1.0, iteration / max(opts.max_iters, 1))
        progress(fraction, f"imputation iteration {iteration}: change {change:.3g}")

    if opts.imputer == "als":
        result, _ = impute_als(
            runner,
            x,
            rank=opts.rank,
            max_iters=opts.max_iters,
            tolerance=opts.tolerance,
            seed=opts.seed,
            progress=step,
        )
        return result
    return impute_iterative_svd(
        runner,
        x,
        gene_means(runner, x),
        rank=opts.rank,
        max_iters=opts.max_iters,
        tolerance=opts.tolerance,
        seed=opts.seed,
        progress=step,
    )


def _aggregated_metadata(
    hub: Hub,
    source: CompendiumSource,
    opts: CompendiumOptions,
    kept: list[str],
    genes: list[str],
    imputation: dict[str, Any],
    qn: dict[str, Any],
) -> dict[str, Any]:
    from exprhub import __version__
    from exprhub.hub.refinery_tables import refine_states
    from exprhub.refine.store.genes import gene_reference, reference_digest

    states = refine_states(hub, kept)
    processors: dict[str, int] = {}
    targets: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for key in kept:
        state = states.get(key)
        if state is None:
            continue
        name = f"{state.processor} {state.processor_version}"
        processors[name] = processors.get(name, 0) + 1
        if state.qn_target_sha256:
            targets[state.qn_target_sha256] = targets.get(state.qn_target_sha256, 0) + 1
        kind = str(state.value_kind)
        kinds[kind] = kinds.get(kind, 0) + 1
    reference = gene_reference(hub, source.tax_id)
    return {
        "kind": "compendium",
        "exprhub_version": __version__,
        "organism": source.organism,
        "tax_id": source.tax_id,
        "options": asdict(opts),
        "samples": len(kept),
        "genes": len(genes),
        "source_matrices": {p.name: len(p.columns) for p in source.parts},
        "value_kinds": dict(sorted(kinds.items())),
        "processors": dict(sorted(processors.items())),
        "refinery_qn_targets_sha256": dict(sorted(targets.items())),
        "gene_reference_sha256": reference_digest(reference) if reference is not None else None,
        "imputation": imputation,
        "quantile_normalization": qn,
    }
