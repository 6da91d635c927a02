"""Gene and profile commands: gene, profile, flags, neighbours (docs/analysis.md)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from exprhub.cli.app import HomeOption, JsonOption, app, console, open_hub, print_json

ValuesOption = Annotated[
    str,
    typer.Option("--values", help="submitted (as stored) or refined (gene-level, log2, QN)."),
]
PlatformOption = Annotated[
    str | None, typer.Option("--platform", help="For a series on several platforms: which one.")
]
FdrOption = Annotated[float, typer.Option("--fdr", help="Flag: BH FDR at most this.")]
FoldOption = Annotated[
    float, typer.Option("--min-log2-fold", help="Flag: group means differ by at least this (log2).")
]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


@app.command()
def gene(
    text: Annotated[
        str, typer.Argument(help="Symbol, synonym, NCBI Gene or Ensembl id, or words.")
    ],
    home: HomeOption = None,
    organism: Annotated[
        str | None, typer.Option(help="Only genes of this organism (name or tax id).")
    ] = None,
    matches: Annotated[
        bool,
        typer.Option("--matches", help="List the matching genes instead of the best one's record."),
    ] = False,
    json: JsonOption = False,
) -> None:
    """A gene's record: identifiers, the platforms and probes measuring it, series and
    DataSets, refined values across the hub (or --matches: every gene matching)."""
    with open_hub(home) as hub:
        if matches:
            found = hub.find_genes(text, organism=organism)
            if json:
                print_json({"query": text, "genes": [m.as_dict() for m in found]})
                return
            table = RichTable("symbol", "gene id", "organism", "matched", "description")
            for m in found:
                table.add_row(m.symbol, m.gene_id or "", m.organism or "", m.matched, m.description)
            console.print(f"{len(found)} genes match {text!r}", markup=False)
            console.print(table)
            return
        record = hub.gene(text, organism=organism)
    data = record.as_dict()
    if json:
        print_json(data)
        return
    g = record.gene
    console.print(
        f"{g.symbol} (NCBI Gene {g.gene_id or '-'}, {g.organism or 'organism unknown'}): "
        f"{g.description}",
        markup=False,
        soft_wrap=True,
    )
    if g.synonyms or g.ensembl_ids:
        console.print(
            f"synonyms: {', '.join(g.synonyms) or '-'}; Ensembl: {', '.join(g.ensembl_ids) or '-'}",
            markup=False,
        )
    table = RichTable("platform", "probes", "series", "DataSets")
    for p in record.platforms:
        table.add_row(p.platform, ", ".join(p.probes), ", ".join(p.series), ", ".join(p.datasets))
    console.print(table)
    summary = data["refined"].get("by_series", {})
    if summary:
        refined = RichTable("series", "samples", "mean", "median", title="refined values (log2)")
        for key, stats in summary.items():
            refined.add_row(key, str(stats["n"]), f"{stats['mean']:.2f}", f"{stats['median']:.2f}")
        console.print(refined)
    if record.others:
        console.print(
            "other matches: "
            + ", ".join(f"{m.symbol} ({m.organism or '?'})" for m in record.others[:8]),
            markup=False,
            soft_wrap=True,
        )


@app.command()
def profile(
    accession: Annotated[str, typer.Argument(help="A DataSet (GDS) or series (GSE).")],
    gene_or_probe: Annotated[str, typer.Argument(help="A gene (symbol, id) or a probe id.")],
    home: HomeOption = None,
    values: ValuesOption = "submitted",
    platform: PlatformOption = None,
    fdr: FdrOption = 0.05,
    min_log2_fold: FoldOption = 1.0,
    image: Annotated[
        Path | None, typer.Option("--image", help="Also draw the profile to this .png or .svg.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """A gene's or probe's profile in a DataSet or series: value and rank percentile in
    every sample, the samples' groups per subset type, and the flags."""
    with open_hub(home) as hub:
        frame = hub.profile(
            accession,
            gene_or_probe,
            values=values,
            platform=platform,
            fdr=fdr,
            min_log2_fold=min_log2_fold,
        )
        if image is not None:
            hub.profile_image(frame, image)
    if json:
        print_json({**frame.attrs, "rows": _records(frame)})
        return
    attrs = frame.attrs
    console.print(
        f"{attrs['accession']} {attrs['values']} values"
        f"{' on ' + attrs['platform'] if attrs['platform'] else ''}; context: {attrs['context']}",
        markup=False,
    )
    columns = [c for c in frame.columns if c != "symbol"]
    table = RichTable(*columns)
    for row in frame.itertuples(index=False):
        cells = dict(zip(frame.columns, row, strict=True))
        table.add_row(*("" if _clean(cells[c]) is None else str(cells[c]) for c in columns))
    console.print(table)
    for flag in attrs["flags"]:
        state = "FLAGGED" if flag["flagged"] else "not flagged"
        fdr_text = "-" if flag["fdr"] is None else f"{flag['fdr']:.3g}"
        fold = "-" if flag["log2_fold"] is None else f"{flag['log2_fold']:.2f}"
        console.print(
            f"{flag['feature']} across {flag['subset_type']}: {state} (FDR {fdr_text}, "
            f"log2 fold {fold})",
            markup=False,
        )
    if image is not None:
        console.print(f"wrote {image}", markup=False)


