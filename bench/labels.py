"""What labelling adds to an import: GSE1623 and GSE2870 (real GEO families) imported into a
fresh hub with and without labelling, alternating, best of N; and label_sample per sample.

    python bench/labels.py            # 3 rounds
    python bench/labels.py --repeat 5

The term index is loaded (or built) once before timing: a CLI process pays that once
(``index_load_s``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from exprhub.curate.labels import label_sample
from exprhub.curate.labels.ontology import term_index
from exprhub.formats.detect import detect_format, open_reader
from exprhub.hub import Hub
from exprhub.ingest import labelling
from exprhub.ingest.importer import import_file
from exprhub.records import Sample, Series

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "geo"
FILES = ("gemma/GSE1623_family.soft.txt.gz", "gemma/GSE2870_family.soft.gz")


def _import_seconds(path: Path, labelled: bool) -> float:
    write, members = labelling.ImportLabels.write, labelling.ImportLabels.relabel_members
    if not labelled:
        labelling.ImportLabels.write = lambda self, hub, writer: []  # type: ignore[method-assign]
        labelling.ImportLabels.relabel_members = lambda self, hub: (0, [])  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as folder, Hub.init(Path(folder) / "hub") as hub:
            start = time.perf_counter()
            import_file(hub, path)
            return time.perf_counter() - start
    finally:
        labelling.ImportLabels.write, labelling.ImportLabels.relabel_members = write, members


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    args = parser.parse_args()
    start = time.perf_counter()
    term_index()
    out: dict[str, object] = {"index_load_s": round(time.perf_counter() - start, 3)}
    for name in FILES:
        path = args.fixtures / name
        records = list(open_reader(path, detect_format(path)).records())
        samples = [r for r in records if isinstance(r, Sample)]
        series = [r for r in records if isinstance(r, Series)]
        start = time.perf_counter()
        for sample in samples:
            label_sample(sample, series)
        per_sample = (time.perf_counter() - start) / len(samples)
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.repeat):
            for labelled in (False, True):
                times[labelled].append(_import_seconds(path, labelled))
        without, with_labels = min(times[False]), min(times[True])
        out[Path(name).name.split("_")[0]] = {
            "samples": len(samples),
            "label_sample_ms_per_sample": round(per_sample * 1000, 2),
            "import_s_without_labels": round(without, 3),
            "import_s_with_labels": round(with_labels, 3),
            "labelling_share": round((with_labels - without) / with_labels, 3),
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
