"""Profile flags stored in the hub, and ``[FLAG]`` search on them.

Flags (:mod:`exprhub.analysis.flags`) of a whole DataSet or series are computed once per value
kind (and platform) with the default thresholds and stored with the **data version** they were
computed from: a digest of the stamps (version and update time) of the records the values and
groups come from (the DataSet or series, its DataSets and their subsets, its samples), the
matrix columns holding the samples' current values, the test's method version and the
thresholds. Re-importing a record, changing a subset, refining samples again or relabelling
them changes the version, so a stored set is **stale** until it is computed again; every
computation says what it replaced (flagged rows before and after, how many came and went).

Sets are computed by ``exprhub profiles flags --compute`` (:func:`compute_stored_flags`), and for
refined values by ``Hub.refine`` for the series and DataSets it names. ``[FLAG]`` search
(:func:`accessions_flagging`) reads the current stored sets and computes on request only the
DataSets and series without a current set of submitted values.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from exprhub.analysis.flags import FlagOptions
from exprhub.analysis.genes import GeneMatch, GeneNotFound, find_genes, platforms_measuring
from exprhub.analysis.profiles import VALUE_KINDS, profile_frame, profile_source
from exprhub.hub import Hub, HubError, RecordNotFound
from exprhub.hub.platform_catalogue import PlatformFacts, platforms_with_probes
from exprhub.hub.profile_flags import (
    FlagSet,
    flag_sets,
    flagged_features,
    flagged_rows,
    record_stamps,
    write_flag_set,
)
from exprhub.records import RecordType, normalize_accession
from exprhub.refine.store import REFINED_KIND

__all__ = [
    "ANY_FLAG",
    "FLAG_METHOD",
    "FlagUpdate",
    "accessions_flagging",
    "compute_stored_flags",
    "data_version",
    "refresh_after_refine",
    "stored_flag_status",
]

log = logging.getLogger("exprhub.flags")

#: The flag test and its version: a change of the test makes every stored set stale.
FLAG_METHOD = "anova-bh/1"
#: Flag texts meaning "across any subset type" (``flagged[FLAG]``).
ANY_FLAG = frozenset({"flagged", "flag", "yes", "any", "de", "differentially expressed"})


def _matrix_kind(value_kind: str) -> str:
    return "submitted" if value_kind == "submitted" else REFINED_KIND


def data_version(
    hub: Hub, accession: str, value_kind: str, options: FlagOptions | None = None
) -> str:
    """The version of what the flags of ``accession``'s ``value_kind`` values are computed
    from (see the module docstring), as a hex digest.

    Raises
    ------
    exprhub.RecordNotFound
        For an unknown accession.
    """
    options = options or FlagOptions()
    key = normalize_accession(accession)
    # a DataSet's submitted values are its own table (its record's stamp): no sample enters
    uses_samples = not (key.startswith("GDS") and value_kind == "submitted")
    if not hub.has(key):
        raise RecordNotFound(f"{key} is not in the hub")
    samples = hub.samples_of(key) if uses_samples else []
    related = hub.related(key)
    datasets = [key] if key.startswith("GDS") else list(related.get("dataset", []))
    keys = {key, *datasets}
    for dataset in datasets:
        of_dataset = related if dataset == key else hub.related(dataset)
        keys.update(of_dataset.get("subset", []))
    columns: dict[str, list[object]] = {}
    if uses_samples:
        keys.update(samples)
        kind = _matrix_kind(value_kind)
        located = hub.current_columns(samples, [kind])
        columns = {s: list(located[s][kind]) for s in sorted(located) if kind in located[s]}
    payload = {
        "method": FLAG_METHOD,
        "values": value_kind,
        "fdr": options.fdr,
        "min_log2_fold": options.min_log2_fold,
        "samples": samples,
        "stamps": sorted(record_stamps(hub, keys).items()),
        "columns": columns,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class FlagUpdate:
    """What computing the stored flags of one DataSet or series did.

    ``status``: ``new`` (no set before), ``recomputed`` (``reason``: the data changed, or
    forced), ``current`` (the stored set is of the current data: left as it is) or
    ``unavailable`` (no values of that kind; ``reason`` says why). ``before`` / ``after``:
    (row, subset type) pairs flagged; ``added`` / ``removed``: pairs that came and went.
    """

    accession: str
    value_kind: str
    platform: str | None
    status: str
    reason: str = ""
    before: int | None = None
    after: int | None = None
    added: int = 0
    removed: int = 0

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return asdict(self)

    def describe(self) -> str:
        """One line for people."""
        where = f"{self.accession} {self.value_kind}" + (
            f" ({self.platform})" if self.platform else ""
        )
        if self.status == "new":
            return f"{where}: {self.after} flagged (stored)"
        if self.status == "recomputed":
            return (
                f"{where}: recomputed ({self.reason}): {self.before} -> {self.after} flagged, "
                f"+{self.added} -{self.removed}"
            )
        if self.status == "current":
            return f"{where}: current ({self.after} flagged)"
        return f"{where}: {self.status} ({self.reason})"


def _platforms(hub: Hub, key: str, value_kind: str) -> list[str | None]:
    """The platforms to flag separately: a series' submitted values, one set per platform."""
    if value_kind != "submitted" or key.startswith("GDS"):
        return [None]
    located = hub.current_columns(hub.samples_of(key), ["submitted"])
    found = sorted({w["submitted"][1] or "" for w in located.values() if "submitted" in w})
    return [p or None for p in found] or [None]


