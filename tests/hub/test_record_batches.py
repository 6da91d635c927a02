"""load_records reads many records in a few queries, equal to reading them one by one."""

from __future__ import annotations

from exprhub.hub.record_batches import load_records
from exprhub.ingest.importer import import_file
from exprhub.records import RecordType


def test_load_records_equals_record_by_record(make_hub, geo_fixtures):
    with make_hub() as hub:
        import_file(hub, geo_fixtures / "gemma/GSE3791_family.soft.gz")
        keys = hub.related("GSE3791")["sample"]
        loaded = load_records(hub, [*keys, "GSM1", "GSE3791"], RecordType.SAMPLE)
        assert sorted(loaded) == sorted(keys)  # unknown keys and other types are absent
        for key in keys:
            one = hub.record(key, RecordType.SAMPLE, table=False)
            assert loaded[key].attributes == one.attributes
            assert loaded[key].columns == one.columns
            assert type(loaded[key]) is type(one) and loaded[key].table is None
        [series] = load_records(hub, ["GSE3791"], RecordType.SERIES).values()
        assert series.attributes == hub.record("GSE3791", table=False).attributes
