"""``exprhub de``: GEO2R-style differential expression between groups of samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from exprhub.cli.app import HomeOption, JsonOption, app, console, open_hub, print_json
from exprhub.cli.explore import (
    Accessions,
    ImageOption,
    LogOption,
    PlatformOption,
    ValuesOption,
    _cell,
    _note_missing,
    _wrote,
)


def _named_sets(specs: list[str]) -> dict[str, str]:
    """``NAME=SET`` options as a mapping (a set may hold ``=``: ``RCC=disease state=RCC``)."""
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, members = spec.partition("=")
        if not sep or not name.strip() or not members.strip():
            raise typer.BadParameter(
                f"{spec!r}: expected NAME=SET, e.g. 'tumour=disease state=RCC'"
            )
        out[name.strip()] = members.strip()
    return out


@app.command("de")
def de_command(
    accessions: Accessions,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Every value of this field is a group ('disease state')."),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group",
            help="A named group, NAME=SET (SET as compare's --a: subset, FIELD=VALUE, GSM1,GSM2); "
            "repeat it.",
        ),
    ] = None,
    contrast: Annotated[
        list[str] | None,
        typer.Option("--contrast", help="Such as 'RCC-normal' (default: every pair); repeat it."),
    ] = None,
    values: ValuesOption = "submitted",
    platform: PlatformOption = None,
    log: LogOption = "auto",
    trend: Annotated[
        bool, typer.Option("--trend", help="Prior variance trends with expression.")
    ] = False,
    robust: Annotated[
        bool, typer.Option("--robust", help="Robust prior (hypervariable genes).")
    ] = False,
    adjust: Annotated[
        str, typer.Option("--adjust", help="BH, BY, holm, bonferroni or none.")
    ] = "BH",
    limit: Annotated[int, typer.Option("--limit", help="Rows to print (0: all).")] = 20,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the whole top table as TSV.", show_default=False
        ),
    ] = None,
    image: ImageOption = None,
    home: HomeOption = None,
    json: JsonOption = False,
) -> None:
    """Differential expression between groups of samples, as GEO2R computes it (a limma
    linear model with empirical Bayes moderation; docs/analysis.md)."""
    from exprhub.api.geo2r import differential_dict

    with open_hub(home) as hub:
        result = hub.differential(
            accessions if len(accessions) > 1 else accessions[0],
            by=by,
            groups=_named_sets(group) if group else None,
            contrasts=contrast or None,
            values=values,
            platform=platform,
            log2=log,
            trend=trend,
            robust=robust,
            adjust=adjust,
        )
    table = result.table
    _note_missing(table.attrs)
    if output is not None:
        table.to_csv(output, sep="\t", na_rep="NA")
    if image is not None:
        from exprhub.analysis import images

        if "logFC" not in table.columns:
            raise ValueError("a volcano plot shows one contrast: give --contrast")
        title = f"{', '.join(result.contrasts.columns)} (limma)"
        images.volcano_image(table, image, title=title)
    if json:
        print_json(differential_dict(result, limit or None))
        return
    summary = result.summary()
    console.print(
        f"{', '.join(summary['contrasts'])}: {len(result.samples)} samples in "
        f"{len(summary['levels'])} groups; {summary['genes_tested']} rows; "
        f"{summary['log2_reason']}; prior df {summary['df_prior']:.3g}",
        markup=False,
        soft_wrap=True,
    )
    shown = table if not limit else table.head(limit)
    rich = RichTable(show_edge=False)
    rich.add_column("ID")
    for column in shown.columns:
        rich.add_column(str(column))
    for key, row in shown.iterrows():
        rich.add_row(str(key), *(_cell(v) for v in row.tolist()))
    console.print(rich)
    if output is not None:
        _wrote(output, "top table")
    if image is not None:
        _wrote(image, "volcano plot")
