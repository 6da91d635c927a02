"""A hub of real mouse series for the tissue model's tests: pancreas (GSE1623, MG-U74A), ovary
(the SuperSeries GSE11897 with its SubSeries GSE7774-6, three platforms) and ciliary
epithelium (GSE3791, MG-U74Av2 A and B; its human samples too). In a copy of GSE1623's family
file one sample's tissue is removed (GSM27457: to be predicted; the series summary's
"pancreatic RNA" goes too, since the labeller reads a series' text for samples that name no
organ) and another's is changed to ovary (GSM27456: a mislabel the check must flag)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from exprhub.api import Hub

PANCREAS, OVARY, CILIARY = "UBERON:0001264", "UBERON:0000992", "UBERON:0001778"
UNLABELLED, MISLABELLED = "GSM27457", "GSM27456"


def _edited(text: str, sample: str, tissue: str) -> str:
    start = text.index(f"^sample = {sample}")
    end = text.index("!sample_table_begin", start)
    return text[:start] + re.sub(r"[Pp]ancreas", tissue, text[start:end]) + text[end:]


def build_tissue_hub(root: Path, geo_fixtures: Path) -> Hub:
    """The hub above in ``root / "hub"``, refined (the copy of GSE1623 is written in
    ``root``)."""
    with gzip.open(geo_fixtures / "gemma/GSE1623_family.soft.txt.gz", "rt", newline="") as f:
        text = f.read()
    text = _edited(_edited(text, UNLABELLED, "whole organ"), MISLABELLED, "ovary")
    text = text.replace("!Series_summary = Total pancreatic RNA", "!Series_summary = Total RNA", 1)
    copy = root / "GSE1623_family.soft.gz"
    with gzip.open(copy, "wt", newline="") as f:
        f.write(text)
    hub = Hub.init(root / "hub")
    hub.import_files(
        [
            copy,
            geo_fixtures / "gemma/GSE11897_family.soft.gz",
            geo_fixtures / "gemma/GSE7774_family.soft.gz",
            geo_fixtures / "gemma/GSE3791_family.soft.gz",
        ]
    )
    hub.refine(workers=0)
    return hub
