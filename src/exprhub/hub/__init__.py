"""The record catalogue: metadata in SQL, matrices in the chunked array store
(:mod:`exprhub.storage`), data tables and original files by checksum.

The hub is the only layer above the storage engine that talks SQL: everything above it reads
and writes through the functions below, never through the schema.

Writing
    :meth:`Hub.writer` yields a :class:`HubWriter` (one transaction): records
    (:meth:`HubWriter.put`), annotations, original files, and matrix columns
    (:meth:`HubWriter.matrix`, :meth:`HubWriter.add_column`,
    :meth:`HubWriter.deactivate_columns`). The refinery's tables are written by the
    functions of :mod:`exprhub.hub.refinery_tables`, given the writer.

Reading records
    Every read of stored records goes through these (the place where record visibility is
    to be enforced):

    * :class:`~exprhub.hub.queries.RecordQueries` (inherited by :class:`Hub`):
      ``record``, ``has``, ``related``, ``summary`` / ``record_and_summary``, ``revision``,
      ``latest_write``, ``briefs``, ``records``, ``counts``, ``history``,
      ``conflicts``, ``sample_facts``, ``record_origin``, ``platform_table_tag`` (all through
      the private ``_find_row`` / ``_load`` or their own query on ``records``), and
      :meth:`~exprhub.hub.matrix_queries.MatrixQueries.samples_of` built on them;
    * :mod:`exprhub.hub.listing`: ``list_records``, ``organism_counts``,
      ``series_organisms``, ``characteristic_keys``;
    * :mod:`exprhub.hub.index_feed`: ``changed_records``, ``platform_fields`` (the search
      index's source);
    * :meth:`Hub.records_by_key` (many records in a few queries: sample metadata of bundles
      and DataFrames);
    * :meth:`Hub.annotation` (platform annotations);
    * :mod:`exprhub.hub.gene_lookup`: ``find_gene_rows``, ``annotated_platforms``,
      ``matrices_of_kind``, ``matrix_feature_row`` (genes and profiles);
    * :mod:`exprhub.hub.platform_catalogue`: ``related_of_keys`` (``related`` of many keys),
      ``platforms_with_probes`` and ``platform_facts`` (the gene look-up's platforms, their
      series, DataSets, table tags and origins in a few queries).

Reading values
    :class:`~exprhub.hub.matrix_queries.MatrixQueries` (inherited by :class:`Hub`):
    ``matrix_shape``, ``matrix_features``, ``matrix_samples``, ``sample_matrices``,
    ``current_columns``, ``read_columns``, ``sample_values``, ``feature_values``; the
    refinery's rows through :mod:`exprhub.hub.refinery_tables`; many samples of one kind
    across matrices, joined on the feature id, through
    :func:`exprhub.hub.joined_columns.joined_columns` (refined values, read counts,
    compendia).

Labels
    :mod:`exprhub.hub.labels`: standardized sample labels with their evidence
    (``write_labels`` in a writer's transaction, ``sample_labels``, ``samples_with_label``,
    ``label_changes``, ``label_versions``, ``labelled_samples``); listings filter on them
    through ``CharacteristicMatch.label``.
"""

from exprhub.hub.errors import HubError, HubNotFound, RecordNotFound
from exprhub.hub.hub import Hub, commit_code, default_home
from exprhub.hub.matrix_writes import (
    COUNTS_KIND,
    MatrixBuffer,
    counts_matrix_name,
    dataset_matrix_name,
    parse_counts_matrix_name,
    submitted_matrix_name,
)
from exprhub.hub.queries import RecordSummary, SampleFacts
from exprhub.hub.writer import HubWriter, PutOutcome

__all__ = [
    "COUNTS_KIND",
    "Hub",
    "HubError",
    "HubNotFound",
    "HubWriter",
    "MatrixBuffer",
    "PutOutcome",
    "RecordNotFound",
    "RecordSummary",
    "SampleFacts",
    "commit_code",
    "counts_matrix_name",
    "dataset_matrix_name",
    "default_home",
    "parse_counts_matrix_name",
    "submitted_matrix_name",
]
