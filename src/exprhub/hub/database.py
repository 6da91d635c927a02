"""Database connection and schema migrations for the hub's metadata.

SQLite (a file in the hub directory, WAL mode) is the embedded default; a PostgreSQL URL
(``postgresql+psycopg://...``) selects the server database. Either way the schema is brought
to the newest revision by Alembic when a hub is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseError(RuntimeError):
    """The metadata database cannot be reached or used."""


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path.resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
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


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest schema revision this version of exprhub knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the database, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: newest).

    Raises
    ------
    DatabaseError
        If the database cannot be reached or is newer than this exprhub.
    """
    try:
        current = current_revision(engine)
        known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
        if current is not None and current not in known:
            raise DatabaseError(
                f"the hub's schema revision {current!r} is newer than this exprhub knows "
                f"(newest: {head_revision()!r}); upgrade exprhub"
            )
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise DatabaseError(f"cannot open database {engine.url!r}: {exc.orig}") from None
