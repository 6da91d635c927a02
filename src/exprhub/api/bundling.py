"""Dataset bundles from the Python API: resolving a selection (a search query included),
building and writing a bundle, and its aggregates as AnnData in memory.

``exprhub.api.Hub.bundle`` and ``exprhub.api.Hub.to_anndata`` call these; the HTTP job
runs :func:`build_in_worker` in a worker process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exprhub.bundles.bundle import BundleResult, assemble, write_bundle
from exprhub.bundles.diff import diff_bundles, diff_lines
from exprhub.bundles.selection import BundleError, BundleOptions, Selection, select

__all__ = [
    "BundleError",
    "BundleResult",
    "build_bundle",
    "build_in_worker",
    "diff_bundles",
    "diff_lines",
    "preview",
    "query_accessions",
    "selection",
    "to_anndata",
]

if TYPE_CHECKING:
    import anndata

    from exprhub.api.hub import Hub
    from exprhub.hub import Hub as CatalogueHub

#: Most records a query may select (Entrez's paging bound: offset + limit <= 10,000).
MAX_QUERY_RECORDS = 10_000
#: Hits read per search page.
QUERY_PAGE = 1000


def _keys(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def query_accessions(hub: Hub, query: str) -> list[str]:
    """Accessions of every record a search query matches, best first.

    Raises
    ------
    BundleError
        When the query matches more than :data:`MAX_QUERY_RECORDS` records.
    """
    first = hub.search(query, limit=QUERY_PAGE, offset=0, facets=[])
    if first.total > MAX_QUERY_RECORDS:
        raise BundleError(
            f"the query matches {first.total} records; a bundle takes at most "
            f"{MAX_QUERY_RECORDS} (narrow it, e.g. with AND GSE[ETYP])"
        )
    accessions = [h.accession for h in first.hits]
    offset = QUERY_PAGE
    while offset < first.total:
        page = hub.search(query, limit=QUERY_PAGE, offset=offset, facets=[])
        accessions.extend(h.accession for h in page.hits)
        offset += QUERY_PAGE
    return accessions


def selection(
    hub: Hub,
    series: str | Sequence[str] | None = None,
    samples: str | Sequence[str] | None = None,
    query: str | None = None,
) -> Selection:
    """The samples a bundle of ``series``, ``samples`` and ``query`` would hold."""
    found = query_accessions(hub, query) if query else []
    return select(
        hub, series=_keys(series), samples=_keys(samples), query=query, query_accessions=found
    )


def preview(
    hub: CatalogueHub,
    *,
    series: str | Sequence[str] | None = None,
    samples: str | Sequence[str] | None = None,
    aggregate: str = "experiment",
    quantile_normalize: bool = True,
) -> dict[str, Any]:
    """What a bundle of ``series`` and ``samples`` would hold, without reading any value: the
    samples of each aggregate, the samples that cannot be delivered with the reason, the
    samples in several selected series and accessions not in the hub (JSON-ready; the web
    page's review of a dataset cart)."""
    from exprhub.bundles.aggregate import deliverable, groups

    options = BundleOptions(aggregate, "none", quantile_normalize, "tsv")
    chosen = select(hub, series=_keys(series), samples=_keys(samples))
    delivered, filtered = deliverable(hub, chosen, options)
    return {
        "aggregates": {
            key: [d.sample for d in members]
            for key, members in groups(delivered, options.aggregate).items()
        },
        "filtered_samples": dict(sorted(filtered.items())),
        "samples_in_several_series": dict(sorted(chosen.in_several_series().items())),
        "not_in_hub": sorted(chosen.missing),
    }


def build_bundle(
    hub: Hub,
    path: str | Path,
    *,
    series: str | Sequence[str] | None = None,
    samples: str | Sequence[str] | None = None,
    query: str | None = None,
    aggregate: str = "experiment",
    scale: str = "none",
    quantile_normalize: bool = True,
    format: str = "tsv",
) -> BundleResult:
    """See ``exprhub.api.Hub.bundle``."""
    options = BundleOptions(aggregate, scale, quantile_normalize, format)
    content = assemble(hub, selection(hub, series, samples, query), options)
    return write_bundle(content, path)


def to_anndata(
    hub: Hub,
    *,
    series: str | Sequence[str] | None = None,
    samples: str | Sequence[str] | None = None,
    query: str | None = None,
    aggregate: str = "experiment",
    scale: str = "none",
    quantile_normalize: bool = True,
    key: str | None = None,
) -> anndata.AnnData:
    """See ``exprhub.api.Hub.to_anndata``."""
    from exprhub.bundles.layout_h5ad import aggregate_anndata

    options = BundleOptions(aggregate, scale, quantile_normalize, "h5ad")
    content = assemble(hub, selection(hub, series, samples, query), options)
    keys = list(content.groups)
    if key is None and len(keys) > 1:
        raise BundleError(
            f"the selection makes {len(keys)} aggregates ({', '.join(keys)}); pass key= to "
            "choose one, or aggregate='species' / 'all'"
        )
    wanted = key if key is not None else keys[0]
    if wanted not in content.groups:
        raise BundleError(f"no aggregate {wanted!r}; the aggregates are {', '.join(keys)}")
    content.groups = {wanted: content.groups[wanted]}
    [built] = content.aggregates()
    return aggregate_anndata(content, built, content.metadata)


def build_in_worker(
    home: str, database_url: str, params: dict[str, Any], directory: str
) -> dict[str, Any]:
    """Build a bundle in this (worker) process from JSON parameters into ``directory``; the
    file is named by its content hash. Returns :meth:`BundleResult.as_dict` and
    ``worker_pid``."""
    import os

    from exprhub.api.hub import Hub

    with Hub(home, database_url=database_url) as hub:
        result = build_bundle(
            hub,
            directory,
            series=params.get("series") or None,
            samples=params.get("samples") or None,
            query=params.get("query") or None,
            aggregate=params.get("aggregate", "experiment"),
            scale=params.get("scale", "none"),
            quantile_normalize=bool(params.get("quantile_normalize", True)),
            format=params.get("format", "tsv"),
        )
        return result.as_dict() | {"worker_pid": os.getpid()}
