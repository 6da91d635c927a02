"""Listing samples by harmonized label agrees with harmonizing every sample one by one (on
SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from exprhub.curate.harmonize import harmonize, label_field, label_spellings, standard_field
from exprhub.curate.sample_filter import listing_filter, parse_pair
from exprhub.hub import Hub
from exprhub.hub.labels import samples_with_label
from exprhub.hub.listing import list_records
from exprhub.ingest.importer import import_file
from exprhub.records import RecordType, Sample

FILES = [
    "gemma/GSE3791_family.soft.gz",  # "Gender:<tabs>Male", Strain, Tissue
    "gemma/GSE11897_family.soft.gz",  # "gender: 1 Male, 2 Female", "cell type", "average age"
    "gemma/GSE7774_family.soft.gz",
    "gemma/GSE29006_family.soft.gz",
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory, geo_fixtures, module_database_url):
    home = tmp_path_factory.mktemp("labels") / "hub"
    with Hub.init(home, database_url=module_database_url) as hub:
        for name in FILES:
            import_file(hub, geo_fixtures / name)
        yield hub


def _labels_one_by_one(hub: Hub) -> dict[str, dict[str, set[str]]]:
    """sample -> harmonized field -> values, from each stored record."""
    out = {}
    for summary in hub.records(RecordType.SAMPLE):
        sample = hub.record(summary.key, RecordType.SAMPLE, table=False)
        assert isinstance(sample, Sample)
        pairs = [p for ch in range(1, sample.channel_count + 1) for p in sample.characteristics(ch)]
        out[summary.key] = {f: set(v.split(";")) for f, v in harmonize(pairs).items()}
    return out


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sex", "male"),
        ("sex", "F"),
        ("Sex", "Woman"),
        ("tissue", "ovary"),
        ("specimen part", "Large airway epithelial cells"),
        ("genetic information", "cd1"),
    ],
)
def test_label_listing_matches_harmonize(hub, name, value):
    field = label_field(name)
    normalized = label_spellings(field, value)
    reference = {
        key
        for key, labels in _labels_one_by_one(hub).items()
        if labels.get(field, set()) & normalized
    }
    total, rows = list_records(hub, RecordType.SAMPLE, listing_filter(hub, labels=[(name, value)]))
    # the standardized labels find more than the raw characteristics ("gender: 3 Female")
    labelled = set(samples_with_label(hub, standard_field(name) or name, normalized))
    assert {r.key for r in rows} == reference | labelled
    assert total == len(reference | labelled) > 0 and reference


def test_labels_combine_with_other_filters(hub):
    both = listing_filter(hub, labels=[("sex", "male")], organism="Mus musculus")
    total, rows = list_records(hub, RecordType.SAMPLE, both)
    males = list_records(hub, RecordType.SAMPLE, listing_filter(hub, labels=[("sex", "m")]))[1]
    mice = {s.key for s in hub.records(RecordType.SAMPLE) if s.organisms == "Mus musculus"}
    assert {r.key for r in rows} == {r.key for r in males} & mice
    assert total == len(rows)
    none = listing_filter(hub, labels=[("sex", "male"), ("sex", "female")], series="GSE3791")
    assert list_records(hub, RecordType.SAMPLE, none) == (0, [])


def test_bad_labels_and_pairs():
    with pytest.raises(
        ValueError, match="unknown label 'colour'; labels are: age, age_group, cell_line, cell_type"
    ):
        label_field("colour")
    assert parse_pair("age = 23 years") == ("age", "23 years")
    assert parse_pair("tissue:liver") == ("tissue", "liver")
    with pytest.raises(ValueError, match="label filter 'male' must look like key=value"):
        parse_pair("male", "label")
