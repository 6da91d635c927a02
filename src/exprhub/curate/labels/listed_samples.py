"""Labels of samples the hub knows only because other records list them: the columns of a
curated DataSet (GDS) and the samples a series names, when neither came with a sample
record (GSM) of its own.

Such a sample is labelled from what the hub holds about it, through the same field rules as
a sample record (:func:`~exprhub.curate.labels.extract.label_sample`), run on a stand-in
record that is never stored:

- **DataSet columns**: each curated subset that holds the sample is a keyed value (subset
  type ``disease state``, value ``RCC`` reads as the characteristic ``disease state: RCC``);
  the DataSet's title and description are its title and description, its sample organism
  (else its platform's) its organism, and the DataSet's reference series its series. GEO's
  curators split a DataSet's samples into subsets by every variable that differs between
  them, so what the DataSet's own text says of a field that no subset splits (``C57BL6
  males``, ``glioblastomas``) holds for every sample. Values read from a subset have method
  ``curated subset`` and the subset as their source (``GDS507_1:disease state``).
- **Samples a series lists** (and no DataSet holds): the series' title, summary and design
  (series text, lowest confidence) and the organism of the series, its platforms, or the
  one its text names.

Sources read ``GDS507:title``, ``GDS507:description``, ``GDS507:organism`` for the DataSet's
own text and ``series.summary`` ... for the series'.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from exprhub.curate.harmonize import harmonized_fields
from exprhub.curate.labels.extract import label_sample
from exprhub.curate.labels.finding import make_label
from exprhub.curate.labels.model import Label
from exprhub.curate.labels.ontology import find_terms, term_index
from exprhub.curate.labels.sources import SourceText
from exprhub.curate.labels.taxonomy import organism_named
from exprhub.hub import Hub, RecordNotFound
from exprhub.records import DataSet, Platform, RecordType, Sample, Series, Subset

#: Method of a label whose value a DataSet's curated subset gives.
CURATED_SUBSET = "curated subset"

#: The label fields a subset of a type states itself (others are derived by the rules).
_STATED: dict[str, frozenset[str]] = {
    "specimen_part": frozenset({"tissue", "cell_type"}),
    "cell_line": frozenset({"cell_line", "specimen_type"}),
    "genetic_information": frozenset({"strain", "genotype", "genotype_gene"}),
    "developmental_stage": frozenset({"developmental_stage", "age"}),
    "disease_stage": frozenset({"disease"}),
    "treatment": frozenset({"perturbation"}),
    "time": frozenset({"timepoint"}),
    # GDS subset types without a harmonized field of their own
    "agent": frozenset({"perturbation"}),
    "protocol": frozenset({"perturbation"}),
    "dose": frozenset({"dose"}),
    "infection": frozenset({"perturbation"}),
    "stress": frozenset({"perturbation"}),
}


@dataclass(frozen=True)
class _Subset:
    accession: str
    type: str
    value: str

    @property
    def prefix(self) -> str:
        return f"{self.type}: "


def _stated_fields(subset_type: str) -> frozenset[str]:
    out: set[str] = set()
    for name in harmonized_fields(subset_type) or [subset_type.strip().lower()]:
        out |= _STATED.get(name, frozenset({name}))
    return frozenset(out)


def _record(hub: Hub, key: str, kind: RecordType) -> object | None:
    try:
        return hub.record(key, kind, table=False)
    except RecordNotFound:
        return None


class _Records:
    """Records read while labelling, each once."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.cache: dict[tuple[str, RecordType], object | None] = {}

    def get(self, key: str, kind: RecordType) -> object | None:
        if (key, kind) not in self.cache:
            self.cache[(key, kind)] = _record(self.hub, key, kind)
        return self.cache[(key, kind)]

    def series(self, keys: Iterable[str]) -> list[Series]:
        return [r for r in (self.get(k, RecordType.SERIES) for k in keys) if isinstance(r, Series)]

    def platform_organisms(self, keys: Iterable[str]) -> list[str]:
        out: list[str] = []
        for key in keys:
            found = self.get(key, RecordType.PLATFORM)
            if isinstance(found, Platform):
                out += [o for o in found.get_all("organism") if o.strip() and o not in out]
        return out


def _dataset_sample(
    key: str, dataset: DataSet, subsets: Sequence[_Subset], organisms: list[str]
) -> Sample:
    attributes = [("Sample_title", dataset.title or ""), ("Sample_channel_count", "1")]
    attributes += [("Sample_organism_ch1", name) for name in organisms]
    attributes += [("Sample_characteristics_ch1", f"{s.prefix}{s.value}") for s in subsets]
    attributes += [("Sample_description", d) for d in dataset.get_all("description") if d]
    return Sample(key, attributes)


