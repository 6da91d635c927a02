"""Errors raised by the storage engine (and, through :mod:`exprhub.hub.errors`, by the hub)."""

from __future__ import annotations


class HubError(RuntimeError):
    """A hub operation failed; the message is one readable line.

    Defined here, at the bottom of the persisted layers, so that the storage engine's errors
    (a missing matrix, a fenced store) are hub errors to everything above.
    """
