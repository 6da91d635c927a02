"""The hub's job table (``exprhub.hub.jobs``), on SQLite and PostgreSQL: the life cycle of a
job, expiry, limits that hold when many connections create jobs at once, a claim that gives
each job to exactly one claimer, and migration 0007 on an existing hub."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from exprhub.hub import Hub
from exprhub.hub import jobs as job_table
from exprhub.hub.hub import MARKER, SQLITE_NAME
from exprhub.hub.migrate import current_revision, head_revision, migrate
from exprhub.storage.database import connect, sqlite_url

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LOOSE = {"max_active": 1000, "max_result_bytes": 10**12}


def test_job_life_cycle(make_hub):
    hub = make_hub()
    job = job_table.create(hub, "a" * 32, "export", {"accession": "GSM1"}, now=T0, **LOOSE)
    assert job.status == "queued" and job.params == {"accession": "GSM1"}
    assert job_table.get(hub, job.id) == job
    assert job_table.claim(hub, "w1", ["other"], now=T0) is None
    claimed = job_table.claim(hub, "w1", ["export"], now=T0 + timedelta(seconds=1))
    assert claimed is not None and claimed.status == "running" and claimed.worker == "w1"
    assert claimed.started == T0 + timedelta(seconds=1)
    assert job_table.claim(hub, "w2", ["export"], now=T0) is None
    assert job_table.update_progress(hub, job.id, "w1", 0.5, "half way")
    assert not job_table.update_progress(hub, job.id, "w2", 0.9, "not mine")
    assert job_table.usage(hub) == (1, 0)
    assert not job_table.delete_finished(hub, job.id)  # still running
    done = job_table.finish(
        hub,
        job.id,
        "w1",
        result={"files": ["GSM1.soft"]},
        result_bytes=300,
        now=T0 + timedelta(seconds=2),
        ttl=60,
        max_result_bytes=10**6,
    )
    assert done is not None and done.status == "done" and done.progress == 1.0
    assert done.message == "half way" and done.result == {"files": ["GSM1.soft"]}
    assert done.expires == T0 + timedelta(seconds=62)
    assert job_table.usage(hub) == (0, 300)
    assert [j.id for j in job_table.list_jobs(hub, statuses=["done"])] == [job.id]
    assert job_table.existing(hub, [job.id, "b" * 32]) == {job.id}
    assert job_table.expire(hub, now=T0 + timedelta(seconds=61)) == []
    assert job_table.expire(hub, now=T0 + timedelta(seconds=62)) == [job.id]
    expired = job_table.get(hub, job.id)
    assert expired is not None and expired.status == "expired" and expired.result is None
    assert job_table.usage(hub) == (0, 0) and job_table.existing(hub, [job.id]) == set()
    assert not job_table.delete_finished(hub, job.id)


def test_failed_and_deleted_jobs(make_hub):
    hub = make_hub()
    for n in range(2):
        job_table.create(hub, f"{n:032d}", "k", {}, now=T0 + timedelta(seconds=n), **LOOSE)
    first = job_table.claim(hub, "w", ["k"], now=T0)
    assert first is not None and first.id == f"{0:032d}"  # oldest first
    failed = job_table.fail(hub, first.id, "w", "it broke", now=T0, ttl=10)
    assert failed is not None and failed.status == "failed" and failed.error == "it broke"
    assert job_table.fail(hub, first.id, "w", "again", now=T0, ttl=10) is None
    assert job_table.delete_finished(hub, first.id) and job_table.get(hub, first.id) is None


def test_result_past_the_quota_fails_the_job(make_hub):
    hub = make_hub()
    limits = {"max_active": 10, "max_result_bytes": 250}
    for n in range(2):
        job_table.create(hub, f"{n:032d}", "k", {}, now=T0, **limits)
        job_table.claim(hub, "w", ["k"], now=T0)
    common = {"result": {}, "now": T0, "ttl": 60, "max_result_bytes": 250}
    done = job_table.finish(hub, f"{0:032d}", "w", result_bytes=200, **common)
    over = job_table.finish(hub, f"{1:032d}", "w", result_bytes=100, **common)
    assert done is not None and done.status == "done"
    assert over is not None and over.status == "failed" and over.result_bytes == 0
    assert over.error is not None and "250 bytes allowed (200 in use)" in over.error
    job_table.finish(hub, f"{1:032d}", "w", result_bytes=1, **common)  # not running: no-op
    assert job_table.usage(hub) == (0, 200)
    with pytest.raises(job_table.JobLimitReached) as refused:
        job_table.create(hub, "c" * 32, "k", {}, now=T0, max_active=10, max_result_bytes=200)
    assert (refused.value.limit, refused.value.in_use) == ("max_result_bytes", 200)
    assert job_table.get(hub, "c" * 32) is None


def test_expired_jobs_are_remembered_up_to_a_bound(make_hub):
    hub = make_hub()
    for n in range(4):
        job_id = f"{n:032d}"
        job_table.create(hub, job_id, "k", {}, now=T0, **LOOSE)
        job_table.claim(hub, "w", ["k"], now=T0)
        job_table.fail(hub, job_id, "w", "x", now=T0 + timedelta(seconds=n), ttl=1)
    assert len(job_table.expire(hub, now=T0 + timedelta(seconds=10), remember=2)) == 4
    assert {j.id for j in job_table.list_jobs(hub)} == {f"{3:032d}", f"{2:032d}"}


def test_jobs_of_a_stopped_worker_fail(make_hub):
    hub = make_hub()
    for n in range(3):
        job_table.create(hub, f"{n:032d}", "k", {}, now=T0, **LOOSE)
    for worker in ("gone", "gone", "live"):
        job_table.claim(hub, worker, ["k"], now=T0)
    assert job_table.running_workers(hub) == {"gone", "live"}
    ids = job_table.fail_running(hub, "gone", "interrupted", now=T0, ttl=60)
    assert sorted(ids) == [f"{0:032d}", f"{1:032d}"]
    assert {j.id: j.status for j in job_table.list_jobs(hub)} == {
        f"{0:032d}": "failed",
        f"{1:032d}": "failed",
        f"{2:032d}": "running",
    }
    assert job_table.running_workers(hub) == {"live"}


def _at_once(count: int, work) -> list:  # type: ignore[no-untyped-def]
    """Run ``work(i)`` on ``count`` threads released together; their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_each_job_is_claimed_exactly_once(make_hub):
    hub = make_hub()
    ids = {f"{n:032d}" for n in range(40)}
    for job_id in sorted(ids):
        job_table.create(hub, job_id, "k", {}, now=T0, **LOOSE)
    # one hub object (engine, connection pool) per claimer, as in separate processes
    claimers = [Hub(hub.home, database_url=hub.database_url) for _ in range(4)]

    def claim_all(i: int) -> list[str]:
        taken = []
        while (job := job_table.claim(claimers[i], f"w{i}", ["k"], now=T0)) is not None:
            taken.append(job.id)
        return taken

    try:
        claimed = _at_once(4, claim_all)
    finally:
        for claimer in claimers:
            claimer.close()
    everything = [job_id for taken in claimed for job_id in taken]
    assert sorted(everything) == sorted(ids)  # none twice, none left
    owners = {j.id: j.worker for j in job_table.list_jobs(hub)}
    for i, taken in enumerate(claimed):
        assert all(owners[job_id] == f"w{i}" for job_id in taken)