def _refined_disease(labels: list[Label], dataset: DataSet) -> list[Label]:
    """A subset's disease made as specific as the DataSet's title names it (``RCC`` in a
    DataSet titled "Renal clear cell carcinoma": clear cell renal carcinoma)."""
    index = term_index()
    out = []
    title = SourceText(f"{dataset.key}:title", dataset.title or "", 0.9)
    for label in labels:
        if label.field != "disease" or label.method != CURATED_SUBSET or not label.ontology_id:
            out.append(label)
            continue
        finer = [
            m
            for m in find_terms(title.text, "MONDO")
            if label.ontology_id in (index.term(m.term.id) or m.term).ancestors
        ]
        if len(finer) == 1:
            m = finer[0]
            label = make_label(
                "disease",
                m.term.label,
                title,
                m.start,
                m.end,
                ontology_id=m.term.id,
                method="ontology",
                confidence=label.confidence * 0.95,
            )
        out.append(label)
    return out


def _relabelled_sources(
    labels: list[Label], dataset: DataSet, subsets: Sequence[_Subset]
) -> list[Label]:
    by_source = {f"characteristics_ch1:{s.type.lower()}": s for s in subsets}
    own = {
        "title": f"{dataset.key}:title",
        "description": f"{dataset.key}:description",
        "organism_ch1": f"{dataset.key}:organism",
    }
    out = []
    for label in labels:
        subset = by_source.get(label.source)
        if subset is not None:
            shift = len(subset.prefix)
            stated = label.field in _stated_fields(subset.type)
            label = replace(
                label,
                source=f"{subset.accession}:{subset.type}",
                start=max(0, label.start - shift),
                end=max(0, label.end - shift),
                method=CURATED_SUBSET if stated else label.method,
            )
        elif label.source in own:
            label = replace(label, source=own[label.source])
        out.append(label)
    return out


def label_dataset_column(
    key: str, dataset: DataSet, subsets: Sequence[Subset], records: _Records
) -> list[Label]:
    """Labels of sample ``key``, a column of ``dataset`` without a sample record, from the
    DataSet and the ``subsets`` that hold it."""
    held = [
        _Subset(s.key, (s.subset_type or "").strip(), (s.description or "").strip())
        for s in subsets
        if s.subset_type and (s.description or "").strip()
    ]
    organisms = list(dataset.organisms) or records.platform_organisms(
        [dataset.platform_id] if dataset.platform_id else []
    )
    sample = _dataset_sample(key, dataset, held, organisms)
    labels = label_sample(sample, records.series(dataset.reference_series))
    return _refined_disease(_relabelled_sources(labels, dataset, held), dataset)


def label_series_listed(key: str, series: Sequence[Series], records: _Records) -> list[Label]:
    """Labels of sample ``key``, listed by ``series`` without a sample record, from the
    series' text and organism."""
    organisms: list[str] = []
    for one in series:
        organisms += one.get_all("sample_organism") or one.get_all("platform_organism")
    related: list[str] = []
    for one in series:
        related += [p for p in records.hub.related(one.key).get("platform", [])]
    organisms = organisms or records.platform_organisms(related)
    named: tuple[str, tuple[str, str, int, int]] | None = None
    if not organisms:
        for one in series:
            for field_name in ("title", "summary"):
                for text in one.get_all(field_name):
                    found = organism_named(text)
                    if named is None and found is not None:
                        named = (f"series.{field_name}", found)
        organisms = [named[1][0]] if named else []
    attributes = [("Sample_channel_count", "1")]
    attributes += [("Sample_organism_ch1", name) for name in dict.fromkeys(organisms)]
    labels = label_sample(Sample(key, attributes), series)
    if named is None:
        return labels
    source, (_, evidence, start, end) = named
    return [
        replace(label, source=source, evidence=evidence, start=start, end=end, confidence=0.5)
        if label.field == "organism"
        else label
        for label in labels
    ]


def label_listed_samples(hub: Hub, keys: Iterable[str]) -> dict[str, list[Label]]:
    """Labels of samples without a sample record (``keys``), from the DataSets whose
    subsets hold them, else the series that list them; keys nothing lists get none."""
    records = _Records(hub)
    out: dict[str, list[Label]] = {}
    for key in keys:
        try:
            related = hub.related(key)
        except RecordNotFound:
            out[key] = []
            continue
        subsets = [records.get(s, RecordType.SUBSET) for s in related.get("subset", [])]
        by_dataset: dict[str, list[Subset]] = {}
        for subset in subsets:
            if isinstance(subset, Subset) and subset.dataset_id:
                by_dataset.setdefault(subset.dataset_id, []).append(subset)
        dataset = next(
            (
                found
                for gds in sorted(by_dataset)
                if isinstance(found := records.get(gds, RecordType.DATASET), DataSet)
            ),
            None,
        )
        if dataset is not None:
            out[key] = label_dataset_column(key, dataset, by_dataset[dataset.key], records)
            continue
        series = records.series(related.get("series", []))
        out[key] = label_series_listed(key, series, records) if series else []
    return out
