"""Search commands: search, index."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table as RichTable

from exprhub.cli.app import HomeOption, JsonOption, app, console, open_hub, print_json
from exprhub.search.fields import DEFAULT_SCHEMA
from exprhub.search.paging import MAX_SEARCH_END, MAX_SEARCH_LIMIT, check_search_page
from exprhub.search.query import QuerySyntaxError


def query_error_line(err: QuerySyntaxError) -> str:
    """The reason a query did not parse and where, in one line (the query itself can be long)."""
    if f"column {err.column}" in err.reason:
        return err.reason
    return f"{err.reason} (at column {err.column} of the query)"


#: Values of each facet shown in the text output (``--json`` holds what the search counted).
FACET_VALUES_SHOWN = 5


def facet_names(option: list[str] | None) -> list[str] | None:
    """The facets ``--facets`` asks for: names, comma-separated or repeated; ``none`` for
    none; None (not given) for the schema's default facets."""
    if option is None:
        return None
    names = [n.strip() for given in option for n in given.split(",") if n.strip()]
    return [] if names == ["none"] else names


def page_line(total: int, offset: int, shown: int) -> str:
    """``40 records match; showing 1-20 (next: --offset 20)``."""
    line = f"{total} records match"
    if shown:
        line += f"; showing {offset + 1}-{offset + shown}"
        if offset + shown < min(total, MAX_SEARCH_END):
            line += f" (next: --offset {offset + shown})"
    elif total:
        line += f"; none at offset {offset}"
    return line


@app.command()
def search(
    query: Annotated[
        str, typer.Argument(help='Entrez-style query, e.g. "liver[ALL] AND GSM[ETYP]".')
    ],
    home: HomeOption = None,
    limit: Annotated[int, typer.Option(help=f"Hits per page (max {MAX_SEARCH_LIMIT}).")] = 20,
    offset: Annotated[
        int, typer.Option(help=f"Skip this many hits (offset + limit at most {MAX_SEARCH_END}).")
    ] = 0,
    facets: Annotated[
        list[str] | None,
        typer.Option(
            "--facets",
            help="Facets to count over all matches, comma-separated or repeated (default: "
            f"{','.join(DEFAULT_SCHEMA.default_facets)}; 'none': none).",
        ),
    ] = None,
    expand: Annotated[
        bool,
        typer.Option(
            "--expand/--no-expand",
            help="Words naming an anatomy, cell type or disease term also find its "
            "descendants (kidney finds renal cortex).",
        ),
    ] = True,
    json: JsonOption = False,
) -> None:
    """Search the hub's records (fields: ALL ACCN TITL DESC ORGN ETYP GTYP VTYP PTYP PLAT AUTH
    PDAT NSAM and label fields such as sex, tissue, disease), a page of hits and facet counts
    over all matches."""
    check_search_page(limit, offset)  # before opening anything: a clear error, fast
    wanted = facet_names(facets)
    DEFAULT_SCHEMA.check_facets(wanted)  # an unknown facet: one line naming the known ones
    with open_hub(home) as hub:
        try:
            results = hub.search(query, limit=limit, offset=offset, facets=wanted, expand=expand)
        except QuerySyntaxError as err:
            raise ValueError(query_error_line(err)) from None
    counted = {
        name: [{"value": f.value, "count": f.count} for f in counts]
        for name, counts in results.facets.items()
        if counts
    }
    if json:
        print_json(
            {
                "query": query,
                "total": results.total,
                "offset": offset,
                "limit": limit,
                "hits": [asdict(h) for h in results.hits],
                "facets": counted,
            }
        )
        return
    console.print(page_line(results.total, offset, len(results.hits)), markup=False)
    if results.hits:
        table = RichTable("accession", "type", "title", "score")
        for hit in results.hits:
            table.add_row(hit.accession, hit.etype, hit.title or "", f"{hit.score:.2f}")
        console.print(table)
    if counted:
        facet_table = RichTable("facet", "values (matches)", title="facets over all matches")
        for name, values in counted.items():
            shown = ", ".join(f"{v['value']} ({v['count']})" for v in values[:FACET_VALUES_SHOWN])
            if len(values) > FACET_VALUES_SHOWN:
                shown += f", +{len(values) - FACET_VALUES_SHOWN} more (--json)"
            facet_table.add_row(name, shown)
        console.print(facet_table)


@app.command()
def index(
    home: HomeOption = None,
    full: Annotated[bool, typer.Option("--full", help="Re-index every record.")] = False,
    json: JsonOption = False,
) -> None:
    """Bring the search index up to date with the hub."""
    with open_hub(home) as hub:
        done = hub.update_index(full=full)
    if json:
        print_json(asdict(done))
    else:
        if done.rebuilt:
            console.print(done.rebuilt, markup=False, soft_wrap=True)
        console.print(
            f"indexed {done.indexed} records; {done.documents} documents in {done.location}",
            markup=False,
        )
