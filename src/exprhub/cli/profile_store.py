"""``exprhub profiles flags``: compute the stored profile flags that ``[FLAG]`` search reads,
or show which are current, stale or missing (docs/analysis.md, "Stored flags")."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table as RichTable

from exprhub.cli.app import HomeOption, JsonOption, app, console, open_hub, print_json

profiles_app = typer.Typer(help="Stored GEO Profiles data: flags computed once per data version.")
app.add_typer(profiles_app, name="profiles")


@profiles_app.command("flags")
def stored_flags(
    accessions: Annotated[
        list[str] | None, typer.Argument(help="DataSets and series (default: all of them).")
    ] = None,
    compute: Annotated[
        bool, typer.Option("--compute", help="Compute and store missing and stale flags.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --compute: also recompute current ones.")
    ] = False,
    values: Annotated[
        list[str] | None,
        typer.Option("--values", help="submitted and/or refined (repeat; default both)."),
    ] = None,
    home: HomeOption = None,
    json: JsonOption = False,
) -> None:
    """Stored profile flags: without --compute, each stored set's state (current, or stale:
    its values, groups or samples changed since) and the DataSets and series with none;
    with --compute, store what is missing or stale and say what changed."""
    kinds = values or ["submitted", "refined"]
    with open_hub(home) as hub:
        if compute:
            updates = hub.compute_stored_flags(accessions or None, values=kinds, force=force)
            if json:
                print_json({"updates": [u.as_dict() for u in updates]})
                return
            for update in updates:
                console.print(update.describe(), markup=False, soft_wrap=True)
            return
        status = hub.stored_flags_status(accessions or None, values=kinds)
    if json:
        print_json({"sets": status})
        return
    shown = RichTable("accession", "values", "platform", "state", "flagged", "computed")
    for row in status:
        shown.add_row(
            str(row["accession"]),
            str(row["value_kind"]),
            str(row.get("platform") or ""),
            str(row["state"]),
            str(row.get("rows_flagged", "")),
            str(row.get("computed_at") or "")[:19],
        )
    console.print(shown)
    stale = sum(1 for r in status if r["state"] != "current")
    if stale:
        console.print(
            f"{stale} missing or stale: `exprhub profiles flags --compute` stores them",
            markup=False,
        )
