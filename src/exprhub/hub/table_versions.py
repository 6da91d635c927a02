"""When a new version of a record brings its data table, and when the stored table stays: the
rules of :meth:`exprhub.hub.HubWriter.put` for tables declared longer than they are (chopped
family files)."""

from __future__ import annotations

from exprhub.records import Record

#: ``record_conflicts.kind`` of a newer record whose incomplete table was not stored.
INCOMPLETE_TABLE = "incomplete-table"


def declared_rows(record: Record) -> int | None:
    """The number of table rows a record declares (``data_row_count``, or a DataSet's
    ``feature_count``), None when it declares none or not a number."""
    for name in ("data_row_count", "feature_count"):
        value = record.get(name)
        if value is not None:
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def completes_stored_table(record: Record, stored_rows: int | None) -> bool:
    """Whether a record of the same date as the stored one brings a more complete table: the
    stored table has fewer rows than the record declares and the new one has more rows than
    the stored one (two chopped family files naming one platform, cut at different lengths)."""
    table = record.table
    declared = declared_rows(record)
    if table is None or stored_rows is None or declared is None:
        return False
    return stored_rows < declared and table.n_rows > stored_rows


def incomplete_table_conflict(
    record: Record, stored_rows: int | None, stored_version: int
) -> str | None:
    """Why a newer version of a record must not bring its table, or None if it may.

    A newer record may update a record's metadata, but an incomplete table (fewer rows than
    the record declares, as in a chopped family file) never replaces a stored table with
    more rows: the stored table is kept and the returned message says so.
    """
    table = record.table
    declared = declared_rows(record)
    if table is None or declared is None or table.n_rows >= declared:
        return None
    if stored_rows is None or stored_rows <= table.n_rows:
        return None
    return (
        f"{record.key}: the newer version's table has {table.n_rows} of {declared} declared "
        f"rows (incomplete); kept the stored table of version {stored_version} "
        f"({stored_rows} rows), metadata updated"
    )
