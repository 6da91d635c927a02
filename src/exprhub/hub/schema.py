"""SQL schema of the hub's metadata (SQLAlchemy Core).

The migrations in ``exprhub/hub/migrations`` create exactly these tables; a test compares the
two so they cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

records = Table(
    "records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", String(8), nullable=False),
    Column("key", String(255), nullable=False),
    Column("accession", String(32), nullable=True),
    Column("title", Text, nullable=True),
    Column("status", String(255), nullable=True),
    Column("submission_date", Date, nullable=True),
    Column("last_update_date", Date, nullable=True),
    Column("release_date", Date, nullable=True),
    Column("organisms", Text, nullable=True),
    Column("version", Integer, nullable=False, default=1),
    Column("source_sha256", String(64), nullable=True),
    Column("table_ref", String(80), nullable=True),
    Column("table_rows", Integer, nullable=True),
    Column("table_cols", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # 0006: listing order, see listing_sort_key (nullable only because SQLite cannot add a
    # NOT NULL column to a table with rows; every writer sets it)
    Column("sort_key", String(260), nullable=True),
    UniqueConstraint("type", "key"),
    Index(None, "accession"),
    # 0005: a record looked up by key without its type; the hub's latest write
    Index(None, "key"),
    Index(None, "updated_at"),
    Index(None, "type", "sort_key"),
)


def listing_sort_key(key: str) -> str:
    """The ``records.sort_key`` of a record key: listings go by key length, then key, which
    puts accessions in numeric order (GSM9 before GSM10). Migration 0006 computes the same in
    SQL for records written before it."""
    return f"{len(key):04d}{key}"


attributes = Table(
    "attributes",
    metadata,
    Column("record_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("key", String(255), nullable=False),
    Column("value", Text, nullable=False),
)

columns = Table(
    "columns",
    metadata,
    Column("record_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
)

relations = Table(
    "relations",
    metadata,
    Column("source_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("target_key", String(255), primary_key=True),
    Column("position", Integer, nullable=False),
    Index(None, "kind", "target_key"),
)

characteristics = Table(
    "characteristics",
    metadata,
    Column("record_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("key", String(255), nullable=False),
    Column("value", Text, nullable=False),
    Index(None, "key"),
)

record_history = Table(
    "record_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", String(8), nullable=False),
    Column("key", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_update_date", Date, nullable=True),
    Column("replaced_at", DateTime(timezone=True), nullable=False),
    Column("document", Text, nullable=False),
    Column("table_ref", String(80), nullable=True),
    Index(None, "type", "key"),
)

#: What an import refused to replace (0009): an incomplete data table arriving with a newer
#: version of a record whose stored table has more rows; the newer metadata is stored, the
#: stored table kept, and the conflict recorded here and shown with the record.
record_conflicts = Table(
    "record_conflicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", String(8), nullable=False),
    Column("key", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("source_sha256", String(64), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index(None, "type", "key"),
)

#: Standardized labels of samples (0010), one row per value, with their evidence: the source
#: field, the exact text span, the method and confidence, and the labeller version that made
#: them (see :mod:`exprhub.hub.labels`). Keyed by sample key, so a newer version of a sample
#: keeps its labels until it is relabelled.
sample_labels = Table(
    "sample_labels",
    metadata,
    Column("sample_key", String(255), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("value", Text, nullable=False),
    Column("ontology_id", String(64), nullable=True),
    Column("source", String(255), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("span_start", Integer, nullable=False),
    Column("span_end", Integer, nullable=False),
    Column("method", String(32), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("labeller_version", String(32), nullable=False),
    Column("labelled_at", DateTime(timezone=True), nullable=False),
    Index(None, "field", "value"),
    Index(None, "field", "ontology_id"),
)

#: Every value a relabel changed (0010): old and new values of one field of one sample, and
#: the labeller versions before and after.
sample_label_changes = Table(
    "sample_label_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sample_key", String(255), nullable=False),
    Column("field", String(64), nullable=False),
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
    Column("old_version", String(32), nullable=True),
    Column("new_version", String(32), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index(None, "sample_key"),
)

#: Models that predict a label field from expression (0013), one row per version: what they
#: were trained on and how they scored (``document``, JSON) and their parameters
#: (``payload``, numpy arrays); see :mod:`exprhub.hub.label_models`.
label_models = Table(
    "label_models",
    metadata,
    Column("version", String(32), primary_key=True),
    Column("field", String(64), nullable=False),
    Column("tax_id", Integer, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("library_version", String(32), nullable=False),
    Column("n_samples", Integer, nullable=False),
    Column("n_classes", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("trained_at", DateTime(timezone=True), nullable=False),
    Index(None, "field", "tax_id"),
)

#: Stored profile flags (0011): one set per DataSet or series, value kind and platform,
#: computed from the version of its values and groups that ``data_version`` names (see
#: :mod:`exprhub.hub.profile_flags`); ``profile_flags`` holds the rows flagged in a set.
profile_flag_sets = Table(
    "profile_flag_sets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("accession", String(255), nullable=False),
    Column("value_kind", String(16), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("data_version", String(64), nullable=False),
    Column("method", String(64), nullable=False),
    Column("fdr", Float, nullable=False),
    Column("min_log2_fold", Float, nullable=False),
    Column("rows_tested", Integer, nullable=False),
    Column("rows_flagged", Integer, nullable=False),
    Column("subset_types", Text, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("accession", "value_kind", "platform"),
)

profile_flags = Table(
    "profile_flags",
    metadata,
    Column(
        "set_id",
        Integer,
        ForeignKey("profile_flag_sets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("subset_type", String(255), primary_key=True),
    Column("feature", String(255), primary_key=True),
    Column("fdr", Float, nullable=False),
    Column("log2_fold", Float, nullable=False),
    Index(None, "feature"),
)

files = Table(
    "files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("format", String(32), nullable=True),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

matrices = Table(
    "matrices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("owner_key", String(255), nullable=True),
    Column("dtype", String(16), nullable=False),
    Column("n_rows", Integer, nullable=False, default=0),
    Column("n_columns", Integer, nullable=False, default=0),
    # the SHA-256 of its row labels in feature_lists (none while it has no rows; 0014)
    Column("feature_list", String(64), nullable=True),
)

# Row labels of matrices, each distinct list once (exprhub.hub.feature_lists; 0014 replaced
# matrix_rows, one row per feature of each matrix).
feature_lists = Table(
    "feature_lists",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("n_features", Integer, nullable=False),
    Column("features", LargeBinary, nullable=False),
)

matrix_columns = Table(
    "matrix_columns",
    metadata,
    Column("matrix_id", Integer, ForeignKey("matrices.id", ondelete="CASCADE"), primary_key=True),
    Column("column", Integer, primary_key=True),
    Column("sample_key", String(255), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Index(None, "sample_key"),
)

platform_annotations = Table(
    "annotations",
    metadata,
    Column("platform_key", String(255), primary_key=True),
    Column("annotation_date", String(64), nullable=True),
    Column("document", Text, nullable=False),
    Column("table_ref", String(80), nullable=True),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

# ---------------------------------------------------------------------------- refinery (0004)

genes = Table(
    "genes",
    metadata,
    Column("tax_id", Integer, primary_key=True),
    Column("gene_id", String(64), primary_key=True),
    Column("symbol", String(255), nullable=False),
    Column("synonyms", Text, nullable=False),
    Column("ensembl_ids", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("type_of_gene", String(64), nullable=False),
    Column("source", String(255), nullable=False),
    Index(None, "tax_id", "symbol"),
)

qn_targets = Table(
    "qn_targets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tax_id", Integer, nullable=False),
    Column("organism", String(255), nullable=False),
    Column("value_kind", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("length", Integer, nullable=False),
    Column("n_samples", Integer, nullable=False),
    Column("platform_key", String(255), nullable=True),
    Column("sample_ids", Text, nullable=False),
    Column("target_values", LargeBinary, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tax_id", "value_kind", "version"),
)

refined_samples = Table(
    "refined_samples",
    metadata,
    Column("sample_key", String(255), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("batch_key", String(255), nullable=True),
    Column("tax_id", Integer, nullable=True),
    Column("value_kind", String(32), nullable=True),
    Column("platform_key", String(255), nullable=True),
    Column("processor", String(64), nullable=False),
    Column("processor_version", String(32), nullable=False),
    Column("input_sha256", String(64), nullable=False),
    Column("values_sha256", String(64), nullable=True),
    Column("genes_observed", Integer, nullable=True),
    Column("qn_target_sha256", String(64), nullable=True),
    Column("message", Text, nullable=True),
    Column("document", Text, nullable=False),
    Column("refined_at", DateTime(timezone=True), nullable=False),
    Index(None, "tax_id", "value_kind", "status"),
)

# ---------------------------------------------------------- QN target assignments (0008)

#: The QN target version each delivered sample of a normalized value kind is normalized to
#: (``target_version`` NULL: delivered without a target). Changed only by an explicit
#: ``refine --retarget`` or ``--skip-qn``; gene-level rewrites of the sample leave it alone.
qn_assignments = Table(
    "qn_assignments",
    metadata,
    Column("sample_key", String(255), primary_key=True),
    Column("tax_id", Integer, nullable=False),
    Column("value_kind", String(32), nullable=False),
    Column("target_version", Integer, nullable=True),
    Column("target_sha256", String(64), nullable=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Index(None, "tax_id", "value_kind", "target_version"),
)

#: One row per sample that moved from one target version to another (NULL: no target).
qn_target_moves = Table(
    "qn_target_moves",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("sample_key", String(255), nullable=False),
    Column("tax_id", Integer, nullable=False),
    Column("value_kind", String(32), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=True),
    Column("reason", String(32), nullable=False),
    Column("moved_at", DateTime(timezone=True), nullable=False),
    Index(None, "sample_key"),
    Index(None, "run_id"),
)

# ------------------------------------------------------------------- web server jobs (0007)

#: Background jobs of the web server (see ``exprhub.hub.jobs``); result files live under the
#: hub directory, not here.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(100), nullable=False),
    Column("params", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", Float, nullable=False),
    Column("message", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("result", Text, nullable=True),
    Column("result_bytes", BigInteger, nullable=False),
    Column("worker", String(255), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Index(None, "status", "created_at"),
)
