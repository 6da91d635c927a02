"""pandas DataFrames of a hub's records: sample metadata and expression matrices.

Built only from the hub's public reads (record listings, records, matrix reads) and the
refinery's stored results (``exprhub.api.refinery``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub import __version__
from exprhub.api import refinery
from exprhub.curate.harmonize import FIELDS, harmonize
from exprhub.hub import COUNTS_KIND, HubError, dataset_matrix_name, submitted_matrix_name
from exprhub.hub.joined_columns import joined_columns
from exprhub.hub.queries import RecordSummary
from exprhub.records import RecordType, Sample, normalize_accession

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.hub import Hub

#: The values ``exprhub.api.Hub.expression`` can read.
VALUE_KINDS = ("submitted", "refined", "counts")

#: Columns of a sample metadata frame before the harmonized fields and characteristics.
SAMPLE_COLUMNS = ("title", "series", "platform", "organism", "source_name")


class MissingValuesWarning(UserWarning):
    """Some of the samples asked for have no values of the kind asked for; the frame holds
    the others, and its ``attrs["missing"]`` says why each one is missing."""


def sample_frame(hub: Hub, summaries: Sequence[RecordSummary]) -> pd.DataFrame:
    """Metadata of the listed samples, one row each (index: accession).

    Columns: ``title``, ``series`` and ``organism`` (several joined by ``"; "``),
    ``platform``, ``source_name``; then the harmonized fields present (``sex``, ``age``,
    ``specimen_part`` ..., see docs/refine.md), then each characteristic as submitted, as
    ``ch1.<key>`` (``ch2.<key>`` for a second channel; ``ch1.characteristics`` for text
    without a ``key:``); the distinct values of a key repeated in a sample are joined by
    ``"; "``.
    """
    import pandas as pd

    rows: list[dict[str, str | None]] = []
    characteristic_columns: dict[str, None] = {}
    harmonized_present: set[str] = set()
    records = hub.records_by_key([summary.key for summary in summaries], RecordType.SAMPLE)
    for summary in summaries:
        record = records.get(summary.key) or hub.record(summary.key, RecordType.SAMPLE, table=False)
        row: dict[str, str | None] = {"accession": summary.key, "title": record.title}
        pairs: list[tuple[str, str]] = []
        if isinstance(record, Sample):
            row["series"] = "; ".join(record.series_ids) or None
            row["platform"] = record.platform_id
            row["source_name"] = record.get("source_name_ch1")
            for channel in range(1, record.channel_count + 1):
                for key, value in record.characteristics(channel):
                    column = f"ch{channel}.{key or 'characteristics'}"
                    characteristic_columns.setdefault(column)
                    before = row.get(column)
                    if not before:
                        row[column] = value
                    elif value not in before.split("; "):  # a key repeated with one value: once
                        row[column] = f"{before}; {value}"
                    pairs.append((key, value))
        row["organism"] = summary.organisms
        labels = harmonize(pairs)
        harmonized_present.update(labels)
        row.update(labels)
        rows.append(row)
    harmonized = [f for f in FIELDS if f in harmonized_present]
    columns = [*SAMPLE_COLUMNS, *harmonized, *characteristic_columns]
    frame = pd.DataFrame(rows, columns=["accession", *columns], dtype=object)
    return frame.set_index("accession")


def _resolve(hub: Hub, request: str | Sequence[str]) -> tuple[str | None, list[str]]:
    """The accession asked for (None for a list of samples) and the samples it stands for."""
    if isinstance(request, str):
        accession = normalize_accession(request)
        return accession, list(refinery.samples_for_accession(hub, accession))
    keys = list(dict.fromkeys(normalize_accession(k) for k in request))
    if not keys:
        raise ValueError("no samples given")
    return None, keys


def expression_frame(
    hub: Hub,
    request: str | Sequence[str],
    values: str = "submitted",
    platform: str | None = None,
) -> pd.DataFrame:
    """See ``exprhub.api.Hub.expression``."""
    if values not in VALUE_KINDS:
        raise ValueError(f"values must be one of {', '.join(VALUE_KINDS)}; got {values!r}")
    accession, samples = _resolve(hub, request)
    what = accession or f"{len(samples)} samples"
    if values == "refined":
        frame, missing, attrs = _refined(hub, samples)
    elif values == "counts":
        frame, missing, attrs = _counts(hub, samples)
    else:
        frame, missing, attrs = _submitted(hub, accession, samples, platform, what)
    if frame.shape[1] == 0:
        reason = next((f"{k}: {why}" for k, why in missing.items()), "no samples")
        raise HubError(f"{what} has no {values} values in the hub ({reason})")
    if missing:
        warnings.warn(
            MissingValuesWarning(
                f"{len(missing)} of {len(missing) + frame.shape[1]} samples of {what} have no "
                f"{values} values (see .attrs['missing'])"
            ),
            stacklevel=3,
        )
    frame.columns.name = "sample"
    frame.attrs = {
        "exprhub": __version__,
        "hub": str(hub.home.resolve()),
        "request": accession if accession is not None else list(samples),
        "values": values,
        **attrs,
        "samples": [str(k) for k in frame.columns],
        "missing": missing,
    }
    return frame


def _dataset_values(
    hub: Hub, accession: str, samples: list[str]
) -> tuple[pd.DataFrame, dict[str, str], dict[str, Any]] | None:
    """A DataSet's own table of values (its sample columns), if the hub holds it."""
    import pandas as pd

    matrix = dataset_matrix_name(accession)
    features, found, data = hub.read_columns(matrix, samples)
    if not found:
        return None
    missing = {k: f"not a column of {accession}'s table" for k in samples if k not in found}
    frame = pd.DataFrame(data, index=pd.Index(features, name="ID_REF"), columns=found)
    return frame.dropna(how="all"), missing, {"matrix": matrix, "platform": None}


