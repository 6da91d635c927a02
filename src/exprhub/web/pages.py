"""Server-rendered web pages: home, search results with facets, and record pages in the
spirit of GEO's accession display. Handlers are plain ``def`` (run in the thread pool)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from exprhub import __version__
from exprhub.hub import Hub, RecordNotFound
from exprhub.hub.listing import organism_counts
from exprhub.records import RecordType, Sample, Series, is_accession, normalize_accession
from exprhub.refine.store import RefinedCoverage, refined_coverage
from exprhub.search.paging import MAX_SEARCH_END
from exprhub.web import routes_label_checks, routes_tissue_model
from exprhub.web.deps import FacetSelection, HubDep, SearchDep
from exprhub.web.downloads import table_preview
from exprhub.web.routes_labels import labels_of
from exprhub.web.searching import FACET_INFO, FACETS, results_to_dict
from exprhub.web.service import (
    dataset_subsets,
    formats_for,
    guess_type,
    load,
    page_url,
    related_briefs,
)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["version"] = __version__
TEMPLATES.env.globals["page_url"] = page_url

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
#: Last search results page: only the first MAX_SEARCH_END hits of a query can be paged to.
MAX_SEARCH_PAGE = MAX_SEARCH_END // PAGE_SIZE
#: Samples listed on a series page (the rest are reachable through search).
SERIES_SAMPLE_LIMIT = 500
PREVIEW_ROWS = 20

TYPE_LABELS = {
    "GSE": "Series",
    "GSM": "Samples",
    "GPL": "Platforms",
    "GDS": "DataSets",
}
FACET_LABELS = {name: label for name, (_, label) in FACET_INFO.items()}

PROTOCOL_FIELDS = (
    ("growth_protocol", "Growth protocol"),
    ("treatment_protocol", "Treatment protocol"),
    ("extract_protocol", "Extraction protocol"),
    ("label_protocol", "Label protocol"),
    ("hyb_protocol", "Hybridization protocol"),
    ("scan_protocol", "Scan protocol"),
    ("data_processing", "Data processing"),
)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with the request in its context."""
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def render_error(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """An HTML error page."""
    return render(request, "error.html", status, title=title, message=message, status=status)


def _joined(values: list[str]) -> list[str]:
    """Repeated attribute lines as paragraphs (empty lines separate paragraphs)."""
    paragraphs: list[str] = []
    current: list[str] = []
    for value in values:
        if value.strip():
            current.append(value.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _contributor(text: str) -> str:
    """GEO writes contributors as ``first,middle,last``."""
    return " ".join(p.strip() for p in text.split(",") if p.strip())


def refined_coverage_of(hub: Hub, key: str) -> RefinedCoverage | None:
    """Which of a record's samples are refined, waiting or failed (None for an unknown key)."""
    try:
        return refined_coverage(hub, key)
    except RecordNotFound:
        return None


def downloads(
    record_type: RecordType,
    key: str,
    platforms: list[str] | None = None,
    coverage: RefinedCoverage | None = None,
) -> list[dict]:
    """Download links of a record; the refined matrix is offered only when ``coverage`` says
    every sample is refined (otherwise its entry says why and what to run)."""
    from exprhub.formats.kinds import KINDS
    from exprhub.web.downloads import available_formats

    names = {fmt: KINDS.by_option(fmt).title_for(record_type) for fmt in formats_for(record_type)}
    segment = {"GSE": "series", "GSM": "samples", "GPL": "platforms", "GDS": "gds"}[
        record_type.value
    ]
    available = available_formats()
    out = []
    for fmt in formats_for(record_type):
        url = f"/api/v1/{segment}/{key}/download?format={fmt}"
        if fmt == "matrix" and platforms and len(platforms) > 1:
            for platform in platforms:
                out.append(
                    {
                        "label": f"{names[fmt]} ({platform})",
                        "url": f"{url}&platform={platform}",
                        "available": fmt in available,
                    }
                )
            continue
        entry = {"label": names[fmt], "url": url, "available": fmt in available}
        if fmt == "refined" and (coverage is None or not coverage.complete):
            # the API answers 501/409 JSON here: a page never links to that
            entry["available"] = False
            entry["reason"] = (
                coverage.summary().replace("`", "")  # plain text: the command is not code here
                if coverage is not None and coverage.samples
                else "no samples of this record are in the hub"
            )
        out.append(entry)
    return out


@router.get("/", response_class=HTMLResponse)
def home(request: Request, hub: HubDep) -> HTMLResponse:
    """Counts by record type, a search box and example queries."""
    counts = hub.counts()
    organisms = organism_counts(hub)[:8]
    examples = ["GSE[ETYP]"]
    if organisms:
        examples.append(f"{organisms[0]['name']}[ORGN]")
    first_series = hub.records(RecordType.SERIES, limit=1)
    if first_series:
        words = [w for w in (first_series[0].title or "").split() if len(w) > 5 and w.isalpha()]
        if words:
            examples.append(words[0].lower())
        examples.append(first_series[0].key)
    return render(
        request,
        "home.html",
        counts=[(t, TYPE_LABELS[t], counts.get(t, 0)) for t in TYPE_LABELS],
        organisms=organisms,
        examples=examples,
    )


def _facet_links(
    query: str, selected: dict[str, list[str]], facets: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    out = []
    for name in FACETS:
        values = facets.get(name) or {}
        chosen = selected.get(name, [])
        items = []
        for value, count in list(values.items())[:15]:
            on = value in chosen
            params = {k: list(v) for k, v in selected.items()}
            current = params.setdefault(name, [])
            if on:
                current.remove(value)
            else:
                current.append(value)
            items.append(
                {
                    "value": TYPE_LABELS.get(value, value) if name == "type" else value,
                    "count": count,
                    "selected": on,
                    "url": _search_url(query, params, 0),
                }
            )
        for value in chosen:  # keep a selected value visible even with 0 hits
            if value not in values:
                params = {k: [x for x in v if x != value] for k, v in selected.items()}
                url = _search_url(query, params, 0)
                items.append({"value": value, "count": 0, "selected": True, "url": url})
        if items:
            out.append({"name": name, "label": FACET_LABELS.get(name, name), "items": items})
    return out


def _search_url(query: str, selected: dict[str, list[str]], page: int) -> str:
    params: list[tuple[str, str]] = [("q", query)] if query else []
    for name, values in selected.items():
        params += [(name, v) for v in values]
    if page:
        params.append(("page", str(page + 1)))
    return "/search" + ("?" + urlencode(params) if params else "")


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    hub: HubDep,
    service: SearchDep,
    selected: FacetSelection,
    q: Annotated[str, Query(max_length=1000)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_SEARCH_PAGE)] = 1,
) -> Response:
    """Search results with facets as filters and paging; an exact accession opens its page."""
    query = q.strip()
    if query and not selected and is_accession(query):
        key = normalize_accession(query)
        kind = guess_type(key)
        if kind is not None and hub.has(key, kind):
            return RedirectResponse(page_url(kind, key), status_code=303)
    offset = (page - 1) * PAGE_SIZE
    try:
        raw = service.search(query, limit=PAGE_SIZE, offset=offset, facets=selected)
    except ValueError as exc:
        return render_error(request, 422, "Invalid query", str(exc).splitlines()[0])
    found = results_to_dict(raw)
    pages = min(max(1, math.ceil(found["total"] / PAGE_SIZE)), MAX_SEARCH_PAGE)
    return render(
        request,
        "search.html",
        query=query,
        total=found["total"],
        hits=found["hits"],
        facets=_facet_links(query, selected, found["facets"]),
        page=page,
        pages=pages,
        first=offset + 1,
        last=min(offset + PAGE_SIZE, found["total"]),
        prev_url=_search_url(query, selected, page - 2) if page > 1 else None,
        next_url=_search_url(query, selected, page) if page < pages else None,
        type_labels=TYPE_LABELS,
    )


@router.get("/acc/{acc}")
def by_accession(acc: str, hub: HubDep) -> Response:
    """Open any record's page by accession (like GEO's acc.cgi)."""
    key = normalize_accession(acc)
    kind = guess_type(key)
    if kind is None:
        for candidate in (RecordType.SERIES, RecordType.SAMPLE, RecordType.PLATFORM):
            if hub.has(key, candidate):
                kind = candidate
                break
    if kind is None or not hub.has(key, kind):
        raise RecordNotFound(f"{acc} is not in the hub")
    return RedirectResponse(page_url(kind, key), status_code=307)


def _common(
    hub: Hub, acc: str, record_type: RecordType, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    record = load(hub, acc, record_type)
    summary = hub.summary(record.key)
    relations = {k: v for k, v in summary.get("relations", {}).items() if k not in skip}
    return {
        "record": record,
        "summary": summary,
        "title": f"{record.key}: {record.title or ''}".strip(": "),
        "related": related_briefs(hub, relations),
        "attributes": record.attributes,
    }


def _sample_rows(hub: Hub, keys: list[str]) -> list[dict[str, Any]]:
    """Accession, title, characteristics and source of a series' samples (one load each)."""
    rows = []
    for key in keys[:SERIES_SAMPLE_LIMIT]:
        try:
            sample = hub.record(key, RecordType.SAMPLE, table=False)
        except RecordNotFound:
            rows.append({"key": key, "accession": key, "in_hub": False, "characteristics": []})
            continue
        assert isinstance(sample, Sample)
        characteristics: list[str] = []
        for ch in range(1, sample.channel_count + 1):
            prefix = f"ch{ch} " if sample.channel_count > 1 else ""
            characteristics += [
                f"{prefix}{k}: {v}" if k else f"{prefix}{v}" for k, v in sample.characteristics(ch)
            ]
        rows.append(
            {
                "key": sample.key,
                "accession": sample.accession,
                "title": sample.title,
                "in_hub": True,
                "page": page_url(RecordType.SAMPLE, sample.key),
                "platform": sample.platform_id,
                "organisms": sample.organisms,
                "source": "; ".join(sample.channel_values("source_name", 1)),
                "characteristics": characteristics,
            }
        )
    return rows


@router.get("/series/{acc}", response_class=HTMLResponse)
def series_page(request: Request, acc: str, hub: HubDep) -> HTMLResponse:
    """A Series: summary, design, contributors, platforms, samples, sub/superseries."""
    ctx = _common(hub, acc, RecordType.SERIES, skip=("sample",))
    record = ctx["record"]
    assert isinstance(record, Series)
    relations = ctx["summary"].get("relations", {})
    samples = relations.get("sample", [])
    platforms = relations.get("platform", []) or record.platform_ids
    rows = _sample_rows(hub, samples)
    if not ctx["summary"].get("organisms"):  # GEO series name no organisms: use their samples'
        found = [o for row in rows for o in row.get("organisms", [])]
        ctx["summary"]["organisms"] = list(dict.fromkeys(found))
    coverage = refined_coverage_of(hub, record.key)
    return render(
        request,
        "series.html",
        **ctx,
        summary_text=_joined(record.get_all("summary")),
        design=_joined(record.get_all("overall_design")),
        contributors=[_contributor(c) for c in record.get_all("contributor")],
        series_types=record.series_types,
        pubmed_ids=record.pubmed_ids,
        samples=rows,
        sample_total=len(samples),
        sample_limit=SERIES_SAMPLE_LIMIT,
        downloads=downloads(RecordType.SERIES, record.key, platforms, coverage),
        coverage=coverage,
        refined_waiting=_first_reason(coverage.waiting) if coverage else None,
        refined_failed=_first_reason(coverage.failed) if coverage else None,
    )


def _first_reason(reasons: dict[str, str]) -> tuple[str, str] | None:
    """The first sample (by accession) of ``reasons`` and its reason, on one line."""
    if not reasons:
        return None
    key, reason = sorted(reasons.items())[0]
    return key, " ".join(reason.split())


#: Genes shown in a sample's refined-values preview.
REFINED_PREVIEW = 12


def refined_view(hub: Hub, key: str) -> dict[str, Any] | None:
    """Provenance and the most highly expressed refined genes of a sample, if refined."""
    from exprhub.refine.store import gene_symbols, provenance, refined_matrix

    try:
        document = provenance(hub, key)
    except RecordNotFound:
        return None
    view: dict[str, Any] = {"provenance": document, "genes": [], "n_genes": 0}
    if document.get("status") != "done":
        return view
    frame = refined_matrix(hub, [key])
    if frame.shape[1] == 0:
        return view
    column = frame.iloc[:, 0].dropna().sort_values(ascending=False)
    symbols = gene_symbols(hub, document["tax_id"]) if document.get("tax_id") else {}
    view["n_genes"] = int(column.shape[0])
    view["genes"] = [
        (str(gene), symbols.get(str(gene), ""), f"{value:.3f}")
        for gene, value in column.head(REFINED_PREVIEW).items()
    ]
    return view


@router.get("/samples/{acc}", response_class=HTMLResponse)
def sample_page(request: Request, acc: str, hub: HubDep) -> HTMLResponse:
    """A Sample: characteristics, protocols, platform and series, table preview."""
    ctx = _common(hub, acc, RecordType.SAMPLE)
    record = hub.record(ctx["record"].key, RecordType.SAMPLE, table=True)
    assert isinstance(record, Sample)
    channels = []
    for ch in range(1, record.channel_count + 1):
        channels.append(
            {
                "number": ch,
                "source": record.channel_values("source_name", ch),
                "organism": record.channel_values("organism", ch),
                "molecule": record.channel_values("molecule", ch),
                "label": record.channel_values("label", ch),
                "characteristics": record.characteristics(ch),
            }
        )
    protocols = []
    for name, label in PROTOCOL_FIELDS:
        if name == "data_processing":
            if record.get_all(name):
                protocols.append((label, _joined(record.get_all(name))))
            continue
        for ch in range(1, record.channel_count + 1):
            values = record.channel_values(name, ch)
            if values:
                suffix = f" (ch{ch})" if record.channel_count > 1 else ""
                protocols.append((label + suffix, _joined(values)))
    return render(
        request,
        "sample.html",
        **ctx,
        channels=channels,
        protocols=protocols,
        sample_type=record.sample_type,
        description=_joined(record.get_all("description")),
        preview=table_preview(record, PREVIEW_ROWS),
        columns=record.columns,
        downloads=downloads(
            RecordType.SAMPLE, record.key, coverage=refined_coverage_of(hub, record.key)
        ),
        refined=refined_view(hub, record.key),
        sex_check=routes_label_checks.sex_check_view(hub, record.key),
        tissue_check=routes_tissue_model.tissue_view(hub, record.key),
        labels=labels_of(hub, [record.key])[0]["labels"],
    )


@router.get("/platforms/{acc}", response_class=HTMLResponse)
def platform_page(request: Request, acc: str, hub: HubDep) -> HTMLResponse:
    """A Platform: facts and a preview of its annotation table."""
    ctx = _common(hub, acc, RecordType.PLATFORM, skip=("sample",))
    record = hub.record(ctx["record"].key, RecordType.PLATFORM, table=True)
    return render(
        request,
        "platform.html",
        **ctx,
        description=_joined(record.get_all("description")),
        preview=table_preview(record, PREVIEW_ROWS),
        columns=record.columns,
        downloads=downloads(
            RecordType.PLATFORM, record.key, coverage=refined_coverage_of(hub, record.key)
        ),
    )


@router.get("/datasets/{acc}", response_class=HTMLResponse)
def dataset_page(request: Request, acc: str, hub: HubDep) -> Response:
    """A curated DataSet: value type, reference series, subsets by type."""
    if guess_type(acc) is RecordType.SUBSET:
        return RedirectResponse(page_url(RecordType.SUBSET, normalize_accession(acc)), 307)
    ctx = _common(hub, acc, RecordType.DATASET)
    record = ctx["record"]
    groups: dict[str, list[Any]] = {}
    in_hub: set[str] = set()
    for subset in dataset_subsets(hub, record.key):
        groups.setdefault(subset.subset_type, []).append(subset)
        in_hub.update(k for k in subset.sample_ids if hub.has(k, RecordType.SAMPLE))
    return render(
        request,
        "dataset.html",
        **ctx,
        description=_joined(record.get_all("description")),
        subset_groups=groups,
        samples_in_hub=in_hub,
        samples_missing=any(
            k not in in_hub for g in groups.values() for s in g for k in s.sample_ids
        ),
        downloads=downloads(
            RecordType.DATASET, record.key, coverage=refined_coverage_of(hub, record.key)
        ),
    )


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """Interactive API documentation, rendered from the OpenAPI document (no CDN)."""
    return render(request, "api_docs.html", title="API documentation")
