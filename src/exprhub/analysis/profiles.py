"""GEO Profiles for every DataSet and series: one gene's (or probe's) value in every sample,
its rank percentile within each sample, the samples' experimental context, flags and
neighbours.

* Values: a DataSet's own table; a series' submitted values on one platform; or the
  refinery's gene-level values (``values="refined"``).
* Rank percentile: the value's rank among all values of its sample (ties get their mean
  rank), as a percentile in 100 bins: ``ceil(100 * rank / n)``, 1 = the lowest 1 %, 100 =
  the highest 1 % (GEO Profiles' "rank" bars).
* Context: :mod:`exprhub.analysis.context`; flags: :mod:`exprhub.analysis.flags`;
  neighbours: :mod:`exprhub.analysis.neighbours`.

What a profile reads is kept in memory (a few recent DataSets/series per process) until the
record changes, so that flags and neighbours on request reuse one z-scored matrix.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.analysis.context import SampleGroups, sample_groups
from exprhub.analysis.flags import FlagOptions, flag_table, log2_if_unlogged
from exprhub.analysis.genes import GeneNotFound, find_genes
from exprhub.analysis.neighbours import NeighbourOptions, ZScored, zscore_rows
from exprhub.analysis.probe_genes import ProbeGenes, probe_genes
from exprhub.hub import Hub, HubError, dataset_matrix_name, submitted_matrix_name
from exprhub.records import RecordType, normalize_accession
from exprhub.refine.store import refined_matrix

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["VALUE_KINDS", "ProfileSource", "profile_frame", "profile_source"]

#: The values a profile can read.
VALUE_KINDS = ("submitted", "refined")
#: DataSets / series kept in memory per process.
CACHE_SIZE = 8


@dataclass
class ProfileSource:
    """The values behind the profiles of one DataSet or series.

    Attributes
    ----------
    accession, values, platform
        What was read (``platform``: the platform of submitted values).
    features, samples
        Row ids (probe ids, or NCBI Gene ids for refined values) and sample accessions.
    matrix
        The values as stored, rows x samples (float64, NaN where missing).
    log2, logged
        The values on the log2 scale (flags and neighbours use these) and whether a log2 was
        taken (:func:`exprhub.analysis.flags.log2_if_unlogged`).
    value_type
        A DataSet's value type (``count``, ``log2 ratio`` ...), else None.
    groups
        The samples' experimental context.
    """

    accession: str
    values: str
    platform: str | None
    features: list[str]
    samples: list[str]
    matrix: np.ndarray
    log2: np.ndarray
    logged: bool
    value_type: str | None
    groups: SampleGroups
    load_genes: Callable[[], ProbeGenes] | None = field(default=None, repr=False)
    _genes: ProbeGenes | None = field(default=None, repr=False)
    _row: dict[str, int] = field(default_factory=dict, repr=False)
    _sorted: np.ndarray | None = field(default=None, repr=False)
    _z: ZScored | None = field(default=None, repr=False)
    _flags: dict[FlagOptions, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def genes(self) -> ProbeGenes | None:
        """The genes of the platform's probes (submitted values), read when first needed."""
        if self._genes is None and self.load_genes is not None:
            self._genes = self.load_genes()
        return self._genes

    def row(self, feature: str) -> int | None:
        """Row index of a feature, or None."""
        if not self._row:
            self._row = {f: i for i, f in enumerate(self.features)}
        return self._row.get(feature)

    def symbol(self, feature: str) -> str | None:
        """The gene symbol of a row, when known."""
        if self.genes is None:
            return None
        return self.genes.gene_of(feature)[0]

    def rank_percentiles(self, rows: list[int]) -> np.ndarray:
        """Rank percentiles (1..100) of ``rows`` within each sample (NaN where missing)."""
        if self._sorted is None:
            self._sorted = np.sort(self.matrix, axis=0)  # NaN sorts last
        observed = np.isfinite(self.matrix).sum(axis=0)
        out = np.full((len(rows), len(self.samples)), np.nan)
        for j in range(len(self.samples)):
            column = self._sorted[: observed[j], j]
            if column.size == 0:
                continue
            v = self.matrix[rows, j]
            below = np.searchsorted(column, v, side="left")
            upto = np.searchsorted(column, v, side="right")
            rank = (below + 1 + upto) / 2.0  # mean rank of ties, 1-based
            pct = np.ceil(100.0 * rank / column.size)
            out[:, j] = np.where(np.isfinite(v), np.clip(pct, 1, 100), np.nan)
        return out

    def flags(self, options: FlagOptions | None = None) -> pd.DataFrame:
        """Flags of every row for every subset type (:func:`exprhub.analysis.flags.flag_table`)."""
        options = options or FlagOptions()
        if options not in self._flags:
            self._flags[options] = flag_table(
                self.features, self.log2, self.groups.types, self.samples, options
            )
        return self._flags[options]

    def zscored(self) -> ZScored:
        """The rows z-scored once (for neighbours)."""
        if self._z is None:
            self._z = zscore_rows(self.features, self.log2)
        return self._z


