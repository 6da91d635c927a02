"""The storage engine: knows nothing of GEO.

Chunked numeric matrices with an append tier (:mod:`~exprhub.storage.arrays`; their metadata
in :mod:`~exprhub.storage.array_meta`, zarr on demand in :mod:`~exprhub.storage.zarr_store`),
crash-safe writes (:mod:`~exprhub.storage.atomic_store`, :mod:`~exprhub.storage.chunk_writer`),
data tables and original files by checksum (:mod:`~exprhub.storage.blobs`,
:mod:`~exprhub.storage.staging`), the SQL engine with bulk inserts
(:mod:`~exprhub.storage.database`, :mod:`~exprhub.storage.bulk`), and memory-mapped lookup
files (:mod:`~exprhub.storage.lookup_file`). The record catalogue (:mod:`exprhub.hub`) is built
on it.
"""
