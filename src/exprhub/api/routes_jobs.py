"""REST routes for background jobs: submit, poll, fetch the result and its files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from exprhub.api.deps import JobsDep
from exprhub.api.errors import ERROR_RESPONSES, ApiError
from exprhub.api.jobs import Job, JobParamsError, JobStatus

router = APIRouter(prefix="/api/v1/jobs", tags=["Jobs"], responses=ERROR_RESPONSES)


class JobRequest(BaseModel):
    """A job to run: its kind and parameters."""

    kind: str = Field(description="a registered job kind, e.g. export")
    params: dict[str, Any] = Field(default_factory=dict, description="parameters of the kind")


def _job(jobs: JobsDep, job_id: str) -> Job:
    job = jobs.get(job_id)
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id}", {"id": job_id})
    return job


@router.get("", summary="Job kinds that can be submitted")
def job_kinds(jobs: JobsDep) -> dict[str, Any]:
    """The registered job kinds with a one-line description each."""
    return {"kinds": [{"name": k.name, "description": k.description} for k in jobs.kinds.values()]}


@router.post("", status_code=202, summary="Submit a job")
def submit_job(request: JobRequest, jobs: JobsDep) -> JSONResponse:
    """Queue a job; poll ``/api/v1/jobs/{id}`` for its status."""
    try:
        job = jobs.submit(request.kind, request.params)
    except KeyError:
        raise ApiError(
            422,
            "unknown_job_kind",
            f"no job kind {request.kind!r}; kinds are: {', '.join(sorted(jobs.kinds))}",
            {"kinds": sorted(jobs.kinds)},
        ) from None
    except JobParamsError as exc:
        raise ApiError(422, "invalid_job_params", str(exc), {"kind": request.kind}) from None
    body = job.as_dict()
    return JSONResponse(body, status_code=202, headers={"Location": f"/api/v1/jobs/{job.id}"})


@router.get("/{job_id}", summary="Status of a job")
def job_status(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    """Status (queued, running, done, failed), progress, message and error of a job."""
    return _job(jobs, job_id).as_dict()


@router.get("/{job_id}/result", summary="Result of a finished job")
def job_result(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    """The job's result; 409 while it is queued or running or when it failed."""
    job = _job(jobs, job_id)
    if job.status is JobStatus.FAILED:
        raise ApiError(409, "job_failed", f"job {job_id} failed: {job.error}", job.as_dict())
    if job.status is not JobStatus.DONE:
        raise ApiError(
            409, "job_not_finished", f"job {job_id} is {job.status.value}", job.as_dict()
        )
    return {"id": job.id, "kind": job.kind, "result": job.result}


@router.get("/{job_id}/files/{name}", summary="A file a job wrote")
def job_file(job_id: str, name: str, jobs: JobsDep) -> FileResponse:
    """Download one of the files listed in a finished job's result."""
    job = _job(jobs, job_id)
    files = (job.result or {}).get("files", []) if job.status is JobStatus.DONE else []
    if name not in files:
        raise ApiError(404, "not_found", f"job {job_id} has no file {name!r}", {"files": files})
    path = jobs.output_dir(job_id) / name
    if not path.is_file():
        raise ApiError(404, "not_found", f"the file {name!r} of job {job_id} is gone")
    media = (job.result or {}).get("media_type") or "application/octet-stream"
    return FileResponse(path, media_type=media, filename=name)
