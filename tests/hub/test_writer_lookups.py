"""A series' samples are looked up in one query when the series is put (a family file lists its
samples after it): the outcomes are those of looking each sample up on its own, on SQLite and
PostgreSQL."""

from __future__ import annotations

from sqlalchemy import event

from exprhub.hub import Hub
from tests.hub.test_hub import make_platform, make_sample, make_series


def _record_lookups(hub: Hub) -> list[str]:
    """Statements that read rows of ``records`` by key, as they run."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        flat = " ".join(statement.split())
        if flat.startswith("SELECT") and "FROM records WHERE records.type" in flat:
            seen.append(flat)

    event.listen(hub.engine, "before_cursor_execute", note)
    return seen


def test_samples_of_a_series_are_looked_up_once(make_hub):
    hub = make_hub()
    lookups = _record_lookups(hub)
    records = [make_series(), make_platform(), make_sample("GSM1", ["1", "2", "3"])]
    records.append(make_sample("GSM2", ["4", "5", "6"]))
    assert hub.put_records(records) == ["added"] * 4
    # series, platform, then one query for both samples
    assert len(lookups) == 3
    assert hub.record("GSM2").get("geo_accession") == "GSM2"

    lookups.clear()
    again = [make_series(), make_platform(), make_sample("GSM1", ["1", "2", "3"])]
    again.append(make_sample("GSM2", ["9", "9", "9"], date="Feb 01 2010"))
    assert hub.put_records(again) == ["unchanged", "unchanged", "unchanged", "updated"]
    assert len(lookups) == 3
    assert [h["version"] for h in hub.history("GSM2")] == [1]
    _, values = hub.sample_values("GSM2")
    assert values.tolist() == [9, 9, 9]


def test_a_sample_put_twice_or_before_its_series_is_looked_up_again(make_hub):
    hub = make_hub()
    early = make_sample("GSM1", ["1", "2", "3"])
    newer = make_sample("GSM2", ["7", "8", "9"], date="Feb 01 2010")
    records = [early, make_platform(), make_series(), make_sample("GSM2", ["4", "5", "6"]), newer]
    # GSM1 was put before its series named it; GSM2 twice: the second put sees the first
    assert hub.put_records(records) == ["added", "added", "added", "added", "updated"]
    assert [h["version"] for h in hub.history("GSM2")] == [1]
    _, values = hub.sample_values("GSM2")
    assert values.tolist() == [7, 8, 9]
    assert hub.put_records([make_series(), early]) == ["unchanged", "unchanged"]


def test_a_flush_inside_the_transaction_drops_what_was_looked_up(make_hub):
    hub = make_hub()
    with hub.writer() as writer:
        writer.put(make_platform())
        writer.put(make_series())
        writer.flush()
        assert writer.put(make_sample("GSM1", ["1", "2", "3"])).value == "added"
    assert hub.record("GSM1").table is not None
