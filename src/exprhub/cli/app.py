"""The ``exprhub`` command: the Typer application, shared options and error handling.

Commands only parse arguments, call the public Python API and print; every error becomes one
line on stderr and exit code 1 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

if TYPE_CHECKING:
    from exprhub.api import Hub

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


def download_progress() -> tuple[Progress, Callable[[str, int, int | None], None]]:
    """A display of downloads (a bar per URL, on stderr when it is a terminal) and the
    ``(url, bytes done, bytes in all)`` callback that feeds it."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    tasks: dict[str, Any] = {}

    def on_bytes(url: str, done: int, total: int | None) -> None:
        if url not in tasks:
            tasks[url] = progress.add_task(url.rsplit("/", 1)[-1][:60], total=total)
        progress.update(tasks[url], completed=done, total=total)

    return progress, on_bytes


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
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Hub directory for the command (as the command's own --home).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """exprhub: GEO-style repository, refinery and curator for expression data."""
    # main() hands a --home given before the command to the command itself; this option only
    # documents it (and receives it when main() is bypassed, where it cannot be passed on)


def home_after_command(args: list[str]) -> list[str]:
    """``args`` with a ``--home DIR`` given before the command moved after the command name
    (every command takes ``--home``), so ``exprhub --home DIR info`` works as
    ``exprhub info --home DIR``; a ``--home`` given to the command itself still wins."""
    leading: list[str] = []
    home: list[str] = []
    rest = list(args)
    while rest and rest[0].startswith("-"):
        token = rest.pop(0)
        if token == "--home" and rest:
            home = ["--home", rest.pop(0)]
        elif token.startswith("--home="):
            home = ["--home", token.split("=", 1)[1]]
        else:
            leading.append(token)
    if not home or not rest:
        return args
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    # duck-typed: Typer's groups are not always click.Group instances
    while rest and rest[0] in getattr(command, "commands", {}):
        path.append(rest[0])
        command = command.commands[rest.pop(0)]
    default = getattr(command, "default_command", None)
    if default:  # a group run as its default command (`exprhub labels GSM1` is `... show`)
        path.append(default)
        command = command.commands[default]
    if not path or hasattr(command, "commands"):
        return args  # no command named: let click report it
    if not any("--home" in getattr(param, "opts", ()) for param in command.params):
        raise click.UsageError(f"`exprhub {' '.join(path)}` takes no --home")
    return [*leading, *path, *home, *rest]


def print_notice(message: str) -> None:
    """One ``note:`` line on stderr (something the user should know; not a failure)."""
    err_console.print(f"note: {message}", markup=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """Print JSON to stdout (sorted keys off: key order is part of the documented shape)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def open_hub(home: Path | None) -> Hub:
    """Open an existing hub through the Python API (one readable error if there is none)."""
    from exprhub.api import Hub

    return Hub(home)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``exprhub`` command; returns the exit code."""
    import exprhub.cli.label_checks
    import exprhub.cli.tissue_model  # noqa: F401  (`labels tissue-model ...`)
    from exprhub.cli import (  # noqa: F401  (registers the commands)
        bundle,
        commands,
        compendium,
        explore,
        geo2r,
        ingest,
        labels,
        profile_store,
        profiles,
        refine,
        search,
        serve,
    )

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        args = home_after_command(args)
        code = app(args=args, prog_name="exprhub", standalone_mode=False)
    except (click.exceptions.Exit, typer.Exit) as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        err_console.print("error: aborted", style="red", markup=False)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except typer.exceptions.TyperException as exc:
        # typer >= 0.20 raises its own copy of click's usage errors: a group run without a
        # command has printed its help already (NoArgsIsHelpError), the others say what is
        # wrong in one line
        if type(exc).__name__ == "NoArgsIsHelpError":
            return 0
        err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
        return int(getattr(exc, "exit_code", 2))
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
