"""Errors raised by the hub."""

from __future__ import annotations

from exprhub.storage.errors import HubError

__all__ = ["HubBusy", "HubError", "HubNotFound", "RecordNotFound"]


class HubNotFound(HubError):
    """No hub exists at the given location."""


class RecordNotFound(HubError, KeyError):
    """No record with the given accession or name is in the hub."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "record not found"


class HubBusy(HubError):
    """The hub's database stayed locked by another writer for longer than this operation
    waits (SQLite allows one writer at a time); nothing was written: try again later.

    Parameters
    ----------
    message
        What could not be done.
    retry_after
        Seconds after which trying again is likely to succeed.
    """

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
