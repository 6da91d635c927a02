"""The GEO2R page of a DataSet or series (``/analyze/{acc}/geo2r``): groups defined by picking
samples in a table of the samples with their title and characteristics, or one group per value
of a field; a limma run (``POST /api/v1/analysis/{acc}/de``) drawn as a volcano plot with
plotly.js and a top table, and the whole table as a TSV download (``static/geo2r.js``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exprhub.records import RecordType, normalize_accession
from exprhub.refine.store import refined_coverage
from exprhub.web.deps import HubDep
from exprhub.web.pages import render
from exprhub.web.pages_analysis import analyzed_record, chart_page_policy
from exprhub.web.service import page_url

router = APIRouter(include_in_schema=False)


@router.get("/analyze/{acc}/geo2r", response_class=HTMLResponse)
def geo2r_page(request: Request, acc: str, hub: HubDep) -> HTMLResponse:
    """GEO2R for a DataSet or series: define groups, run, volcano, table, download."""
    key = normalize_accession(acc)
    record = analyzed_record(hub, key)
    coverage = refined_coverage(hub, key)
    response = render(
        request,
        "geo2r.html",
        title=f"GEO2R {key}",
        record=record,
        record_url=page_url(record.type or RecordType.SERIES, key),
        platforms=hub.related(key).get("platform", []),
        refined=len(coverage.refined),
        sample_count=len(hub.samples_of(key)),
    )
    response.headers["Content-Security-Policy"] = chart_page_policy()
    return response