_CACHE: dict[tuple[str, ...], tuple[str, ProfileSource]] = {}
_LOCK = threading.Lock()


def profile_source(
    hub: Hub, accession: str, values: str = "submitted", platform: str | None = None
) -> ProfileSource:
    """The values behind the profiles of a DataSet or series (kept in memory while the record
    is unchanged).

    Raises
    ------
    exprhub.RecordNotFound
        For an unknown accession.
    exprhub.HubError
        When it has no values of that kind.
    ValueError
        For an unknown ``values``, or submitted values on several platforms without
        ``platform``.
    """
    if values not in VALUE_KINDS:
        raise ValueError(f"values must be one of {', '.join(VALUE_KINDS)}; got {values!r}")
    key = normalize_accession(accession)
    revision = hub.revision(key)
    cache_key = (str(hub.home.resolve()), key, values, platform or "")
    with _LOCK:
        cached = _CACHE.get(cache_key)
    if cached is not None and cached[0] == revision:
        return cached[1]
    source = _read(hub, key, values, platform)
    with _LOCK:
        if len(_CACHE) >= CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[cache_key] = (revision, source)
    return source


def _read(hub: Hub, key: str, values: str, platform: str | None) -> ProfileSource:
    samples = hub.samples_of(key)
    value_type = None
    chosen = normalize_accession(platform) if platform else None
    features: list[str] = []
    found: list[str] = []
    data = np.empty((0, 0), dtype=np.float32)
    if values == "refined":
        frame = refined_matrix(hub, samples)
        features, found = [str(f) for f in frame.index], [str(c) for c in frame.columns]
        data = frame.to_numpy()
    else:
        if key.startswith("GDS"):
            record = hub.record(key, RecordType.DATASET, table=False)
            value_type = record.get("value_type")
            chosen = chosen or record.platform_id  # type: ignore[attr-defined]
            features, found, data = hub.read_columns(dataset_matrix_name(key), samples)
        if not found:
            located = hub.current_columns(samples, ["submitted"])
            by_platform: dict[str, list[str]] = {}
            for sample in samples:
                where = located.get(sample, {}).get("submitted")
                if where is not None and where[1]:
                    by_platform.setdefault(where[1], []).append(sample)
            if chosen is None and len(by_platform) > 1:
                raise ValueError(
                    f"{key}'s samples are on {len(by_platform)} platforms "
                    f"({', '.join(sorted(by_platform))}): choose one with platform"
                )
            chosen = chosen or next(iter(by_platform), None)
            if chosen is not None and by_platform.get(chosen):
                features, found, data = hub.read_columns(
                    submitted_matrix_name(chosen), by_platform[chosen]
                )
    if not found:
        raise HubError(f"{key} has no {values} values in the hub")
    matrix = np.asarray(data, dtype=np.float64)
    keep = np.asarray(np.isfinite(matrix).any(axis=1), dtype=bool)
    features = [f for f, k in zip(features, keep.tolist(), strict=True) if k]
    matrix = matrix[keep]
    log2, logged = log2_if_unlogged(matrix)
    platform_key = chosen

    def load_genes() -> ProbeGenes:
        assert platform_key is not None
        return probe_genes(hub, platform_key)

    return ProfileSource(
        accession=key,
        values=values,
        platform=chosen if values == "submitted" else None,
        features=features,
        samples=found,
        matrix=matrix,
        log2=log2,
        logged=logged,
        value_type=value_type,
        groups=sample_groups(hub, key, found),
        load_genes=load_genes if values == "submitted" and chosen else None,
    )


def resolve_features(hub: Hub, source: ProfileSource, text: str) -> tuple[list[str], Any]:
    """The rows of ``source`` a gene or probe names, and the gene matched (None for a probe
    or row id given as such).

    Raises
    ------
    GeneNotFound
        When neither a row nor a gene measured by the source's platform matches.
    """
    text = text.strip()
    if source.row(text) is not None:
        return [text], None
    if source.values == "submitted" and source.genes is not None:
        direct = [p for p in source.genes.probes_for([text], [text]) if source.row(p) is not None]
        if direct:
            return direct, None
    organisms = {source.genes.organism} if source.genes and source.genes.organism else set()
    for match in find_genes(hub, text, limit=20):
        if match.matched == "description":
            continue
        if organisms and match.organism and match.organism not in organisms:
            continue
        if source.values == "refined":
            if match.gene_id is not None and source.row(match.gene_id) is not None:
                return [match.gene_id], match
            continue
        if source.genes is None:
            continue
        probes = source.genes.probes_for(
            [match.symbol] if match.symbol else [], [match.gene_id] if match.gene_id else []
        )
        probes = [p for p in probes if source.row(p) is not None]
        if probes:
            return probes, match
    raise GeneNotFound(f"{source.accession} ({source.values} values) has no probe or gene {text!r}")


