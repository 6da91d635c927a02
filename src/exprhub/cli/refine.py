"""Refinery commands: refine, genes import / genes ls, qn-targets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from exprhub.cli.app import (
    HomeOption,
    JsonOption,
    app,
    console,
    download_progress,
    err_console,
    open_hub,
    print_json,
)

genes_app = typer.Typer(
    help="NCBI gene references (gene_info, gene2ensembl, gene2accession).", no_args_is_help=True
)
app.add_typer(genes_app, name="genes")


def _progress_callback(progress: Progress) -> Any:
    """A refine progress callback drawing on ``progress`` (started on the first report)."""
    tasks: dict[str, Any] = {}

    def update(phase: str, advance: int, total: int) -> None:
        if not tasks:
            progress.start()
        if phase not in tasks:
            tasks[phase] = progress.add_task(phase, total=total)
        progress.update(tasks[phase], advance=advance, total=total)

    return update


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM / SIGINT: the executor stops its workers; one line, exit 128 + signal."""
    from exprhub.refine.executor import RefineInterrupted, stop_on_signals

    try:
        with stop_on_signals():
            yield
    except RefineInterrupted as stop:
        err_console.print(
            f"error: refine {stop}; its workers are stopped and the batches committed so far "
            "are kept: run the same command again to resume",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(stop.exit_status) from None


@app.command("refine")
def refine_command(
    accessions: Annotated[
        list[str] | None,
        typer.Argument(help="Samples, series, platforms or DataSets (default: every sample)."),
    ] = None,
    home: HomeOption = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address (tcp://HOST:PORT)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Local worker processes (default 2; 0 = in-process)."),
    ] = None,
    skip_qn: Annotated[
        bool, typer.Option("--skip-qn", help="Deliver gene-level values without QN.")
    ] = False,
    min_target_samples: Annotated[
        int, typer.Option("--min-target-samples", help="Fewest samples for a QN target.")
    ] = 4,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Most samples per batch (one commit each).")
    ] = 128,
    commit_size: Annotated[
        int, typer.Option("--commit-size", help="Samples committed together (at least a batch).")
    ] = 256,
    force: Annotated[
        bool, typer.Option("--force", help="Refine again even when provenance is current.")
    ] = False,
    retarget: Annotated[
        bool,
        typer.Option(
            "--retarget",
            help="Move the samples to the current QN target (built anew when its reference "
            "samples changed); without it refined samples keep their target version.",
        ),
    ] = False,
    quant: Annotated[
        list[str] | None,
        typer.Option("--quant", help="RNA-seq: GSM=path/quant.sf (repeatable)."),
    ] = None,
    quant_dir: Annotated[
        Path | None,
        typer.Option("--quant-dir", help="RNA-seq: directory with GSMxxx/quant.sf."),
    ] = None,
    reads: Annotated[
        list[str] | None,
        typer.Option("--reads", help="RNA-seq: GSM=reads.fq or GSM=mate1.fq,mate2.fq (Salmon)."),
    ] = None,
    transcriptome: Annotated[
        Path | None,
        typer.Option("--transcriptome", help="RNA-seq: transcript FASTA for the Salmon index."),
    ] = None,
    tx2gene: Annotated[
        Path | None,
        typer.Option(
            "--tx2gene",
            help="RNA-seq: transcript -> gene table (default: Ensembl "
            "transcript ids resolved through the gene reference).",
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Refine samples to gene-level, quantile-normalized vectors with provenance.

    SIGTERM/SIGINT stop the workers and exit 128 + signal; running it again resumes.
    """
    if reads and transcriptome is None:
        raise typer.BadParameter("--reads needs --transcriptome FASTA")
    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    bar = Progress(*columns, console=err_console, transient=True, disable=json)
    try:
        with _stop_on_signals(), open_hub(home) as hub:
            report = hub.refine(
                accessions or [],
                workers=workers,
                scheduler=scheduler,
                skip_qn=skip_qn,
                min_target_samples=min_target_samples,
                batch_size=batch_size,
                commit_size=commit_size,
                force=force,
                retarget=retarget,
                quant=quant,
                quant_dir=quant_dir,
                reads=reads,
                transcriptome=transcriptome,
                tx2gene=tx2gene,
                progress=_progress_callback(bar),
            )
    finally:
        if bar.live.is_started:
            bar.stop()
    data = report.to_dict()
    if json:
        print_json(data)
        return
    waiting = f", {len(data['waiting'])} waiting" if data.get("waiting") else ""
    if data.get("skipped"):
        waiting += f", {len(data['skipped'])} skipped: no values"
    console.print(
        f"{data['samples']} samples: {data['gene_level']} mapped to genes, "
        f"{data['normalized']} normalized, {data['current']} already current, "
        f"{len(data['failed'])} failed{waiting} ({data['seconds']} s, {data['executor']['kind']})"
    )
    for target in data["targets"]:
        built = " (new)" if target.get("built") else ""
        console.print(
            f"QN target {target['organism']} {target['value_kind']} v{target['version']}{built}: "
            f"{target['n_samples']} samples, {target['length']} values, {target['sha256'][:12]}",
            markup=False,
        )
    for move in data.get("moves", []):
        n = move["samples"]
        console.print(
            f"moved {n} sample{'s' if n != 1 else ''} of {move['organism']} "
            f"{move['value_kind']} from QN target {_version(move['from_version'])} to "
            f"{_version(move['to_version'])} ({_MOVE_REASONS.get(move['reason'], move['reason'])})",
            markup=False,
            soft_wrap=True,
        )
    for notice in data.get("target_notices", []):
        console.print(_notice_line(notice), markup=False, soft_wrap=True)
    if data.get("flags"):
        from exprhub.analysis.stored_flags import FlagUpdate

        for update in data["flags"]:
            console.print(f"flags {FlagUpdate(**update).describe()}", markup=False, soft_wrap=True)
    for notice in data.get("missing", []):
        n = notice["samples"]
        err_console.print(
            f"waiting ({n} sample{'s' if n != 1 else ''}): {notice['reason']}; "
            f"run `{notice['command']}`",
            markup=False,
            soft_wrap=True,
        )
    by_message: dict[str, list[str]] = {}
    for key, message in sorted(data["failed"].items()):
        by_message.setdefault(message, []).append(key)
    for message, keys in by_message.items():
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        err_console.print(f"failed {shown}: {message}", markup=False, soft_wrap=True)


_MOVE_REASONS = {"retarget": "--retarget", "skip-qn": "--skip-qn"}


def _version(version: int | None) -> str:
    return "none" if version is None else f"v{version}"


def _notice_line(notice: dict[str, Any]) -> str:
    """One line saying what `exprhub refine --retarget` would change."""
    what = f"QN target {notice['organism']} {notice['value_kind']} v{notice['current_version']}"
    parts = [f"{what} was built from {notice['target_samples']} samples"]
    if notice["newer_target_differs"]:
        parts.append(
            f"{notice['reference_samples']} reference samples now "
            f"({notice['samples_refined_since']} refined since) would build a new version"
        )
    behind = notice["samples_not_on_current"]
    if behind:
        counts = ", ".join(f"{n} on {label}" for label, n in behind.items())
        parts.append(f"samples not on v{notice['current_version']}: {counts}")
    return "; ".join(parts) + f": run `{notice['command']}` to move them (values change)"


@genes_app.command("import")
def genes_import(
    files: Annotated[
        list[Path],
        typer.Argument(help="NCBI gene_info, gene2ensembl and gene2accession files."),
    ],
    home: HomeOption = None,
    tax_id: Annotated[
        list[int] | None, typer.Option("--tax-id", help="Only these organisms (repeatable).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Import NCBI gene_info / gene2ensembl / gene2accession files (kind told by the header).

    gene2accession links GenBank / RefSeq accessions to genes, so that platforms whose only
    gene column holds accessions (GB_ACC, GB_LIST) can be refined. NCBI's file holds every
    organism: without --tax-id only those whose gene_info the hub holds are kept."""
    from exprhub.refine.pipeline import import_gene_accessions, import_genes, ncbi_file_kind
    from exprhub.refine.store import gene_counts

    by_kind: dict[str, list[str]] = {"gene_info": [], "gene2ensembl": [], "gene2accession": []}
    for path in files:
        by_kind[ncbi_file_kind(path)].append(str(path))
    if by_kind["gene2ensembl"] and not by_kind["gene_info"]:
        raise typer.BadParameter("no gene_info file given (gene2ensembl only adds Ensembl ids)")
    counts: dict[int, int] = {}
    links: dict[int, int] = {}
    with open_hub(home) as hub:
        if by_kind["gene_info"]:
            counts = import_genes(hub, by_kind["gene_info"], by_kind["gene2ensembl"], tax_id)
        if by_kind["gene2accession"]:
            organisms = tax_id or sorted(
                tax for tax, by_source in gene_counts(hub).items() if "gene_info" in by_source
            )
            if not organisms:
                raise typer.BadParameter(
                    "gene2accession holds every organism: give --tax-id, or import the "
                    "organism's gene_info first"
                )
            links = import_gene_accessions(hub, by_kind["gene2accession"], organisms)
    if json:
        print_json(
            {
                "genes": {str(k): v for k, v in counts.items()},
                "accessions": {str(k): v for k, v in links.items()},
            }
        )
        return
    for tax, n in counts.items():
        console.print(f"tax {tax}: {n} genes")
    for tax, n in links.items():
        console.print(f"tax {tax}: {n} accession -> gene links")


@genes_app.command("fetch")
def genes_fetch(
    organisms: Annotated[
        list[str],
        typer.Argument(help='Organisms by name ("Homo sapiens") or NCBI tax id (9606).'),
    ],
    home: HomeOption = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="NCBI mirror (default: NCBI's HTTPS site).")
    ] = None,
    accessions: Annotated[
        bool,
        typer.Option(
            "--accessions/--no-accessions",
            help="Also gene2accession (GenBank/RefSeq accessions; a download of several GB).",
        ),
    ] = True,
    keep_downloads: Annotated[
        bool, typer.Option("--keep-downloads", help="Keep the downloaded files.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Download organisms' NCBI gene tables (gene_info, gene2ensembl, gene2accession), then
    import them."""
    from exprhub.ingest.fetch import DEFAULT_BASE_URL
    from exprhub.refine.ncbi_genes import fetch_genes

    progress, on_bytes = download_progress()

    reports = []
    with open_hub(home) as hub, progress:
        for organism in organisms:
            reports.append(
                fetch_genes(
                    hub,
                    organism,
                    base_url=base_url or DEFAULT_BASE_URL,
                    accessions=accessions,
                    progress=on_bytes,
                    keep_downloads=keep_downloads,
                ).to_dict()
            )
    if json:
        print_json(reports)
        return
    for r in reports:
        links = f", {r['accessions']} accession -> gene links" if accessions else ""
        console.print(f"{r['organism'] or 'tax'} ({r['tax_id']}): {r['genes']} genes{links}")
        for f in r["files"]:
            console.print(f"  {f['url']}  {f['size']} bytes  sha256 {f['sha256']}", markup=False)


@genes_app.command("ls")
def genes_list(home: HomeOption = None, json: JsonOption = False) -> None:
    """Genes stored per organism and source (and accession -> gene links from gene2accession)."""
    from exprhub.refine.store import accession_counts, gene_counts

    with open_hub(home) as hub:
        counts = gene_counts(hub)
        for tax, n in accession_counts(hub).items():
            counts.setdefault(tax, {})["gene2accession"] = n
    if json:
        print_json({str(t): c for t, c in counts.items()})
        return
    table = RichTable("tax id", "source", "genes")
    for tax, by_source in counts.items():
        for source, n in by_source.items():
            table.add_row(str(tax), source, str(n))
    console.print(table)


@app.command("qn-targets")
def qn_targets(
    home: HomeOption = None,
    all_versions: Annotated[
        bool, typer.Option("--all", help="Older versions too (default: current only).")
    ] = False,
    history: Annotated[
        bool,
        typer.Option("--history", help="The moves of samples between target versions instead."),
    ] = False,
    json: JsonOption = False,
) -> None:
    """List the quantile-normalization targets (per organism and value kind) and how many
    samples use each version; --history lists the moves between versions."""
    with open_hub(home) as hub:
        if history:
            moves = hub.qn_target_moves(samples=json)
        else:
            rows = hub.qn_targets(all_versions=all_versions)
    if history:
        if json:
            print_json(moves)
            return
        table = RichTable("moved at", "tax id", "kind", "from", "to", "samples", "reason", "run")
        for m in moves:
            table.add_row(
                str(m["moved_at"])[:19],
                str(m["tax_id"]),
                str(m["value_kind"]),
                _version(m["from_version"]),  # type: ignore[arg-type]
                _version(m["to_version"]),  # type: ignore[arg-type]
                str(m["samples"]),
                str(m["reason"]),
                str(m["run_id"])[:12],
            )
        console.print(table)
        return
    if json:
        print_json(rows)
        return
    table = RichTable(
        "organism", "kind", "version", "built from", "in use", "length", "created", "sha256"
    )
    for t in rows:
        table.add_row(
            str(t["organism"]),
            str(t["value_kind"]),
            f"v{t['version']}" + ("" if t["current"] else " (old)"),
            f"{t['n_samples']} samples" + (f" of {t['platform']}" if t["platform"] else ""),
            str(t["samples_using"]),
            str(t["length"]),
            str(t["created_at"])[:19],
            str(t["sha256"])[:16],
        )
    console.print(table)
