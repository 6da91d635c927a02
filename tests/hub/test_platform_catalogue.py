"""The set-based reads of :mod:`exprhub.hub.platform_catalogue` give what the per-key reads
give (``Hub.related``, ``record_origin``, ``platform_table_tag``), on real GEO files with
every kind of relation: DataSets and their series, a platform known only from a DataSet or
only from its GEO annotation, a SuperSeries and its SubSeries, samples named but not stored;
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from exprhub.hub import Hub, RecordNotFound
from exprhub.hub import platform_catalogue as catalogue
from exprhub.records import RecordType

FILES = [
    "geoquery/GDS507.soft.gz",  # GPL97 known only from the DataSet (and its annotation)
    "geoquery/GPL97.annot.gz",
    "gemma/GDS1794.soft.gz",  # GDS1794 <-> GSE2870 on GPL1355 (platform record stored)
    "gemma/GSE2870_family.soft.gz",
    "gemma/GSE11897_family.soft.gz",  # SuperSeries on 3 platforms, SubSeries GSE7774
    "gemma/GSE7774_family.soft.gz",
    "gemma/GDS3254.soft.gz",
]


@pytest.fixture
def related_hub(make_hub) -> Hub:  # type: ignore[no-untyped-def]
    hub: Hub = make_hub(files=tuple(FILES))
    return hub


def _related_one_by_one(hub: Hub, keys: list[str]) -> dict[str, dict[str, list[str]]]:
    out = {}
    for key in keys:
        try:
            out[key] = hub.related(key)
        except RecordNotFound:
            continue
    return out


def test_related_of_keys_is_related_of_each_key(related_hub: Hub) -> None:
    hub = related_hub
    stored = [r.key for r in hub.records()]
    named = sorted({k for key in stored for ks in hub.related(key).values() for k in ks})
    keys = [*sorted(set(stored) | set(named)), "GSM999999999", "GPL0"]
    expected = _related_one_by_one(hub, keys)
    assert set(named) - set(stored), "some keys are only named by stored records"
    assert any("superseries" in r for r in expected.values())
    assert any(r.get("dataset") for r in expected.values())
    assert "GSM999999999" not in expected
    assert catalogue.related_of_keys(hub, keys) == expected
    assert catalogue.related_of_keys(hub, []) == {}


def test_platforms_with_probes_and_their_facts(related_hub: Hub) -> None:
    hub = related_hub
    found = {r.key for r in hub.records(RecordType.PLATFORM)}
    found.add("GPL97")  # annotation only: no platform record
    for summary in hub.records(RecordType.DATASET):
        found.update(hub.related(summary.key).get("platform", []))
    platforms = catalogue.platforms_with_probes(hub)
    assert list(platforms) == sorted(found)
    assert not hub.has("GPL97", RecordType.PLATFORM)
    assert platforms["GPL97"].datasets == ("GDS507",)
    assert platforms["GPL1355"].series == ("GSE2870",)
    for key, facts in platforms.items():
        related = _related_one_by_one(hub, [key]).get(key, {})
        assert facts.series == tuple(related.get("series", []))
        assert facts.datasets == tuple(related.get("dataset", []))
        assert facts.table_tag == hub.platform_table_tag(key)
        assert facts.origins == {k: hub.record_origin(k) for k in (key, *facts.datasets)}
    assert catalogue.platform_facts(hub, ["GPL1355"]) == {"GPL1355": platforms["GPL1355"]}
    empty = catalogue.platform_facts(hub, ["GPL0"])["GPL0"]
    assert (empty.series, empty.datasets, empty.origins) == ((), (), {"GPL0": None})
    assert empty.table_tag == hub.platform_table_tag("GPL0")
