"""Database connections for the hub's metadata.

SQLite (a file in the hub directory, WAL mode) is the embedded default; a PostgreSQL URL
(``postgresql+psycopg://...``) selects the server database. The catalogue's schema and its
migrations are the hub's (:mod:`exprhub.hub.migrate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class DatabaseError(RuntimeError):
    """The metadata database cannot be reached or used."""


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path.resolve()}"


#: Milliseconds a SQLite connection waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: WAL pages after which a commit copies the log into the database (SQLite's default is
#: 1,000). An import commits each file; at 1,000 pages every few commits waited for a
#: checkpoint (fsync included): 0.37-0.40 ms a sample of 200 series files, against 0.08-0.09
#: at 10,000, where a page written by many commits is copied once.
SQLITE_WAL_CHECKPOINT_PAGES = 10_000
#: Bytes the WAL file is cut back to after a checkpoint (it is reused, not shrunk, otherwise).
SQLITE_WAL_KEPT_BYTES = 64 << 20


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_KEPT_BYTES}")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def connect(url: str) -> Engine:
    """Create an engine for ``url`` (SQLite pragmas applied on every connection).

    Raises
    ------
    DatabaseError
        If the URL is malformed or names an unsupported database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"invalid database URL {url!r}: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=16, max_overflow=32
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        try:
            return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30)
        except ModuleNotFoundError as exc:
            raise DatabaseError(
                f"PostgreSQL support needs the psycopg driver ({exc.name} is missing): "
                "pip install 'exprhub[postgres]'"
            ) from None
    raise DatabaseError(
        f"unsupported database {backend!r}; use sqlite:/// or postgresql+psycopg://"
    )
