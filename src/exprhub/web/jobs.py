"""Long work run in the background: a registry of job kinds and an in-process executor.

A job kind is a function ``run(context, params) -> result`` (result JSON-ready). It reports
progress through ``context.progress(fraction, message)`` and writes files into
``context.output_dir``; files listed in the result under ``"files"`` are served at
``/api/v1/jobs/{id}/files/{name}``. Later issues register dataset bundles and analyses.

Jobs are bounded (:class:`JobLimits`): how many may be queued or running, how many bytes of
results are kept, and how long a finished job's results are kept before they expire. Results
are files under ``<hub>/jobs/<job id>/``; a manager starting with no other one serving the hub
removes the results of jobs it does not know (those of a previous process).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from exprhub.hub import Hub, HubError
from exprhub.web.errors import excerpt

#: Default most jobs queued or running at once (``EXPRHUB_MAX_ACTIVE_JOBS``).
DEFAULT_MAX_ACTIVE_JOBS = 16
#: Default most bytes of job results kept at once (``EXPRHUB_MAX_RESULT_BYTES``): 2 GiB.
DEFAULT_MAX_RESULT_BYTES = 2 * 1024**3
#: Default seconds a finished job and its results are kept (``EXPRHUB_JOB_TTL_SECONDS``): 1 day.
DEFAULT_RESULT_TTL_SECONDS = 24 * 3600
#: Expired job ids remembered (they answer 410 Gone; older ones are forgotten: 404).
EXPIRED_REMEMBERED = 10_000
_LOCK_NAME = ".lock"


class JobStatus(StrEnum):
    """Life cycle of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobParamsError(ValueError):
    """The parameters given for a job kind are not valid."""


