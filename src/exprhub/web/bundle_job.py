"""The ``bundle`` job kind: a dataset bundle built in a worker process (so the server keeps
answering while it runs), written into the job's directory under its content-hash name."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from exprhub.bundles.selection import BundleError, BundleOptions
from exprhub.hub import Hub
from exprhub.web.errors import excerpt
from exprhub.web.jobs import JobContext, JobKind, JobParamsError

#: Media type of each bundle format's file.
MEDIA_TYPES = {"tsv": "application/zip", "parquet": "application/zip", "h5ad": "application/x-hdf5"}
#: Most accessions one request may name.
MAX_ACCESSIONS = 10_000


def _accessions(params: dict[str, Any], name: str) -> list[str]:
    value = params.get(name) or []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise JobParamsError(f"{name} must be a list of accessions")
    if len(value) > MAX_ACCESSIONS:
        raise JobParamsError(f"{name}: at most {MAX_ACCESSIONS} accessions, got {len(value)}")
    return [v.strip().upper() for v in value if v.strip()]


def validate_bundle(hub: Hub, params: dict[str, Any]) -> dict[str, Any]:
    """The bundle job's parameters checked and normalized (options as
    :class:`~exprhub.bundles.selection.BundleOptions`)."""
    series = _accessions(params, "series")
    samples = _accessions(params, "samples")
    query = params.get("query")
    if query is not None and not isinstance(query, str):
        raise JobParamsError("query must be text")
    query = query.strip() if query else None
    if not (series or samples or query):
        raise JobParamsError("a bundle needs 'series', 'samples' or a 'query'")
    try:
        options = BundleOptions(
            str(params.get("aggregate", "experiment")),
            str(params.get("scale", "none")),
            bool(params.get("quantile_normalize", True)),
            str(params.get("format", "tsv")),
        )
    except BundleError as exc:
        raise JobParamsError(excerpt(exc)) from None
    return {"series": series, "samples": samples, "query": query} | options.as_dict()


def run_bundle(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Build the bundle in a spawned worker process and describe the file it wrote."""
    from exprhub.api.bundling import build_in_worker

    context.progress(0.05, "building the bundle in a worker process")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        future = pool.submit(
            build_in_worker,
            str(context.hub.home),
            context.hub.database_url,
            params,
            str(context.output_dir),
        )
        summary = future.result()
    context.progress(1.0, "done")
    name = summary["file"]
    summary.pop("path", None)
    return summary | {
        "files": [name],
        "download_url": context.file_url(name),
        "media_type": MEDIA_TYPES[params["format"]],
    }


BUNDLE = JobKind(
    "bundle",
    run_bundle,
    "build a dataset bundle (series, samples or query; aggregate, scale, quantile_normalize, "
    "format tsv|h5ad|parquet)",
    validate_bundle,
)
