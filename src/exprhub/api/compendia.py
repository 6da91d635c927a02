"""Compendia from the Python API: :meth:`exprhub.Hub.compendium` (docs/compendia.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from exprhub.bundles.compendium import CompendiumReport
    from exprhub.hub import Hub as CatalogueHub


class CompendiumMixin:
    """The compendium builder of :class:`exprhub.Hub` (mixed into it)."""

    def compendium(
        self,
        organism: str | int,
        out: str | Path,
        *,
        format: str = "tsv",
        max_gene_missing: float = 0.3,
        max_sample_missing: float = 0.5,
        rank: int = 10,
        impute: bool = True,
        imputer: str = "iterative-svd",
        qn: bool = True,
        max_iters: int = 200,
        tolerance: float = 3e-3,
        stage: str = "refined",
        chunk: int = 256,
        workers: int = 2,
        scheduler: str | None = None,
        progress: Callable[[float, str], None] | None = None,
    ) -> CompendiumReport:
        """Build the compendium of an organism: every refined sample in one genes x samples
        matrix, with refine.bio's rules as defaults (docs/compendia.md), out of core.

        Parameters
        ----------
        organism
            Organism name (``"Homo sapiens"``) or NCBI tax id.
        out
            A new directory, or a ``.zip`` file.
        format
            ``"tsv"``, ``"h5ad"`` or ``"parquet"``.
        max_gene_missing
            Drop genes missing in more than this fraction of the samples.
        max_sample_missing
            Then drop samples missing more than this fraction of the remaining genes.
        rank
            Rank of the iterative SVD imputation of the missing values left.
        impute, qn
            Impute; quantile normalize the result to its own target.
        imputer
            ``"iterative-svd"`` (fancyimpute's iterations, as refine.bio; the default) or
            ``"als"`` (its fixed point in a few passes; can run away on small or
            block-missing compendia: docs/compendia.md).
        max_iters, tolerance
            When the imputation stops.
        stage
            ``"refined"`` (values as delivered) or ``"genes"`` (before the refinery's QN).
        chunk
            Samples per block (memory grows with it, not with the number of samples).
        workers
            Local threads.
        scheduler
            A ``dask.distributed`` scheduler address to run on instead (its workers must
            see the hub directory at the same path).
        progress
            Called with ``(fraction done, message)``.

        Returns
        -------
        exprhub.bundles.compendium.CompendiumReport
            Counts of samples, genes and what was dropped; the files written.

        Raises
        ------
        exprhub.HubError
            When the organism has no refined samples or the rules leave nothing.
        """
        from exprhub.bundles.compendium import CompendiumOptions, build_compendium

        options = CompendiumOptions(
            format=format,
            max_gene_missing=max_gene_missing,
            max_sample_missing=max_sample_missing,
            rank=rank,
            impute=impute,
            imputer=imputer,
            qn=qn,
            max_iters=max_iters,
            tolerance=tolerance,
            stage=stage,
            chunk=chunk,
            workers=workers,
        )
        return build_compendium(
            cast("CatalogueHub", self),
            organism,
            out,
            options=options,
            scheduler=scheduler,
            progress=progress,
        )
