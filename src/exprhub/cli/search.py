"""Search commands: search, index."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table as RichTable

from exprhub.cli.app import HomeOption, JsonOption, app, console, open_hub, print_json
from exprhub.search.paging import MAX_SEARCH_END, MAX_SEARCH_LIMIT, check_search_page
from exprhub.search.query import QuerySyntaxError


def query_error_line(err: QuerySyntaxError) -> str:
    """The reason a query did not parse and where, in one line (the query itself can be long)."""
    if f"column {err.column}" in err.reason:
        return err.reason
    return f"{err.reason} (at column {err.column} of the query)"


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
    json: JsonOption = False,
) -> None:
    """Search the hub's records (fields: ALL ACCN TITL DESC ORGN ETYP GTYP VTYP PTYP PLAT AUTH
    PDAT NSAM and label fields such as sex, tissue, disease)."""
    check_search_page(limit, offset)  # before opening anything: a clear error, fast
    with open_hub(home) as hub:
        try:
            results = hub.search(query, limit=limit, offset=offset)
        except QuerySyntaxError as err:
            raise ValueError(query_error_line(err)) from None
    if json:
        print_json(
            {
                "query": query,
                "total": results.total,
                "offset": offset,
                "limit": limit,
                "hits": [asdict(h) for h in results.hits],
                "facets": {
                    name: [{"value": f.value, "count": f.count} for f in counts]
                    for name, counts in results.facets.items()
                    if counts
                },
            }
        )
        return
    console.print(f"{results.total} records match", markup=False)
    table = RichTable("accession", "type", "title", "score")
    for hit in results.hits:
        table.add_row(hit.accession, hit.etype, hit.title or "", f"{hit.score:.2f}")
    console.print(table)


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
        console.print(
            f"indexed {done.indexed} records; {done.documents} documents in {done.location}",
            markup=False,
        )
