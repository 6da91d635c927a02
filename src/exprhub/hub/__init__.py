"""The one layer that persists: metadata in SQL, matrices in a chunked array store, data
tables and original files by checksum."""

from exprhub.hub.errors import HubError, HubNotFound, RecordNotFound
from exprhub.hub.hub import Hub, default_home
from exprhub.hub.queries import RecordSummary
from exprhub.hub.writer import HubWriter, PutOutcome

__all__ = [
    "Hub",
    "HubError",
    "HubNotFound",
    "HubWriter",
    "PutOutcome",
    "RecordNotFound",
    "RecordSummary",
    "default_home",
]
