"""``exprhub labels qc`` and ``exprhub labels evaluate``: checks of sample labels.

:func:`register` adds the commands to the ``labels`` group it is given."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from exprhub.cli.app import HomeOption, JsonOption, console, open_hub, print_json
from exprhub.cli.labels import labels_app


def _plain(value: Any) -> Any:
    """A cell as JSON: NaN as null, numpy numbers as Python numbers."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def qc(
    accessions: Annotated[
        list[str] | None,
        typer.Argument(help="Samples, series, platforms or DataSets (default: all refined)."),
    ] = None,
    home: HomeOption = None,
    all_samples: Annotated[
        bool, typer.Option("--all", help="List every sample checked, not only the flagged.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Samples whose annotated sex disagrees with the sex their expression shows (Y-linked
    genes against XIST, on refined values; docs/label_checks.md)."""
    with open_hub(home) as hub:
        frame = hub.label_qc(accessions or (), flagged_only=not all_samples)
    if json:
        print_json(
            [
                {"sample": str(k), **{c: _plain(v) for c, v in row.items()}}
                for k, row in frame.to_dict(orient="index").items()
            ]
        )
        return
    if frame.empty:
        console.print("no disagreements" if not all_samples else "no samples checked")
        return
    for sample, row in frame.iterrows():
        mark = "FLAG " if row["flag"] else "     "
        console.print(
            f"{mark}{sample}\tannotated {row['annotated']}"
            + (f" ({row['annotated_from']})" if row["annotated_from"] else "")
            + f"\tpredicted {row['predicted']} ({row['confidence']:.2f})\t{row['status']}"
            + f"\t{row['reason']}",
            markup=False,
            soft_wrap=True,
        )


def evaluate(
    gold: Annotated[Path, typer.Argument(help="Gold set CSV (tests/data/labels_gold.csv).")],
    home: HomeOption = None,
    predictions: Annotated[
        Path | None,
        typer.Option(
            "--predictions",
            help="Predicted labels CSV (samples x fields, or accession/field/value rows) "
            "instead of the hub's stored labels.",
        ),
    ] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", help="Only these fields (repeatable).")
    ] = None,
    confusion: Annotated[
        bool, typer.Option("--confusion/--no-confusion", help="Print the confusion tables.")
    ] = True,
    json: JsonOption = False,
) -> None:
    """Per-field accuracy and macro-F1 of labels against a hand-labelled gold set, with
    confusion tables (how unknown counts: docs/label_checks.md)."""
    from exprhub.api.label_checks import evaluate_labels
    from exprhub.curate.evaluation import format_evaluation, read_gold, read_predictions

    try:
        gold_frame = read_gold(gold)
        predicted = read_predictions(predictions) if predictions is not None else None
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if predicted is None:
        with open_hub(home) as hub:
            result = evaluate_labels(hub, gold_frame, None, fields=field)
    else:
        from exprhub.curate.evaluation import evaluate as score

        result = score(gold_frame, predicted, field)
    if json:
        print_json(result.to_dict())
        return
    console.print(format_evaluation(result, confusion=confusion), markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``qc`` and ``evaluate`` to ``app`` (the ``labels`` command group)."""
    app.command("qc")(qc)
    app.command("evaluate")(evaluate)


register(labels_app)
