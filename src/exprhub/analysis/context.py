"""The experimental context of a profile: the groups samples fall in, by subset type.

* A DataSet: its curated subsets (``disease state``: RCC / normal ...).
* A series with a DataSet: that DataSet's subsets.
* Any other series (or list of samples): groups from what varies across its samples, the
  harmonized fields (``specimen_part``, ``disease``, ``sex`` ...) first, then the submitted
  characteristics and the source name. A field is used when at least two of its values are
  shared by two or more samples (a value unique to each sample, such as an individual's id,
  groups nothing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from exprhub.curate.harmonize import FIELDS, harmonize
from exprhub.hub import Hub, RecordNotFound
from exprhub.records import RecordType, Sample, Subset

__all__ = ["SampleGroups", "sample_groups"]

#: Most subset types derived from characteristics.
MAX_DERIVED_TYPES = 6


@dataclass
class SampleGroups:
    """Samples by group, per subset type.

    Attributes
    ----------
    types
        Subset type -> sample -> group (samples outside every group of a type are absent).
    source
        Where the groups come from (``"DataSet GDS507 subsets"``, ``"sample
        characteristics"``).
    order
        Subset type -> its groups in display order.
    """

    types: dict[str, dict[str, str]] = field(default_factory=dict)
    source: str = ""
    order: dict[str, list[str]] = field(default_factory=dict)


def dataset_groups(hub: Hub, dataset: str, samples: Sequence[str] | None = None) -> SampleGroups:
    """The subsets of a DataSet as groups (restricted to ``samples`` when given)."""
    wanted = set(samples) if samples is not None else None
    groups = SampleGroups(source=f"DataSet {dataset} subsets")
    for key in hub.related(dataset).get("subset", []):
        try:
            subset = hub.record(key, RecordType.SUBSET, table=False)
        except RecordNotFound:
            continue
        if not isinstance(subset, Subset):
            continue
        kind = subset.subset_type or "other"
        name = subset.description or subset.key
        members = groups.types.setdefault(kind, {})
        for sample in subset.sample_ids:
            if wanted is None or sample in wanted:
                members.setdefault(sample, name)
        order = groups.order.setdefault(kind, [])
        if name not in order:
            order.append(name)
    return groups


def characteristic_groups(hub: Hub, samples: Sequence[str]) -> SampleGroups:
    """Groups from the harmonized fields and characteristics that vary across ``samples``."""
    columns: dict[str, dict[str, str]] = {}
    for key in samples:
        try:
            record = hub.record(key, RecordType.SAMPLE, table=False)
        except RecordNotFound:
            continue
        if not isinstance(record, Sample):
            continue
        pairs = record.characteristics(1)
        for name, value in harmonize(pairs).items():
            columns.setdefault(name, {})[key] = value
        for name, value in pairs:
            columns.setdefault(f"ch1.{name or 'characteristics'}", {}).setdefault(key, value)
        source = record.get("source_name_ch1")
        if source:
            columns.setdefault("source name", {})[key] = source
    ranked = sorted(
        columns,
        key=lambda c: (
            0 if c in FIELDS else 2 if c == "source name" else 1,
            FIELDS.index(c) if c in FIELDS else 0,
        ),
    )
    groups = SampleGroups(source="sample characteristics")
    seen: set[frozenset[frozenset[str]]] = set()
    for name in ranked:
        members = columns[name]
        counts = Counter(members.values())
        shared = [v for v, n in counts.items() if n >= 2]
        if len(counts) < 2 or len(shared) < 2 or len(members) * 2 < len(samples):
            continue
        # the same split of the samples (``gender: F`` and harmonized ``sex: female``): once
        split = frozenset(
            frozenset(k for k, v in members.items() if v == value) for value in counts
        )
        if split in seen:
            continue
        seen.add(split)
        groups.types[name.removeprefix("ch1.")] = dict(members)
        groups.order[name.removeprefix("ch1.")] = sorted(counts)
        if len(groups.types) >= MAX_DERIVED_TYPES:
            break
    if not groups.types:
        groups.source = "none: no characteristic groups the samples"
    return groups


def sample_groups(hub: Hub, accession: str | None, samples: Sequence[str]) -> SampleGroups:
    """The groups of ``samples`` for a profile of ``accession`` (see the module docstring)."""
    if accession is not None and accession.startswith("GDS"):
        return dataset_groups(hub, accession, samples)
    if accession is not None and accession.startswith("GSE"):
        for dataset in hub.related(accession).get("dataset", []):
            groups = dataset_groups(hub, dataset, samples)
            if groups.types:
                return groups
    return characteristic_groups(hub, samples)
