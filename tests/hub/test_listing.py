"""Listings and organism counts: pages in accession-number order, a series without organisms
counting its samples' (relations in either direction), counts kept between calls following
every import."""

from __future__ import annotations

from exprhub.hub.listing import (
    ListingFilter,
    characteristic_keys,
    list_records,
    organism_counts,
    series_organisms,
)
from exprhub.records import RecordType
from tests.hub.test_hub import all_records, make_sample


def test_series_take_their_samples_organisms(make_hub) -> None:
    hub = make_hub()
    hub.put_records(all_records())
    assert series_organisms(hub) == {"GSE900": ["Homo sapiens"]}
    human = next(row for row in organism_counts(hub) if row["name"] == "Homo sapiens")
    assert human == {"name": "Homo sapiens", "samples": 2, "series": 1, "platforms": 1}


def test_counts_follow_imports(make_hub) -> None:
    hub = make_hub()
    hub.put_records(all_records())
    before = organism_counts(hub)
    before[0]["samples"] = -1  # callers get copies
    assert organism_counts(hub)[0]["samples"] == 2
    mouse = make_sample("GSM3", ["1", "2"])
    mouse.attributes = [
        (k, "Mus musculus" if k.startswith("Sample_organism") else v) for k, v in mouse.attributes
    ]
    hub.put_records([mouse])  # names GSE900 as its series: the series now has both organisms
    after = {row["name"]: row for row in organism_counts(hub)}
    assert after["Mus musculus"] == {
        "name": "Mus musculus",
        "samples": 1,
        "series": 1,
        "platforms": 0,
    }
    assert after["Homo sapiens"]["samples"] == 2
    assert series_organisms(hub) == {"GSE900": ["Homo sapiens", "Mus musculus"]}


def test_pages_in_accession_number_order(make_hub) -> None:
    hub = make_hub()
    keys = ["GSM10", "GSM9", "GSM100", "GSM1", "sample B", "GSM11"]
    hub.put_records([make_sample(key, ["1", "2"]) for key in keys])
    expected = ["GSM1", "GSM9", "GSM10", "GSM11", "GSM100", "sample B"]  # length, then key
    total, rows = list_records(hub, RecordType.SAMPLE, ListingFilter())
    assert total == len(keys)
    assert [row.key for row in rows] == expected
    _, page = list_records(hub, RecordType.SAMPLE, ListingFilter(), limit=2, offset=2)
    assert [row.key for row in page] == expected[2:4]
    assert [row.key for row in hub.records(RecordType.SAMPLE)] == expected


def test_totals_follow_imports(make_hub) -> None:
    hub = make_hub()
    hub.put_records([make_sample("GSM1", ["1", "2"]), make_sample("GSM2", ["1", "2"])])
    human = ListingFilter(organism="Homo sapiens")
    assert list_records(hub, RecordType.SAMPLE, human, limit=1)[0] == 2
    assert list_records(hub, RecordType.SAMPLE, human, limit=1, offset=1)[0] == 2  # kept
    hub.put_records([make_sample("GSM3", ["1", "2"])])
    total, rows = list_records(hub, RecordType.SAMPLE, human, limit=1, offset=2)
    assert (total, [row.key for row in rows]) == (3, ["GSM3"])
    assert list_records(hub, RecordType.SAMPLE, ListingFilter(organism="Mus musculus"))[0] == 0


def test_characteristic_keys_follow_imports(make_hub) -> None:
    hub = make_hub()
    hub.put_records([make_sample("GSM1", ["1", "2"])])
    assert "strain" not in characteristic_keys(hub)
    strain = make_sample("GSM2", ["1", "2"])
    strain.attributes.append(("Sample_characteristics_ch1", "strain: C57BL/6"))
    hub.put_records([strain])
    assert "strain" in characteristic_keys(hub)


def test_platforms_of_a_series_are_listed(make_hub, geo_fixtures) -> None:
    from exprhub.ingest.importer import import_file

    hub = make_hub()
    import_file(hub, geo_fixtures / "gemma" / "GSE3791_family.soft.gz")
    _, rows = list_records(hub, RecordType.PLATFORM, ListingFilter(series="GSE3791"))
    assert [r.key for r in rows] == ["GPL96", "GPL97", "GPL339", "GPL340"]
    assert list_records(hub, RecordType.PLATFORM, ListingFilter(series="GSE9999"))[1] == []