def _store_one(
    hub: Hub,
    key: str,
    value_kind: str,
    platform: str | None,
    version: str,
    options: FlagOptions,
    previous: FlagSet | None,
) -> FlagUpdate:
    source = profile_source(hub, key, value_kind, platform)
    table = source.flags(options)
    flagged = table.loc[table["flagged"].astype(bool)]
    rows = [
        (str(kind), str(feature), float(q), float(fold))
        for kind, feature, q, fold in zip(
            flagged["subset_type"], flagged["feature"], flagged["fdr"], flagged["log2_fold"],
            strict=True,
        )
    ]  # fmt: skip
    platform_key = source.platform or ""
    old = {(k, f) for k, f, _, _ in flagged_rows(hub, key, value_kind, platform_key)}
    new = {(k, f) for k, f, _, _ in rows}
    flag_set = FlagSet(
        accession=key,
        value_kind=value_kind,
        platform=platform_key,
        data_version=version,
        method=FLAG_METHOD,
        fdr=options.fdr,
        min_log2_fold=options.min_log2_fold,
        rows_tested=len(source.features),
        rows_flagged=len(rows),
        subset_types=sorted(source.groups.types),
    )
    with hub.writer() as writer:
        replaced = write_flag_set(writer, flag_set, rows)
    if replaced is None:
        return FlagUpdate(key, value_kind, source.platform, "new", after=len(rows))
    reason = "data changed" if replaced.data_version != version else "forced"
    if previous is None and replaced.data_version == version:
        reason = "forced"
    return FlagUpdate(
        key,
        value_kind,
        source.platform,
        "recomputed",
        reason,
        before=replaced.rows_flagged,
        after=len(rows),
        added=len(new - old),
        removed=len(old - new),
    )


def _analysed_accessions(hub: Hub) -> list[str]:
    # a series may be keyed by its name when its file gives no GSE accession
    # (``^SERIES = Murine ES Cells``): such records have no flags to store
    keys = [r.key for r in hub.records(RecordType.DATASET)] + [
        r.key for r in hub.records(RecordType.SERIES)
    ]
    return [k for k in keys if k.startswith(("GDS", "GSE"))]


