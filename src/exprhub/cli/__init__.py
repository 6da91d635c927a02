"""The ``exprhub`` command line."""

from exprhub.cli.app import app, main, run

__all__ = ["app", "main", "run"]
