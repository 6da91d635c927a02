"""Bundle commands: ``exprhub bundle create`` and ``exprhub bundle diff``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from exprhub.cli.app import HomeOption, JsonOption, app, console, open_hub, print_json

bundle_app = typer.Typer(
    help="Dataset bundles: refined values + metadata to take away (TSV, h5ad, Parquet).",
    no_args_is_help=True,
)
app.add_typer(bundle_app, name="bundle")


@bundle_app.command("create")
def create(
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="File to write, or an existing directory (the file is then named by its "
            "content hash).",
        ),
    ],
    series: Annotated[
        list[str] | None, typer.Option("--series", help="Series to bundle (repeatable).")
    ] = None,
    samples: Annotated[
        list[str] | None, typer.Option("--samples", help="Samples to bundle (repeatable).")
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", help="Bundle the records a search query matches.")
    ] = None,
    aggregate: Annotated[
        str, typer.Option("--aggregate", help="experiment | species | all")
    ] = "experiment",
    scale: Annotated[
        str, typer.Option("--scale", help="none | minmax | standard | robust (per gene)")
    ] = "none",
    no_qn: Annotated[
        bool,
        typer.Option("--no-qn", help="Gene-level values before quantile normalization."),
    ] = False,
    format: Annotated[str, typer.Option("--format", help="tsv | h5ad | parquet")] = "tsv",
    home: HomeOption = None,
    json: JsonOption = False,
) -> None:
    """Write a dataset bundle of series, samples or a search query's records."""
    with open_hub(home) as hub:
        result = hub.bundle(
            output,
            series=_split(series),
            samples=_split(samples),
            query=query,
            aggregate=aggregate,
            scale=scale,
            qn=not no_qn,
            format=format,
        )
    summary = result.as_dict()
    if json:
        print_json(summary)
        return
    console.print(
        f"wrote {summary['path']} ({summary['size']} bytes, sha256 {summary['sha256']})",
        markup=False,
        soft_wrap=True,
    )
    for key, agg in summary["aggregates"].items():
        console.print(
            f"  {key}: {agg['n_samples']} samples x {agg['n_genes']} genes "
            f"({agg['genes_dropped']} genes dropped: not measured in every sample)",
            markup=False,
            soft_wrap=True,
        )
    for sample, reason in summary["filtered_samples"].items():
        console.print(f"  left out {sample}: {reason}", markup=False, soft_wrap=True)
    several = summary["samples_in_several_series"]
    if several:
        console.print(
            f"  {len(several)} samples are in several selected series (in each series' "
            "aggregate with --aggregate experiment; once otherwise)",
            markup=False,
        )


def _split(values: list[str] | None) -> list[str]:
    """Accessions given repeated or comma/space separated."""
    return [v for text in values or [] for v in text.replace(",", " ").split()]


@bundle_app.command("diff")
def diff(
    a: Annotated[Path, typer.Argument(help="A bundle.")],
    b: Annotated[Path, typer.Argument(help="Another bundle.")],
    json: JsonOption = False,
) -> None:
    """Say what differs between two bundles and why (samples, genes, QN targets,
    processors, options)."""
    from exprhub.api.bundling import diff_bundles, diff_lines

    result = diff_bundles(a, b)
    if json:
        print_json(result)
        return
    for line in diff_lines(result):
        console.print(line, markup=False, soft_wrap=True)
