"""``exprhub labels``: standardized sample labels with their evidence: show, relabel, export,
and the changes relabels made. Other label commands (``evaluate``, ``qc``) register on
:data:`labels_app`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable
from typer.core import TyperGroup

from exprhub.cli.app import HomeOption, JsonOption, app, console, open_hub, print_json


class _ShowByDefault(TyperGroup):
    """``exprhub labels GSM1 ...`` means ``exprhub labels show GSM1 ...``."""

    default_command = "show"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        elif not args:
            args = [self.default_command]
        return super().parse_args(ctx, args)


labels_app = typer.Typer(
    cls=_ShowByDefault,
    help=(
        "Standardized sample labels (organism, sex, tissue, disease, age ...) with the text "
        "each rests on. `exprhub labels [ACC...]` shows them."
    ),
)
app.add_typer(labels_app, name="labels")

Accessions = Annotated[
    list[str] | None,
    typer.Argument(help="Samples, or series/platforms standing for their samples (default: all)."),
]


@labels_app.command("show")
def show(
    accessions: Accessions = None,
    home: HomeOption = None,
    evidence: Annotated[
        bool, typer.Option("--evidence/--no-evidence", help="Show where each value was read.")
    ] = True,
    json: JsonOption = False,
) -> None:
    """Show the labels of samples (fields without evidence are unknown)."""
    with open_hub(home) as hub:
        labels = hub.labels_of(accessions or None)
    if json:
        print_json(
            [
                {"sample": key, "labels": [label.as_dict() for label in given]}
                for key, given in labels.items()
            ]
        )
        return
    columns = ["sample", "field", "value", "ontology id"]
    if evidence:
        columns += ["source", "evidence", "method", "confidence"]
    table = RichTable()
    for column in columns:  # folded, never cut short: evidence is the point
        table.add_column(column, overflow="fold")
    for key, given in labels.items():
        if not given:
            table.add_row(key, "", "(not labelled)", "", *([""] * 4 if evidence else []))
        for label in given:
            row = [key, label.field, label.value, label.ontology_id or ""]
            if evidence:
                row += [
                    label.source,
                    label.evidence,
                    label.method,
                    f"{label.confidence:.2f}",
                ]
            table.add_row(*row)
    console.print(table)


@labels_app.command("relabel")
def relabel_command(
    accessions: Accessions = None,
    home: HomeOption = None,
    llm: Annotated[
        bool,
        typer.Option(
            "--llm",
            help="Ask the LLM endpoint of EXPRHUB_LLM_URL/_MODEL/_KEY (labels kept beside the "
            "rule labels).",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Label samples again from their stored metadata; every changed value is listed."""
    with open_hub(home) as hub:
        report = hub.relabel(accessions or None, llm=llm)
    if report.missing:
        raise ValueError(f"not in the hub: {', '.join(report.missing)}")
    if json:
        print_json(report.as_dict())
        return
    console.print(
        f"labelled {report.samples} samples ({report.labels} labels); "
        f"{len(report.changes)} values changed",
        markup=False,
    )
    for change in report.changes:
        console.print(
            f"  {change.sample_key} {change.field}: {change.old_value} -> {change.new_value}",
            markup=False,
        )


@labels_app.command("export")
def export_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    accessions: Accessions = None,
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv, xlsx or parquet (default: from the file name)."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Write one row per sample, one column per field, plus evidence columns."""
    with open_hub(home) as hub:
        path = hub.export_labels(output, format=format, accessions=accessions or None)
    console.print(f"wrote {path}", markup=False)


@labels_app.command("changes")
def changes_command(
    accessions: Accessions = None,
    home: HomeOption = None,
    json: JsonOption = False,
) -> None:
    """List the label values relabelling changed, oldest first."""
    with open_hub(home) as hub:
        changes = hub.label_changes(accessions or None)
    if json:
        print_json(changes)
        return
    table = RichTable("sample", "field", "old", "new", "versions", "changed")
    for c in changes:
        table.add_row(
            c["sample_key"],
            c["field"],
            c["old_value"] or "",
            c["new_value"] or "",
            f"{c['old_version']} -> {c['new_version']}",
            c["changed_at"],
        )
    console.print(table)
