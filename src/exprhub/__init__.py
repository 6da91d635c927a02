"""exprhub: a self-hostable home for gene expression data.

The public Python API: ``exprhub.Hub(path)`` opens a hub; the CLI and the HTTP API call the
same objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from exprhub.hub import Hub, HubError, RecordNotFound

__all__ = ["Hub", "HubError", "RecordNotFound", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import exprhub` (and the CLI's start-up) stays cheap.
    if name in ("Hub", "HubError", "RecordNotFound"):
        from exprhub import hub

        return getattr(hub, name)
    raise AttributeError(f"module 'exprhub' has no attribute {name!r}")