def test_the_active_limit_holds_under_concurrent_creation(make_hub):
    hub = make_hub()
    creators = [Hub(hub.home, database_url=hub.database_url) for _ in range(6)]

    def create_two(i: int) -> int:
        created = 0
        for n in range(2):
            try:
                job_table.create(
                    creators[i], f"{i}{n}".ljust(32, "0"), "k", {}, now=T0, max_active=5,
                    max_result_bytes=10**6,
                )  # fmt: skip
            except job_table.JobLimitReached as exc:
                assert (exc.limit, exc.maximum, exc.in_use) == ("max_active", 5, 5)
            else:
                created += 1
        return created

    try:
        assert sum(_at_once(6, create_two)) == 5
    finally:
        for creator in creators:
            creator.close()
    assert job_table.usage(hub) == (5, 0)


def test_migration_adds_the_job_table_to_an_existing_hub(tmp_path, database_url):
    home = tmp_path / "old"
    home.mkdir()
    (home / MARKER).write_text('{"format": 1}')
    engine = connect(database_url or sqlite_url(home / SQLITE_NAME))
    migrate(engine, "0006")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO records (type, key, accession, title, version, created_at,"
                " updated_at, sort_key) VALUES ('GSM', 'GSM1', 'GSM1', 'kept', 1, :t, :t,"
                " '0004GSM1')"
            ),
            {"t": T0},
        )
    engine.dispose()
    with Hub(home, database_url=database_url) as hub:
        assert current_revision(hub.engine) == head_revision()
        with hub.engine.connect() as connection:
            assert connection.execute(text("SELECT title FROM records")).scalar_one() == "kept"
        job = job_table.create(hub, "d" * 32, "export", {}, now=T0, **LOOSE)
        assert job_table.get(hub, job.id) == job
