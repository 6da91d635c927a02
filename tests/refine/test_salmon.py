"""Salmon wrapper on a simulated transcriptome, then tximport on its output.

The slow tests run the real ``salmon`` (skipped with a reason when it is not on PATH); no R.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from exprhub.refine.salmon import (
    SalmonError,
    build_index,
    kmer_for_read_length,
    quant,
    salmon_version,
)
from exprhub.refine.tximport import read_quant_sf, tximport

needs_salmon = pytest.mark.skipif(shutil.which("salmon") is None, reason="salmon is not on PATH")

BASES = np.array(list("ACGT"))
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def simulate(tmp: Path, seed: int = 42) -> tuple[Path, list[str], np.ndarray, np.random.Generator]:
    """20 random transcripts of 500-2000 bp (gzip FASTA) and their true relative abundances."""
    rng = np.random.default_rng(seed)
    names = [f"TX{i:02d}" for i in range(20)]
    seqs = ["".join(rng.choice(BASES, size=int(rng.integers(500, 2001)))) for _ in names]
    fasta = tmp / "transcripts.fa.gz"
    with gzip.open(fasta, "wt") as handle:
        for name, seq in zip(names, seqs, strict=True):
            handle.write(
                f">{name}\n" + "\n".join(seq[i : i + 70] for i in range(0, len(seq), 70)) + "\n"
            )
    weights = rng.lognormal(0, 1, size=20)
    weights /= weights.sum()
    return fasta, seqs, weights, rng


def write_reads(path: Path, reads: list[str], tag: str) -> None:
    with path.open("w") as handle:
        for i, r in enumerate(reads):
            handle.write(f"@{tag}{i}\n{r}\n+\n{'I' * len(r)}\n")


def draw_fragments(seqs, weights, rng, n, read_len=100):  # type: ignore[no-untyped-def]
    """Fragments from transcripts chosen by weight x length; returns (mate1, mate2) lists."""
    lengths = np.array([len(s) for s in seqs])
    p = weights * lengths
    p /= p.sum()
    m1, m2 = [], []
    for t in rng.choice(len(seqs), size=n, p=p):
        seq = seqs[t]
        frag = int(min(len(seq), max(read_len, rng.normal(250, 25))))
        start = int(rng.integers(0, len(seq) - frag + 1))
        piece = seq[start : start + frag]
        m1.append(piece[:read_len])
        m2.append(piece[-read_len:][::-1].translate(COMPLEMENT))
    return m1, m2


def test_kmer_rule() -> None:
    assert kmer_for_read_length(76) == 31
    assert kmer_for_read_length(75) == 23
    assert kmer_for_read_length(50.5) == 23


def test_missing_executable() -> None:
    with pytest.raises(SalmonError, match="not found on PATH"):
        salmon_version("salmon-does-not-exist")


@pytest.mark.slow
@needs_salmon
def test_salmon_end_to_end(tmp_path: Path) -> None:
    fasta, seqs, weights, rng = simulate(tmp_path)
    assert salmon_version().count(".") == 2
    k = kmer_for_read_length(100)
    index = build_index(fasta, tmp_path / "index", k)
    assert not index.reused and (index.path / "exprhub_index.json").is_file()
    again = build_index(fasta, tmp_path / "index", k)
    assert again.reused and again.transcripts_sha256 == index.transcripts_sha256
    assert not build_index(fasta, tmp_path / "index", 23).reused  # other k: rebuilt

    index = build_index(fasta, tmp_path / "index", k)
    samples = []
    # sample A: single-end; sample B: paired-end
    m1, _ = draw_fragments(seqs, weights, rng, 20000)
    write_reads(tmp_path / "a.fq", m1, "a")
    samples.append(quant(index, tmp_path / "a.fq", tmp_path / "A"))
    m1, m2 = draw_fragments(seqs, weights, rng, 20000)
    write_reads(tmp_path / "b_1.fq", m1, "b")
    write_reads(tmp_path / "b_2.fq", m2, "b")
    samples.append(quant(index, (tmp_path / "b_1.fq", tmp_path / "b_2.fq"), tmp_path / "B"))

    for s, paired in zip(samples, (False, True), strict=True):
        assert s.paired is paired
        assert sorted(p.name for p in s.out_dir.rglob("*") if p.is_file()) == [
            "lib_format_counts.json",
            "meta_info.json",
            "quant.sf",
        ]
        assert "--seqBias" in s.command and ("--gcBias" in s.command) is paired
        assert s.salmon_version == salmon_version()
        meta: dict = s.meta()
        assert float(meta["percent_mapped"]) > 90
        q = read_quant_sf(s.quant_sf)
        assert q.names == tuple(f"TX{i:02d}" for i in range(20))
        assert q.num_reads.sum() == pytest.approx(meta["num_mapped"], rel=1e-3)
        truth = weights / weights.sum() * 1e6
        corr = np.corrcoef(np.log(q.tpm + 1), np.log(truth + 1))[0, 1]
        assert corr > 0.95

    tx2gene = {f"TX{i:02d}": f"GENE{i // 2:02d}" for i in range(20)}
    txi = tximport([s.quant_sf for s in samples], tx2gene, "lengthScaledTPM")
    assert txi.samples == ("A", "B") and len(txi.ids) == 10
    np.testing.assert_allclose(txi.abundance.sum(axis=0), 1e6, rtol=1e-4)
    counts = [read_quant_sf(s.quant_sf).num_reads.sum() for s in samples]
    np.testing.assert_allclose(txi.counts.sum(axis=0), counts, rtol=1e-9)


@pytest.mark.slow
@needs_salmon
def test_salmon_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        build_index(tmp_path / "none.fa", tmp_path / "idx")
    bad = tmp_path / "bad.fa"
    bad.write_text("this is not fasta\n")
    with pytest.raises(SalmonError, match="salmon index failed"):
        build_index(bad, tmp_path / "idx", 23)
    assert not (tmp_path / "idx").exists()
    with pytest.raises(ValueError, match="odd"):
        build_index(bad, tmp_path / "idx", 32)
