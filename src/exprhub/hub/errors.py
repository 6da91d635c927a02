"""Errors raised by the hub."""

from __future__ import annotations

from exprhub.storage.errors import HubError

__all__ = ["HubError", "HubNotFound", "RecordNotFound"]


class HubNotFound(HubError):
    """No hub exists at the given location."""


class RecordNotFound(HubError, KeyError):
    """No record with the given accession or name is in the hub."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "record not found"
