"""Hub commands: init, info, compact, check, show, ls."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table as RichTable

from exprhub.cli.app import (
    HomeOption,
    JsonOption,
    app,
    console,
    err_console,
    open_hub,
    print_json,
)


@app.command()
def init(
    home: HomeOption = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Metadata database (default: $EXPRHUB_DATABASE_URL or SQLite in the hub).",
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Create a hub (or bring an existing one's schema up to date)."""
    from exprhub.api import Hub

    with Hub.init(home, database_url=database_url) as hub:
        info = hub.info()
    if json:
        print_json(info)
    else:
        console.print(f"hub ready at {info['home']} ({info['database']['backend']})")


@app.command()
def info(home: HomeOption = None, json: JsonOption = False) -> None:
    """Counts of each record type, hub paths and versions."""
    with open_hub(home) as hub:
        data = hub.info()
    if json:
        print_json(data)
        return
    console.print(f"[bold]hub[/bold] {data['home']}")
    db = data["database"]
    console.print(f"database  {db['url']} (schema {db['schema_revision']})")
    for name, path in data["paths"].items():
        console.print(f"{name:<9} {path}")
    table = RichTable("type", "records")
    for rtype, n in data["counts"].items():
        table.add_row(rtype, str(n))
    console.print(table)
    console.print(f"original files kept: {data['files']}; matrices: {len(data['matrices'])}")
    versions = ", ".join(f"{k} {v}" for k, v in data["versions"].items())
    console.print(f"versions  {versions}")


@app.command()
def compact(
    names: Annotated[
        list[str] | None, typer.Argument(help="Matrices to compact (default: all).")
    ] = None,
    home: HomeOption = None,
    json: JsonOption = False,
) -> None:
    """Copy recently imported columns into the by-feature layout of the matrices.

    Imports compact complete stripes of 1,024 samples on their own; this also copies the rest.
    Safe to interrupt: run it again.
    """
    with open_hub(home) as hub:
        done = hub.compact(names or None)
    if json:
        print_json({"compacted_columns": done})
        return
    for name, columns in done.items():
        console.print(f"{name}: {columns} columns compacted", markup=False)


@app.command()
def check(
    repair: Annotated[
        bool,
        typer.Option(
            "--repair", help="Remove the orphan files (after recovering a crashed write)."
        ),
    ] = False,
    home: HomeOption = None,
    json: JsonOption = False,
) -> None:
    """Files under tables/ and files/ that no committed row refers to (left by killed
    imports), and referenced files that are missing; --repair removes the former.

    Exits with code 1 when a referenced file is missing.
    """
    with open_hub(home) as hub:
        result = hub.check(repair=repair)
    if json:
        print_json(result.to_dict())
    else:
        for orphan in result.orphans:
            console.print(
                f"orphan  {orphan.path}  {orphan.size} bytes ({orphan.reason})", markup=False
            )
        for path in result.missing:
            console.print(f"missing {path}", markup=False)
        done = "removed" if repair else "found"
        console.print(
            f"{len(result.orphans)} orphan files ({result.orphan_bytes} bytes) {done}; "
            f"{len(result.missing)} referenced files missing",
            markup=False,
        )
        if result.interrupted_write and not repair:
            console.print("an interrupted write awaits recovery (the next import, or --repair)")
    if result.missing:
        err_console.print(
            f"error: {len(result.missing)} files the hub refers to are missing", markup=False
        )
        raise typer.Exit(1)


@app.command()
def show(
    accession: Annotated[str, typer.Argument(help="Accession (GSE1623) or submission name.")],
    home: HomeOption = None,
    provenance: Annotated[
        bool, typer.Option("--provenance", help="How the sample was refined (JSON).")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Show one record: key facts, relations and every attribute."""
    if provenance:
        with open_hub(home) as hub:
            print_json(hub.provenance(accession))
        return
    with open_hub(home) as hub:
        data = hub.summary(accession)
    if json:
        print_json(data)
        return
    console.print(f"[bold]{data['key']}[/bold]  {data['type']}  {data['title'] or ''}")
    for field in ("status", "submission_date", "last_update_date", "release_date"):
        if data.get(field):
            console.print(f"{field:<17} {data[field]}")
    if data["organisms"]:
        console.print(f"{'organisms':<17} {'; '.join(data['organisms'])}")
    for kind, targets in data["relations"].items():
        shown = ", ".join(targets[:20]) + (
            f" ... (+{len(targets) - 20})" if len(targets) > 20 else ""
        )
        console.print(f"{kind:<17} {shown}")
    if data["table"]:
        console.print(
            f"{'table':<17} {data['table']['rows']} rows x {data['table']['columns']} columns"
        )
    for conflict in data.get("conflicts", []):
        console.print(
            f"{'conflict':<17} version {conflict['version']}: {conflict['message']}",
            markup=False,
            soft_wrap=True,
        )
    attrs = RichTable("attribute", "value", show_lines=False)
    for key, value in data["attributes"]:
        attrs.add_row(key, value)
    console.print(attrs)


@app.command("ls")
def list_records(
    home: HomeOption = None,
    type: Annotated[
        str | None, typer.Option("--type", "-t", help="gse, gsm, gpl, gds or subset.")
    ] = None,
    organism: Annotated[str | None, typer.Option(help="Only records of this organism.")] = None,
    platform: Annotated[
        str | None, typer.Option(help="Only records related to this platform.")
    ] = None,
    series: Annotated[str | None, typer.Option(help="Only records related to this series.")] = None,
    characteristic: Annotated[
        list[str] | None,
        typer.Option(help="Samples with this characteristic, key=value (repeatable)."),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            help=(
                "Samples with this label, e.g. sex=female or tissue=kidney (repeatable; "
                "'exprhub labels' shows a sample's labels); with --type gse/gpl/gds, those "
                "listing such samples that have no record of their own (DataSet columns)."
            )
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many records.")] = None,
    offset: Annotated[int, typer.Option(help="Skip this many records.")] = 0,
    json: JsonOption = False,
) -> None:
    """List the records in the hub, optionally filtered (filters need --type)."""
    from exprhub.curate.sample_filter import parse_pair
    from exprhub.hub.listing import LABEL_OWNER_TYPES
    from exprhub.records import RecordType

    rtype = RecordType.parse(type) if type else None
    filtered = organism or platform or series or characteristic or label
    if filtered and rtype is None:
        raise ValueError("filters need --type (e.g. --type gsm)")
    if characteristic and rtype is not RecordType.SAMPLE:
        raise ValueError("--characteristic filters samples: use --type gsm")
    if label and rtype not in (RecordType.SAMPLE, *LABEL_OWNER_TYPES):
        raise ValueError("--label filters samples (--type gsm), or gse/gpl/gds listing them")
    with open_hub(home) as hub:
        rows = hub.records(
            rtype,
            limit=limit,
            offset=offset,
            organism=organism,
            platform=platform,
            series=series,
            characteristics=[parse_pair(c) for c in characteristic or []],
            labels=[parse_pair(x, "label") for x in label or []],
        )
    if json:
        print_json([r.as_dict() for r in rows])
        return
    table = RichTable("type", "accession", "title", "organisms", "updated")
    for r in rows:
        table.add_row(r.type, r.key, r.title or "", r.organisms or "", r.last_update_date or "")
    console.print(table)