@app.command()
def flags(
    accession: Annotated[str, typer.Argument(help="A DataSet (GDS) or series (GSE).")],
    home: HomeOption = None,
    values: ValuesOption = "submitted",
    platform: PlatformOption = None,
    fdr: FdrOption = 0.05,
    min_log2_fold: FoldOption = 1.0,
    all_rows: Annotated[bool, typer.Option("--all", help="Every row, flagged or not.")] = False,
    limit: Annotated[int, typer.Option(help="Rows shown in the text output.")] = 30,
    json: JsonOption = False,
) -> None:
    """Probes (or genes) differentially expressed across each subset type (one-way ANOVA,
    BH FDR and a fold threshold; docs/analysis.md)."""
    with open_hub(home) as hub:
        table = hub.profile_flags(
            accession,
            values=values,
            platform=platform,
            fdr=fdr,
            min_log2_fold=min_log2_fold,
            all_rows=all_rows,
        )
    if json:
        print_json(
            {**table.attrs, "fdr": fdr, "min_log2_fold": min_log2_fold, "rows": _records(table)}
        )
        return
    console.print(f"{len(table)} rows", markup=False)
    shown = RichTable("feature", "symbol", "subset type", "F", "FDR", "log2 fold")
    for row in table.head(limit).itertuples(index=False):
        shown.add_row(
            row.feature,
            row.symbol or "",
            row.subset_type,
            f"{row.F:.3g}",
            f"{row.fdr:.3g}",
            f"{row.log2_fold:.2f}",
        )
    console.print(shown)


@app.command()
def neighbours(
    accession: Annotated[str, typer.Argument(help="A DataSet (GDS) or series (GSE).")],
    gene_or_probe: Annotated[str, typer.Argument(help="A gene (symbol, id) or a probe id.")],
    home: HomeOption = None,
    values: ValuesOption = "submitted",
    platform: PlatformOption = None,
    min_r: Annotated[float, typer.Option("--min-r", help="Smallest Pearson r.")] = 0.7,
    count: Annotated[int, typer.Option(help="Most neighbours.")] = 20,
    negative: Annotated[
        bool, typer.Option("--negative", help="Also rows correlating as strongly the other way.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Probes (or genes) whose profiles correlate best with the gene's or probe's."""
    with open_hub(home) as hub:
        frame = hub.profile_neighbours(
            accession,
            gene_or_probe,
            values=values,
            platform=platform,
            min_r=min_r,
            count=count,
            negative=negative,
        )
    if json:
        print_json({**frame.attrs, "neighbours": _records(frame)})
        return
    console.print(
        f"neighbours of {frame.attrs['feature']} in {frame.attrs['accession']}", markup=False
    )
    table = RichTable("feature", "symbol", "r")
    for row in frame.itertuples(index=False):
        table.add_row(row.feature, row.symbol or "", f"{row.r:.3f}")
    console.print(table)
