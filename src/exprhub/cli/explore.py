"""Exploration commands: compare (two sets of samples), cluster, distributions, pca."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from exprhub.cli.app import (
    HomeOption,
    JsonOption,
    app,
    console,
    open_hub,
    print_json,
    print_notice,
)

Accessions = Annotated[
    list[str],
    typer.Argument(help="A DataSet, series, several accessions, or samples.", show_default=False),
]
ValuesOption = Annotated[
    str,
    typer.Option(
        "--values",
        help="submitted (as in GEO; a DataSet's own table), refined, or counts (RNA-seq).",
    ),
]
PlatformOption = Annotated[
    str | None,
    typer.Option("--platform", help="Submitted values: use the samples of this platform."),
]
LogOption = Annotated[
    str, typer.Option("--log", help="log2 the values first: auto (GEO2R's rule), yes, no.")
]
ImageOption = Annotated[
    Path | None,
    typer.Option("--image", help="Write the chart as an image (.png or .svg).", show_default=False),
]


def _wrote(path: Path, what: str) -> None:
    console.print(f"{what} written to {path}", markup=False, soft_wrap=True)


def _note_missing(source: dict[str, Any]) -> None:
    """A ``note:`` naming the samples left out for lack of values (not silently)."""
    missing = source.get("missing") or {}
    if missing:
        listed = "; ".join(f"{k}: {why}" for k, why in list(missing.items())[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        print_notice(f"{len(missing)} samples left out, without values: {listed}{more}")


def _cell(value: Any) -> str:
    if value is None or value != value:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@app.command("compare")
def compare_command(
    accessions: Accessions,
    a: Annotated[
        str,
        typer.Option(
            "--a",
            help="Set A: a subset (GDS507_1), FIELD=VALUE ('disease state=RCC') or GSM1,GSM2.",
        ),
    ],
    b: Annotated[
        str, typer.Option("--b", help="Set B, as --a, or 'rest' (every other sample).")
    ] = "rest",
    method: Annotated[
        str,
        typer.Option(
            "--method", help="t-test, welch, limma (GEO2R's moderated t), fold or rank-fold."
        ),
    ] = "t-test",
    values: ValuesOption = "submitted",
    platform: PlatformOption = None,
    log: LogOption = "auto",
    adjust: Annotated[
        str, typer.Option("--adjust", help="BH, BY, holm, bonferroni or none.")
    ] = "BH",
    p_value: Annotated[
        float | None, typer.Option("--p-value", help="Keep rows with p-value <= this.")
    ] = None,
    adj_p_value: Annotated[
        float | None,
        typer.Option("--adj-p-value", help="Keep rows with adjusted p-value <= this."),
    ] = None,
    fold: Annotated[
        float | None,
        typer.Option("--fold", help="Keep rows with fold >= this or <= 1/this (e.g. 2)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print (0: all).")] = 20,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the whole table as TSV.", show_default=False),
    ] = None,
    image: ImageOption = None,
    home: HomeOption = None,
    json: JsonOption = False,
) -> None:
    """Compare two sets of samples row by row (GEO's "compare 2 sets of samples")."""
    from exprhub.api.explore import comparison_dict

    with open_hub(home) as hub:
        table = hub.compare(
            accessions if len(accessions) > 1 else accessions[0],
            a,
            b,
            values=values,
            platform=platform,
            method=method,
            log=log,
            adjust=adjust,
            p_value=p_value,
            adj_p_value=adj_p_value,
            fold=fold,
        )
    _note_missing(table.attrs)
    if output is not None:
        table.to_csv(output, sep="\t", na_rep="NA")
    if image is not None:
        from exprhub.analysis import images
        from exprhub.analysis.comparison import TESTS, as_top_table

        top = as_top_table(table)
        title = f"{table.attrs['a_label']} vs {table.attrs['b_label']} ({table.attrs['method']})"
        if table.attrs["method"] in TESTS:
            images.volcano_image(top, image, title=title)
        else:
            images.ma_image(top, image, title=title)
    if json:
        print_json(comparison_dict(table, limit or None))
        return
    attrs = table.attrs
    console.print(
        f"{attrs['method']}: A = {attrs['a_label']} ({len(attrs['a'])} samples) vs "
        f"B = {attrs['b_label']} ({len(attrs['b'])}); {attrs['rows_kept']} of "
        f"{attrs['rows_tested']} rows kept; scale {attrs['scale']}",
        markup=False,
        soft_wrap=True,
    )
    shown = table if not limit else table.head(limit)
    shown = shown[[c for c in shown.columns if c not in ("n_a", "n_b", "df", "log2_fold")]]
    grid = RichTable(table.index.name or "id", *[str(c) for c in shown.columns])
    for key, row in zip(shown.index, shown.itertuples(index=False), strict=True):
        grid.add_row(str(key), *[_cell(v) for v in row])
    console.print(grid)
    if output is not None:
        _wrote(output, "table")
    if image is not None:
        _wrote(image, "image")


@app.command("cluster")
def cluster_command(
    accessions: Accessions,
    method: Annotated[
        str, typer.Option("--method", help="hierarchical, kmeans or kmedians.")
    ] = "hierarchical",
    linkage: Annotated[
        str, typer.Option("--linkage", help="single, complete or average (hierarchical).")
    ] = "average",
    distance: Annotated[
        str,
        typer.Option("--distance", help="euclidean, pearson or uncentered (hierarchical)."),
    ] = "pearson",
    k: Annotated[
        int | None,
        typer.Option("--k", help="Clusters, 2-15 (k-means / k-medians; cuts the trees)."),
    ] = None,
    axis: Annotated[
        str, typer.Option("--axis", help="What k-means / k-medians cluster: genes or samples.")
    ] = "genes",
    top: Annotated[
        int, typer.Option("--top", help="Most variable rows to cluster (0: all complete rows).")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of k-means / k-medians.")] = 0,
    values: ValuesOption = "submitted",
    platform: PlatformOption = None,
    log: LogOption = "auto",
    annotate: Annotated[
        str | None,
        typer.Option("--annotate", help="Image: colour the samples by this field."),
    ] = None,
    assignments: Annotated[
        Path | None,
        typer.Option(
            "--assignments", help="Write the order and clusters as TSV.", show_default=False
        ),
    ] = None,
    image: ImageOption = None,
    home: HomeOption = None,
    json: JsonOption = False,
) -> None:
    """Cluster heatmap of the most variable genes: hierarchical, k-means or k-medians."""
    with open_hub(home) as hub:
        result = hub.cluster(
            accessions if len(accessions) > 1 else accessions[0],
            values=values,
            platform=platform,
            method=method,
            linkage=linkage,
            distance=distance,
            k=k,
            axis=axis,
            top=top or None,
            log=log,
            seed=seed,
        )
    _note_missing(result.source)
    if assignments is not None:
        result.assignments().to_csv(assignments, sep="\t", index=False)
    if image is not None:
        from exprhub.analysis import images

        images.heatmap_image(result, image, annotate=annotate)
    if json:
        print_json(result.to_dict())
        return
    data = result.to_dict()
    console.print(
        f"{data['rows_clustered']} of {data['rows_complete']} complete rows x "
        f"{data['samples']} samples, {result.method}"
        + (f", K = {result.k}" if result.k else "")
        + ("; values log2-transformed" if result.log2_applied else ""),
        markup=False,
    )
    samples = RichTable("order", "sample", "cluster")
    for item in data["sample_order"]:
        samples.add_row(str(item["order"]), item["id"], _cell(item["cluster"]))
    console.print(samples)
    if result.row_clusters is not None:
        sizes: dict[int, int] = {}
        for c in result.row_clusters:
            sizes[int(c)] = sizes.get(int(c), 0) + 1
        console.print(
            "gene clusters: " + ", ".join(f"{c}: {n}" for c, n in sorted(sizes.items())),
            markup=False,
        )
    if assignments is not None:
        _wrote(assignments, "assignments")
    if image is not None:
        _wrote(image, "heatmap")


@app.command("distributions")
def distributions_command(
    accessions: Accessions,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Group samples by this field (subset type, series ...)."),
    ] = None,
    values: ValuesOption = "submitted",
    platform: PlatformOption = None,
    log: LogOption = "auto",
    image: ImageOption = None,
    home: HomeOption = None,
    json: JsonOption = False,
) -> None:
    """Box plot statistics of each sample's values, grouped by a field."""
    with open_hub(home) as hub:
        result = hub.distributions(
            accessions if len(accessions) > 1 else accessions[0],
            values=values,
            platform=platform,
            by=by,
            log=log,
        )
    _note_missing(result.source)
    if image is not None:
        from exprhub.analysis import images

        images.box_image(result.stats, result.groups, image)
    if json:
        print_json(result.to_dict())
        return
    table = result.frame()
    grid = RichTable("sample", *[str(c) for c in table.columns])
    for key, row in zip(table.index, table.itertuples(index=False), strict=True):
        grid.add_row(str(key), *[_cell(v) for v in row])
    console.print(grid)
    if image is not None:
        _wrote(image, "box plots")


@app.command("pca")
def pca_command(
    accessions: Accessions,
    color: Annotated[
        str | None,
        typer.Option("--color", help="Colour by this field (series, platform, a subset type)."),
    ] = None,
    components: Annotated[int, typer.Option("--components", help="Components.")] = 2,
    top: Annotated[
        int, typer.Option("--top", help="Use the most variable rows only (0: all).")
    ] = 0,
    scale: Annotated[bool, typer.Option("--scale", help="Scale rows to unit variance.")] = False,
    values: ValuesOption = "submitted",
    platform: PlatformOption = None,
    log: LogOption = "auto",
    image: ImageOption = None,
    home: HomeOption = None,
    json: JsonOption = False,
) -> None:
    """Principal components of samples, coloured by series, platform or a field."""
    with open_hub(home) as hub:
        result = hub.pca(
            accessions if len(accessions) > 1 else accessions[0],
            values=values,
            platform=platform,
            color=color,
            components=components,
            top=top or None,
            log=log,
            scale=scale,
        )
    _note_missing(result.source)
    if image is not None:
        from exprhub.analysis import images

        images.pca_image(result, image)
    if json:
        print_json(result.to_dict())
        return
    ratios = ", ".join(
        f"PC{i + 1} {100 * r:.1f} %" for i, r in enumerate(result.explained_variance_ratio)
    )
    console.print(
        f"{result.rows_used} rows x {len(result.coordinates)} samples; variance explained: "
        f"{ratios}",
        markup=False,
    )
    table = result.frame()
    columns = [*result.coordinates.columns] + ([result.color] if result.color else [])
    grid = RichTable("sample", *columns)
    for key, row in table[columns].iterrows():
        grid.add_row(str(key), *[_cell(v) for v in row])
    console.print(grid)
    if image is not None:
        _wrote(image, "PCA plot")