def compute_stored_flags(
    hub: Hub,
    accessions: Sequence[str] | None = None,
    *,
    values: Sequence[str] = VALUE_KINDS,
    force: bool = False,
    options: FlagOptions | None = None,
) -> list[FlagUpdate]:
    """Compute and store the flags of DataSets and series whose stored flags are missing or
    stale (all of them with ``force``), one set per value kind (and platform of submitted
    values), and say for each what was done (:class:`FlagUpdate`; recomputations are also
    logged on ``exprhub.flags``).

    Parameters
    ----------
    accessions
        DataSets and series (default: every one in the hub).
    values
        ``submitted`` and / or ``refined``.
    force
        Compute even when the stored set is current.
    options
        Thresholds (default FDR 0.05, log2 fold 1: what ``[FLAG]`` search uses).

    Raises
    ------
    exprhub.RecordNotFound
        For an unknown accession.
    ValueError
        For an unknown value kind, or an accession that is not a DataSet or series.
    """
    options = options or FlagOptions()
    for kind in values:
        if kind not in VALUE_KINDS:
            raise ValueError(f"values must be among {', '.join(VALUE_KINDS)}; got {kind!r}")
    keys = [normalize_accession(a) for a in accessions] if accessions else _analysed_accessions(hub)
    for key in keys:
        if not key.startswith(("GDS", "GSE")):
            raise ValueError(f"{key}: flags are stored for DataSets (GDS) and series (GSE)")
        if not hub.has(key):
            raise RecordNotFound(f"{key} is not in the hub")
    updates: list[FlagUpdate] = []
    for key in keys:
        for kind in values:
            version = data_version(hub, key, kind, options)
            stored = {f.platform: f for f in flag_sets(hub, [key], kind)}
            if stored and not force and all(f.data_version == version for f in stored.values()):
                for f in stored.values():
                    updates.append(
                        FlagUpdate(key, kind, f.platform or None, "current", after=f.rows_flagged)
                    )
                continue
            for platform in _platforms(hub, key, kind):
                previous = stored.get(platform or "")
                try:
                    update = _store_one(hub, key, kind, platform, version, options, previous)
                except (HubError, ValueError) as exc:
                    update = FlagUpdate(key, kind, platform, "unavailable", str(exc))
                if update.status == "recomputed":
                    log.info("flags %s", update.describe())
                updates.append(update)
    return updates


def refresh_after_refine(hub: Hub, keys: Sequence[str]) -> list[dict[str, object]]:
    """After a refine: store the flags of refined values of the series and DataSets it named
    (of every one with refined values when it named none) and recompute the stored sets of
    refined values that are now stale; the new and recomputed sets (and the named accessions
    without refined values), as :meth:`FlagUpdate.as_dict`."""
    named = [normalize_accession(k) for k in keys]
    named = [k for k in named if k.startswith(("GSE", "GDS"))]
    stored = [f.accession for f in flag_sets(hub, value_kind="refined")]
    wanted = list(dict.fromkeys(named + stored)) if keys else None
    if wanted == []:
        return []
    updates = compute_stored_flags(hub, wanted, values=["refined"])
    return [
        u.as_dict()
        for u in updates
        if u.status in ("new", "recomputed") or (u.status == "unavailable" and u.accession in named)
    ]


def stored_flag_status(
    hub: Hub, accessions: Sequence[str] | None = None, *, values: Sequence[str] = VALUE_KINDS
) -> list[dict[str, object]]:
    """The stored flag sets with ``state`` ``current`` or ``stale`` (their data changed since),
    and a ``missing`` entry for each DataSet or series with submitted values but no set."""
    keys = [normalize_accession(a) for a in accessions] if accessions else _analysed_accessions(hub)
    out: list[dict[str, object]] = []
    for key in keys:
        if not hub.has(key):
            raise RecordNotFound(f"{key} is not in the hub")
        for kind in values:
            stored = flag_sets(hub, [key], kind)
            if not stored:
                if kind == "submitted":
                    out.append({"accession": key, "value_kind": kind, "state": "missing"})
                continue
            version = data_version(hub, key, kind)
            for f in stored:
                state = "current" if f.data_version == version else "stale"
                out.append({**f.as_dict(), "state": state})
    return out


