"""Hub health from the Python API: :meth:`exprhub.Hub.check` (docs/store.md, "Orphan files")."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from exprhub.hub import Hub as CatalogueHub
    from exprhub.hub.orphan_files import FileCheck


class HubCheck:
    """The file check of :class:`exprhub.Hub` (mixed into it)."""

    def check(self, *, repair: bool = False) -> FileCheck:
        """Files under the hub's ``tables/`` and ``files/`` that no committed record, history
        version or annotation refers to (left by killed imports), and referenced ones that are
        missing.

        Parameters
        ----------
        repair
            Remove the orphans (and first recover a crashed write, as the next import would).
            Missing files are only reported.

        Waits for a running import to finish and blocks imports while it runs.
        """
        from exprhub.hub.orphan_files import check_files

        return check_files(cast("CatalogueHub", self), repair=repair)
