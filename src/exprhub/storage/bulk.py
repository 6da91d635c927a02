"""Rows inserted in bulk inside a write transaction.

An import adds a few dozen attribute, column, relation and characteristic rows per record and
one row per matrix feature (54,675 for a large array platform). Sent one statement per
record, or as SQLAlchemy parameter dictionaries, the per-statement and per-row overhead of
the SQL layer costs more than the database does; rows are therefore buffered as plain tuples
and sent with one driver-level ``executemany`` per table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, insert

#: Rows buffered (all tables together) before they are sent.
BUFFER_ROWS = 20_000
#: Positional placeholder of each DB-API parameter style the rows are sent with directly.
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


class RowBuffer:
    """Rows waiting to be inserted, per table, each a tuple of values for all of the table's
    columns in their declared order.

    Anything that reads or deletes these tables in the same transaction must call
    :meth:`flush` first.
    """

    def __init__(self, connection: Connection, limit: int = BUFFER_ROWS) -> None:
        self.connection = connection
        self.limit = limit
        self._rows: dict[Table, list[tuple[Any, ...]]] = {}
        self._count = 0

    def add(self, table: Table, row: tuple[Any, ...]) -> None:
        """Buffer one row of ``table``."""
        self._rows.setdefault(table, []).append(row)
        self._count += 1

    def add_many(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        """Buffer rows of ``table``."""
        self._rows.setdefault(table, []).extend(rows)
        self._count += len(rows)

    def flush_if_full(self) -> None:
        """Send the buffered rows if there are more than the limit."""
        if self._count >= self.limit:
            self.flush()

    def flush(self) -> None:
        """Send every buffered row."""
        rows, self._rows, self._count = self._rows, {}, 0
        for table, values in rows.items():
            if values:
                self._insert(table, values)

    def _insert(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        dialect = self.connection.dialect
        mark = _PLACEHOLDERS.get(dialect.paramstyle)
        names = [c.name for c in table.columns]
        if mark is None:  # a driver with named parameters: let SQLAlchemy bind them
            self.connection.execute(insert(table), [dict(zip(names, r, strict=True)) for r in rows])
            return
        quote = dialect.identifier_preparer
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            quote.format_table(table),
            ", ".join(quote.quote(n) for n in names),
            ", ".join([mark] * len(names)),
        )
        self.connection.exec_driver_sql(sql, rows)
