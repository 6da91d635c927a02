"""Tantivy's facet counting over the complement of common queries, and reader generations."""

from __future__ import annotations

from exprhub.search import SearchDocument, TantivyIndex, parse_query
from exprhub.search.document import top_facets
from tests.search.reference import expected, facet_counts

FACETS = ("organism", "etype", "platform", "tissue")


def _docs(n: int = 60) -> list[SearchDocument]:
    organisms = ["Homo sapiens", "Mus musculus", "Danio rerio"]
    docs = []
    for i in range(n):
        words = "common study" if i % 10 else "study"  # 'common' in 90 % of the documents
        docs.append(
            SearchDocument(
                f"GSM{i + 1}",
                "GSM" if i % 4 else "GSE",
                f"{words} sample {i}",
                organisms=[organisms[i % 3]] + (["Mus musculus"] if i % 7 == 0 else []),
                platforms=[f"GPL{1 + i % 5}"],
                labels={"tissue": [["liver", "brain"][i % 2]]},
            )
        )
    return docs


def _check(index: TantivyIndex, docs: list[SearchDocument], query: str) -> None:
    ref = expected(docs, parse_query(query, index.schema).root, index.schema)
    res = index.search(query, limit=5, facets=FACETS)
    assert res.total == len(ref)
    for name in FACETS:
        assert res.facets[name] == top_facets(facet_counts(docs, ref, name, index.schema), 20)


def test_common_query_is_counted_over_its_complement(tmp_path):
    docs = _docs()
    index = TantivyIndex(tmp_path / "idx")
    index.add(docs)
    index.commit()
    counter = index._counter
    assert counter.estimate(index._searcher()[0], parse_query("common").root, 60) == 54
    _check(index, docs, "common")
    assert counter._global is not None  # the complement path ran
    first = counter._global.generation
    _check(index, docs, "common NOT liver[tissue]")
    _check(index, docs, "NOT 3[ACCN]")
    _check(index, docs, "")
    index.close()

    # a change makes a new generation: the cached counts over everything are not reused
    changed = SearchDocument("GSM2", "GSM", "common sample", organisms=["Bos taurus"])
    docs = [changed if d.accession == "GSM2" else d for d in docs]
    docs.append(SearchDocument("GSM999", "GSE", "common extra", organisms=["Bos taurus"]))
    index.add([changed, docs[-1]])
    index.delete(["GSM3"])
    docs = [d for d in docs if d.accession != "GSM3"]
    index.commit()
    _check(index, docs, "common")
    assert counter._global is not None and counter._global.generation > first
    index.close()


def test_commits_of_another_index_object_are_seen(tmp_path):
    docs = _docs(20)
    writer = TantivyIndex(tmp_path / "idx")
    writer.add(docs)
    writer.commit()
    reader = TantivyIndex(tmp_path / "idx")
    _check(reader, docs, "study")
    extra = SearchDocument("GSM500", "GSM", "study late", organisms=["Danio rerio"])
    writer.add([extra])
    writer.commit()
    writer.close()
    _check(reader, [*docs, extra], "study")
    assert reader.count() == 21
    reader.close()


def test_ranking_and_counting_on_two_threads_agree(tmp_path, monkeypatch):
    import exprhub.search.tantivy_index as module

    docs = _docs()
    index = TantivyIndex(tmp_path / "idx")
    index.add(docs)
    index.commit()
    sequential = [index.search(q, limit=7, offset=2) for q in ("common", "study", "NOT brain")]
    monkeypatch.setattr(module, "_PARALLEL_MATCHES", 0)
    for query, before in zip(("common", "study", "NOT brain"), sequential, strict=True):
        _check(index, docs, query)
        again = index.search(query, limit=7, offset=2)
        assert (again.total, again.hits, again.facets) == (before.total, before.hits, before.facets)
    index.close()


def test_values_with_the_reserved_characters_count_and_filter_alike(tmp_path):
    from exprhub.search.tantivy_facets import facet_token, facet_values

    assert facet_values(["b", "a\x1e", "", "b"]) == ["a", "b"]
    assert facet_token(["a", "b"]) == "a\x1eb" and facet_token([]) == "\x1f"
    index = TantivyIndex(tmp_path / "idx")
    index.add(
        [
            SearchDocument("GSM1", "GSM", "x", labels={"tissue": ["li\x1fver", "brain"]}),
            SearchDocument("GSM2", "GSM", "x", labels={"tissue": ["liver"]}),
            SearchDocument("GSM3", "GSM", "x"),
        ]
    )
    index.commit()
    res = index.search("x", facets=("tissue",))
    assert [(f.value, f.count) for f in res.facets["tissue"]] == [("liver", 2), ("brain", 1)]
    assert index.search("x", filters={"tissue": ["liver"]}).total == 2
    index.close()
