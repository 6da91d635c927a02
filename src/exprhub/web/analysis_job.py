"""The ``cluster`` job kind: a cluster heatmap too big to answer directly, written as files
(``cluster.json`` with the plotly figure, ``assignments.tsv``, ``heatmap.png``)."""

from __future__ import annotations

import json
from typing import Any

from exprhub.hub import Hub
from exprhub.web.errors import excerpt
from exprhub.web.jobs import JobContext, JobKind, JobParamsError

#: Options of the job and their types (as ``GET /api/v1/analysis/{acc}/cluster``).
OPTIONS: dict[str, type] = {
    "method": str,
    "linkage": str,
    "distance": str,
    "k": int,
    "axis": str,
    "top": int,
    "seed": int,
    "values": str,
    "platform": str,
    "log": str,
    "annotate": str,
}


def _validate(hub: Hub, params: dict[str, Any]) -> dict[str, Any]:
    accession = params.get("accession")
    names = [accession] if isinstance(accession, str) else accession
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise JobParamsError("cluster needs an 'accession' (e.g. GDS507), or a list of them")
    for name in names:
        if not hub.has(name.strip().upper()):
            raise JobParamsError(f"{excerpt(name)} is not in the hub")
    out: dict[str, Any] = {"accession": accession}
    for key, kind in OPTIONS.items():
        value = params.get(key)
        if value is None:
            continue
        try:
            out[key] = kind(value)
        except (TypeError, ValueError):
            raise JobParamsError(f"{key} must be a {kind.__name__}") from None
    unknown = sorted(set(params) - set(out) - {"accession"})
    if unknown:
        raise JobParamsError(f"unknown cluster options: {', '.join(map(excerpt, unknown))}")
    return out


def _run(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    from exprhub.analysis import charts
    from exprhub.api import explore

    options = {k: v for k, v in params.items() if k not in ("accession", "annotate")}
    annotate = params.get("annotate")
    if options.get("top") == 0:
        options["top"] = None
    context.progress(0.1, f"clustering {params['accession']}")
    result = explore.cluster(context.hub, params["accession"], **options)
    context.progress(0.6, "writing the assignments and the figure")
    result.assignments().to_csv(context.output_dir / "assignments.tsv", sep="\t", index=False)
    summary = result.to_dict()
    body = {
        **summary,
        "figure": charts.figure_json(charts.heatmap_figure(result, annotate=annotate)),
    }
    (context.output_dir / "cluster.json").write_text(json.dumps(body, default=str))
    files = ["cluster.json", "assignments.tsv"]
    note = None
    try:
        from exprhub.analysis import images

        context.progress(0.8, "drawing the heatmap")
        images.heatmap_image(result, context.output_dir / "heatmap.png", annotate=annotate)
        files.append("heatmap.png")
    except ImportError as exc:
        note = str(exc)
    context.progress(1.0, "done")
    return {
        "files": files,
        "urls": {name: context.file_url(name) for name in files},
        "rows_clustered": summary["rows_clustered"],
        "samples": summary["samples"],
        "note": note,
    }


CLUSTER = JobKind(
    "cluster",
    _run,
    "cluster heatmap of an accession (accession, method, linkage, distance, k, axis, top ...)",
    _validate,
)
