"""REST routes of the exploratory analyses under ``/api/v1/analysis``: compare two sets of
samples, cluster heatmaps, value distributions, PCA, and the fields samples can be grouped by.

``{acc}`` is an accession, or several (and samples) joined by commas. Each route answers JSON
(with the plotly figure when ``figure=true``), or a file: ``format=tsv`` (tables,
assignments), ``format=png`` / ``svg`` (images; needs the ``images`` extra). Clustering more
than :data:`MAX_DIRECT_ROWS` rows or :data:`MAX_DIRECT_SAMPLES` samples answers 422 and
names the ``cluster`` job to submit instead (``POST /api/v1/jobs``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from exprhub.hub import Hub
from exprhub.web.deps import HubDep
from exprhub.web.errors import ERROR_RESPONSES, ApiError, excerpt

router = APIRouter(prefix="/api/v1/analysis", tags=["Analysis"], responses=ERROR_RESPONSES)

#: Largest clustering answered directly; larger ones run as a ``cluster`` job.
MAX_DIRECT_ROWS = 5000
MAX_DIRECT_SAMPLES = 500
#: Rows of a comparison table in a JSON answer by default.
DEFAULT_ROWS = 100

T = TypeVar("T")

Values = Annotated[str, Query(description="submitted (a DataSet's own table) or refined")]
Platform = Annotated[str | None, Query(description="submitted values: this platform's samples")]
Log = Annotated[str, Query(description="log2 first: auto (GEO2R's rule), yes or no")]
Figure = Annotated[bool, Query(description="include the plotly figure (data, layout)")]


def accessions_given(acc: str) -> str | list[str]:
    """The accession of a path (``GDS507``), or the list a comma-separated one names; 422
    when it names none."""
    names = [p.strip() for p in acc.split(",") if p.strip()]
    if not names:
        raise ApiError(422, "invalid_request", "no accession given")
    return names[0] if len(names) == 1 else names


def run_analysis(work: Callable[[], T]) -> T:
    """Run an analysis; its ``ValueError`` (bad sets, options, platforms) becomes a 400."""
    try:
        return work()
    except ValueError as exc:
        raise ApiError(400, "invalid_analysis", excerpt(str(exc), 500)) from None


def _image(draw: Callable[[str], bytes], fmt: str) -> Response:
    try:
        data = draw(fmt)
    except ImportError as exc:
        raise ApiError(501, "images_unavailable", str(exc)) from None
    media = "image/png" if fmt == "png" else "image/svg+xml"
    return Response(data, media_type=media)


def _tsv(frame: Any, name: str, *, index: bool = True) -> Response:
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", na_rep="NA", index=index)
    return Response(
        buffer.getvalue(),
        media_type="text/tab-separated-values; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    """422 unless ``fmt`` is one of ``allowed``."""
    if fmt not in allowed:
        raise ApiError(
            422, "invalid_request", f"format must be one of {', '.join(allowed)}", {"format": fmt}
        )


@router.get("/{acc}/fields", summary="Fields and values the samples can be grouped by")
def fields(hub: HubDep, acc: str, values: Values = "submitted", platform: Platform = None) -> Any:
    """The samples with values, each annotation field with its distinct values (subset
    types, series, platform, harmonized fields, characteristics) and how many samples have
    each (``counts``), and the DataSet subsets."""
    from exprhub.api.explore_data import load

    data = run_analysis(lambda: load(hub, accessions_given(acc), values=values, platform=platform))
    out: dict[str, list[str]] = {}
    counts: dict[str, dict[str, int]] = {}
    for column in data.annotations.columns:
        tally: dict[str, int] = {}
        for cell in data.annotations[column]:
            for part in dict.fromkeys(str(cell).split("; ")) if cell else ():
                tally[part] = tally.get(part, 0) + 1
        if tally:
            out[str(column)] = sorted(tally)
            counts[str(column)] = {value: tally[value] for value in sorted(tally)}
    subsets = [
        {"key": key, "type": kind, "description": text, "samples": members}
        for key, (kind, text, members) in data.subsets.items()
    ]
    return {
        **data.source,
        "rows": int(data.values.shape[0]),
        "fields": out,
        "counts": counts,
        "subsets": subsets,
    }


@router.get("/{acc}/compare", summary="Compare two sets of samples (t-test or fold)")
def compare(
    hub: HubDep,
    acc: str,
    a: Annotated[str, Query(description="set A: subset, field=value, or GSM1,GSM2")],
    b: Annotated[str, Query(description="set B, as a, or rest")] = "rest",
    method: Annotated[
        str, Query(description="t-test, welch, limma (GEO2R's moderated t), fold or rank-fold")
    ] = "t-test",
    values: Values = "submitted",
    platform: Platform = None,
    log: Log = "auto",
    adjust: Annotated[str, Query(description="BH, BY, holm, bonferroni or none")] = "BH",
    p_value: Annotated[float | None, Query(description="keep p-value <= this")] = None,
    adj_p_value: Annotated[float | None, Query(description="keep adjusted p <= this")] = None,
    fold: Annotated[float | None, Query(description="keep fold >= this or <= 1/this")] = None,
    limit: Annotated[int, Query(ge=1, le=100000, description="rows in JSON")] = DEFAULT_ROWS,
    format: Annotated[str, Query(description="json, tsv, png or svg (volcano / MA)")] = "json",
    figure: Figure = False,
) -> Response:
    """The comparison table, sorted by p-value (fold methods: by fold): JSON (first
    ``limit`` rows; ``figure``: a volcano plot for t-tests, a mean-difference plot
    otherwise), the whole table as TSV, or the plot as an image."""
    from exprhub.analysis import charts
    from exprhub.analysis.comparison import TESTS, as_top_table
    from exprhub.api import explore

    check_format(format, ("json", "tsv", "png", "svg"))
    table = run_analysis(
        lambda: explore.compare(
            hub, accessions_given(acc), a, b, values=values, platform=platform, method=method,
            log=log, adjust=adjust, p_value=p_value, adj_p_value=adj_p_value, fold=fold,
        )
    )  # fmt: skip
    if format == "tsv":
        return _tsv(table, f"{acc.replace(',', '_')}_compare.tsv")
    top = as_top_table(table)
    title = f"{table.attrs['a_label']} vs {table.attrs['b_label']} ({method})"
    tested = method in TESTS
    if format in ("png", "svg"):
        from exprhub.analysis import images

        draw = images.volcano_image if tested else images.ma_image
        return _image(lambda fmt: draw(top, format=fmt, title=title), format)
    body = explore.comparison_dict(table, limit)
    if figure:
        build = charts.volcano_figure if tested else charts.ma_figure
        body["figure"] = charts.figure_json(build(top, title=title))
    return JSONResponse(body)


def check_cluster_size(hub: Hub, accession: str | list[str], top: int | None) -> None:
    """Raise a 422 naming the ``cluster`` job when a clustering is too big to answer
    directly."""
    from exprhub.api import refinery

    names = [accession] if isinstance(accession, str) else accession
    samples = sum(1 if n.upper().startswith("GSM") else len(refinery.samples_for_accession(hub, n))
                  for n in names)  # fmt: skip
    if top is None or top > MAX_DIRECT_ROWS or samples > MAX_DIRECT_SAMPLES:
        raise ApiError(
            422,
            "use_job",
            f"clustering {top or 'all'} rows of {samples} samples is too big to answer directly "
            f"(at most {MAX_DIRECT_ROWS} rows and {MAX_DIRECT_SAMPLES} samples): submit a "
            "'cluster' job (POST /api/v1/jobs)",
            {"kind": "cluster", "params": {"accession": accession, "top": top}},
        )


@router.get("/{acc}/cluster", summary="Cluster heatmap of the most variable rows")
def cluster(
    hub: HubDep,
    acc: str,
    method: Annotated[str, Query(description="hierarchical, kmeans or kmedians")] = (
        "hierarchical"
    ),
    linkage: Annotated[str, Query(description="single, complete or average")] = "average",
    distance: Annotated[str, Query(description="euclidean, pearson or uncentered")] = "pearson",
    k: Annotated[int | None, Query(description="clusters, 2 to 15")] = None,
    axis: Annotated[str, Query(description="k-means / k-medians of genes or samples")] = "genes",
    top: Annotated[int, Query(ge=0, description="most variable rows (0: all, as a job)")] = 1000,
    seed: Annotated[int, Query(description="seed of k-means / k-medians")] = 0,
    values: Values = "submitted",
    platform: Platform = None,
    log: Log = "auto",
    annotate: Annotated[
        str | None, Query(description="colour the samples by this field in the heatmap")
    ] = None,
    format: Annotated[str, Query(description="json, tsv (assignments), png or svg")] = "json",
    figure: Figure = False,
) -> Response:
    """Assignments and order (JSON, or TSV), the heatmap as an image, or with ``figure`` the
    plotly heatmap with its dendrograms (``annotate``: a strip of the samples' field)."""
    from exprhub.analysis import charts
    from exprhub.api import explore

    check_format(format, ("json", "tsv", "png", "svg"))
    accession = accessions_given(acc)
    check_cluster_size(hub, accession, top or None)
    result = run_analysis(
        lambda: explore.cluster(
            hub, accession, values=values, platform=platform, method=method, linkage=linkage,
            distance=distance, k=k, axis=axis, top=top or None, log=log, seed=seed,
        )
    )  # fmt: skip
    run_analysis(lambda: charts.sample_groups(result, annotate))  # an unknown field: 400
    if format == "tsv":
        return _tsv(result.assignments(), f"{acc.replace(',', '_')}_clusters.tsv", index=False)
    if format in ("png", "svg"):
        from exprhub.analysis import images

        return _image(
            lambda fmt: images.heatmap_image(result, format=fmt, annotate=annotate), format
        )
    body = result.to_dict()
    if figure:
        body["figure"] = charts.figure_json(charts.heatmap_figure(result, annotate=annotate))
    return JSONResponse(body)


@router.get("/{acc}/distributions", summary="Box plot statistics of each sample's values")
def distributions(
    hub: HubDep,
    acc: str,
    by: Annotated[str | None, Query(description="group by this field")] = None,
    values: Values = "submitted",
    platform: Platform = None,
    log: Log = "auto",
    format: Annotated[str, Query(description="json, tsv, png or svg")] = "json",
    figure: Figure = False,
) -> Response:
    """Quartiles, whiskers, mean and outlier count per sample, with its group."""
    from exprhub.analysis import charts
    from exprhub.api import explore

    check_format(format, ("json", "tsv", "png", "svg"))
    result = run_analysis(
        lambda: explore.distributions(
            hub, accessions_given(acc), values=values, platform=platform, by=by, log=log
        )
    )
    if format == "tsv":
        return _tsv(result.frame(), f"{acc.replace(',', '_')}_distributions.tsv")
    if format in ("png", "svg"):
        from exprhub.analysis import images

        return _image(lambda fmt: images.box_image(result.stats, result.groups, format=fmt), format)
    body = result.to_dict()
    if figure:
        body["figure"] = charts.figure_json(charts.box_figure(result.stats, result.groups))
    return JSONResponse(body)


@router.get("/{acc}/pca", summary="Principal components of the samples")
def pca(
    hub: HubDep,
    acc: str,
    color: Annotated[str | None, Query(description="colour by this field")] = None,
    components: Annotated[int, Query(ge=1, le=20)] = 2,
    top: Annotated[int, Query(ge=0, description="most variable rows only (0: all)")] = 0,
    scale: Annotated[bool, Query(description="scale rows to unit variance")] = False,
    values: Values = "submitted",
    platform: Platform = None,
    log: Log = "auto",
    format: Annotated[str, Query(description="json, tsv, png or svg")] = "json",
    figure: Figure = False,
) -> Response:
    """Sample coordinates with their annotations and the variance each component explains."""
    from exprhub.analysis import charts
    from exprhub.api import explore

    check_format(format, ("json", "tsv", "png", "svg"))
    result = run_analysis(
        lambda: explore.pca(
            hub, accessions_given(acc), values=values, platform=platform, color=color,
            components=components, top=top or None, log=log, scale=scale,
        )
    )  # fmt: skip
    if format == "tsv":
        return _tsv(result.frame(), f"{acc.replace(',', '_')}_pca.tsv")
    if format in ("png", "svg"):
        from exprhub.analysis import images

        return _image(lambda fmt: images.pca_image(result, format=fmt), format)
    body = result.to_dict()
    if figure:
        body["figure"] = charts.figure_json(charts.pca_figure(result))
    return JSONResponse(body)


@router.get("/{acc}/de", summary="GEO2R: differential expression between groups (limma)")
def differential(
    hub: HubDep,
    acc: str,
    by: Annotated[
        str | None, Query(description="every value of this field is a group ('disease state')")
    ] = None,
    group: Annotated[
        list[str] | None,
        Query(description="a named group NAME=SET (SET: subset, field=value or GSM1,GSM2)"),
    ] = None,
    contrast: Annotated[
        list[str] | None, Query(description="such as RCC-normal (default: every pair)")
    ] = None,
    values: Values = "submitted",
    platform: Platform = None,
    log: Log = "auto",
    trend: Annotated[bool, Query(description="prior variance trending with expression")] = False,
    robust: Annotated[bool, Query(description="robust prior (hypervariable genes)")] = False,
    adjust: Annotated[str, Query(description="BH, BY, holm, bonferroni or none")] = "BH",
    limit: Annotated[int, Query(ge=1, le=100000, description="rows in JSON")] = DEFAULT_ROWS,
    format: Annotated[str, Query(description="json, tsv, png or svg (volcano)")] = "json",
    figure: Figure = False,
) -> Response:
    """GEO2R's analysis: a limma-equivalent linear model over the groups, empirical Bayes
    moderation and a top table (``logFC``, ``AveExpr``, ``t``, ``P.Value``, ``adj.P.Val``,
    ``B``; ``F`` for several contrasts), sorted by B (F). JSON: the fit's summary and the first
    ``limit`` rows (``figure``: a volcano plot of a single contrast); TSV: the whole table."""
    from exprhub.api.geo2r import differential as run

    check_format(format, ("json", "tsv", "png", "svg"))
    groups: dict[str, str] | None = None
    if group:
        groups = {}
        for spec in group:
            name, sep, members = spec.partition("=")
            if not sep or not name.strip() or not members.strip():
                raise ApiError(
                    422, "invalid_request", f"group {excerpt(spec)!r}: expected NAME=SET"
                )
            groups[name.strip()] = members.strip()
    result = run_analysis(
        lambda: run(
            hub, accessions_given(acc), by=by, groups=groups, contrasts=contrast or None,
            values=values, platform=platform, log2=log, trend=trend, robust=robust,
            adjust=adjust,
        )
    )  # fmt: skip
    return differential_response(acc, result, format=format, limit=limit, figure=figure)


def differential_response(
    acc: str, result: Any, *, format: str, limit: int, figure: bool
) -> Response:
    """The answer to a GEO2R run (GET or POST ``/{acc}/de``): JSON (summary, the first
    ``limit`` rows, the volcano figure when asked and there is one contrast), the whole top
    table as TSV, or the volcano plot as PNG / SVG."""
    from exprhub.analysis import charts
    from exprhub.api.geo2r import differential_dict

    table = result.table
    if format == "tsv":
        return _tsv(table, f"{acc.replace(',', '_')}_de.tsv")
    single = "logFC" in table.columns
    title = f"{', '.join(map(str, result.contrasts.columns))} (limma)"
    if format in ("png", "svg"):
        if not single:
            raise ApiError(400, "invalid_analysis", "a volcano plot shows one contrast")
        from exprhub.analysis import images

        return _image(lambda fmt: images.volcano_image(table, format=fmt, title=title), format)
    body = differential_dict(result, limit)
    if figure and single:
        body["figure"] = charts.figure_json(charts.volcano_figure(table, title=title))
    return JSONResponse(body)
