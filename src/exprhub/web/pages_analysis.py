"""The "analyze" page of a DataSet or series: box plots, PCA, a cluster heatmap and a
two-set comparison with a volcano plot, drawn with plotly.js (``/vendor/plotly.min.js``)
from the JSON of ``/api/v1/analysis`` (``static/analyze.js``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exprhub.hub import Hub
from exprhub.records import Record, RecordType, normalize_accession
from exprhub.refine.store import refined_coverage
from exprhub.web.deps import HubDep
from exprhub.web.pages import render
from exprhub.web.service import page_url

router = APIRouter(include_in_schema=False)

#: Records that have an analyze page.
ANALYZED_TYPES = (RecordType.DATASET, RecordType.SERIES)


@router.get("/analyze/{acc}", response_class=HTMLResponse)
def analyze_page(request: Request, acc: str, hub: HubDep) -> HTMLResponse:
    """Charts of a DataSet's or series' values; the values (submitted or refined) and, for a
    series on several platforms, the platform are chosen on the page."""
    key = normalize_accession(acc)
    record = analyzed_record(hub, key)
    platforms = hub.related(key).get("platform", [])
    coverage = refined_coverage(hub, key)
    response = render(
        request,
        "analyze.html",
        title=f"Analyze {key}",
        record=record,
        record_url=page_url(record.type or RecordType.SERIES, key),
        platforms=platforms,
        refined=len(coverage.refined),
        sample_count=len(hub.samples_of(key)),
    )
    response.headers["Content-Security-Policy"] = chart_page_policy()
    return response


def analyzed_record(hub: Hub, key: str) -> Record:
    """The DataSet or series ``key`` (its record without its table).

    Raises
    ------
    exprhub.RecordNotFound
        When the hub has no DataSet or series ``key``.
    """
    for kind in ANALYZED_TYPES:
        if hub.has(key, kind):
            return hub.record(key, kind, table=False)
    from exprhub.hub import RecordNotFound

    raise RecordNotFound(f"no DataSet or series {key} in this hub")


def chart_page_policy() -> str:
    """The Content-Security-Policy of pages with plotly charts: the site's, except that
    inline styles are allowed. plotly.js sets ``style`` attributes (d3 ``attr("style")``)
    and adds a ``<style>`` element of its own CSS while drawing; without ``'unsafe-inline'``
    for styles the browser blocks them and the charts lose their layout. Scripts stay
    ``'self'`` only (no inline script, no eval), so this relaxes styling, not code."""
    from exprhub.web.app import CHART_PAGE_POLICY

    return CHART_PAGE_POLICY
