"""``exprhub labels tissue-model``: tissue predicted from expression by a model trained on the
hub's labelled samples (train, evaluate, predict, qc, list, show)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from exprhub.cli.app import HomeOption, JsonOption, console, open_hub, print_json
from exprhub.cli.labels import labels_app

tissue_app = typer.Typer(
    help=(
        "Tissue predicted from expression: a model trained on the hub's labelled samples, "
        "evaluated held out by series (docs/label_checks.md)."
    ),
    no_args_is_help=True,
)
labels_app.add_typer(tissue_app, name="tissue-model")

OrganismOption = Annotated[
    str | None,
    typer.Option(
        "--organism", help="Organism name or NCBI tax id (default: every refined organism)."
    ),
]
FoldsOption = Annotated[
    int | None,
    typer.Option("--folds", min=2, help="GroupKFold folds (default: leave one series group out)."),
]
COption = Annotated[
    float, typer.Option("--c", min=1e-6, help="Inverse regularization of the regression.")
]
CoverageOption = Annotated[
    float,
    typer.Option(
        "--gene-coverage",
        min=0.01,
        max=1.0,
        help="Share of training samples a gene must be measured in (default: all).",
    ),
]
Accessions = Annotated[
    list[str] | None,
    typer.Argument(help="Samples, series, platforms or DataSets (default: all refined)."),
]


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _print_evaluation(evaluation: Any) -> None:
    console.print(
        f"  held out ({evaluation.scheme}, {evaluation.groups} series groups, "
        f"{evaluation.samples} samples): accuracy {_figure(evaluation.accuracy)}, "
        f"macro-F1 {_figure(evaluation.macro_f1)}; over tissues of 2+ groups "
        f"({evaluation.evaluable_samples} samples): accuracy "
        f"{_figure(evaluation.accuracy_evaluable)}, macro-F1 "
        f"{_figure(evaluation.macro_f1_evaluable)}",
        markup=False,
        soft_wrap=True,
    )
    for term, entry in evaluation.classes.items():
        console.print(
            f"    {term}\t{entry['name']}\t{entry['samples']} samples\t"
            f"{entry['series_groups']} series group(s)\trecall {entry['recall']:.2f}"
            + ("" if entry["evaluable"] else "\t(not evaluable: one group)"),
            markup=False,
            soft_wrap=True,
        )
    console.print(f"  note: {evaluation.note}", markup=False, soft_wrap=True)


@tissue_app.command("train")
def train(
    home: HomeOption = None,
    organism: OrganismOption = None,
    evaluate: Annotated[
        bool,
        typer.Option("--evaluate/--no-evaluate", help="Held-out evaluation by series groups."),
    ] = True,
    folds: FoldsOption = None,
    c: COption = 1.0,
    gene_coverage: CoverageOption = 1.0,
    json: JsonOption = False,
) -> None:
    """Train and store a tissue model per organism on the refined samples with a rule tissue
    label (UBERON), as a new version named by its content."""
    with open_hub(home) as hub:
        result = hub.train_tissue_model(
            organism, evaluate=evaluate, folds=folds, c=c, gene_coverage=gene_coverage
        )
    if json:
        print_json(result.as_dict())
        return
    for report in result.models:
        model = report.model
        state = "new" if report.new else "unchanged (same training data)"
        console.print(
            f"{model.version}\ttax id {model.tax_id}\t{model.n_samples} samples\t"
            f"{model.n_classes} tissues\t{model.document.get('genes')} genes\t{state}",
            markup=False,
            soft_wrap=True,
        )
        if report.evaluation is not None:
            _print_evaluation(report.evaluation)
    for reason in result.skipped.values():
        console.print(f"skipped: {reason}", markup=False, soft_wrap=True)
    if not result.models and not result.skipped:
        console.print("no refined samples to train on")


@tissue_app.command("evaluate")
def evaluate(
    home: HomeOption = None,
    organism: OrganismOption = None,
    folds: FoldsOption = None,
    c: COption = 1.0,
    gene_coverage: CoverageOption = 1.0,
    json: JsonOption = False,
) -> None:
    """Held-out accuracy and macro-F1 of the model training would make now, holding out whole
    series groups (never single samples); nothing is stored."""
    with open_hub(home) as hub:
        found = hub.evaluate_tissue_model(organism, folds=folds, c=c, gene_coverage=gene_coverage)
    if json:
        print_json(
            [
                {"tax_id": tax, **({"skipped": e} if isinstance(e, str) else e.as_dict())}
                for tax, e in found.items()
            ]
        )
        return
    for tax, evaluation in found.items():
        if isinstance(evaluation, str):
            console.print(f"tax id {tax}: skipped: {evaluation}", markup=False, soft_wrap=True)
            continue
        console.print(f"tax id {tax}")
        _print_evaluation(evaluation)


@tissue_app.command("predict")
def predict(
    accessions: Accessions = None,
    home: HomeOption = None,
    store: Annotated[
        bool,
        typer.Option("--store/--no-store", help="Store the predictions as labels (default)."),
    ] = True,
    all_samples: Annotated[
        bool,
        typer.Option("--all", help="Store for samples with a rule tissue label too (beside it)."),
    ] = False,
    model: Annotated[
        str | None, typer.Option("--model", help="A stored model version (default: current).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Predict the tissue of samples with the current model of their organism and store the
    predictions as labels (method ``expression model``) of the samples without a rule tissue
    label (``--all``: of every sample); rule labels are never changed."""
    with open_hub(home) as hub:
        stored = None
        if store:
            stored = hub.store_tissue_predictions(
                accessions or (), all_samples=all_samples, version=model
            )
            frame = stored.frame()
        else:
            frame = hub.predict_tissue(accessions or (), version=model)
    from exprhub.api.tissue_models import json_rows

    rows = json_rows(frame)
    if json:
        print_json({"predictions": rows, "stored": stored.as_dict() if stored else None})
        return
    for row in rows:
        console.print(
            f"{row['sample']}\t{row['tissue']}\t{row['ontology_id'] or '-'}\t"
            f"{row['confidence']:.2f}\t{row['model_version'] or '-'}\t{row['reason']}",
            markup=False,
            soft_wrap=True,
        )
    if stored is not None:
        console.print(
            f"stored {stored.stored} label(s), removed {stored.cleared} now uncertain, "
            f"left {stored.skipped} sample(s) alone, {len(stored.changes)} value(s) changed",
            markup=False,
        )


