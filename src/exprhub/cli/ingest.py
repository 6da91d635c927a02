"""Commands that move GEO files in and out: import, fetch, export, simulate."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from exprhub.cli.app import (
    HomeOption,
    JsonOption,
    app,
    console,
    download_progress,
    err_console,
    open_hub,
    print_json,
    print_notice,
)

if TYPE_CHECKING:
    from exprhub.ingest.importer import ImportFailed


def _record_progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} records"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


#: Warnings of one file printed in full; more are summarized by kind (``--verbose``: all).
WARNINGS_IN_FULL = 5
#: Kinds of warning listed in a summary (with one example each).
WARNING_KINDS_SHOWN = 10
#: Characters of an example warning shown in a summary.
WARNING_EXAMPLE_CHARS = 160

_RECORD_PREFIX = re.compile(r"^(?:Platform|Sample|Series|DataSet|Subset|Annotation) \S+: ")
_NUMBER = re.compile(r"\d+")


def warning_kind(message: str) -> str:
    """What a warning is about, without where: its message with the record it names and
    its numbers left out (``table has N rows but N are declared ...``)."""
    return _NUMBER.sub("N", _RECORD_PREFIX.sub("", message))


def _warning_lines(path: Path, warnings: list[str], verbose: bool) -> list[str]:
    """The lines that report a file's warnings: each one when few or ``verbose``, else a
    count per kind with the first example of each."""
    prefix = f"{path}:"
    located = [w[len(prefix) :] if w.startswith(prefix) else w for w in warnings]
    if verbose or len(located) <= WARNINGS_IN_FULL:
        return [f"  warning: line {w}" if w[:1].isdigit() else f"  warning: {w}" for w in located]
    kinds: dict[str, list[str]] = {}
    for w in located:
        line, _, message = w.partition(": ") if w[:1].isdigit() else ("", "", w)
        kinds.setdefault(warning_kind(message), []).append(
            f"line {line}: {message}" if line else message
        )
    lines = [f"  {len(located)} warnings (--verbose lists them all):"]
    ranked = sorted(kinds.items(), key=lambda item: (-len(item[1]), item[0]))
    for kind, examples in ranked[:WARNING_KINDS_SHOWN]:
        example = examples[0]
        if len(example) > WARNING_EXAMPLE_CHARS:
            example = example[: WARNING_EXAMPLE_CHARS - 3] + "..."
        lines.append(f"    {len(examples)} x {kind}")
        lines.append(f"      first: {example}")
    if len(ranked) > WARNING_KINDS_SHOWN:
        rest = sum(len(e) for _, e in ranked[WARNING_KINDS_SHOWN:])
        lines.append(f"    {rest} more of {len(ranked) - WARNING_KINDS_SHOWN} other kinds")
    return lines


def _print_results(results: list, json: bool, verbose: bool = False) -> None:  # type: ignore[type-arg]
    if json:
        print_json([r.to_dict() for r in results])
        return
    for r in results:
        outcomes = ", ".join(f"{n} {k}" for k, n in sorted(r.outcomes.items())) or "no records"
        if r.conflicts:
            outcomes += f" ({len(r.conflicts)} kept the stored table, see below)"
        console.print(f"{r.path.name}: {r.format}, {outcomes}", markup=False, soft_wrap=True)
        for conflict in r.conflicts:
            console.print(f"  conflict: {conflict}", style="red", markup=False, soft_wrap=True)
        if r.details:
            d = r.details
            console.print(
                f"  {d['genes']} genes ({d['gene_ids']} ids), {d['quantity']} "
                f"(from {d['quantity_from']}), series {d['series']}",
                markup=False,
                soft_wrap=True,
            )
        for line in r.matches:
            console.print(f"  {line}", markup=False, soft_wrap=True)
        for line in _warning_lines(r.path, r.warnings, verbose):
            console.print(line, style="yellow", markup=False, soft_wrap=True)


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="GEO files (SOFT, MINiML, series matrix, .annot) or folders of them "
            "(each file directly inside imported, in name order)."
        ),
    ],
    home: HomeOption = None,
    json: JsonOption = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every warning (default: a summary).")
    ] = False,
    series: Annotated[
        str | None,
        typer.Option(
            "--series",
            help="The files are genes x samples counts/TPM tables of this series (in the hub): "
            "attach them to its samples (columns matched by GSM, title or alias).",
        ),
    ] = None,
    quantity: Annotated[
        str | None,
        typer.Option(
            "--quantity",
            help="With --series: counts or tpm (default: NCBI's file name, else whole numbers "
            "are counts).",
        ),
    ] = None,
) -> None:
    """Import GEO files or folders of them (format told by content; each file
    all-or-nothing). Many warnings of a file are summarized by kind (--verbose: all).
    With --series, attach RNA-seq counts tables to a series' samples."""
    if quantity is not None and series is None:
        err_console.print("error: --quantity needs --series", markup=False)
        raise typer.Exit(2)
    failures: list[str] = []

    def failed(path: Path, exc: ImportFailed) -> None:
        failures.append(str(exc))
        sys.stderr.write(f"error: {exc}\n")

    with open_hub(home) as hub, _record_progress() as progress:
        task = progress.add_task("importing", total=None)

        def advance(path: Path, n: int) -> None:
            progress.update(task, description=path.name, completed=n)

        results = hub.import_files(
            paths,
            on_record=advance,
            on_error=failed,
            on_notice=print_notice,
            series=series,
            quantity=quantity,
        )
    _print_results(results, json, verbose)
    if failures:
        raise typer.Exit(1)