def _submitted(
    hub: Hub, accession: str | None, samples: list[str], platform: str | None, what: str
) -> tuple[pd.DataFrame, dict[str, str], dict[str, Any]]:
    import pandas as pd

    if accession is not None and accession.startswith("GDS"):
        dataset = _dataset_values(hub, accession, samples)
        if dataset is not None:
            return dataset
    located = hub.current_columns(samples, ["submitted"])
    facts = hub.sample_facts(samples)
    missing: dict[str, str] = {}
    by_platform: dict[str, list[str]] = {}
    for key in samples:
        where = located.get(key, {}).get("submitted")
        if where is not None:
            by_platform.setdefault(where[1] or "", []).append(key)
        elif key in facts:
            missing[key] = "no data table stored"
        else:
            missing[key] = "not in the hub"
    if platform is not None:  # the samples of other platforms are left out by choice
        wanted = normalize_accession(platform)
        by_platform = {wanted: by_platform.get(wanted, [])}
    elif len(by_platform) > 1:
        raise ValueError(
            f"{what}'s samples are on {len(by_platform)} platforms "
            f"({', '.join(sorted(by_platform))}): pass platform= to choose one"
        )
    chosen: str | None = next(iter(by_platform), None)
    matrix = submitted_matrix_name(chosen) if chosen else None
    keys = by_platform.get(chosen or "", [])
    features: list[str] = []
    found: list[str] = []
    data = np.empty((0, 0), dtype=np.float32)
    if matrix is not None:
        features, found, data = hub.read_columns(matrix, keys)
    missing.update({k: "no data table stored" for k in keys if k not in found})
    provenance = {
        key: {
            "platform": chosen,
            "matrix": matrix,
            "record_version": facts[key].version,
            "source_sha256": facts[key].source_sha256,
        }
        for key in found
        if key in facts
    }
    index = pd.Index(features, name="ID_REF")
    frame = (
        pd.DataFrame(data, index=index, columns=found).dropna(how="all")
        if found
        else pd.DataFrame(index=index[:0], dtype=np.float32)
    )
    attrs = {"matrix": matrix, "platform": chosen, "provenance": provenance}
    return frame, dict(sorted(missing.items())), attrs


def _counts(hub: Hub, samples: list[str]) -> tuple[pd.DataFrame, dict[str, str], dict[str, Any]]:
    """RNA-seq read counts as imported from counts tables (genes x samples)."""
    import pandas as pd

    joined = joined_columns(hub, samples, COUNTS_KIND)
    names = joined.matrices
    if not joined.parts:
        frame = pd.DataFrame(index=pd.Index([], name="gene_id"), dtype=np.float32)
    else:
        found = set(joined.samples)
        frame = joined.frame(hub, [k for k in samples if k in found])
    reason = "no read counts imported (exprhub import COUNTS_TABLE --series GSE...)"
    missing = {k: reason for k in samples if k not in frame.columns}
    return frame, missing, {"matrices": names}


def _refined(hub: Hub, samples: list[str]) -> tuple[pd.DataFrame, dict[str, str], dict[str, Any]]:
    frame = refinery.refined_matrix(hub, samples)
    states = refinery.refine_states(hub, samples)
    missing: dict[str, str] = {}
    for key in samples:
        if key in frame.columns:
            continue
        state = states.get(key)
        if state is None:
            missing[key] = "not refined yet"
        else:
            missing[key] = f"{state.status}: {state.message}" if state.message else state.status
    provenance = {}
    assignments = refinery.qn_assignments(hub, [str(k) for k in frame.columns])
    for key in frame.columns:
        state = states.get(str(key))
        if state is None:
            continue
        provenance[str(key)] = {
            "processor": state.processor,
            "processor_version": state.processor_version,
            "platform": state.platform_key,
            "tax_id": state.tax_id,
            "value_kind": state.value_kind,
            "qn_target_sha256": state.qn_target_sha256,
            "qn_target_version": (
                assignments[str(key)].target_version if str(key) in assignments else None
            ),
            "input_sha256": state.input_sha256,
            "values_sha256": state.values_sha256,
        }
    return frame, missing, {"provenance": provenance}
