"""The public Python API, behind ``import exprhub``.

- ``read``: the records of any GEO file, no hub needed (a ``GeoFile``).
- ``Hub``: a hub directory; import, fetch, refine and search, and pandas DataFrames of
  sample metadata (``Hub.samples``) and expression values (``Hub.expression``).

The CLI (``exprhub``) calls these same functions; docs/python-api.md shows them at work.
"""

from exprhub.api.frames import MissingValuesWarning
from exprhub.api.geofile import GeoFile, read
from exprhub.api.hub import Hub
from exprhub.api.intake import HubNotice, IndexSummary

__all__ = ["GeoFile", "Hub", "HubNotice", "IndexSummary", "MissingValuesWarning", "read"]