class JobQuotaExceeded(Exception):
    """A job cannot be queued now: too many are queued or running, or the kept results fill
    their quota.

    Parameters
    ----------
    code
        ``too_many_jobs`` or ``result_quota_exceeded``.
    message
        One readable line naming the limit.
    detail
        The limit and the current use.
    """

    def __init__(self, code: str, message: str, detail: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def integer_setting(
    environ: Mapping[str, str], name: str, default: int, *, minimum: int = 0
) -> int:
    """The whole number an environment variable sets (``default`` when unset or empty).

    Raises
    ------
    ValueError
        When the value is not a whole number of at least ``minimum`` (one readable line).
    """
    raw = environ.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {excerpt(raw)!r}")
    return value


@dataclass(frozen=True)
class JobLimits:
    """Bounds of the job queue.

    Attributes
    ----------
    max_active
        Most jobs queued or running at once; more answer 429.
    max_result_bytes
        Most bytes of result files kept; a submission while they are used up answers 429, and
        a job whose result would go past them fails (its files are removed).
    result_ttl
        Seconds a finished (done or failed) job and its files are kept; then it answers 410.
    """

    max_active: int = DEFAULT_MAX_ACTIVE_JOBS
    max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES
    result_ttl: float = DEFAULT_RESULT_TTL_SECONDS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> JobLimits:
        """Limits from ``EXPRHUB_MAX_ACTIVE_JOBS``, ``EXPRHUB_MAX_RESULT_BYTES`` and
        ``EXPRHUB_JOB_TTL_SECONDS`` (defaults where unset).

        Raises
        ------
        ValueError
            For a value that is not a whole number (0 jobs or a 0 s time to live excluded).
        """
        env = os.environ if environ is None else environ
        return cls(
            max_active=integer_setting(
                env, "EXPRHUB_MAX_ACTIVE_JOBS", DEFAULT_MAX_ACTIVE_JOBS, minimum=1
            ),
            max_result_bytes=integer_setting(
                env, "EXPRHUB_MAX_RESULT_BYTES", DEFAULT_MAX_RESULT_BYTES, minimum=0
            ),
            result_ttl=integer_setting(
                env, "EXPRHUB_JOB_TTL_SECONDS", DEFAULT_RESULT_TTL_SECONDS, minimum=1
            ),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready limits."""
        return {
            "max_active_jobs": self.max_active,
            "max_result_bytes": self.max_result_bytes,
            "result_ttl_seconds": self.result_ttl,
        }


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
    created: str = field(default_factory=lambda: _iso(time.time()))
    started: str | None = None
    finished: str | None = None
    expires: str | None = None
    result_bytes: int = 0
    expires_at: float | None = field(default=None, repr=False)

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
            "expires": self.expires,
            "result_bytes": self.result_bytes,
        }

    @property
    def finished_running(self) -> bool:
        """Whether the job is done or failed."""
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def directory_bytes(path: Path) -> int:
    """Total size of the files under ``path`` (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except FileNotFoundError:
                continue
    return total


class JobManager:
    """Runs jobs on a thread pool and remembers them (in memory) while the app runs, within
    :class:`JobLimits`.

    Parameters
    ----------
    hub
        The hub jobs work on.
    workers
        Number of jobs that run at once.
    output_root
        Where jobs write their files (default: ``<hub>/jobs``).
    limits
        Queue and result bounds (default: :class:`JobLimits` defaults).
    clock
        Seconds since the epoch (``time.time``); expiry follows it.
    """

    def __init__(
        self,
        hub: Hub,
        *,
        workers: int = 2,
        output_root: Path | None = None,
        limits: JobLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hub = hub
        self.kinds: dict[str, JobKind] = {}
        self.jobs: dict[str, Job] = {}
        self.output_root = output_root or hub.home / "jobs"
        self.limits = limits or JobLimits()
        self.clock = clock
        self._expired: OrderedDict[str, str] = OrderedDict()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="exprhub-job")
        self._lock = threading.Lock()
        self._claim: IO[bytes] | None = None
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def register(self, kind: JobKind) -> None:
        """Add (or replace) a job kind."""
        self.kinds[kind.name] = kind

    def start(self) -> list[Path]:
        """Claim the output directory, remove results of unknown jobs when no other manager
        serves it, and start removing expired results in the background.

        Returns
        -------
        list of Path
            The removed result directories.
        """
        self.output_root.mkdir(parents=True, exist_ok=True)
        removed: list[Path] = []
        if self._claim is None:
            self._claim = (self.output_root / _LOCK_NAME).open("ab")
            try:
                fcntl.flock(self._claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # another live manager uses the directory: its results are not orphans
            else:
                removed = self.remove_orphaned_results()
            # Shared from now on: later managers see a live one and leave the files alone.
            fcntl.flock(self._claim, fcntl.LOCK_SH)
        if self._sweeper is None:
            self._stop.clear()
            self._sweeper = threading.Thread(
                target=self._sweep, name="exprhub-job-expiry", daemon=True
            )
            self._sweeper.start()
        return removed

    def remove_orphaned_results(self) -> list[Path]:
        """Remove the result directories of jobs this manager does not know.

        Returns
        -------
        list of Path
            The removed directories.
        """
        with self._lock:
            known = set(self.jobs)
        removed: list[Path] = []
        if not self.output_root.is_dir():
            return removed
        for path in self.output_root.iterdir():
            if path.name == _LOCK_NAME or path.name in known:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
        return removed

    def usage(self) -> dict[str, int]:
        """Jobs queued or running, and bytes of results kept."""
        with self._lock:
            self._expire_due_locked()
            return {"active_jobs": self._active_locked(), "result_bytes": self._kept_locked()}

    def submit(self, kind: str, params: dict[str, Any]) -> Job:
        """Queue a job.

        Raises
        ------
        KeyError
            For an unknown job kind.
        JobParamsError
            When the kind rejects the parameters.
        JobQuotaExceeded
            When :attr:`limits` allow no more jobs or results now.
        """
        if kind not in self.kinds:
            raise KeyError(kind)
        spec = self.kinds[kind]
        if spec.validate is not None:
            params = spec.validate(self.hub, params)
        job = Job(uuid.uuid4().hex, kind, params, created=_iso(self.clock()))
        with self._lock:
            self._expire_due_locked()
            self._check_quota_locked()
            self.jobs[job.id] = job
        self._executor.submit(self._run, job, spec)
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with this id, if known and not expired."""
        with self._lock:
            self._expire_due_locked()
            return self.jobs.get(job_id)

    def expired_at(self, job_id: str) -> str | None:
        """When the job with this id expired (ISO 8601), if it did."""
        with self._lock:
            self._expire_due_locked()
            return self._expired.get(job_id)

    def delete(self, job_id: str) -> Job | None:
        """Forget a finished job and remove its files (None when it is unknown).

        Raises
        ------
        JobParamsError
            While the job is queued or running.
        """
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                return None
            if not job.finished_running:
                raise JobParamsError(f"job {job_id} is {job.status.value}; delete it once done")
            del self.jobs[job_id]
        shutil.rmtree(self.output_dir(job_id), ignore_errors=True)
        return job

    def expire_due(self) -> list[str]:
        """Remove finished jobs older than the time to live, with their files.

        Returns
        -------
        list of str
            Ids of the jobs that expired.
        """
        with self._lock:
            return self._expire_due_locked()

    def output_dir(self, job_id: str) -> Path:
        """The directory a job's files are written to."""
        return self.output_root / job_id

    def _active_locked(self) -> int:
        return sum(not job.finished_running for job in self.jobs.values())

    def _kept_locked(self) -> int:
        return sum(job.result_bytes for job in self.jobs.values())

    def _check_quota_locked(self) -> None:
        active = self._active_locked()
        if active >= self.limits.max_active:
            raise JobQuotaExceeded(
                "too_many_jobs",
                f"{active} jobs are queued or running, the most this server allows "
                f"({self.limits.max_active}); submit again once one has finished",
                {"max_active_jobs": self.limits.max_active, "active_jobs": active},
            )
        kept = self._kept_locked()
        if kept >= self.limits.max_result_bytes:
            raise JobQuotaExceeded(
                "result_quota_exceeded",
                f"job results kept use {kept} bytes of the {self.limits.max_result_bytes} "
                f"allowed; delete finished jobs or wait until results expire "
                f"({self.limits.result_ttl:g} s after a job finishes)",
                {"max_result_bytes": self.limits.max_result_bytes, "result_bytes": kept},
            )

    def _expire_due_locked(self) -> list[str]:
        now = self.clock()
        due = [
            job_id
            for job_id, job in self.jobs.items()
            if job.expires_at is not None and job.expires_at <= now
        ]
        for job_id in due:
            job = self.jobs.pop(job_id)
            shutil.rmtree(self.output_dir(job_id), ignore_errors=True)
            self._expired[job_id] = job.expires or _iso(now)
            while len(self._expired) > EXPIRED_REMEMBERED:
                self._expired.popitem(last=False)
        return due

    def _sweep(self) -> None:
        interval = max(1.0, min(60.0, self.limits.result_ttl / 10))
        while not self._stop.wait(interval):
            self.expire_due()

    def _run(self, job: Job, spec: JobKind) -> None:
        job.status = JobStatus.RUNNING
        job.started = _iso(self.clock())
        out = self.output_dir(job.id)
        failed: str | None = None
        result: dict[str, Any] | None = None
        try:
            out.mkdir(parents=True, exist_ok=True)
            context = JobContext(self.hub, job.id, out, job)
            result = spec.run(context, dict(job.params))
        except Exception as exc:  # a job's failure is reported, never raised
            failed = _one_line(exc)
        size = 0 if failed else directory_bytes(out)
        with self._lock:
            kept = self._kept_locked()
            if failed is None and kept + size > self.limits.max_result_bytes:
                failed = (
                    f"the result ({size} bytes) would take the job results kept past the "
                    f"{self.limits.max_result_bytes} bytes allowed ({kept} in use)"
                )
            finished = self.clock()
            job.finished = _iso(finished)
            job.expires_at = finished + self.limits.result_ttl
            job.expires = _iso(job.expires_at)
            if failed is None:
                job.result = result
                job.result_bytes = size
                job.progress = 1.0
                job.status = JobStatus.DONE
            else:
                job.error = failed
                job.status = JobStatus.FAILED
        if failed is not None:
            shutil.rmtree(out, ignore_errors=True)

    def shutdown(self, *, remove_files: bool = False) -> None:
        """Stop accepting jobs, wait for running ones and release the output directory."""
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join()
            self._sweeper = None
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._claim is not None:
            self._claim.close()  # releases the lock
            self._claim = None
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
    from exprhub.records import RecordType
    from exprhub.web.downloads import DownloadFormat
    from exprhub.web.service import SEGMENT_TYPES, guess_type

    accession = params.get("accession")
    if not isinstance(accession, str) or not accession.strip():
        raise JobParamsError("export needs an 'accession' (e.g. GSE2870)")
    fmt = str(params.get("format", "soft")).lower()
    valid = [f.value for f in DownloadFormat if f is not DownloadFormat.REFINED]
    if fmt not in valid:
        raise JobParamsError(f"export format {excerpt(fmt)!r} is not one of {', '.join(valid)}")
    kind = params.get("type")
    record_type = SEGMENT_TYPES.get(str(kind)) if kind else guess_type(accession)
    if record_type is None and kind:
        try:
            record_type = RecordType.parse(str(kind))
        except ValueError as exc:
            raise JobParamsError(excerpt(exc)) from None
    if record_type is None or record_type is RecordType.SUBSET:
        raise JobParamsError(f"cannot tell the record type of {excerpt(accession)!r}; give 'type'")
    if not hub.has(accession, record_type):
        raise JobParamsError(f"{record_type.label} {excerpt(accession)} is not in the hub")
    out = {"accession": accession.strip().upper(), "format": fmt, "type": record_type.value}
    if params.get("platform"):
        out["platform"] = str(params["platform"])
    return out


def _run_export(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    from exprhub.records import RecordType
    from exprhub.web.downloads import DownloadFormat, make_download

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


def default_jobs(hub: Hub, *, workers: int = 2, limits: JobLimits | None = None) -> JobManager:
    """A job manager with the built-in kinds registered (``limits`` default: from the
    environment, see :meth:`JobLimits.from_environment`)."""
    manager = JobManager(hub, workers=workers, limits=limits or JobLimits.from_environment())
    manager.register(EXPORT)
    return manager
