"""The catalogue's schema migrations: Alembic brings a hub's database to the newest revision
when the hub is opened.

Alembic (and the migration scripts) cost a few tenths of a second to import and run, which
every ``exprhub`` command that opens a hub would pay. :func:`migrate` therefore first reads
the stored revision with one query: a database already at :data:`HEAD_REVISION` is left
alone, and an empty database is given the declared schema (:data:`exprhub.hub.schema.metadata`,
which the migrations build exactly; tests compare the two) stamped with the newest revision.
Only a database at an older revision goes through Alembic.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy import inspect as inspect_database
from sqlalchemy.exc import OperationalError

from exprhub.hub.schema import metadata
from exprhub.storage.database import DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")

#: The newest revision in ``migrations/versions`` (a test checks it against Alembic's head:
#: a new migration updates it).
HEAD_REVISION = "0014"

# Alembic's own bookkeeping table, declared as Alembic creates it.
_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest schema revision this version of exprhub knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the database, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

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
        if revision in ("head", HEAD_REVISION) and _up_to_date_or_created(engine):
            return
        upgrade_with_alembic(engine, revision)
    except OperationalError as exc:
        raise DatabaseError(f"cannot open database {engine.url!r}: {exc.orig}") from None


def _up_to_date_or_created(engine: Engine) -> bool:
    """True if the database is already at :data:`HEAD_REVISION`, or was empty and now holds
    the newest schema; False if Alembic has to look at it."""
    with engine.begin() as connection:
        tables = set(inspect_database(connection).get_table_names())
        if _VERSION_TABLE.name in tables:
            stored = connection.execute(select(_VERSION_TABLE.c.version_num)).scalars().all()
            return stored == [HEAD_REVISION]
        if tables:  # tables but no revision: not a database exprhub made; let Alembic judge
            return False
        _create_newest_schema(connection)
        return True


def _create_newest_schema(connection: Connection) -> None:
    # The caller found no table: nothing to check first (saves a query per table).
    metadata.create_all(connection, checkfirst=False)
    _VERSION_TABLE.create(connection)
    connection.execute(insert(_VERSION_TABLE).values(version_num=HEAD_REVISION))


def upgrade_with_alembic(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` through the Alembic migrations, whatever the database
    holds (:func:`migrate` without its shortcuts; it raises ``OperationalError`` as is).

    Raises
    ------
    DatabaseError
        If the database is newer than this exprhub.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

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
