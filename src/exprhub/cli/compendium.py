"""Compendium commands: ``exprhub compendium build ORGANISM``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from exprhub.cli.app import HomeOption, JsonOption, app, console, err_console, open_hub, print_json

compendium_app = typer.Typer(
    help="Compendia: every refined sample of an organism in one matrix.", no_args_is_help=True
)
app.add_typer(compendium_app, name="compendium")


@compendium_app.command("build")
def build_command(
    organism: Annotated[str, typer.Argument(help='Organism name ("Homo sapiens") or tax id.')],
    out: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--out",
            help="New directory, or a .zip file (default: ./<ORGANISM>_compendium).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Matrix format: tsv, h5ad or parquet.")
    ] = "tsv",
    max_gene_missing: Annotated[
        float,
        typer.Option("--max-gene-missing", help="Drop genes missing in more than this fraction."),
    ] = 0.3,
    max_sample_missing: Annotated[
        float,
        typer.Option(
            "--max-sample-missing",
            help="Then drop samples missing more than this fraction of the genes kept.",
        ),
    ] = 0.5,
    rank: Annotated[int, typer.Option("--rank", help="Rank of the iterative SVD imputation.")] = 10,
    no_impute: Annotated[
        bool, typer.Option("--no-impute", help="Leave missing values missing.")
    ] = False,
    imputer: Annotated[
        str,
        typer.Option(
            "--imputer",
            help="iterative-svd (fancyimpute's loop, as refine.bio) or als (its fixed point, "
            "fewer passes; can run away on small or block-missing compendia).",
        ),
    ] = "iterative-svd",
    no_qn: Annotated[bool, typer.Option("--no-qn", help="No quantile normalization.")] = False,
    max_iters: Annotated[
        int, typer.Option("--max-iters", help="Most imputation iterations.")
    ] = 200,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            help="Imputation stops below this relative change (3e-3: fancyimpute's rule).",
        ),
    ] = 3e-3,
    stage: Annotated[
        str,
        typer.Option("--stage", help="refined (as delivered) or genes (before the refinery's QN)."),
    ] = "refined",
    chunk: Annotated[int, typer.Option("--chunk", help="Samples per block.")] = 256,
    workers: Annotated[int, typer.Option("--workers", help="Local threads.")] = 2,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address (tcp://HOST:PORT)."),
    ] = None,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """Build an organism's compendium (refine.bio's rules as defaults; docs/compendia.md)."""
    from exprhub.bundles.compendium import organism_key
    from exprhub.bundles.compendium_source import resolve_organism

    hub = open_hub(home)
    if out is None:
        out = Path(f"{organism_key(resolve_organism(organism)[1])}_compendium")

    def progress(fraction: float, message: str) -> None:
        if not json_out and err_console.is_terminal:
            err_console.print(f"{fraction:4.0%} {message}", markup=False)

    report = hub.compendium(
        organism,
        out,
        format=fmt,
        max_gene_missing=max_gene_missing,
        max_sample_missing=max_sample_missing,
        rank=rank,
        impute=not no_impute,
        imputer=imputer,
        qn=not no_qn,
        max_iters=max_iters,
        tolerance=tolerance,
        stage=stage,
        chunk=chunk,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    if json_out:
        print_json(report.to_dict())
        return
    console.print(
        f"{report.path}: {report.samples} samples x {report.genes} genes ({report.format}); "
        f"dropped {report.dropped_genes} genes and {report.dropped_samples} samples "
        "(dropped_genes.tsv, filtered_samples_metadata.tsv)",
        markup=False,
        soft_wrap=True,
    )
