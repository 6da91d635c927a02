"""REST routes for dataset bundles, as jobs: submit a bundle, poll its status, download it.

``POST /api/v1/bundles`` queues a ``bundle`` job (:mod:`exprhub.web.bundle_job`) and answers
202 with its id; ``GET /api/v1/bundles/{id}`` is the job's status (and, once done, what the
bundle holds); ``GET /api/v1/bundles/{id}/download`` the file. The generic job routes
(``/api/v1/jobs/...``) see the same job.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from exprhub.web import routes_jobs
from exprhub.web.deps import HubDep, JobsDep
from exprhub.web.downloads import RangedFileResponse
from exprhub.web.errors import ERROR_RESPONSES, ApiError
from exprhub.web.jobs import JobStatus

router = APIRouter(prefix="/api/v1/bundles", tags=["Bundles"], responses=ERROR_RESPONSES)


class BundleRequest(BaseModel):
    """What to bundle and how (docs/bundles.md)."""

    series: list[str] = Field(default_factory=list, description="series accessions")
    samples: list[str] = Field(default_factory=list, description="sample accessions")
    query: str | None = Field(default=None, max_length=2000, description="a search query")
    aggregate: str = Field(default="experiment", description="experiment | species | all")
    scale: str = Field(default="none", description="none | minmax | standard | robust")
    quantile_normalize: bool = Field(
        default=True, description="false: gene-level values before quantile normalization"
    )
    format: str = Field(default="tsv", description="tsv | h5ad | parquet")


def _links(job_id: str) -> dict[str, str]:
    return {
        "status_url": f"/api/v1/bundles/{job_id}",
        "download_url": f"/api/v1/bundles/{job_id}/download",
    }


@router.post("", status_code=202, summary="Build a dataset bundle (a job)")
def create_bundle(request: BundleRequest, jobs: JobsDep) -> JSONResponse:
    """Queue a bundle; poll ``status_url`` until ``status`` is ``done``, then fetch
    ``download_url``. Bad options answer 422; a full job queue 429."""
    response = routes_jobs.submit_job(
        routes_jobs.JobRequest(kind="bundle", params=request.model_dump()), jobs
    )
    body: dict[str, Any] = json.loads(bytes(response.body))
    body |= _links(body["id"])
    return JSONResponse(body, status_code=202, headers={"Location": body["status_url"]})


class PreviewRequest(BaseModel):
    """A selection to review before building."""

    series: list[str] = Field(default_factory=list, max_length=10_000)
    samples: list[str] = Field(default_factory=list, max_length=10_000)
    aggregate: str = Field(default="experiment", description="experiment | species | all")
    quantile_normalize: bool = True


@router.post("/preview", summary="Review what a bundle would hold (no values read)")
def preview_bundle(request: PreviewRequest, hub: HubDep) -> dict[str, Any]:
    """The samples of each aggregate, the samples that cannot be delivered with the reason,
    samples in several selected series and accessions not in the hub; 422 for bad options
    or an empty selection."""
    from exprhub.api.bundling import preview
    from exprhub.bundles.selection import BundleError

    try:
        return preview(
            hub,
            series=request.series,
            samples=request.samples,
            aggregate=request.aggregate,
            quantile_normalize=request.quantile_normalize,
        )
    except (BundleError, ValueError) as exc:
        raise ApiError(422, "invalid_bundle", str(exc).splitlines()[0]) from None


@router.get("/{job_id}", summary="Status of a bundle job", responses=routes_jobs.GONE)
def bundle_status(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    """The job's status and progress; once done, ``bundle``: file name, SHA-256, size,
    aggregates (samples, genes, genes dropped), samples left out with reasons."""
    status = routes_jobs.job_status(job_id, jobs) | _links(job_id)
    job = jobs.get(job_id)
    if job is not None and job.status is JobStatus.DONE and job.result is not None:
        status["bundle"] = job.result
    return status


@router.get(
    "/{job_id}/download",
    summary="Download a built bundle",
    response_class=RangedFileResponse,
    responses=routes_jobs.NOT_FINISHED | routes_jobs.GONE | routes_jobs.RANGES,
)
def bundle_download(job_id: str, jobs: JobsDep) -> RangedFileResponse:
    """The bundle file (named by its content hash); 409 while the job is queued or running
    or when it failed."""
    routes_jobs.job_status(job_id, jobs)  # 404 / 410 as the job routes answer
    job = jobs.get(job_id)
    if job is None or job.kind != "bundle":
        raise ApiError(404, "not_found", f"no bundle job {job_id}", {"id": job_id})
    if job.status is JobStatus.FAILED:
        raise ApiError(409, "job_failed", f"bundle {job_id} failed: {job.error}", job.as_dict())
    if job.status is not JobStatus.DONE:
        raise ApiError(
            409, "job_not_finished", f"bundle {job_id} is {job.status.value}", job.as_dict()
        )
    [name] = (job.result or {})["files"]
    return routes_jobs.job_file(job_id, name, jobs)
