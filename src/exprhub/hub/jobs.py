"""The hub's job table: background jobs of the web server, kept in the catalogue.

A job is a row of ``jobs`` that goes ``queued`` -> ``running`` -> ``done`` or ``failed``, and
finally ``expired`` once the time to live of its results has passed (an expired row is a
tombstone: its results are gone, and it answers "expired" rather than "unknown"; the newest
:data:`EXPIRED_REMEMBERED` are kept). Rows survive a restart, and every process serving the hub
sees the same jobs, so any of them can answer for any job. Result files are not in the
database: the web layer keeps them under the hub directory.

Concurrency rules:

- :func:`create` counts the jobs queued or running and the result bytes kept, and inserts the
  new job, in one transaction serialized with every other :func:`create` and :func:`finish`
  (SQLite: the insert takes the database's write lock before the counts are read; PostgreSQL:
  a transaction-level advisory lock), so limits hold across processes.
- :func:`claim` moves one queued job to ``running`` with a compare-and-set (``UPDATE ... WHERE
  status = 'queued'``): however many processes poll, exactly one of them runs a job.
- :func:`update_progress`, :func:`finish` and :func:`fail` change only a job that is still
  running, and only for the worker that claimed it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.exc import OperationalError

from exprhub.hub import schema as s
from exprhub.hub.errors import HubBusy, HubError
from exprhub.hub.hub import Hub
from exprhub.storage.database import SQLITE_BUSY_TIMEOUT_MS

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
EXPIRED = "expired"
#: Statuses of a job that is still to finish.
ACTIVE = (QUEUED, RUNNING)
#: Statuses of a finished job whose row and results are kept until they expire.
FINISHED = (DONE, FAILED)
#: Expired jobs remembered as tombstones (older ones are forgotten entirely).
EXPIRED_REMEMBERED = 10_000

#: Seconds a job's write waits for SQLite's write lock (a long import or refine may hold it)
#: before :class:`~exprhub.hub.errors.HubBusy` says to come back, instead of the 30 s every
#: other connection waits: a client is better answered "busy, retry" at once than held.
JOB_WRITE_WAIT = 5
#: Seconds :class:`~exprhub.hub.errors.HubBusy` suggests waiting before trying again.
RETRY_AFTER = 5

_LOCK_KEY = int.from_bytes(
    hashlib.blake2b(b"exprhub.hub.jobs:queue", digest_size=8).digest(), "big", signed=True
)


class JobLimitReached(HubError):
    """A job cannot be created now: a limit of the queue is reached.

    Parameters
    ----------
    limit
        ``max_active`` (jobs queued or running) or ``max_result_bytes`` (result bytes kept).
    maximum
        The limit.
    in_use
        The current use.
    """

    def __init__(self, limit: str, maximum: int, in_use: int) -> None:
        super().__init__(f"{limit}: {in_use} in use of {maximum}")
        self.limit = limit
        self.maximum = maximum
        self.in_use = in_use


@dataclass(frozen=True)
class JobRecord:
    """One row of the job table.

    Attributes
    ----------
    id, kind
        The job's id and kind.
    params
        Its parameters (JSON-ready).
    status
        ``queued``, ``running``, ``done``, ``failed`` or ``expired``.
    progress, message, error
        Progress between 0 and 1, the last progress message, and why it failed.
    result
        What a done job returned (JSON-ready), else None.
    result_bytes
        Bytes of result files kept for it.
    created, started, finished, expires
        When it was created, claimed, finished and when (finished) it expires; UTC.
    worker
        Who claimed it (see :func:`claim`), else None.
    """

    id: str
    kind: str
    params: dict[str, Any]
    status: str
    progress: float
    message: str | None
    error: str | None
    result: dict[str, Any] | None
    result_bytes: int
    created: datetime
    started: datetime | None
    finished: datetime | None
    expires: datetime | None
    worker: str | None

    @property
    def is_finished(self) -> bool:
        """Whether the job is done or failed (and not expired)."""
        return self.status in FINISHED


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(row: Any) -> JobRecord:
    created = _utc(row.created_at)
    assert created is not None
    return JobRecord(
        id=row.id,
        kind=row.kind,
        params=json.loads(row.params),
        status=row.status,
        progress=float(row.progress),
        message=row.message,
        error=row.error,
        result=json.loads(row.result) if row.result is not None else None,
        result_bytes=int(row.result_bytes),
        created=created,
        started=_utc(row.started_at),
        finished=_utc(row.finished_at),
        expires=_utc(row.expires_at),
        worker=row.worker,
    )


@contextmanager
def _job_write(hub: Hub, what: str) -> Iterator[Connection]:
    """A write transaction that waits at most :data:`JOB_WRITE_WAIT` seconds for SQLite's
    write lock, then raises :class:`HubBusy` (nothing written)."""
    with hub.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={JOB_WRITE_WAIT * 1000}")
            connection.commit()  # ends the transaction the statement began
        try:
            with connection.begin():
                yield connection
        except OperationalError as exc:
            if sqlite and "locked" in str(exc.orig).lower():
                raise HubBusy(
                    f"{what}: the hub's database is busy with another write (an import or a "
                    f"refine); try again in {RETRY_AFTER} s",
                    RETRY_AFTER,
                ) from None
            raise
        finally:
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                connection.commit()


@contextmanager
def _serialized(hub: Hub, what: str | None = None) -> Iterator[Connection]:
    """A transaction that no other :func:`create` or :func:`finish` runs beside; with
    ``what``, one that gives up after :data:`JOB_WRITE_WAIT` seconds (see :func:`_job_write`)."""
    with _job_write(hub, what) if what else hub.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        yield connection


def _active(connection: Connection) -> int:
    query = select(func.count()).select_from(s.jobs).where(s.jobs.c.status.in_(ACTIVE))
    return int(connection.execute(query).scalar_one())


def _kept(connection: Connection) -> int:
    query = select(func.coalesce(func.sum(s.jobs.c.result_bytes), 0)).where(
        s.jobs.c.status.in_(FINISHED)
    )
    return int(connection.execute(query).scalar_one())


def create(
    hub: Hub,
    job_id: str,
    kind: str,
    params: dict[str, Any],
    *,
    now: datetime,
    max_active: int,
    max_result_bytes: int,
) -> JobRecord:
    """Queue a new job, unless the queue's limits are reached.

    Parameters
    ----------
    hub
        The hub.
    job_id, kind, params
        The new job's id (unique), kind and JSON-ready parameters.
    now
        The creation time.
    max_active
        Most jobs queued or running at once, this one included.
    max_result_bytes
        The job is refused while the result bytes kept reach this.

    Raises
    ------
    JobLimitReached
        When ``max_active`` jobs are queued or running, or the kept results reach
        ``max_result_bytes``; nothing is written then.
    HubBusy
        When SQLite's write lock stays taken by another writer for :data:`JOB_WRITE_WAIT`
        seconds; nothing is written then.
    """
    with _serialized(hub, "cannot queue the job") as connection:
        # Inserting first takes SQLite's write lock before the counts are read (a read first
        # would give a snapshot that another process's commit can make stale). Raising
        # inside the block rolls the insert back.
        connection.execute(
            insert(s.jobs).values(
                id=job_id,
                kind=kind,
                params=json.dumps(params),
                status=QUEUED,
                progress=0.0,
                result_bytes=0,
                created_at=now,
            )
        )
        active = _active(connection)
        if active > max_active:
            raise JobLimitReached("max_active", max_active, active - 1)
        kept = _kept(connection)
        if kept >= max_result_bytes:
            raise JobLimitReached("max_result_bytes", max_result_bytes, kept)
    return JobRecord(
        id=job_id,
        kind=kind,
        params=json.loads(json.dumps(params)),
        status=QUEUED,
        progress=0.0,
        message=None,
        error=None,
        result=None,
        result_bytes=0,
        created=now.astimezone(UTC),
        started=None,
        finished=None,
        expires=None,
        worker=None,
    )


def claim(hub: Hub, worker: str, kinds: Collection[str], *, now: datetime) -> JobRecord | None:
    """Take the oldest queued job of one of ``kinds`` for ``worker`` (it becomes running).

    Exactly one caller gets a given job, whichever processes call at once.

    Parameters
    ----------
    hub
        The hub.
    worker
        Who runs the job (kept in the row; see :func:`fail_running`).
    kinds
        The job kinds the caller can run.
    now
        The start time.

    Returns
    -------
    JobRecord or None
        The claimed job, or None when no queued job of these kinds is left.
    """
    if not kinds:
        return None
    while True:
        with hub.engine.connect() as connection:
            candidates = (
                connection.execute(
                    select(s.jobs.c.id)
                    .where(s.jobs.c.status == QUEUED, s.jobs.c.kind.in_(list(kinds)))
                    .order_by(s.jobs.c.created_at, s.jobs.c.id)
                    .limit(8)
                )
                .scalars()
                .all()
            )
        if not candidates:
            return None
        for job_id in candidates:
            with hub.engine.begin() as connection:
                taken = connection.execute(
                    update(s.jobs)
                    .where(s.jobs.c.id == job_id, s.jobs.c.status == QUEUED)
                    .values(status=RUNNING, worker=worker, started_at=now)
                ).rowcount
            if taken == 1:
                return get(hub, job_id)
        # every candidate was taken by someone else meanwhile: look again


def update_progress(
    hub: Hub, job_id: str, worker: str, progress: float, message: str | None
) -> bool:
    """Record a running job's progress (and message, unless None); False when the job is not
    running for ``worker`` any more."""
    values: dict[str, Any] = {"progress": progress}
    if message is not None:
        values["message"] = message
    with hub.engine.begin() as connection:
        changed = connection.execute(
            update(s.jobs)
            .where(s.jobs.c.id == job_id, s.jobs.c.status == RUNNING, s.jobs.c.worker == worker)
            .values(**values)
        ).rowcount
    return bool(changed)


def finish(
    hub: Hub,
    job_id: str,
    worker: str,
    *,
    result: dict[str, Any],
    result_bytes: int,
    now: datetime,
    ttl: float,
    max_result_bytes: int,
) -> JobRecord | None:
    """Record a running job's result: it is done, unless its ``result_bytes`` would take the
    bytes kept past ``max_result_bytes``, in which case it failed (with a one-line error).

    Returns
    -------
    JobRecord or None
        The finished job; None when it was not running for ``worker``.
    """
    running = (s.jobs.c.id == job_id, s.jobs.c.status == RUNNING, s.jobs.c.worker == worker)
    with _serialized(hub) as connection:
        # the result is counted in before the sum is read (see create)
        changed = connection.execute(
            update(s.jobs)
            .where(*running)
            .values(
                status=DONE,
                result=json.dumps(result),
                result_bytes=result_bytes,
                progress=1.0,
                finished_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
        ).rowcount
        if not changed:
            return None
        kept = _kept(connection)
        if kept > max_result_bytes:
            in_use = kept - result_bytes
            connection.execute(
                update(s.jobs)
                .where(s.jobs.c.id == job_id)
                .values(
                    status=FAILED,
                    result=None,
                    result_bytes=0,
                    progress=0.0,
                    error=f"the result ({result_bytes} bytes) would take the job results kept "
                    f"past the {max_result_bytes} bytes allowed ({in_use} in use)",
                )
            )
    return get(hub, job_id)


def fail(
    hub: Hub, job_id: str, worker: str, error: str, *, now: datetime, ttl: float
) -> JobRecord | None:
    """Record that a running job failed with ``error``; None when it was not running for
    ``worker``."""
    with hub.engine.begin() as connection:
        changed = connection.execute(
            update(s.jobs)
            .where(s.jobs.c.id == job_id, s.jobs.c.status == RUNNING, s.jobs.c.worker == worker)
            .values(
                status=FAILED,
                error=error,
                result=None,
                result_bytes=0,
                finished_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
        ).rowcount
    return get(hub, job_id) if changed else None


def running_workers(hub: Hub) -> set[str]:
    """The workers that have jobs running."""
    with hub.engine.connect() as connection:
        rows = connection.execute(
            select(s.jobs.c.worker).where(s.jobs.c.status == RUNNING).distinct()
        )
        return {worker for (worker,) in rows if worker is not None}


def fail_running(hub: Hub, worker: str, error: str, *, now: datetime, ttl: float) -> list[str]:
    """Mark every job running for ``worker`` failed with ``error`` (for a worker known to be
    gone); the ids of those jobs."""
    with hub.engine.begin() as connection:
        return list(
            connection.execute(
                update(s.jobs)
                .where(s.jobs.c.status == RUNNING, s.jobs.c.worker == worker)
                .values(
                    status=FAILED,
                    error=error,
                    result=None,
                    result_bytes=0,
                    finished_at=now,
                    expires_at=now + timedelta(seconds=ttl),
                )
                .returning(s.jobs.c.id)
            ).scalars()
        )


def get(hub: Hub, job_id: str) -> JobRecord | None:
    """The job with this id (expired ones included), or None."""
    with hub.engine.connect() as connection:
        row = connection.execute(select(s.jobs).where(s.jobs.c.id == job_id)).first()
    return _record(row) if row is not None else None


def list_jobs(
    hub: Hub, *, statuses: Sequence[str] | None = None, limit: int = 1000
) -> list[JobRecord]:
    """Jobs, newest first (only those in ``statuses`` when given), at most ``limit``."""
    query = select(s.jobs).order_by(s.jobs.c.created_at.desc(), s.jobs.c.id).limit(limit)
    if statuses is not None:
        query = query.where(s.jobs.c.status.in_(list(statuses)))
    with hub.engine.connect() as connection:
        return [_record(row) for row in connection.execute(query)]


def existing(hub: Hub, job_ids: Collection[str]) -> set[str]:
    """Which of ``job_ids`` are jobs that are not expired (whose result files are kept)."""
    found: set[str] = set()
    ids = list(job_ids)
    with hub.engine.connect() as connection:
        for start in range(0, len(ids), 500):
            found.update(
                connection.execute(
                    select(s.jobs.c.id).where(
                        s.jobs.c.id.in_(ids[start : start + 500]), s.jobs.c.status != EXPIRED
                    )
                ).scalars()
            )
    return found


def usage(hub: Hub) -> tuple[int, int]:
    """Jobs queued or running, and result bytes kept."""
    with hub.engine.connect() as connection:
        return _active(connection), _kept(connection)


def delete_finished(hub: Hub, job_id: str) -> bool:
    """Forget a done or failed job; False when there is no such finished job."""
    with hub.engine.begin() as connection:
        removed = connection.execute(
            delete(s.jobs).where(s.jobs.c.id == job_id, s.jobs.c.status.in_(FINISHED))
        ).rowcount
    return bool(removed)


def expire(hub: Hub, *, now: datetime, remember: int = EXPIRED_REMEMBERED) -> list[str]:
    """Mark finished jobs whose time to live has passed at ``now`` as expired (their results
    must then be removed), and forget all but the ``remember`` newest expired jobs.

    Returns
    -------
    list of str
        Ids of the jobs that expired now.
    """
    is_due = (s.jobs.c.status.in_(FINISHED), s.jobs.c.expires_at <= now)
    # a read first: most calls find nothing due and need no write lock
    with hub.engine.connect() as connection:
        if connection.execute(select(s.jobs.c.id).where(*is_due).limit(1)).first() is None:
            return []
    with _job_write(hub, "cannot expire finished jobs") as connection:
        due = list(
            connection.execute(
                update(s.jobs)
                .where(*is_due)
                .values(status=EXPIRED, result=None, result_bytes=0)
                .returning(s.jobs.c.id)
            ).scalars()
        )
        newest = (
            select(s.jobs.c.id)
            .where(s.jobs.c.status == EXPIRED)
            .order_by(s.jobs.c.expires_at.desc(), s.jobs.c.id)
            .limit(remember)
        )
        connection.execute(
            delete(s.jobs).where(s.jobs.c.status == EXPIRED, s.jobs.c.id.not_in(newest))
        )
    return due
