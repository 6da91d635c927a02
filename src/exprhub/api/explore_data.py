"""What the exploratory analyses of ``exprhub.api`` read from a hub: the values of an
accession (or of several, or of a list of samples), the samples' annotations (series,
platform, organism, DataSet subsets, harmonized fields, characteristics) and sample sets
named by subset, by field value or by listing the samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from exprhub.api import frames, refinery
from exprhub.hub.queries import RecordSummary
from exprhub.records import is_accession, normalize_accession

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.hub import Hub

#: A set of samples: ``"rest"``, a subset (``GDS507_1``), ``"field=value"`` or samples.
SampleSet = str | Sequence[str]


@dataclass
class AnalysisInput:
    """Values and sample annotations for an analysis.

    Attributes
    ----------
    values
        Rows (probes or genes) x samples.
    annotations
        One row per sample of ``values``: ``series``, ``platform``, ``organism``, one column
        per DataSet subset type (its subset's description), harmonized fields, ``ch1.*``.
    subsets
        Subset key -> (subset type, description, samples) of the DataSets involved.
    identifiers
        Row -> gene symbol or identifier, where known.
    source
        What was read: ``request``, ``values`` kind, ``platform``, ``samples``, ``missing``.
    """

    values: pd.DataFrame
    annotations: pd.DataFrame
    subsets: dict[str, tuple[str, str, list[str]]] = field(default_factory=dict)
    identifiers: dict[str, str] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)


def _expand(hub: Hub, request: str | Sequence[str]) -> tuple[str | None, list[str], list[str]]:
    """(the single accession asked for, or None; its samples; the accessions named)."""
    names = [request] if isinstance(request, str) else list(request)
    names = [normalize_accession(n) for n in names if str(n).strip()]
    if not names:
        raise ValueError("no accession or samples given")
    samples: list[str] = []
    for name in names:
        samples += [name] if name.startswith("GSM") else refinery.samples_for_accession(hub, name)
    single = names[0] if len(names) == 1 and not names[0].startswith("GSM") else None
    return single, list(dict.fromkeys(samples)), names


def _datasets(hub: Hub, names: list[str], samples: list[str]) -> list[str]:
    """DataSets named, or curated from the series named or holding these samples."""
    found: dict[str, None] = {}
    series: dict[str, None] = {}
    for name in names:
        if name.startswith("GDS"):
            found.setdefault(name)
        elif name.startswith("GSE"):
            series.setdefault(name)
    for key in series:
        for dataset in hub.related(key).get("dataset", []):
            found.setdefault(dataset)
    if not series and not found:  # a list of samples: the DataSets of their subsets
        for sample in samples[:500]:
            for subset in hub.related(sample).get("subset", []):
                found.setdefault(subset.rpartition("_")[0])
    return list(found)


def _subsets(hub: Hub, datasets: list[str]) -> dict[str, tuple[str, str, list[str]]]:
    keys = [k for d in datasets for k in hub.related(d).get("subset", [])]
    out: dict[str, tuple[str, str, list[str]]] = {}
    for key, brief in hub.briefs(keys).items():
        out[key] = (
            str(brief.get("subset_type") or "other"),
            str(brief.get("description") or ""),
            [normalize_accession(s) for s in brief.get("sample_ids", [])],
        )
    return out


def sample_annotations(
    hub: Hub,
    samples: Sequence[str],
    subsets: dict[str, tuple[str, str, list[str]]],
    dataset: str | None = None,
) -> pd.DataFrame:
    """Annotations of ``samples`` (index), see :class:`AnalysisInput`."""
    import pandas as pd

    keys = [str(k) for k in samples]
    briefs = hub.briefs(keys)
    stored = [
        RecordSummary(
            "GSM",
            key,
            key,
            brief.get("title"),
            "; ".join(brief.get("organisms") or []) or None,
            None,
            0,
        )
        for key, brief in briefs.items()
        if brief.get("type") == "GSM"
    ]
    metadata = frames.sample_frame(hub, stored) if stored else pd.DataFrame(index=[])
    table = pd.DataFrame(index=pd.Index(keys, name="sample"))
    for column in ("series", "platform", "organism"):
        table[column] = metadata.get(column, None)
    if dataset is not None:  # samples of a DataSet need not be stored as records
        record = hub.briefs([dataset]).get(dataset, {})
        platforms = record.get("platforms") or []
        related = hub.related(dataset)
        table["platform"] = table["platform"].fillna(platforms[0] if platforms else None)
        table["series"] = table["series"].fillna("; ".join(related.get("series", [])) or None)
        table["organism"] = table["organism"].fillna(
            "; ".join(record.get("organisms") or []) or None
        )
    subset_columns: dict[str, str] = {}
    for _key, (kind, description, members) in subsets.items():
        if kind not in subset_columns:
            column = kind if kind not in table.columns else f"subset:{kind}"
            subset_columns[kind] = column
            table[column] = None
        column = subset_columns[kind]
        for sample in members:
            if sample in table.index:
                before = table.at[sample, column]
                table.at[sample, column] = (
                    description
                    if before is None or before != before
                    else f"{before}; {description}"
                )
    extra = [c for c in metadata.columns if c not in table.columns and c not in ("title",)]
    if extra:
        table = table.join(metadata[extra], how="left")
    return table.astype(object).where(table.notna(), None)


def _identifiers(
    hub: Hub, accession: str | None, values: str, samples: list[str]
) -> dict[str, str]:
    """Gene symbols of the rows: a DataSet's IDENTIFIER column, or the refinery's symbols."""
    if values == "refined":
        from exprhub.refine.store import gene_symbols

        symbols: dict[str, str] = {}
        states = refinery.refine_states(hub, samples)
        for tax in sorted({s.tax_id for s in states.values() if s.tax_id is not None}):
            for gene, symbol in gene_symbols(hub, tax).items():
                symbols.setdefault(str(gene), symbol)
        return symbols
    if accession is not None and accession.startswith("GDS"):
        record = hub.record(accession, table=True)
        table = record.table
        if table is not None and "IDENTIFIER" in table.names and "ID_REF" in table.names:
            return {
                str(k): str(v)
                for k, v in zip(table.column("ID_REF"), table.column("IDENTIFIER"), strict=False)
                if v
            }
    return {}


def load(
    hub: Hub,
    request: str | Sequence[str],
    *,
    values: str = "submitted",
    platform: str | None = None,
    identifiers: bool = False,
) -> AnalysisInput:
    """Values and annotations of an accession, several accessions or a list of samples.

    Raises
    ------
    exprhub.RecordNotFound
        For an accession the hub does not know.
    exprhub.HubError
        When none of the samples has values of that kind.
    ValueError
        For submitted values on several platforms without ``platform`` (the message names
        them).
    """
    import warnings

    single, samples, names = _expand(hub, request)
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            frame = frames.expression_frame(hub, single or samples, values, platform)
    except ValueError as exc:
        if "platforms" in str(exc):
            raise ValueError(
                f"{exc.args[0].split(':')[0]}: submitted values of different platforms have "
                "different probes; choose one platform (platform= / --platform), or use "
                "values='refined' (genes)"
            ) from None
        raise
    datasets = _datasets(hub, names, samples)
    subsets = _subsets(hub, datasets)
    dataset = single if single is not None and single.startswith("GDS") else None
    kept = [str(c) for c in frame.columns]
    annotations = sample_annotations(hub, kept, subsets, dataset)
    source = {
        "request": single if single is not None else names,
        "values": values,
        "platform": frame.attrs.get("platform"),
        "samples": kept,
        "missing": frame.attrs.get("missing", {}),
    }
    rows = _identifiers(hub, single, values, kept) if identifiers else {}
    return AnalysisInput(frame, annotations, subsets, rows, source)


def describe_spread(data: AnalysisInput) -> str:
    """``"4 platforms (GPL96, ...) and 2 organisms (...)"`` of the samples, for messages."""
    parts = []
    for column, what in (("platform", "platforms"), ("organism", "organisms")):
        seen = sorted({str(v) for v in data.annotations[column] if v})
        if len(seen) > 1:
            parts.append(f"{len(seen)} {what} ({', '.join(seen)})")
    return " and ".join(parts)


def _field(annotations: pd.DataFrame, name: str) -> str:
    wanted = name.strip().lower()
    for column in annotations.columns:
        if str(column).lower() in (wanted, f"ch1.{wanted}", f"subset:{wanted}"):
            return str(column)
    fields = ", ".join(str(c) for c in annotations.columns)
    raise ValueError(f"no field {name.strip()!r} for these samples; fields: {fields}")


def field_values(annotations: pd.DataFrame, name: str) -> pd.Series:
    """The column of annotation field ``name`` (matched ignoring case; ``ch1.`` optional)."""
    return annotations[_field(annotations, name)]


def resolve_set(
    data: AnalysisInput, spec: SampleSet, *, rest_of: Sequence[str] = (), label: str = "A"
) -> tuple[list[str], str]:
    """The samples of a set and a label for it.

    Parameters
    ----------
    data
        The values and annotations the set is drawn from.
    spec
        ``"rest"``: the samples not in ``rest_of``; a subset key (``GDS507_1``); a
        ``"field=value"`` (a subset type, harmonized field or characteristic; value compared
        ignoring case, one of several ``"; "``-joined values matching); samples, as a list or
        comma-separated.
    rest_of
        The other set, for ``"rest"``.
    label
        ``"A"`` or ``"B"``, for messages.

    Raises
    ------
    ValueError
        When the set names no sample of the values (the message says which values exist).
    """
    present = list(data.annotations.index)
    items = [spec] if isinstance(spec, str) else [str(s) for s in spec]
    if len(items) == 1 and "," in items[0] and "=" not in items[0]:
        items = [p.strip() for p in items[0].split(",") if p.strip()]
    if len(items) == 1 and items[0].strip().lower() == "rest":
        chosen = [k for k in present if k not in set(rest_of)]
        return _nonempty(chosen, label, "rest"), "rest"
    if len(items) == 1 and "=" in items[0]:
        name, _, wanted = items[0].partition("=")
        column = field_values(data.annotations, name)
        target = wanted.strip().lower()
        chosen = [
            k
            for k, v in column.items()
            if v is not None and target in [p.strip().lower() for p in str(v).split("; ")]
        ]
        if not chosen:
            seen = sorted({p for v in column if v for p in str(v).split("; ")})
            raise ValueError(
                f"set {label}: no sample has {column.name} = {wanted.strip()!r}; "
                f"values: {', '.join(seen[:20]) or 'none'}"
            )
        return chosen, f"{column.name} = {wanted.strip()}"
    if len(items) == 1 and normalize_accession(items[0]) in data.subsets:
        kind, description, members = data.subsets[normalize_accession(items[0])]
        chosen = [k for k in present if k in set(members)]
        return _nonempty(chosen, label, items[0]), f"{kind} = {description}"
    keys = [normalize_accession(i) for i in items]
    bad = [i for i in keys if not (is_accession(i) and i.startswith("GSM"))]
    if bad:
        raise ValueError(
            f"set {label}: {bad[0]!r} is not a sample, a subset of these samples, "
            "'field=value' or 'rest'"
        )
    absent = [k for k in keys if k not in set(present)]
    if absent:
        raise ValueError(f"set {label}: not among the samples with values: {', '.join(absent[:5])}")
    return keys, ", ".join(keys) if len(keys) <= 4 else f"{len(keys)} samples"


def _nonempty(chosen: list[str], label: str, spec: str) -> list[str]:
    if not chosen:
        raise ValueError(f"set {label} ({spec}) has no sample with values")
    return chosen
