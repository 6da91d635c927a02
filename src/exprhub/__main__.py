"""``python -m exprhub`` runs the command line."""

from exprhub.cli import run

run()
