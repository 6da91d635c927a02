"""Organism counts: a series without organisms counts its samples' (relations in either
direction), and the counts kept between calls follow every import."""

from __future__ import annotations

from exprhub.hub.listing import organism_counts, series_organisms
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
