"""GEO SOFT files: :class:`SoftReader` / :func:`read_soft` and :func:`write_soft`.

The implementation lives in :mod:`exprhub.formats.soft_reader`,
:mod:`exprhub.formats.soft_writer` and :mod:`exprhub.formats.soft_table`; import from here.
"""

from exprhub.formats.soft_reader import SoftReader, read_soft
from exprhub.formats.soft_writer import geo_order, write_soft

__all__ = ["SoftReader", "geo_order", "read_soft", "write_soft"]
