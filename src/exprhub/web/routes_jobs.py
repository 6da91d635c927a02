"""REST routes for background jobs: submit, poll, fetch the result and its files, delete.

The queue is bounded (see ``exprhub.web.job_limits.JobLimits``): too many queued or running
jobs, or results filling their quota, answer 429; a finished job is kept for a time to live,
then answers 410 Gone. Jobs are kept in the hub (``exprhub.hub.jobs``), so any server process
answers for any job and jobs survive a restart (see ``exprhub.web.jobs`` for what happens to a
job that was running then).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from exprhub.web.deps import JobsDep
from exprhub.web.downloads import RangedFileResponse
from exprhub.web.errors import ERROR_RESPONSES, ApiError, ErrorBody, excerpt
from exprhub.web.job_limits import JobQuotaExceeded
from exprhub.web.jobs import Job, JobManager, JobParamsError, JobStatus

Responses = dict[int | str, dict[str, Any]]

GONE: Responses = {
    410: {"model": ErrorBody, "description": "the job expired: its results were removed"}
}
NOT_FINISHED: Responses = {409: {"model": ErrorBody, "description": "the job is queued or running"}}
RANGES: Responses = {
    206: {"description": "the byte range asked for (`Range: bytes=first-last`)"},
    416: {"model": ErrorBody, "description": "the range lies beyond the end of the file"},
}

router = APIRouter(prefix="/api/v1/jobs", tags=["Jobs"], responses=ERROR_RESPONSES)


class JobRequest(BaseModel):
    """A job to run: its kind and parameters."""

    kind: str = Field(max_length=100, description="a registered job kind, e.g. export")
    params: dict[str, Any] = Field(default_factory=dict, description="parameters of the kind")


def _job(jobs: JobManager, job_id: str) -> Job:
    job = jobs.get(job_id)
    if job is not None:
        return job
    expired = jobs.expired_at(job_id)
    if expired is not None:
        raise ApiError(
            410,
            "job_expired",
            f"job {job_id} expired at {expired}: results are kept "
            f"{jobs.limits.result_ttl:g} s after a job finishes; submit it again",
            {"id": job_id, "expired": expired},
        )
    raise ApiError(404, "not_found", f"no job {excerpt(job_id)}", {"id": job_id})


@router.get("", summary="Job kinds that can be submitted, with the queue's limits")
def job_kinds(jobs: JobsDep) -> dict[str, Any]:
    """The registered job kinds with a one-line description each, and ``limits``: the most
    jobs queued or running at once (``max_active_jobs``), the most bytes of results kept
    (``max_result_bytes``), how long a finished job is kept (``result_ttl_seconds``) and the
    current use (``active_jobs``, ``result_bytes``)."""
    return {
        "kinds": [{"name": k.name, "description": k.description} for k in jobs.kinds.values()],
        "limits": jobs.limits.as_dict() | jobs.usage(),
    }


@router.post(
    "",
    status_code=202,
    summary="Submit a job",
    responses={
        429: {
            "model": ErrorBody,
            "description": "too many jobs queued or running (`too_many_jobs`), or the results "
            "kept fill their quota (`result_quota_exceeded`)",
        }
    },
)
def submit_job(request: JobRequest, jobs: JobsDep) -> JSONResponse:
    """Queue a job; poll ``/api/v1/jobs/{id}`` for its status.

    Answers 429 when as many jobs as the server allows are queued or running
    (``EXPRHUB_MAX_ACTIVE_JOBS``, default 16) or when the results kept use up their quota
    (``EXPRHUB_MAX_RESULT_BYTES``, default 2 GiB); a job whose result would go past that quota
    fails. Results are kept ``EXPRHUB_JOB_TTL_SECONDS`` (default 86400) after a job finishes
    (``expires`` in the status), then the job answers 410."""
    try:
        return queue_job(jobs, request.kind, request.params)
    except KeyError:
        raise ApiError(
            422,
            "unknown_job_kind",
            f"no job kind {excerpt(request.kind)!r}; kinds are: {', '.join(sorted(jobs.kinds))}",
            {"kinds": sorted(jobs.kinds)},
        ) from None


def queue_job(jobs: JobManager, kind: str, params: dict[str, Any]) -> JSONResponse:
    """Submit a job and answer 202 with it (``Location``: its status URL); 422
    ``invalid_job_params`` for parameters its kind refuses, 429 over the server's job limits.

    Raises
    ------
    KeyError
        For a kind the server does not run.
    """
    try:
        job = jobs.submit(kind, params)
    except JobParamsError as exc:
        raise ApiError(422, "invalid_job_params", str(exc), {"kind": kind}) from None
    except JobQuotaExceeded as exc:
        raise ApiError(429, exc.code, exc.message, exc.detail) from None
    return JSONResponse(
        job.as_dict(), status_code=202, headers={"Location": f"/api/v1/jobs/{job.id}"}
    )


@router.get("/{job_id}", summary="Status of a job", responses=GONE)
def job_status(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    """Status (queued, running, done, failed), progress, message and error of a job, and when
    a finished job expires (``expires``); 410 once it has."""
    return _job(jobs, job_id).as_dict()


@router.delete(
    "/{job_id}",
    status_code=204,
    summary="Delete a finished job and its files",
    responses=NOT_FINISHED | GONE,
)
def delete_job(job_id: str, jobs: JobsDep) -> Response:
    """Forget a done or failed job and remove its result files (freeing their quota)."""
    _job(jobs, job_id)
    try:
        jobs.delete(job_id)
    except JobParamsError as exc:
        raise ApiError(409, "job_not_finished", str(exc), {"id": job_id}) from None
    return Response(status_code=204)


@router.get("/{job_id}/result", summary="Result of a finished job", responses=GONE)
def job_result(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    """The job's result; 409 while it is queued or running or when it failed, 410 once it
    expired."""
    job = _job(jobs, job_id)
    if job.status is JobStatus.FAILED:
        raise ApiError(409, "job_failed", f"job {job_id} failed: {job.error}", job.as_dict())
    if job.status is not JobStatus.DONE:
        raise ApiError(
            409, "job_not_finished", f"job {job_id} is {job.status.value}", job.as_dict()
        )
    return {"id": job.id, "kind": job.kind, "result": job.result}


@router.get(
    "/{job_id}/files/{name}",
    summary="A file a job wrote",
    response_class=RangedFileResponse,
    responses=RANGES | GONE,
)
def job_file(job_id: str, name: str, jobs: JobsDep) -> RangedFileResponse:
    """Download one of the files listed in a finished job's result (single byte ranges give
    206; a malformed ``Range`` 400, one beyond the end 416); 410 once the job expired."""
    job = _job(jobs, job_id)
    files = (job.result or {}).get("files", []) if job.status is JobStatus.DONE else []
    if name not in files:
        raise ApiError(
            404, "not_found", f"job {job_id} has no file {excerpt(name)!r}", {"files": files}
        )
    path = jobs.output_dir(job_id) / name
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ApiError(404, "not_found", f"the file {name!r} of job {job_id} is gone") from None
    media = (job.result or {}).get("media_type") or "application/octet-stream"
    return RangedFileResponse(path, media_type=media, filename=name, stat_result=stat)
