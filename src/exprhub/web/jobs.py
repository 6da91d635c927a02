"""Long work run in the background: a registry of job kinds and the executor that runs them.

A job kind is a function ``run(context, params) -> result`` (result JSON-ready). It reports
progress through ``context.progress(fraction, message)`` and writes files into
``context.output_dir``; files listed in the result under ``"files"`` are served at
``/api/v1/jobs/{id}/files/{name}``. Later issues register dataset bundles and analyses.

Jobs are rows of the hub's job table (:mod:`exprhub.hub.jobs`): they survive a restart, and
every process serving the hub (``exprhub serve --workers N``) sees all of them, so any process
answers for any job. Each :class:`JobManager` runs the queued jobs of the kinds it knows on its
own threads; a job is claimed atomically, so exactly one process runs it. Results are files
under ``<hub>/jobs/<job id>/``.

Jobs are bounded (:class:`JobLimits`): how many may be queued or running, how many bytes of
results are kept, and how long a finished job's results are kept before they expire.

After a restart (the restart rule): queued jobs run; done and failed jobs keep their status
and files until they expire; a job that was *running* when its process stopped (a restart, a
crash, SIGKILL) is marked failed with :data:`INTERRUPTED` and its partial files are removed. It
is not run again by itself: a job may have had effects that running it twice would repeat, and
a job that kills its process would otherwise kill every process that picks it up. A process
is known to have stopped when the lock file it holds while it runs
(``<hub>/jobs/.workers/<worker id>``, ``flock``) is free; every manager checks this when it
starts and then every minute or so. Result directories of jobs the hub does not know are
removed when a manager starts.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from exprhub.hub import Hub, HubError
from exprhub.hub import jobs as job_table
from exprhub.web.job_limits import JobLimits, JobQuotaExceeded

#: Expired job ids remembered (they answer 410 Gone; older ones are forgotten: 404).
EXPIRED_REMEMBERED = job_table.EXPIRED_REMEMBERED
#: The error of a job that was running when its server process stopped.
INTERRUPTED = (
    "interrupted by a server restart (the process running it stopped before the job "
    "finished); submit it again"
)
#: Seconds between two looks for queued jobs (a submission to this process wakes it at once).
POLL_SECONDS = 1.0
#: Least seconds between two progress writes without a new message.
PROGRESS_INTERVAL = 0.2
#: Attempts at recording a finished job before giving up (a busy SQLite database).
FINISH_ATTEMPTS = 5
#: The directory of ``output_root`` holding one lock file per live manager.
WORKERS_DIR = ".workers"

_log = logging.getLogger(__name__)


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
    _report: Callable[[float, str | None], None]

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress between 0 and 1, with an optional message."""
        self._report(max(0.0, min(1.0, float(fraction))), message)

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


