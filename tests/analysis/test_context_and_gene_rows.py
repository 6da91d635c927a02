"""The groups of a series without a DataSet (from what varies across its samples), and the
hub's gene look-up in SQL on SQLite and PostgreSQL."""

from __future__ import annotations

from exprhub.analysis.context import characteristic_groups
from exprhub.hub.gene_lookup import find_gene_rows
from exprhub.hub.refinery_tables import GeneRow, replace_genes
from exprhub.records import Sample


def _sample(i: int, characteristics: list[str]) -> Sample:
    acc = f"GSM{900 + i}"
    return Sample(
        acc,
        [
            ("Sample_title", f"sample {i}"),
            ("Sample_geo_accession", acc),
            ("Sample_channel_count", "1"),
            ("Sample_source_name_ch1", "blood"),
            ("Sample_organism_ch1", "Homo sapiens"),
            *[("Sample_characteristics_ch1", c) for c in characteristics],
            ("Sample_platform_id", "GPL1"),
        ],
    )


def test_groups_from_varying_characteristics(make_hub):
    hub = make_hub()
    samples = [
        _sample(
            i,
            [
                f"gender: {'F' if i % 2 else 'M'}",
                f"disease state: {'tumour' if i < 3 else 'normal'}",
                f"patient id: P{i}",  # one per sample: groups nothing
                "batch: 1",  # the same everywhere: groups nothing
            ],
        )
        for i in range(6)
    ]
    hub.put_records(samples)
    groups = characteristic_groups(hub, [s.key for s in samples])
    assert groups.source == "sample characteristics"
    assert groups.types["sex"] == {
        s.key: ("female" if i % 2 else "male") for i, s in enumerate(samples)
    }
    assert groups.types["disease"]["GSM900"] == "tumour"
    assert groups.order["sex"] == ["female", "male"]
    # submitted keys repeating a harmonized field's split, or grouping nothing: left out
    assert not {"gender", "disease state", "patient id", "batch"} & set(groups.types)
    assert "source name" not in groups.types  # the same for every sample


def test_find_gene_rows_in_sql(make_hub):
    hub = make_hub()
    rows = [
        GeneRow(9606, "60", "ACTB", ("BRWS1", "PS1TP5BP1"), ("ENSG00000075624",), "actin beta"),
        GeneRow(9606, "71", "ACTG1", ("ACT", "ACTG"), ("ENSG00000184009",), "actin gamma 1"),
        GeneRow(9606, "7157", "TP53", ("P53", "LFS1"), (), "tumor protein p53"),
        GeneRow(10090, "11461", "Actb", ("beta-actin",), ("ENSMUSG00000029580",), "actin, beta"),
    ]
    with hub.writer() as writer:
        replace_genes(writer, 9606, rows[:3])
        replace_genes(writer, 10090, rows[3:])

    def ids(text: str, **kw) -> set[str]:
        return {r.gene_id for r in find_gene_rows(hub, text, **kw)}

    assert ids("actb") == {"60", "11461"}
    assert ids("actb", tax_id=10090) == {"11461"}
    assert ids("BRWS1") == {"60"} and ids("brws") == set()  # synonyms are whole values
    assert ids("ENSG00000184009") == {"71"}
    assert ids("7157") == {"7157"}
    assert ids("actin gamma") == {"71"}  # every word in the description
    assert ids("actin") == {"60", "71", "11461"}
    assert ids("p5") == set()  # too short for descriptions, no such symbol
    assert ids("50%_") == set()  # LIKE wildcards are escaped


def test_gene_search_field_on_both_backends(make_hub, geo_fixtures):
    """``[GENE]`` resolves to platform terms that the tantivy and PostgreSQL indexes both run
    (a PostgreSQL hub searches its PostgreSQL index)."""
    from exprhub.api.profiles import resolve_gene_terms
    from exprhub.ingest.importer import import_file
    from exprhub.search.hub_index import HubSearch

    hub = make_hub()
    import_file(hub, geo_fixtures / "geoquery/GDS507.soft.gz")
    import_file(hub, geo_fixtures / "geoquery/GPL97.annot.gz")

    def found(query: str) -> set[str]:
        with HubSearch(hub) as engine:
            results = engine.search(resolve_gene_terms(hub, query), limit=50, facets=[])
        return {h.accession for h in results.hits}

    assert found("ACTG1[GENE]") == {"GDS507"}
    assert found("nosuchgene[GENE]") == set()
    assert found("NOT nosuchgene[GENE] AND GDS[ETYP]") == {"GDS507"}
    assert found("PFKFB2[GENE] AND flagged[FLAG]") == {"GDS507"}


def test_refined_summary_by_series_and_tissue(make_hub):
    import numpy as np

    from exprhub.analysis.genes import GeneMatch, refined_summary
    from exprhub.refine.store import write_sample_column

    hub = make_hub()
    samples = [
        _sample(i, [f"tissue: {'liver' if i < 4 else 'lung'}", f"gender: {'F' if i % 2 else 'M'}"])
        for i in range(6)
    ]
    for sample in samples:
        sample.attributes.append(
            ("Sample_series_id", "GSE90" if sample.key < "GSM903" else "GSE91")
        )
    hub.put_records(samples)
    values = {s.key: float(i) for i, s in enumerate(samples)}
    genes = ["60", "71"]
    with hub.writer() as writer:
        for key, value in values.items():
            write_sample_column(
                writer, "refined/9606/intensity", "refined", key, genes, np.array([value, 9.0])
            )
    summary = refined_summary(hub, GeneMatch("ACTB", "60", 9606, "Homo sapiens"))
    assert summary["overall"]["n"] == 6 and summary["overall"]["mean"] == 2.5
    assert summary["by_series"]["GSE90"] == {
        "n": 3,
        "mean": 1.0,
        "median": 1.0,
        "min": 0.0,
        "max": 2.0,
    }
    assert summary["by_series"]["GSE91"]["mean"] == 4.0
    assert summary["by_field"]["specimen_part"]["liver"]["mean"] == 1.5
    assert summary["by_field"]["specimen_part"]["lung"]["mean"] == 4.5
    assert summary["by_field"]["sex"]["female"]["n"] == 3
    assert refined_summary(hub, GeneMatch("X", "999", 9606, "Homo sapiens")) == {}
    assert refined_summary(hub, GeneMatch("ACTB", "60", 10090, "Mus musculus")) == {}
