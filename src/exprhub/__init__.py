"""exprhub: a self-hostable home for gene expression data.

The public Python API (:mod:`exprhub.api`)::

    import exprhub

    records = exprhub.read("GSE1623_family.soft.gz")   # any GEO file, no hub needed
    hub = exprhub.Hub.init("./myhub")
    hub.import_files("GSE1623_family.soft.gz")
    hub.samples()                                       # sample metadata, a DataFrame
    hub.expression("GSE1623")                           # probes x samples, a DataFrame

Names are imported on first use, so that ``import exprhub`` (and the CLI's start-up) stays
cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from exprhub.api import GeoFile, Hub, HubNotice, MissingValuesWarning, read
    from exprhub.formats.errors import FormatError, LimitExceeded
    from exprhub.hub import HubError, HubNotFound, RecordNotFound
    from exprhub.ingest.fetch import FetchError
    from exprhub.ingest.importer import ImportFailed

#: Public name -> the module it is imported from on first use.
_LAZY = {
    "Hub": "exprhub.api",
    "read": "exprhub.api",
    "GeoFile": "exprhub.api",
    "HubNotice": "exprhub.api",
    "MissingValuesWarning": "exprhub.api",
    "HubError": "exprhub.hub",
    "HubNotFound": "exprhub.hub",
    "RecordNotFound": "exprhub.hub",
    "FormatError": "exprhub.formats.errors",
    "LimitExceeded": "exprhub.formats.errors",
    "ImportFailed": "exprhub.ingest.importer",
    "FetchError": "exprhub.ingest.fetch",
}

__all__ = [
    "FetchError",
    "FormatError",
    "GeoFile",
    "Hub",
    "HubError",
    "HubNotFound",
    "HubNotice",
    "ImportFailed",
    "LimitExceeded",
    "MissingValuesWarning",
    "RecordNotFound",
    "__version__",
    "read",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'exprhub' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