@app.command()
def fetch(
    accessions: Annotated[list[str], typer.Argument(help="GEO accessions (GSE, GDS, GPL, GSM).")],
    home: HomeOption = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="NCBI GEO mirror (default: NCBI's HTTPS site).")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="soft, matrix, miniml or annot.")
    ] = "soft",
    annot: Annotated[
        bool | None,
        typer.Option(
            "--annot/--no-annot",
            help="--annot: only the platforms' GEO annotation files; --no-annot: only the "
            "records (default: records, then their platforms' annotation files).",
        ),
    ] = None,
    json: JsonOption = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every warning (default: a summary).")
    ] = False,
) -> None:
    """Download records from NCBI GEO, then import them (with their platforms' GEO
    annotation files, and a DataSet's or sample's platform when the hub lacks it)."""
    progress, on_bytes = download_progress()

    with open_hub(home) as hub, progress:
        results = hub.fetch(
            accessions,
            base_url=base_url,
            format="annot" if annot else format,
            progress=on_bytes,
            annotations=annot is not False,
            on_notice=print_notice,
        )
    _print_results(results, json, verbose)


@app.command()
def export(
    accession: Annotated[str, typer.Argument(help="Record to export.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (.gz compresses).")],
    format: Annotated[
        str, typer.Option("--format", help="soft, matrix, miniml or refined (genes x samples TSV).")
    ] = "soft",
    home: HomeOption = None,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial",
            help="refined: write the refined samples even when others are not refined.",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Write a record (a series with its platforms and samples) as a GEO file.

    A partial refined export writes nothing and exits 1 unless --allow-partial (then warns).
    """
    import warnings

    from exprhub.bundles.export import PartialExport, PartialExportWarning

    coverage = None
    with open_hub(home) as hub, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PartialExportWarning)
        try:
            written = hub.export(accession, output, format=format, allow_partial=allow_partial)
        except PartialExport as partial:
            written, coverage = [], partial.coverage
        for warning in caught:
            if isinstance(warning.message, PartialExportWarning):
                coverage = warning.message.coverage
            else:
                warnings.showwarning(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        complete = coverage is None
        if format == "refined" and coverage is None:
            coverage = hub.refined_coverage(accession)
    data: dict[str, object] = {"accession": accession, "format": format}
    data["files"] = [str(p) for p in written]
    if coverage is not None:
        data["refined"] = coverage.to_dict()
    if coverage is not None and not complete:
        line = coverage.summary()
        if written:
            sys.stderr.write(f"warning: partial export, {line}\n")
        else:
            sys.stderr.write(
                f"error: {line}; nothing written: --allow-partial exports the "
                f"{len(coverage.refined)} refined samples anyway\n"
            )
    if format == "matrix" and len(written) > 1:
        sys.stderr.write(
            f"note: {accession} has {len(written)} platforms: one series matrix each, "
            f"named after {output} (not {output.name} itself)\n"
        )
    if json:
        print_json(data)
    else:
        for path in written:
            console.print(f"wrote {path}", markup=False, soft_wrap=True)
    if not complete and not written:
        raise typer.Exit(1)


@app.command()
def simulate(
    output: Annotated[Path, typer.Option("-o", "--output", help="Directory to write into.")],
    series: Annotated[int, typer.Option(help="Microarray series.")] = 3,
    samples: Annotated[int, typer.Option(help="Samples per series.")] = 12,
    platforms: Annotated[int, typer.Option(help="Platforms.")] = 2,
    probes: Annotated[int | None, typer.Option(help="Probes per platform.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 0,
    json: JsonOption = False,
) -> None:
    """Write realistic simulated GEO files (family SOFT, series matrix, GDS, RNA-seq)."""
    from exprhub.simulate import simulate as run_simulation

    with console.status("simulating GEO files", spinner="dots"):
        manifest = run_simulation(
            output, series=series, samples=samples, platforms=platforms, probes=probes, seed=seed
        )
    data = manifest.to_dict()
    if json:
        print_json(data)
    else:
        files = data.get("files", []) if isinstance(data, dict) else []
        console.print(f"wrote {len(files)} files to {output}", markup=False)
