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
