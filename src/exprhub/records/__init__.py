"""Plain data classes for GEO records and accession rules. No I/O."""

from exprhub.records.accession import (
    Accession,
    RecordType,
    is_accession,
    normalize_accession,
    parse_accession,
)
from exprhub.records.model import (
    ENTITY_CLASSES,
    TYPE_CLASSES,
    Annotation,
    Database,
    DataSet,
    Platform,
    Record,
    Sample,
    Series,
    Subset,
    parse_geo_date,
    record_class,
    split_characteristic,
)
from exprhub.records.table import (
    MISSING_TOKENS,
    Table,
    arrow_strings,
    strings_equal,
    to_float,
    to_float_uses_arrow,
)

__all__ = [
    "ENTITY_CLASSES",
    "MISSING_TOKENS",
    "TYPE_CLASSES",
    "Accession",
    "Annotation",
    "DataSet",
    "Database",
    "Platform",
    "Record",
    "RecordType",
    "Sample",
    "Series",
    "Subset",
    "Table",
    "arrow_strings",
    "is_accession",
    "normalize_accession",
    "parse_accession",
    "parse_geo_date",
    "record_class",
    "split_characteristic",
    "strings_equal",
    "to_float",
    "to_float_uses_arrow",
]
