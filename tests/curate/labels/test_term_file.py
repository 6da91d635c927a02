"""The term index read from its lookup file answers, and labels, exactly as the dictionaries
it was written from."""

from __future__ import annotations

import pytest

from exprhub.curate.labels import fields_body, label_sample, ontology
from exprhub.curate.labels.ontology import build_index, find_terms, match_value
from exprhub.curate.labels.term_file import read_term_file, write_term_file
from exprhub.storage.lookup_file import LookupFileError

FILES = (
    "gemma/GSE1623_family.soft.txt.gz",
    "gemma/GSE2870_family.soft.gz",
    "gemma/GSE11897_family.soft.gz",
    "gemma/GSE3791_family.soft.gz",
    "gemma/GSE432_family.soft.gz",
    "geoquery/GSM11805.txt.gz",
)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The index as built (dictionaries) and as read back from its lookup file."""
    built = build_index()
    path = tmp_path_factory.mktemp("terms") / "terms.lookup"
    write_term_file(built, path, "release-1")
    return built, read_term_file(path, "release-1"), path


def test_every_table_reads_back_identically(both):
    built, read, _ = both
    assert list(built.labels.items()) == read.labels.items()
    assert list(built.ancestors.items()) == list(read.ancestors.items())
    assert built.free.keys() == read.free.keys() == built.keyed.keys() == read.starts.keys()
    for ontology_name in built.free:
        for part in ("free", "keyed", "starts"):
            given, back = getattr(built, part)[ontology_name], getattr(read, part)[ontology_name]
            assert list(given.items()) == list(back.items()), (ontology_name, part)
            assert list(given.keys()) == list(back.keys())  # the order fuzzy matching scans
    some = next(iter(built.ancestors))
    assert read.term(some) == built.term(some)
    assert read.term("NOT:0000000") is None


def test_another_release_is_refused(both):
    with pytest.raises(LookupFileError, match="release-1"):
        read_term_file(both[2], "release-2")


def test_labels_are_the_same_with_either_index(both, geo_samples, monkeypatch):
    built, read, _ = both
    samples = []
    for name in FILES:
        by_key, series = geo_samples(name)
        samples += [(s, series) for s in by_key.values()]
    assert len(samples) > 40

    def labels_with(index):
        monkeypatch.setattr(ontology, "term_index", lambda: index)
        monkeypatch.setattr(fields_body, "term_index", lambda: index)
        return [label_sample(s, series) for s, series in samples]

    assert labels_with(built) == labels_with(read)
    texts = [v for s, _ in samples for _, v in s.attributes][:3000]
    for onto in ontology.ONTOLOGIES:
        for text in texts:
            assert find_terms(text, onto, index=built) == find_terms(text, onto, index=read)
            assert match_value(text, onto, index=built) == match_value(text, onto, index=read)


def test_a_lookup_file_without_the_term_tables_is_refused(tmp_path):
    from exprhub.storage.lookup_file import write_lookup_file

    path = tmp_path / "other.lookup"
    write_lookup_file(path, {"free:CL": [("cell", "CL:1")]}, meta={"version": "release-1"})
    with pytest.raises(LookupFileError, match="no table"):
        read_term_file(path, "release-1")


def test_a_damaged_cache_file_is_rebuilt(tmp_path, monkeypatch):
    from exprhub.curate.labels.ontology import TermIndex, index_version, term_index

    small = TermIndex(
        labels={"CL:1": "hepatocyte"},
        free={"CL": {"hepatocyte": "CL:1"}},
        keyed={"CL": {"hepatocyte": "CL:1"}},
        starts={"CL": {"hepatocyte": 1}},
    )
    monkeypatch.setenv("EXPRHUB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ontology, "build_index", lambda: small)
    path = tmp_path / f"terms-{index_version()}-v{ontology._INDEX_FORMAT}.lookup"
    path.write_bytes(b"EXHLOOK1 and then garbage")
    term_index.cache_clear()
    try:
        index = term_index()
        assert index.free["CL"].get("hepatocyte") == "CL:1"
        assert type(index.labels).__name__ == "LookupTable"  # read back from the new file
        assert read_term_file(path, index_version()).labels.items() == [("CL:1", "hepatocyte")]
    finally:
        term_index.cache_clear()
