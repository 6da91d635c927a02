"""tximport equivalent: agreement with Bioconductor tximport, quant.sf reading.

* ``test_reference_*`` compare with the committed outputs tests/reference/tximport_*.tsv, written
  by tests/reference/make_tximport_reference.R (tximport 1.26.1) from the committed quant.sf files
  in tests/reference/tximport_quant/; no R needed.
* ``test_live_r_*`` run tximport now (tests/reference/tximport_run.R) on freshly generated quant.sf
  files; they skip when Rscript or tximport is missing (CI installs them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exprhub.formats.errors import FormatError
from exprhub.refine.tximport import (
    CountsFromAbundance,
    make_counts_from_abundance,
    read_quant_sf,
    read_tx2gene,
    tximport,
)

from .conftest import REFERENCE, require_r, run_rscript

MODES: list[CountsFromAbundance] = ["no", "scaledTPM", "lengthScaledTPM"]


def read_labeled(path: Path) -> tuple[list[str], np.ndarray]:
    lines = path.read_text().splitlines()[1:]
    ids = [line.split("\t", 1)[0] for line in lines]
    values = np.array([[float(v) for v in line.split("\t")[1:]] for line in lines])
    return ids, values


def check_against(result, prefix: Path) -> None:  # type: ignore[no-untyped-def]
    for what in ("abundance", "counts", "length"):
        ids, expected = read_labeled(Path(f"{prefix}{what}.tsv"))
        assert list(result.ids) == sorted(ids)
        order = [ids.index(g) for g in result.ids]
        np.testing.assert_allclose(
            getattr(result, what), expected[order], rtol=1e-9, atol=0, err_msg=what
        )


@pytest.mark.parametrize("mode", MODES)
def test_reference_tximport(mode: CountsFromAbundance) -> None:
    """Committed tximport outputs (no R needed)."""
    files = [REFERENCE / f"tximport_quant/sample{i}/quant.sf" for i in (1, 2, 3)]
    tx2gene = read_tx2gene(REFERENCE / "tximport_tx2gene.tsv")
    result = tximport(files, tx2gene, mode)
    assert result.samples == ("sample1", "sample2", "sample3")
    assert result.missing_transcripts == 2
    assert result.counts_from_abundance == mode
    check_against(result, REFERENCE / f"tximport_{mode}_")


def write_quant(path: Path, names, length, eff, tpm, reads) -> None:  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        handle.write("Name\tLength\tEffectiveLength\tTPM\tNumReads\n")
        for row in zip(names, length, eff, tpm, reads, strict=True):
            name, full, numbers = row[0], int(row[1]), [repr(float(v)) for v in row[2:]]
            handle.write("\t".join([name, str(full), *numbers]) + "\n")


def make_experiment(tmp: Path, rng: np.random.Generator, n_samples: int) -> tuple[list[Path], Path]:
    n_genes = 60
    per_gene = rng.integers(1, 6, size=n_genes)
    genes = np.repeat([f"G{i:03d}" for i in range(n_genes)], per_gene)
    names = [f"T{i:04d}.{i % 4 + 1}" for i in range(genes.size)]
    length = rng.integers(200, 5000, size=genes.size)
    files = []
    for s in range(n_samples):
        eff = np.maximum(length - 150 + rng.normal(0, 3, size=genes.size), 5.0)
        reads = rng.exponential(300, size=genes.size) * (rng.random(genes.size) > 0.3)
        reads[genes == "G000"] = 0.0  # zero in every sample
        if s == 1:
            reads[genes == "G001"] = 0.0  # zero in one sample
        tpm = reads / eff
        tpm = tpm / tpm.sum() * 1e6
        files.append(tmp / f"s{s}" / "quant.sf")
        write_quant(files[-1], names, length, eff, tpm, reads)
    t2g = tmp / "tx2gene.tsv"
    rows = [f"{t}\t{g}" for t, g in zip(names, genes, strict=True)][:-3]  # 3 unmapped
    t2g.write_text("TXNAME\tGENEID\n" + "\n".join(rows) + "\n")
    return files, t2g


@pytest.mark.parametrize("mode", MODES)
def test_live_r_tximport(tmp_path: Path, mode: CountsFromAbundance) -> None:
    """Fresh quant.sf files against tximport run now (skips without R/tximport)."""
    require_r("tximport")
    rng = np.random.default_rng(MODES.index(mode))
    files, t2g = make_experiment(tmp_path, rng, 4)
    run_rscript(REFERENCE / "tximport_run.R", t2g, mode, tmp_path / "r_", *files)
    result = tximport(files, read_tx2gene(t2g), mode)
    assert result.missing_transcripts == 3
    check_against(result, tmp_path / "r_")


def test_length_rules_by_hand() -> None:
    """Weighted length, geometric-mean and plain-mean fallbacks, lengthScaledTPM counts."""
    from exprhub.refine.tximport import summarize_to_gene

    abundance = np.array([[1.0, 0.0, 2.0], [3.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    counts = np.array([[10.0, 0.0, 20.0], [30.0, 0.0, 20.0], [0.0, 0.0, 0.0]])
    length = np.array([[100.0, 110.0, 120.0], [200.0, 210.0, 220.0], [50.0, 60.0, 70.0]])
    ids, ab, ct, ln, missing = summarize_to_gene(
        ["a", "b", "c"], abundance, counts, length, {"a": "g1", "b": "g1", "c": "g2"}
    )
    assert ids == ("g1", "g2") and missing == 0
    np.testing.assert_allclose(ab[0], [4.0, 0.0, 4.0])
    w1, w3 = (100 + 3 * 200) / 4, (2 * 120 + 2 * 220) / 4
    np.testing.assert_allclose(ln[0], [w1, np.sqrt(w1 * w3), w3])
    np.testing.assert_allclose(ln[1], [60.0, 60.0, 60.0])
    np.testing.assert_allclose(ct[:, 0], [40.0, 0.0])
    scaled = make_counts_from_abundance(ct, ab, ln, "lengthScaledTPM")
    np.testing.assert_allclose(scaled.sum(axis=0)[[0, 2]], ct.sum(axis=0)[[0, 2]])


def test_tx_out_and_versions(tmp_path: Path) -> None:
    files = [REFERENCE / f"tximport_quant/sample{i}/quant.sf" for i in (1, 2)]
    tx = tximport(files, None, "scaledTPM", tx_out=True, samples=["a", "b"])
    assert tx.abundance.shape == (40, 2) and tx.samples == ("a", "b")
    totals = [read_quant_sf(f).num_reads.sum() for f in files]
    np.testing.assert_allclose(tx.counts.sum(axis=0), totals)
    unversioned = {
        k.split(".")[0]: v for k, v in read_tx2gene(REFERENCE / "tximport_tx2gene.tsv").items()
    }
    with pytest.raises(ValueError, match="ignore_tx_version"):
        tximport(files, unversioned)
    result = tximport(files, unversioned, ignore_tx_version=True)
    assert len(result.ids) == 14


def test_read_quant_sf_errors(tmp_path: Path) -> None:
    bad = tmp_path / "quant.sf"
    bad.write_text("Name\tLength\tTPM\nT1\t100\t1.0\n")
    with pytest.raises(FormatError, match=r"quant.sf:1: .*missing EffectiveLength, NumReads"):
        read_quant_sf(bad)
    bad.write_text("Name\tLength\tEffectiveLength\tTPM\tNumReads\nT1\t100\t80\tx\t3\n")
    with pytest.raises(FormatError, match=r"quant.sf:2: expected numbers"):
        read_quant_sf(bad)
    other = tmp_path / "o" / "quant.sf"
    write_quant(other, ["T9"], [10], [5.0], [1.0], [1.0])
    with pytest.raises(ValueError, match="different transcripts"):
        tximport([REFERENCE / "tximport_quant/sample1/quant.sf", other], {"T9": "G"})
    with pytest.raises(ValueError, match="counts_from_abundance"):
        tximport([other], {"T9": "G"}, "dtuScaledTPM")  # type: ignore[arg-type]
