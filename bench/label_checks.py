"""Label checks on every real GEO fixture: the sex check and the gold-set evaluation.

Imports every file of ``../shared/fixtures/geo`` that is a GEO record (the broken and Entrez
files are skipped and listed) into a fresh hub, refines everything in this process, then runs
``Hub.predict_sex`` and ``Hub.label_qc`` on every refined sample and ``Hub.evaluate_labels``
on ``tests/data/labels_gold.csv`` against the hub's labels (its harmonized metadata until the
labeller stores labels). Prints the calls, the flags and the evaluation table, and a JSON
summary with the timings. ``--size`` is the number of times the gold set is scored (the
evaluation's own speed; the fixtures fix the hub's size).

Usage::

    python bench/label_checks.py                 # ~1 minute on 2 cores
    python bench/label_checks.py --keep /tmp/h   # keep the hub
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "geo"
GOLD = REPO / "tests" / "data" / "labels_gold.csv"


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    import exprhub
    from exprhub.curate.evaluation import format_evaluation

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the hub here and keep it")
    parser.add_argument("--size", type=int, default=20, help="times the gold set is scored")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as scratch:
        home = args.keep or Path(scratch) / "hub"
        hub = exprhub.Hub.init(home)
        skipped = []
        started = time.perf_counter()
        for path in sorted(FIXTURES.glob("*/*")):
            if path.suffix == ".md":
                continue
            try:
                hub.import_files(path)
            except Exception as exc:  # a fixture that is deliberately not a GEO record
                skipped.append(f"{path.name}: {str(exc)[:80]}")
        imported = time.perf_counter() - started
        started = time.perf_counter()
        hub.refine(workers=0)
        refined = time.perf_counter() - started
        started = time.perf_counter()
        calls = hub.predict_sex()
        qc = hub.label_qc()
        checked = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(max(1, args.size)):
            result = hub.evaluate_labels(GOLD)
        scored = (time.perf_counter() - started) / max(1, args.size)
        hub.close()
    print("skipped:", *skipped, sep="\n  ")
    print("\nsex calls:", calls["sex"].value_counts().to_dict())
    print(calls[calls["sex"] != "uncertain"][["tax_id", "sex", "confidence", "y_genes"]])
    print("\nQC:", qc["status"].value_counts().to_dict())
    print(qc[qc["flag"]][["annotated", "annotated_from", "predicted", "confidence"]])
    print()
    print(format_evaluation(result, confusion=False))
    summary = {
        "refined_samples": len(calls),
        "calls": calls["sex"].value_counts().to_dict(),
        "flagged": list(qc.index[qc["flag"]]),
        "import_s": round(imported, 2),
        "refine_s": round(refined, 2),
        "sex_check_s": round(checked, 3),
        "evaluate_s": round(scored, 4),
        "accuracy": {f: s.accuracy for f, s in result.fields.items()},
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
