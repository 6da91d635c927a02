"""voom (Law et al. 2014) and limma-voom differential expression, against R limma 3.54 run
live on negative binomial counts (skipped where R or limma is missing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exprhub.analysis.differential import differential_expression
from exprhub.analysis.linear_models import group_design
from exprhub.analysis.linear_models.voom import voom

R_SCRIPT = """suppressMessages(library(limma))
x <- as.matrix(read.delim("{d}/counts.tsv", row.names=1, check.names=FALSE))
g <- factor(c(rep("A", 4), rep("B", 5)), levels=c("A", "B"))
design <- model.matrix(~0 + g)
colnames(design) <- c("A", "B")
v <- voom(x, design)
write.table(v$E, "{d}/E.tsv", sep="\\t", quote=FALSE, col.names=NA)
write.table(v$weights, "{d}/W.tsv", sep="\\t", quote=FALSE, col.names=NA)
fit <- eBayes(contrasts.fit(lmFit(v, design), makeContrasts(A-B, levels=design)))
top <- topTable(fit, coef=1, number=Inf, sort.by="none")
write.table(top, "{d}/top.tsv", sep="\\t", quote=FALSE, col.names=NA)
"""


def _counts() -> pd.DataFrame:
    rng = np.random.default_rng(20261207)
    genes, samples = 400, 9
    means = np.exp(rng.normal(4, 2, size=genes))
    depth = np.linspace(0.5, 2.0, samples)
    shift = np.ones((genes, samples))
    shift[:40, 4:] = 4.0  # 10 % of the genes up in group B
    mu = means[:, None] * depth[None, :] * shift
    counts = rng.negative_binomial(5, 5 / (5 + mu)).astype(float)
    counts[:3] = 0  # genes never seen: left out of the trend, as R does
    return pd.DataFrame(
        counts,
        index=[f"gene{i}" for i in range(genes)],
        columns=[f"GSM{j}" for j in range(samples)],
    )


def _run_r(tmp_path: Path, counts: pd.DataFrame) -> dict[str, pd.DataFrame]:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed")
    counts.to_csv(tmp_path / "counts.tsv", sep="\t")
    script = tmp_path / "voom.R"
    script.write_text(R_SCRIPT.format(d=tmp_path))
    done = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"R limma could not run: {done.stderr.strip()[:200]}")
    return {
        name: pd.read_csv(tmp_path / f"{name}.tsv", sep="\t", index_col=0)
        for name in ("E", "W", "top")
    }


def test_voom_and_limma_voom_agree_with_r(tmp_path):
    counts = _counts()
    groups = ["A"] * 4 + ["B"] * 5
    design = group_design(groups, levels=["A", "B"], samples=list(counts.columns))
    expected = _run_r(tmp_path, counts)
    result = voom(counts, design)
    assert np.max(np.abs(result.log_cpm.to_numpy() - expected["E"].to_numpy())) <= 1e-10
    assert np.max(np.abs(result.weights / expected["W"].to_numpy() - 1)) <= 1e-10
    de = differential_expression(
        counts, dict(zip(counts.columns, groups, strict=True)), counts=True
    )
    assert de.summary()["log2_reason"].startswith("read counts: voom")
    got = de.table.loc[expected["top"].index]
    for ours, theirs in (("logFC", "logFC"), ("t", "t"), ("B", "B"), ("AveExpr", "AveExpr")):
        assert np.max(np.abs(got[ours] - expected["top"][theirs])) <= 1e-6, ours
    np.testing.assert_allclose(got["P.Value"], expected["top"]["P.Value"], rtol=1e-6)
    np.testing.assert_allclose(got["adj.P.Val"], expected["top"]["adj.P.Val"], rtol=1e-6)
    assert set(de.table.index[:40]) & {f"gene{i}" for i in range(40)}  # the shifted genes lead


def test_voom_refuses_what_is_not_counts():
    counts = _counts()
    design = group_design(["A"] * 4 + ["B"] * 5, levels=["A", "B"], samples=list(counts.columns))
    with pytest.raises(ValueError, match="non-negative"):
        voom(counts - 10, design)
    with pytest.raises(ValueError, match="library_sizes"):
        voom(counts, design, library_sizes=np.ones(3))