def profile_frame(
    hub: Hub,
    accession: str,
    gene_or_probe: str,
    *,
    values: str = "submitted",
    platform: str | None = None,
    flag_options: FlagOptions | None = None,
) -> pd.DataFrame:
    """The profile of a gene or probe in a DataSet or series: one row per feature and sample.

    Columns: ``feature`` (probe id, or NCBI Gene id for refined values), ``symbol``,
    ``sample``, ``value`` (as stored), ``rank_percentile`` (1..100 within the sample), then
    one column per subset type holding the sample's group (None outside every group).
    ``attrs``: ``accession``, ``request``, ``values``, ``platform``, ``value_type``,
    ``features``, ``subset_types`` (type -> groups in order), ``context`` (where the groups
    come from), ``log2`` (whether flags used log2 of the values) and ``flags`` (one dict per
    feature and subset type: F, p_value, fdr, log2_fold, flagged).
    """
    import pandas as pd

    source = profile_source(hub, accession, values, platform)
    features, match = resolve_features(hub, source, gene_or_probe)
    rows = [source.row(f) for f in features]
    index = [r for r in rows if r is not None]
    ranks = source.rank_percentiles(index)
    records = []
    for i, (feature, row) in enumerate(zip(features, index, strict=True)):
        symbol = source.symbol(feature) or (match.symbol if match is not None else None)
        for j, sample in enumerate(source.samples):
            value = source.matrix[row, j]
            entry: dict[str, Any] = {
                "feature": feature,
                "symbol": symbol,
                "sample": sample,
                "value": float(value) if np.isfinite(value) else None,
                "rank_percentile": int(ranks[i, j]) if np.isfinite(ranks[i, j]) else None,
            }
            for kind, members in source.groups.types.items():
                entry[kind] = members.get(sample)
            records.append(entry)
    frame = pd.DataFrame.from_records(records)
    flags = source.flags(flag_options)
    mine = flags[flags["feature"].isin(features)]
    frame.attrs = {
        "accession": source.accession,
        "request": gene_or_probe,
        "gene": match.as_dict() if match is not None else None,
        "values": source.values,
        "platform": source.platform,
        "value_type": source.value_type,
        "features": features,
        "subset_types": dict(source.groups.order),
        "context": source.groups.source,
        "log2": source.logged,
        "flags": [
            {
                k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                for k, v in row.items()
            }
            for row in mine.to_dict(orient="records")
        ],
    }
    return frame


def neighbour_frame(
    hub: Hub,
    accession: str,
    gene_or_probe: str,
    *,
    values: str = "submitted",
    platform: str | None = None,
    options: NeighbourOptions | None = None,
) -> pd.DataFrame:
    """The rows whose profiles correlate best with the gene's or probe's (its first probe when
    it has several): columns ``feature``, ``symbol``, ``r``, best first; ``attrs`` say which
    feature was used and the options."""
    import pandas as pd

    options = options or NeighbourOptions()
    source = profile_source(hub, accession, values, platform)
    features, _ = resolve_features(hub, source, gene_or_probe)
    row = source.row(features[0])
    assert row is not None
    found = source.zscored().neighbours(row, options)
    frame = pd.DataFrame(
        {
            "feature": [source.features[i] for i, _ in found],
            "symbol": [source.symbol(source.features[i]) for i, _ in found],
            "r": [round(r, 6) for _, r in found],
        }
    )
    frame.attrs = {
        "accession": source.accession,
        "feature": features[0],
        "values": source.values,
        "min_r": options.min_r,
        "count": options.count,
        "negative": options.negative,
    }
    return frame


def flagged_frame(
    hub: Hub,
    accession: str,
    *,
    values: str = "submitted",
    platform: str | None = None,
    options: FlagOptions | None = None,
    only_flagged: bool = True,
) -> pd.DataFrame:
    """Flags of every row of a DataSet or series (only the flagged ones by default), with
    the gene symbol, sorted by FDR."""
    source = profile_source(hub, accession, values, platform)
    table = source.flags(options)
    if only_flagged:
        table = table[table["flagged"]]
    table = table.sort_values(["fdr", "feature"], kind="stable").reset_index(drop=True)
    table.insert(1, "symbol", [source.symbol(f) for f in table["feature"]])
    table.attrs = {"accession": source.accession, "values": source.values, "log2": source.logged}
    return table