def _words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.lower()))


def _gene_matches(
    hub: Hub, given: str, platforms: dict[str, PlatformFacts]
) -> tuple[str, list[GeneMatch]]:
    """The spelling of ``given`` that names a gene and its matches (not by description)."""
    # search hands over its tokens joined by spaces: "beta-actin" arrives as "beta actin"
    spellings = list(dict.fromkeys([given, given.replace(" ", "-"), given.replace(" ", "")]))
    for text in spellings:
        matches = [
            m
            for m in find_genes(hub, text, limit=20, platforms=platforms)
            if m.matched != "description"
        ]
        if matches:
            return text, matches
    return given, []


def accessions_flagging(
    hub: Hub, flag: str, genes: Sequence[str], options: FlagOptions | None = None
) -> list[str]:
    """DataSets and series in which one of ``genes`` is flagged across a subset type: any
    type when ``flag`` is one of :data:`ANY_FLAG`, else the type it names (``"disease
    state"``; compared on words, ignoring case).

    The current stored sets are read (a probe of the gene in submitted values, or the gene in
    refined values); DataSets and series on a platform measuring the gene without a current
    stored set of submitted values have their submitted values' flags computed on request.
    """
    options = options or FlagOptions()
    wanted = _words(flag)
    found: set[str] = set()
    platforms = platforms_with_probes(hub)
    for given in genes:
        text, matches = _gene_matches(hub, given, platforms)
        probes: dict[str, set[str]] = {}  # accession -> probes of the gene on its platforms
        gene_ids: set[str] = set()
        for match in matches:
            if match.gene_id:
                gene_ids.add(match.gene_id)
            for platform in platforms_measuring(hub, match, platforms=platforms):
                for accession in (*platform.datasets, *platform.series):
                    probes.setdefault(accession, set()).update(platform.probes)
        candidates = sorted(set(probes) - found)
        current: set[str] = set()
        fresh: set[tuple[str, str, str]] = set()
        versions: dict[tuple[str, str], str] = {}
        for stored in flag_sets(hub, candidates):
            if stored.fdr != options.fdr or stored.min_log2_fold != options.min_log2_fold:
                continue
            pair = (stored.accession, stored.value_kind)
            if pair not in versions:
                versions[pair] = data_version(hub, stored.accession, stored.value_kind, options)
            if stored.data_version == versions[pair]:
                fresh.add((stored.accession, stored.value_kind, stored.platform))
                if stored.value_kind == "submitted":
                    current.add(stored.accession)
        features = set(gene_ids).union(*probes.values()) if probes else set(gene_ids)
        hits = flagged_features(hub, {a for a, _, _ in fresh}, features)
        for (accession, kind, platform_key), pairs in hits.items():
            if (accession, kind, platform_key) not in fresh:
                continue
            mine = probes.get(accession, set()) if kind == "submitted" else gene_ids
            if any(
                feature in mine and (wanted in ANY_FLAG or _words(subset_type) == wanted)
                for subset_type, feature in pairs
            ):
                found.add(accession)
        unstored = [a for a in candidates if a not in current and a not in found]
        if unstored:
            log.info(
                "flags computed on request for %d DataSets/series without current stored "
                "flags (exprhub profiles flags --compute stores them)",
                len(unstored),
            )
        for accession in unstored:
            try:
                frame = profile_frame(hub, accession, text, flag_options=options)
            except (GeneNotFound, HubError, ValueError):
                continue
            for row in frame.attrs["flags"]:
                if row["flagged"] and (wanted in ANY_FLAG or _words(row["subset_type"]) == wanted):
                    found.add(accession)
                    break
    return sorted(found)
