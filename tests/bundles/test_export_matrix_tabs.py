"""Series matrices of records whose text holds tabs: GSE3791 and GSE11897 (real GEO family files
whose sample protocols and descriptions are tab-aligned text) export as series matrices that
our reader and GEOquery read back with every value, tabs included, unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from exprhub.api import Hub
from exprhub.formats.matrix import read_series_matrix
from exprhub.formats.tab_block import split_cells
from exprhub.records import Sample
from tests.refine.conftest import require_r, run_rscript

READER = Path(__file__).with_name("geoquery_matrix_read.R")
#: the family files, and the platforms each exports one series matrix for
FAMILIES = {
    "GSE3791": ["GPL339", "GPL340", "GPL96", "GPL97"],
    "GSE11897": ["GPL1261", "GPL339", "GPL340"],
}


@pytest.fixture(scope="module")
def exported(bundle_home: Path, tmp_path_factory: pytest.TempPathFactory):
    """The bundle tests' hub (it holds both families; only read here), and the series
    matrices ``Hub.export`` wrote of them."""
    root = tmp_path_factory.mktemp("matrix_tabs")
    with Hub(bundle_home) as hub:
        files = {}
        for accession in FAMILIES:
            target = root / f"{accession}_series_matrix.txt.gz"
            files[accession] = hub.export(accession, target, format="matrix")
        yield hub, files


@pytest.mark.parametrize("accession", sorted(FAMILIES))
def test_real_families_with_tabs_round_trip(exported, accession: str) -> None:
    hub, files = exported
    names = sorted(p.name for p in files[accession])
    assert names == sorted(f"{accession}-{g}_series_matrix.txt.gz" for g in FAMILIES[accession])
    tabbed = 0
    for path in files[accession]:
        records = read_series_matrix(path)
        series, samples = records[0], records[1:]
        assert series.attributes == hub.record(accession).attributes
        assert samples
        for sample in samples:
            assert isinstance(sample, Sample)
            ours = hub.record(sample.id)
            # every value comes back as imported (the matrix cannot hold empty values)
            assert sample.attributes == [(k, v) for k, v in ours.attributes if v != ""]
            assert ours.table is not None and sample.table is not None
            assert sample.table.column("VALUE").tolist() == ours.table.column("VALUE").tolist()
            tabbed += sum("\t" in v for _, v in sample.attributes)
    assert tabbed > 50  # the point of these files: many sample values hold tabs


def test_tab_aligned_values_are_quoted_cells(exported) -> None:
    import gzip

    _, files = exported
    path = next(p for p in files["GSE3791"] if "GPL96" in p.name)
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    row = next(line for line in text.splitlines() if line.startswith("!Sample_growth_protocol"))
    assert row.startswith('!Sample_growth_protocol_ch1\t"Growth medium:\t\t\t\tSFM"\t')
    # a plain split on tabs would see more cells than samples; the quote-aware one sees one each
    assert len(split_cells(row)) == 1 + 3 < len(row.split("\t"))


@pytest.mark.slow
def test_geoquery_reads_the_tabs(exported, tmp_path: Path) -> None:
    """GEOquery's ``getGEO(filename=)`` reads the same samples and tab-holding values."""
    require_r("GEOquery")
    hub, files = exported
    path = next(p for p in files["GSE3791"] if "GPL96" in p.name)
    out = tmp_path / "pdata.tsv"
    run_rscript(READER, path, out)
    lines = out.read_text(encoding="utf-8").splitlines()
    seen: dict[str, list[str]] = {}
    for line in lines:
        accession, key, value = line.split("\x1f")
        seen.setdefault(accession, []).append(f"{key}={value}")
    samples = read_series_matrix(path)[1:]
    assert sorted(seen) == sorted(s.id for s in samples)
    for sample in samples:
        growth = [
            v for k, v in hub.record(sample.id).attributes if k == "Sample_growth_protocol_ch1"
        ]
        assert any("\t" in v for v in growth)
        for value in growth:
            assert f"growth_protocol_ch1={value}" in seen[sample.id]
