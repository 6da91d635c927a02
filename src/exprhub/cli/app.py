"""The ``exprhub`` command: the Typer application, shared options and error handling.

Commands only parse arguments, call the public Python API and print; every error becomes one
line on stderr and exit code 1 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console

app = typer.Typer(
    name="exprhub",
    help="A self-hostable home for gene expression data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

console = Console()
err_console = Console(stderr=True)

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Hub directory (default: $EXPRHUB_HOME or ./exprhub-data).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (stable, documented).")]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """exprhub: GEO-style repository, refinery and curator for expression data."""


def print_json(data: Any) -> None:
    """Print JSON to stdout (sorted keys off: key order is part of the documented shape)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def open_hub(home: Path | None):  # type: ignore[no-untyped-def]
    """Open an existing hub (one readable error if there is none)."""
    from exprhub.hub import Hub

    return Hub(home)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``exprhub`` command; returns the exit code."""
    from exprhub.cli import commands, ingest, refine, search, serve  # noqa: F401  (registers the commands)

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        code = app(args=args, prog_name="exprhub", standalone_mode=False)
    except (click.exceptions.Exit, typer.Exit) as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        err_console.print("error: aborted", style="red", markup=False)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("error: interrupted", markup=False)
        return 130
    except Exception as exc:
        if debug:
            raise
        message = str(exc) or type(exc).__name__
        if isinstance(exc, KeyError) and exc.args:
            message = str(exc.args[0])
        sys.stderr.write(f"error: {' '.join(message.splitlines())}\n")
        return 1
    return code if isinstance(code, int) else 0


def run() -> None:
    """Console-script wrapper."""
    sys.exit(main())