@tissue_app.command("qc")
def qc(
    accessions: Accessions = None,
    home: HomeOption = None,
    all_samples: Annotated[
        bool, typer.Option("--all", help="List every sample checked, not only the flagged.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Samples whose labelled tissue disagrees with the tissue their expression shows."""
    with open_hub(home) as hub:
        frame = hub.tissue_qc(accessions or (), flagged_only=not all_samples)
    from exprhub.api.tissue_models import json_rows

    rows = json_rows(frame)
    if json:
        print_json(rows)
        return
    if not rows:
        console.print("no disagreements" if not all_samples else "no samples checked")
        return
    for row in rows:
        mark = "FLAG " if row["flag"] else "     "
        trained = " (in training)" if row["in_training"] else ""
        console.print(
            f"{mark}{row['sample']}\tannotated {row['annotated']}\tpredicted "
            f"{row['predicted']} ({row['confidence']:.2f}){trained}\t{row['status']}\t"
            f"{row['model_version'] or '-'}",
            markup=False,
            soft_wrap=True,
        )


@tissue_app.command("list")
def list_models(
    home: HomeOption = None, organism: OrganismOption = None, json: JsonOption = False
) -> None:
    """Stored tissue models, newest first (the newest of an organism is its current one)."""
    with open_hub(home) as hub:
        models = hub.tissue_models(organism)
    if json:
        print_json(models)
        return
    if not models:
        console.print("no tissue models (exprhub labels tissue-model train)")
    for m in models:
        evaluation = m.get("evaluation") or {}
        console.print(
            f"{m['version']}{' *' if m['current'] else '  '}\ttax id {m['tax_id']}\t"
            f"{m['n_samples']} samples\t{m['n_classes']} tissues\t{m['series_groups']} "
            f"series groups\theld-out accuracy {_figure(evaluation.get('accuracy'))}\t"
            f"{m['trained_at']}",
            markup=False,
            soft_wrap=True,
        )


@tissue_app.command("show")
def show(
    version: Annotated[str, typer.Argument(help="A model version.")],
    home: HomeOption = None,
    json: JsonOption = False,
) -> None:
    """One stored model: classes, parameters, evaluation and its training set."""
    with open_hub(home) as hub:
        model = hub.tissue_model(version)
    if json:
        print_json(model)
        return
    for key in ("version", "tax_id", "kind", "library_version", "digest", "trained_at"):
        console.print(f"{key}\t{model[key]}", markup=False)
    console.print(f"genes\t{model['genes']}\tparams\t{model['params']}", markup=False)
    for term, entry in model["classes"].items():
        console.print(
            f"class\t{term}\t{entry['name']}\t{entry['samples']} samples\t"
            f"{entry['series_groups']} series group(s)",
            markup=False,
        )
    for row in model["training"].get("samples", []):
        console.print(f"trained on\t{row['sample']}\t{row['tissue']}\t{row['group']}", markup=False)