@dataclass(frozen=True)
class Job:
    """One submitted job, as the API shows it (see :class:`exprhub.hub.jobs.JobRecord`)."""

    id: str
    kind: str
    params: dict[str, Any]
    status: JobStatus
    progress: float
    message: str | None
    error: str | None
    result: dict[str, Any] | None
    created: str
    started: str | None
    finished: str | None
    expires: str | None
    result_bytes: int

    @classmethod
    def from_record(cls, record: job_table.JobRecord) -> Job:
        """The job a (not expired) row of the job table describes."""
        return cls(
            id=record.id,
            kind=record.kind,
            params=record.params,
            status=JobStatus(record.status),
            progress=record.progress,
            message=record.message,
            error=record.error,
            result=record.result,
            created=record.created.isoformat(timespec="seconds"),
            started=_iso(record.started),
            finished=_iso(record.finished),
            expires=_iso(record.expires),
            result_bytes=record.result_bytes,
        )

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


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment is not None else None


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
    """Runs the hub's queued jobs on a thread pool and answers for every job of the hub, within
    :class:`JobLimits`.

    Parameters
    ----------
    hub
        The hub jobs work on (and whose job table holds them).
    workers
        Number of jobs this manager runs at once.
    output_root
        Where jobs write their files (default: ``<hub>/jobs``); every process serving the hub
        must use the same.
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
        self.output_root = output_root or hub.home / "jobs"
        self.limits = limits or JobLimits()
        self.clock = clock
        #: Who this manager is in the job table's ``worker`` column (host, process, instance).
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._workers = workers
        self._slots = threading.Semaphore(workers)
        self._executor: ThreadPoolExecutor | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._liveness: int | None = None

    def register(self, kind: JobKind) -> None:
        """Add (or replace) a job kind."""
        self.kinds[kind.name] = kind

    # ------------------------------------------------------------------ life cycle
    def start(self) -> list[Path]:
        """Announce this manager as live, fail the jobs of managers that stopped while running
        them (:data:`INTERRUPTED`), remove result directories of jobs the hub does not know,
        and start running queued jobs and removing expired results in the background.

        Returns
        -------
        list of Path
            The removed result directories of unknown jobs.
        """
        (self.output_root / WORKERS_DIR).mkdir(parents=True, exist_ok=True)
        if self._liveness is None:
            self._liveness = self._hold_liveness_lock()
        self.recover_interrupted()
        removed = self.remove_orphaned_results()
        if not self._threads:
            self._stop.clear()
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="exprhub-job")
            for target, name in ((self._dispatch, "dispatch"), (self._sweep, "expiry")):
                thread = threading.Thread(target=target, name=f"exprhub-job-{name}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return removed

    def shutdown(self, *, remove_files: bool = False) -> None:
        """Stop taking queued jobs (they stay queued for the next server), wait for the running
        ones and withdraw this manager."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join()
        self._threads = []
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._liveness is not None:
            (self.output_root / WORKERS_DIR / self.worker_id).unlink(missing_ok=True)
            os.close(self._liveness)  # releases the lock
            self._liveness = None
        if remove_files:
            shutil.rmtree(self.output_root, ignore_errors=True)

    def _hold_liveness_lock(self) -> int:
        path = self.output_root / WORKERS_DIR / self.worker_id
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)  # removed by a manager that found it free before it was locked

    def _is_live(self, worker: str) -> bool:
        """Whether the manager ``worker`` still holds its lock file (one that is free is
        removed)."""
        if worker == self.worker_id:
            return True
        path = self.output_root / WORKERS_DIR / worker
        if os.sep in worker or worker.startswith("."):
            return False
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            path.unlink(missing_ok=True)
            return False
        finally:
            os.close(fd)

    def recover_interrupted(self) -> list[str]:
        """Mark failed (:data:`INTERRUPTED`) the jobs running for managers that have stopped,
        and remove their partial files.

        Returns
        -------
        list of str
            Ids of those jobs.
        """
        failed: list[str] = []
        for worker in job_table.running_workers(self.hub):
            if self._is_live(worker):
                continue
            ids = job_table.fail_running(
                self.hub, worker, INTERRUPTED, now=self._now(), ttl=self.limits.result_ttl
            )
            for job_id in ids:
                shutil.rmtree(self.output_dir(job_id), ignore_errors=True)
            failed += ids
        return failed

    def remove_orphaned_results(self) -> list[Path]:
        """Remove the result directories (and stray files) of jobs the hub does not know.

        Returns
        -------
        list of Path
            The removed paths.
        """
        if not self.output_root.is_dir():
            return []
        entries = [p for p in self.output_root.iterdir() if p.name != WORKERS_DIR]
        # listed before the look-up: a job's row is written before its directory
        known = job_table.existing(self.hub, [p.name for p in entries])
        removed: list[Path] = []
        for path in entries:
            if path.name in known:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
        return removed

    # ------------------------------------------------------------------ the queue
    def usage(self) -> dict[str, int]:
        """Jobs queued or running, and bytes of results kept."""
        self.expire_due()
        active, kept = job_table.usage(self.hub)
        return {"active_jobs": active, "result_bytes": kept}

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
        self.expire_due()
        try:
            record = job_table.create(
                self.hub,
                uuid.uuid4().hex,
                kind,
                params,
                now=self._now(),
                max_active=self.limits.max_active,
                max_result_bytes=self.limits.max_result_bytes,
            )
        except job_table.JobLimitReached as exc:
            raise self._quota_error(exc) from None
        self._wake.set()
        return Job.from_record(record)

    def _quota_error(self, exc: job_table.JobLimitReached) -> JobQuotaExceeded:
        if exc.limit == "max_active":
            return JobQuotaExceeded(
                "too_many_jobs",
                f"{exc.in_use} jobs are queued or running, the most this server allows "
                f"({exc.maximum}); submit again once one has finished",
                {"max_active_jobs": exc.maximum, "active_jobs": exc.in_use},
            )
        return JobQuotaExceeded(
            "result_quota_exceeded",
            f"job results kept use {exc.in_use} bytes of the {exc.maximum} allowed; delete "
            f"finished jobs or wait until results expire ({self.limits.result_ttl:g} s after a "
            f"job finishes)",
            {"max_result_bytes": exc.maximum, "result_bytes": exc.in_use},
        )

    def get(self, job_id: str) -> Job | None:
        """The job with this id, if known and not expired."""
        record = job_table.get(self.hub, job_id)
        if record is None or record.status == job_table.EXPIRED:
            return None
        if record.is_finished and record.expires is not None and record.expires <= self._now():
            self.expire_due()
            return None
        return Job.from_record(record)

    def expired_at(self, job_id: str) -> str | None:
        """When the job with this id expired (ISO 8601), if it did."""
        record = job_table.get(self.hub, job_id)
        if record is None or record.expires is None:
            return None
        if record.status == job_table.EXPIRED or record.expires <= self._now():
            return _iso(record.expires)
        return None

    def delete(self, job_id: str) -> Job | None:
        """Forget a finished job and remove its files (None when it is unknown).

        Raises
        ------
        JobParamsError
            While the job is queued or running.
        """
        job = self.get(job_id)
        if job is None:
            return None
        if not job.finished_running or not job_table.delete_finished(self.hub, job_id):
            current = self.get(job_id)
            if current is None:
                return None
            raise JobParamsError(f"job {job_id} is {current.status.value}; delete it once done")
        shutil.rmtree(self.output_dir(job_id), ignore_errors=True)
        return job

    def expire_due(self) -> list[str]:
        """Mark finished jobs older than the time to live expired, and remove their files.

        Returns
        -------
        list of str
            Ids of the jobs that expired.
        """
        due = job_table.expire(self.hub, now=self._now())
        for job_id in due:
            shutil.rmtree(self.output_dir(job_id), ignore_errors=True)
        return due

    def output_dir(self, job_id: str) -> Path:
        """The directory a job's files are written to."""
        return self.output_root / job_id

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # ------------------------------------------------------------------ running jobs
    def _dispatch(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=POLL_SECONDS):
                continue
            self._wake.clear()  # before looking: a submission from now on wakes the wait
            record = None
            if not self._stop.is_set():
                try:
                    record = job_table.claim(
                        self.hub, self.worker_id, list(self.kinds), now=self._now()
                    )
                except Exception:
                    _log.exception("looking for queued jobs failed")
            if record is None:
                self._slots.release()
                self._wake.wait(POLL_SECONDS)
                continue
            assert self._executor is not None
            self._executor.submit(self._run, record)

    def _sweep(self) -> None:
        interval = max(1.0, min(60.0, self.limits.result_ttl / 10))
        while not self._stop.wait(interval):
            try:
                self.expire_due()
                self.recover_interrupted()
            except Exception:
                _log.exception("removing expired or interrupted jobs failed")

    def _reporter(self, job_id: str) -> Callable[[float, str | None], None]:
        last = -PROGRESS_INTERVAL

        def report(fraction: float, message: str | None) -> None:
            nonlocal last
            now = time.monotonic()
            if message is None and now - last < PROGRESS_INTERVAL:
                return
            last = now
            try:
                job_table.update_progress(self.hub, job_id, self.worker_id, fraction, message)
            except Exception:  # progress is advisory: the job goes on
                _log.warning("recording the progress of job %s failed", job_id, exc_info=True)

        return report

    def _run(self, record: job_table.JobRecord) -> None:
        try:
            self._run_claimed(record)
        finally:
            self._slots.release()
            self._wake.set()  # a slot is free: look for the next queued job

    def _run_claimed(self, record: job_table.JobRecord) -> None:
        out = self.output_dir(record.id)
        spec = self.kinds.get(record.kind)
        failed: str | None = None
        result: dict[str, Any] = {}
        try:
            if spec is None:
                raise JobParamsError(f"this server has no job kind {record.kind!r}")
            out.mkdir(parents=True, exist_ok=True)
            context = JobContext(self.hub, record.id, out, self._reporter(record.id))
            result = spec.run(context, dict(record.params))
            json.dumps(result)
        except Exception as exc:  # a job's failure is reported, never raised
            failed = _one_line(exc)
        for attempt in range(FINISH_ATTEMPTS):
            try:
                if failed is None:
                    done = job_table.finish(
                        self.hub,
                        record.id,
                        self.worker_id,
                        result=result,
                        result_bytes=directory_bytes(out),
                        now=self._now(),
                        ttl=self.limits.result_ttl,
                        max_result_bytes=self.limits.max_result_bytes,
                    )
                    kept = done is not None and done.status == job_table.DONE
                else:
                    job_table.fail(
                        self.hub,
                        record.id,
                        self.worker_id,
                        failed,
                        now=self._now(),
                        ttl=self.limits.result_ttl,
                    )
                    kept = False
                break
            except Exception:
                _log.warning("recording job %s failed (attempt %d)", record.id, attempt + 1)
                time.sleep(1.0)
        else:
            _log.error("job %s could not be recorded; it stays running until a restart", record.id)
            return
        if not kept:
            shutil.rmtree(out, ignore_errors=True)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(exc, HubError | JobParamsError | ValueError):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def default_jobs(hub: Hub, *, workers: int = 2, limits: JobLimits | None = None) -> JobManager:
    """A job manager with the built-in kinds registered (``limits`` default: from the
    environment, see :meth:`JobLimits.from_environment`)."""
    from exprhub.web.analysis_job import CLUSTER
    from exprhub.web.bundle_job import BUNDLE
    from exprhub.web.compendium_job import COMPENDIUM
    from exprhub.web.export_job import EXPORT
    from exprhub.web.routes_tissue_model import TISSUE_MODEL

    manager = JobManager(hub, workers=workers, limits=limits or JobLimits.from_environment())
    manager.register(EXPORT)
    manager.register(CLUSTER)
    manager.register(BUNDLE)
    manager.register(COMPENDIUM)
    manager.register(TISSUE_MODEL)
    return manager
