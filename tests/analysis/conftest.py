"""GDS507 read straight from its file, and a hub of real GEO files for the gene and profile
tests: GDS507 with GPL97.annot (human,
HG-U133B), GDS1794 with its series GSE2870 (rat) and GSE1623 (mouse, GPL81) refined with a
mouse gene reference written from GPL81's own annotation columns (its LOCUSLINK ids, symbols
and titles), plus real NCBI synonyms and an Ensembl id for Actb."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

import exprhub
from exprhub.records import Subset
from tests.conftest import copy_hub

GDS507 = "geoquery/GDS507.soft.gz"
GPL97_ANNOT = "geoquery/GPL97.annot.gz"
GDS1794 = "gemma/GDS1794.soft.gz"
GSE2870 = "gemma/GSE2870_family.soft.gz"
GSE1623 = "gemma/GSE1623_family.soft.txt.gz"

GENE_INFO_HEADER = (
    "#tax_id\tGeneID\tSymbol\tLocusTag\tSynonyms\tdbXrefs\tchromosome\tmap_location\t"
    "description\ttype_of_gene\tSymbol_from_nomenclature_authority\t"
    "Full_name_from_nomenclature_authority\tNomenclature_status\tOther_designations\t"
    "Modification_date\tFeature_type"
)
#: NCBI Gene's synonyms and Ensembl id of mouse Actb (11461).
ACTB_SYNONYMS = "Actx|E430023M04Rik|beta-actin"
ACTB_ENSEMBL = "ENSMUSG00000029580"


def write_mouse_gene_info(platform: exprhub.GeoFile, path: Path) -> Path:
    """An NCBI-format ``gene_info`` of the genes GPL81's table names (LOCUSLINK, symbol,
    title), Actb with its NCBI synonyms and Ensembl id."""
    record = platform.platforms["GPL81"]
    table = record.table
    assert table is not None
    genes: dict[str, tuple[str, str]] = {}
    for gene_id, symbol, title in zip(
        table.column("LOCUSLINK").tolist(),
        table.column("Gene Symbol").tolist(),
        table.column("Gene Title").tolist(),
        strict=True,
    ):
        gene_id, symbol = gene_id.strip(), symbol.strip()
        if gene_id.isdigit() and symbol and "///" not in symbol:
            genes.setdefault(gene_id, (symbol, title.strip()))
    with gzip.open(path, "wt") as out:
        out.write(GENE_INFO_HEADER + "\n")
        for gene_id, (symbol, title) in sorted(genes.items()):
            synonyms = ACTB_SYNONYMS if symbol == "Actb" else "-"
            xrefs = f"Ensembl:{ACTB_ENSEMBL}" if symbol == "Actb" else "-"
            out.write(
                f"10090\t{gene_id}\t{symbol}\t-\t{synonyms}\t{xrefs}\t-\t-\t{title}\t"
                "protein-coding\t-\t-\t-\t-\t20240101\t-\n"
            )
    return path


def build_profiles_hub(root: Path, geo_fixtures: Path) -> exprhub.Hub:
    """The hub of this package's tests in ``root / "hub"`` (GSE1623 refined)."""
    from exprhub.refine.store import import_genes

    hub = exprhub.Hub.init(root / "hub")
    hub.import_files([geo_fixtures / p for p in (GDS507, GPL97_ANNOT, GDS1794, GSE2870, GSE1623)])
    gene_info = write_mouse_gene_info(
        exprhub.read(geo_fixtures / GSE1623), root / "Mus_musculus.gene_info.gz"
    )
    import_genes(hub, [str(gene_info)])
    report = hub.refine("GSE1623", workers=0)
    assert report.to_dict()["failed"] == {}
    return hub


@pytest.fixture(scope="session")
def profiles_hub(tmp_path_factory, profiles_home) -> Iterator[exprhub.Hub]:
    """The hub above (a copy of the session's ``profiles_home``), shared by the tests of this
    package (read only)."""
    hub = exprhub.Hub(copy_hub(profiles_home, tmp_path_factory.mktemp("profiles") / "hub"))
    yield hub
    hub.close()


@pytest.fixture(scope="session")
def gds507(geo_fixtures):
    """GDS507's values (probes x samples), its RCC samples and its normal samples, read
    straight from its file (no hub)."""
    geo = exprhub.read(geo_fixtures / "geoquery/GDS507.soft.gz")
    subsets = {s.description: s.sample_ids for s in geo.records if isinstance(s, Subset)}
    return geo.expression(), subsets["RCC"], subsets["normal"]
