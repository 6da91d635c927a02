"""Tissue from expression on every real GEO fixture: train, evaluate held out by series
groups, predict the samples without a tissue label.

Imports every file of ``../shared/fixtures/geo`` that is a GEO record into a fresh hub,
refines everything in this process, trains a tissue model per organism
(``Hub.train_tissue_model``), prints each model's classes with their sample and series-group
counts and the held-out figures, then the predictions for refined samples without a rule
tissue label and the QC flags. ``--synthetic N`` also times training and a leave-one-group-out
evaluation on a simulated matrix of N samples (20 series of 4 tissues) x 2,000 genes: the
mechanics at scale, not an accuracy claim.

Usage::

    python bench/tissue_model.py                   # ~1.5 minutes on 2 cores
    python bench/tissue_model.py --synthetic 2000  # plus the simulated run
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


def synthetic(n: int, genes: int = 2000) -> dict[str, float]:
    """Seconds to fit and to evaluate leave-one-group-out on ``n`` simulated samples."""
    import numpy as np

    from exprhub.analysis.tissue_model import TrainingSet, fit_model, grouped_evaluation

    rng = np.random.default_rng(0)
    tissues = [f"UBERON:{i:07d}" for i in range(4)]
    base = rng.normal(8, 2, genes)
    series = rng.integers(0, 20, n)
    terms = [tissues[s % 4] for s in series]
    values = base + rng.normal(0, 0.5, (n, genes)) + rng.normal(0, 0.3, (20, genes))[series]
    for i, s in enumerate(series):
        values[i, (s % 4) * 50 : (s % 4) * 50 + 50] += 2
    training = TrainingSet(
        9606,
        tuple(f"S{i}" for i in range(n)),
        tuple(terms),
        tuple(terms),
        tuple(f"GSE{s}" for s in series),
    )
    started = time.perf_counter()
    fit_model(training, values, [str(g) for g in range(genes)])
    fitted = time.perf_counter() - started
    started = time.perf_counter()
    evaluation = grouped_evaluation(training, values)
    return {
        "samples": n,
        "genes": genes,
        "fit_s": round(fitted, 2),
        "leave_one_group_out_s": round(time.perf_counter() - started, 2),
        "accuracy": round(evaluation.accuracy, 3),
    }


def main(argv: list[str] | None = None) -> int:
    import exprhub

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the hub here and keep it")
    parser.add_argument("--synthetic", type=int, default=0, help="simulated samples to time")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    summary: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as scratch:
        home = args.keep or Path(scratch) / "hub"
        hub = exprhub.Hub.init(home)
        started = time.perf_counter()
        for path in sorted(FIXTURES.glob("*/*")):
            if path.suffix == ".md":
                continue
            try:
                hub.import_files(path)
            except Exception:  # a fixture that is deliberately not a GEO record
                continue
        summary["import_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        hub.refine(workers=0)
        summary["refine_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        trained = hub.train_tissue_model()
        summary["train_and_evaluate_s"] = round(time.perf_counter() - started, 1)
        models = []
        for report in trained.models:
            model, evaluation = report.model, report.evaluation
            print(f"\n{model.version}: {model.n_samples} samples, {model.document['genes']} genes")
            for term, entry in model.document["classes"].items():
                print(
                    f"  {term} {entry['name']}: {entry['samples']} samples, "
                    f"{entry['series_groups']} series group(s)"
                )
            if evaluation is not None:
                print(
                    f"  {evaluation.scheme}: accuracy {evaluation.accuracy:.3f}, macro-F1 "
                    f"{evaluation.macro_f1:.3f}, evaluable samples {evaluation.evaluable_samples}"
                )
                print(f"  {evaluation.note}")
            models.append(
                {
                    "version": model.version,
                    "tax_id": model.tax_id,
                    "classes": model.document["classes"],
                    "accuracy": evaluation.accuracy if evaluation else None,
                    "macro_f1": evaluation.macro_f1 if evaluation else None,
                    "accuracy_evaluable": evaluation.accuracy_evaluable if evaluation else None,
                }
            )
        for tax, reason in trained.skipped.items():
            print(f"\nskipped tax id {tax}: {reason}")
        started = time.perf_counter()
        qc = hub.tissue_qc()
        summary["qc_s"] = round(time.perf_counter() - started, 1)
        called = qc[(qc["status"] == "not annotated") & (qc["predicted"] != "uncertain")]
        print(f"\npredicted for {len(called)} refined samples without a tissue label:")
        for sample, row in called.iterrows():
            print(f"  {sample} {row['predicted']} ({row['confidence']:.2f})")
        print(f"flagged: {list(qc.index[qc['flag']])}")
        summary.update(
            models=models,
            skipped={str(k): v for k, v in trained.skipped.items()},
            refined_samples=len(qc),
            predicted_unlabelled=len(called),
            flagged=list(qc.index[qc["flag"]]),
        )
        hub.close()
    if args.synthetic:
        summary["synthetic"] = synthetic(args.synthetic)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
