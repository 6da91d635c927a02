"""What a dataset bundle holds: the options that shape its numbers and the samples selected
(by series, by samples, or by the accessions a search query found), each with the series it
was selected through.

A sample selected through two series belongs to both: with ``aggregate="experiment"`` it
appears in each series' aggregate; with ``"species"`` or ``"all"`` once. A sample selected on
its own (``samples=``, or a GSM hit of a query) belongs to the first of its series in
accession order (to itself when it is in no series), unless one of the selected series
already holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from exprhub.hub import Hub, HubError, RecordNotFound
from exprhub.records import Record, RecordType, Sample, normalize_accession

#: How samples are grouped into matrices (refine.bio's aggregations).
AGGREGATES = ("experiment", "species", "all")
#: Per-gene scalings applied after quantile normalization (refine.bio's).
SCALES = ("none", "minmax", "standard", "robust")
#: Bundle file formats.
FORMATS = ("tsv", "h5ad", "parquet")


class BundleError(HubError):
    """A bundle cannot be built as asked (the message says why, in one line)."""


@dataclass(frozen=True)
class BundleOptions:
    """Everything a user chooses that shapes a bundle's numbers or layout.

    Parameters
    ----------
    aggregate
        ``"experiment"`` (one matrix per series), ``"species"`` (one per organism) or
        ``"all"`` (one matrix).
    scale
        ``"none"``, ``"minmax"``, ``"standard"`` or ``"robust"``, per gene.
    quantile_normalize
        Deliver the quantile-normalized values (True) or the gene-level values before
        normalization (False, ``--no-qn``).
    format
        ``"tsv"``, ``"h5ad"`` or ``"parquet"``.
    """

    aggregate: str = "experiment"
    scale: str = "none"
    quantile_normalize: bool = True
    format: str = "tsv"

    def __post_init__(self) -> None:
        for name, allowed in (
            ("aggregate", AGGREGATES),
            ("scale", SCALES),
            ("format", FORMATS),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise BundleError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")

    def as_dict(self) -> dict[str, Any]:
        """The options, JSON-ready."""
        return {
            "aggregate": self.aggregate,
            "scale": self.scale,
            "quantile_normalize": self.quantile_normalize,
            "format": self.format,
        }


@dataclass
class Selection:
    """The samples of a bundle, in selection order, and the series each was selected through.

    ``requested`` records what was asked (series, samples, query and the accessions the query
    found); ``missing`` the accessions asked for that the hub does not hold.
    """

    requested: dict[str, Any]
    series_of: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def samples(self) -> list[str]:
        """The selected samples, each once."""
        return list(self.series_of)

    def in_several_series(self) -> dict[str, list[str]]:
        """Samples selected through more than one series, with those series."""
        return {k: v for k, v in self.series_of.items() if len(v) > 1}

    def _add(self, sample: str, series: str) -> None:
        found = self.series_of.setdefault(sample, [])
        if series not in found:
            found.append(series)


def _own_series(record: Record | None, related: list[str]) -> str:
    series = sorted(record.series_ids) if isinstance(record, Sample) else []
    if not series:
        series = sorted(related)
    return series[0] if series else (record.id if record is not None else "")


def select(
    hub: Hub,
    *,
    series: Iterable[str] = (),
    samples: Iterable[str] = (),
    query: str | None = None,
    query_accessions: Sequence[str] = (),
) -> Selection:
    """The samples of ``series`` and ``samples``, and of ``query_accessions`` (what ``query``
    found: series and samples as such, other records by the samples they stand for).

    Accessions the hub does not hold are kept in ``missing`` (a sample among them is listed
    as filtered out of the bundle, with the reason).

    Raises
    ------
    BundleError
        When nothing was asked for.
    """
    series_keys = list(dict.fromkeys(normalize_accession(s) for s in series if s.strip()))
    sample_keys = list(dict.fromkeys(normalize_accession(s) for s in samples if s.strip()))
    hits = list(dict.fromkeys(normalize_accession(a) for a in query_accessions))
    if not (series_keys or sample_keys or query):
        raise BundleError("select series, samples or a search query for the bundle")
    selection = Selection(
        requested={
            "series": series_keys,
            "samples": sample_keys,
            "query": query,
            "query_accessions": hits,
        }
    )
    loose: list[str] = []
    for accession in [*series_keys, *(h for h in hits if h.startswith("GSE"))]:
        if not hub.has(accession, RecordType.SERIES):
            selection.missing.append(accession)
            continue
        for sample in hub.related(accession).get("sample", []):
            selection._add(sample, accession)
    for accession in [*sample_keys, *(h for h in hits if not h.startswith("GSE"))]:
        if accession.startswith("GSM"):
            loose.append(accession)
            continue
        try:
            loose.extend(hub.samples_of(accession))
        except RecordNotFound:
            selection.missing.append(accession)
    pending = [s for s in dict.fromkeys(loose) if s not in selection.series_of]
    records = hub.records_by_key(pending, RecordType.SAMPLE)
    for sample in pending:
        record = records.get(sample)
        if record is None:
            selection.series_of[sample] = []  # listed as filtered: not in the hub
            continue
        related = [] if record.get("series_id") else hub.related(sample).get("series", [])
        selection._add(sample, _own_series(record, related) or sample)
    return selection
