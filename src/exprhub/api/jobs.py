"""Long work run in the background: a registry of job kinds and an in-process executor.

A job kind is a function ``run(context, params) -> result`` (result JSON-ready). It reports
progress through ``context.progress(fraction, message)`` and writes files into
``context.output_dir``; files listed in the result under ``"files"`` are served at
``/api/v1/jobs/{id}/files/{name}``. Later issues register dataset bundles and analyses.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from exprhub.hub import Hub, HubError


class JobStatus(StrEnum):
    """Life cycle of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobParamsError(ValueError):
    """The parameters given for a job kind are not valid."""


@dataclass
class JobContext:
    """What a running job may use: the hub, its own output directory and a progress hook."""

    hub: Hub
    job_id: str
    output_dir: Path
    _job: Job

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress between 0 and 1, with an optional message."""
        self._job.progress = max(0.0, min(1.0, float(fraction)))
        if message is not None:
            self._job.message = message

    def file_url(self, name: str) -> str:
        """The URL a result file written into ``output_dir`` is served at."""
        return f"/api/v1/jobs/{self.job_id}/files/{name}"


JobFunction = Callable[[JobContext, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    """A registered kind of job: its runner, a parameter check and a one-line description."""

    name: str
    run: JobFunction
    description: str
    validate: Callable[[Hub, dict[str, Any]], dict[str, Any]] | None = None


@dataclass
class Job:
    """One submitted job."""

    id: str
    kind: str
    params: dict[str, Any]
    status: JobStatus = JobStatus.QUEUED
    progress: float = 0.0
    message: str | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    created: str = field(default_factory=lambda: _now())
    started: str | None = None
    finished: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready status (without the result)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "params": self.params,
            "status": self.status.value,
            "progress": self.progress,
            "message": self.message,
            "error": self.error,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "result_url": f"/api/v1/jobs/{self.id}/result",
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobManager:
    """Runs jobs on a thread pool and remembers them (in memory) while the app runs.

    Parameters
    ----------
    hub
        The hub jobs work on.
    workers
        Number of jobs that run at once.
    output_root
        Where jobs write their files (default: ``<hub>/jobs``).
    """

    def __init__(self, hub: Hub, *, workers: int = 2, output_root: Path | None = None) -> None:
        self.hub = hub
        self.kinds: dict[str, JobKind] = {}
        self.jobs: dict[str, Job] = {}
        self.output_root = output_root or hub.home / "jobs"
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="exprhub-job")
        self._lock = threading.Lock()

    def register(self, kind: JobKind) -> None:
        """Add (or replace) a job kind."""
        self.kinds[kind.name] = kind

    def submit(self, kind: str, params: dict[str, Any]) -> Job:
        """Queue a job.

        Raises
        ------
        KeyError
            For an unknown job kind.
        JobParamsError
            When the kind rejects the parameters.
        """
        if kind not in self.kinds:
            raise KeyError(kind)
        spec = self.kinds[kind]
        if spec.validate is not None:
            params = spec.validate(self.hub, params)
        job = Job(uuid.uuid4().hex, kind, params)
        with self._lock:
            self.jobs[job.id] = job
        self._executor.submit(self._run, job, spec)
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with this id, if known."""
        with self._lock:
            return self.jobs.get(job_id)

    def output_dir(self, job_id: str) -> Path:
        """The directory a job's files are written to."""
        return self.output_root / job_id

    def _run(self, job: Job, spec: JobKind) -> None:
        job.status = JobStatus.RUNNING
        job.started = _now()
        out = self.output_dir(job.id)
        try:
            out.mkdir(parents=True, exist_ok=True)
            context = JobContext(self.hub, job.id, out, job)
            job.result = spec.run(context, dict(job.params))
            job.progress = 1.0
            job.status = JobStatus.DONE
        except Exception as exc:  # a job's failure is reported, never raised
            job.error = _one_line(exc)
            job.status = JobStatus.FAILED
        finally:
            job.finished = _now()

    def shutdown(self, *, remove_files: bool = False) -> None:
        """Stop accepting jobs and wait for running ones."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        if remove_files:
            shutil.rmtree(self.output_root, ignore_errors=True)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(exc, HubError | JobParamsError | ValueError):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


# ---------------------------------------------------------------------- the "export" kind
def _validate_export(hub: Hub, params: dict[str, Any]) -> dict[str, Any]:
    from exprhub.api.downloads import DownloadFormat
    from exprhub.api.service import SEGMENT_TYPES, guess_type
    from exprhub.records import RecordType

    accession = params.get("accession")
    if not isinstance(accession, str) or not accession.strip():
        raise JobParamsError("export needs an 'accession' (e.g. GSE2870)")
    fmt = str(params.get("format", "soft")).lower()
    valid = [f.value for f in DownloadFormat if f is not DownloadFormat.REFINED]
    if fmt not in valid:
        raise JobParamsError(f"export format {fmt!r} is not one of {', '.join(valid)}")
    kind = params.get("type")
    record_type = SEGMENT_TYPES.get(str(kind)) if kind else guess_type(accession)
    if record_type is None and kind:
        try:
            record_type = RecordType.parse(str(kind))
        except ValueError as exc:
            raise JobParamsError(str(exc)) from None
    if record_type is None or record_type is RecordType.SUBSET:
        raise JobParamsError(f"cannot tell the record type of {accession!r}; give 'type'")
    if not hub.has(accession, record_type):
        raise JobParamsError(f"{record_type.label} {accession} is not in the hub")
    out = {"accession": accession.strip().upper(), "format": fmt, "type": record_type.value}
    if params.get("platform"):
        out["platform"] = str(params["platform"])
    return out


def _run_export(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    from exprhub.api.downloads import DownloadFormat, make_download
    from exprhub.records import RecordType

    context.progress(0.1, f"writing {params['accession']} as {params['format']}")
    download = make_download(
        context.hub,
        params["accession"],
        RecordType(params["type"]),
        DownloadFormat(params["format"]),
        platform=params.get("platform"),
        directory=context.output_dir,
    )
    target = context.output_dir / download.filename
    shutil.move(download.path, target)
    download.cleanup()
    context.progress(1.0, "done")
    return {
        "files": [download.filename],
        "download_url": context.file_url(download.filename),
        "size": target.stat().st_size,
        "media_type": download.media_type,
    }


EXPORT = JobKind(
    "export",
    _run_export,
    "write one record (accession, format soft|miniml|matrix|json|tsv) to a file",
    _validate_export,
)


def default_jobs(hub: Hub, *, workers: int = 2) -> JobManager:
    """A job manager with the built-in kinds registered."""
    manager = JobManager(hub, workers=workers)
    manager.register(EXPORT)
    return manager
