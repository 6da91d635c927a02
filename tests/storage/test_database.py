"""Tests for the SQLite settings every connection of a hub gets."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from exprhub.storage.database import (
    SQLITE_BUSY_TIMEOUT_MS,
    SQLITE_WAL_CHECKPOINT_PAGES,
    SQLITE_WAL_KEPT_BYTES,
    connect,
    sqlite_url,
)


def test_every_sqlite_connection_gets_the_settings(tmp_path: Path) -> None:
    engine = connect(sqlite_url(tmp_path / "hub.sqlite"))
    try:
        for _ in range(2):  # a second connection from the pool, too
            with engine.connect() as connection:
                pragma = lambda name: connection.execute(text(f"PRAGMA {name}")).scalar()  # noqa: E731
                assert pragma("journal_mode") == "wal"
                assert pragma("foreign_keys") == 1
                assert pragma("synchronous") == 1  # NORMAL
                assert pragma("busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
                assert pragma("wal_autocheckpoint") == SQLITE_WAL_CHECKPOINT_PAGES
                assert pragma("journal_size_limit") == SQLITE_WAL_KEPT_BYTES
    finally:
        engine.dispose()


def test_the_wal_is_checkpointed_after_its_page_count(tmp_path: Path) -> None:
    """Commits go on appending to the WAL until it holds the page count; then it is copied
    into the database and the log is reused from its start."""
    path = tmp_path / "hub.sqlite"
    engine = connect(sqlite_url(path))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x BLOB)"))
            page = connection.execute(text("PRAGMA page_size")).scalar()
        wal = Path(f"{path}-wal")
        sizes = []
        for _ in range(3 * SQLITE_WAL_CHECKPOINT_PAGES // 250):
            with engine.begin() as connection:  # ~250 pages a commit
                connection.execute(text("DELETE FROM t"))
                connection.execute(text("INSERT INTO t VALUES (zeroblob(:n))"), {"n": 250 * page})
            sizes.append(wal.stat().st_size)
        assert max(sizes) >= SQLITE_WAL_CHECKPOINT_PAGES * page  # grown to the page count
        # no further: checkpointed, then the log was written again from its start
        assert max(sizes) < (SQLITE_WAL_CHECKPOINT_PAGES + 600) * (page + 24)
    finally:
        engine.dispose()
