"""The ``compendium`` job kind and its route: ``POST /api/v1/compendia`` queues the build of
an organism's compendium (a zip); poll and download it under ``/api/v1/jobs/{id}``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from exprhub.hub import Hub, HubError
from exprhub.web.deps import JobsDep
from exprhub.web.errors import ERROR_RESPONSES, ApiError, excerpt
from exprhub.web.job_limits import JobQuotaExceeded
from exprhub.web.jobs import JobContext, JobKind, JobParamsError


def _validate(hub: Hub, params: dict[str, Any]) -> dict[str, Any]:
    from exprhub.bundles.compendium import CompendiumOptions
    from exprhub.bundles.compendium_source import resolve_organism

    organism = params.get("organism")
    if not isinstance(organism, str | int) or not str(organism).strip():
        raise JobParamsError("compendium needs an 'organism' (e.g. Homo sapiens or 9606)")
    try:
        tax_id, name = resolve_organism(organism)
    except HubError as exc:
        raise JobParamsError(excerpt(exc)) from None
    fields = set(CompendiumOptions.__dataclass_fields__) - {"workers", "chunk"}
    unknown = sorted(set(params) - fields - {"organism"})
    if unknown:
        raise JobParamsError(f"unknown compendium parameter(s): {', '.join(unknown)}")
    options = {k: v for k, v in params.items() if k in fields}
    try:
        CompendiumOptions(**options).check()
    except (TypeError, ValueError) as exc:
        raise JobParamsError(excerpt(exc)) from None
    return {"organism": name, "tax_id": tax_id, **options}


def _run(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    from exprhub.bundles.compendium import CompendiumOptions, build_compendium, organism_key

    options = {k: v for k, v in params.items() if k not in ("organism", "tax_id")}
    name = f"{organism_key(params['organism'])}_compendium.zip"
    target = context.output_dir / name
    report = build_compendium(
        context.hub,
        params["tax_id"],
        target,
        options=CompendiumOptions(**options),
        progress=lambda fraction, message: context.progress(fraction, message),
    )
    summary = report.to_dict()
    summary.pop("path")
    return {
        "files": [name],
        "download_url": context.file_url(name),
        "size": target.stat().st_size,
        "media_type": "application/zip",
        "compendium": summary,
    }


COMPENDIUM = JobKind(
    "compendium",
    _run,
    "build an organism's compendium (organism, format tsv|h5ad|parquet, rules) as a zip",
    _validate,
)


class CompendiumRequest(BaseModel):
    """An organism's compendium to build (defaults: refine.bio's rules)."""

    organism: str = Field(max_length=200, description="organism name or NCBI tax id")
    format: Literal["tsv", "h5ad", "parquet"] = "tsv"
    max_gene_missing: float = Field(0.3, ge=0, le=1)
    max_sample_missing: float = Field(0.5, ge=0, le=1)
    rank: int = Field(10, ge=1, le=100)
    impute: bool = True
    qn: bool = True


router = APIRouter(prefix="/api/v1/compendia", tags=["Jobs"], responses=ERROR_RESPONSES)


@router.post("", status_code=202, summary="Build an organism's compendium (a job)")
def submit_compendium(request: CompendiumRequest, jobs: JobsDep) -> JSONResponse:
    """Queue the build; the answer is the job (``Location``: its status URL). When it is
    done, its result's ``download_url`` serves the zip (docs/compendia.md)."""
    try:
        job = jobs.submit("compendium", request.model_dump())
    except JobParamsError as exc:
        raise ApiError(422, "invalid_job_params", str(exc), {"kind": "compendium"}) from None
    except JobQuotaExceeded as exc:
        raise ApiError(429, exc.code, exc.message, exc.detail) from None
    return JSONResponse(
        job.as_dict(), status_code=202, headers={"Location": f"/api/v1/jobs/{job.id}"}
    )
