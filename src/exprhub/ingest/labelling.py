"""Labelling samples as they are imported: the samples a file adds or updates are labelled
(:mod:`exprhub.curate.labels`) in the file's own transaction, with the file's series (or the
stored ones they name); samples already stored whose series the file updates are relabelled
right after it, and so are the samples without records of their own (DataSet columns,
samples a series lists) that the file's DataSets and series list."""

from __future__ import annotations

from dataclasses import dataclass, field

from exprhub.curate.labels.store import relabel_samples, write_sample_labels
from exprhub.hub import Hub, HubWriter, PutOutcome, RecordNotFound
from exprhub.hub.labels import LabelChange
from exprhub.records import DataSet, Record, RecordType, Sample, Series

_CHANGED = {PutOutcome.ADDED.value, PutOutcome.UPDATED.value}


@dataclass
class ImportLabels:
    """The samples and series of one file that an import stored anew."""

    samples: list[Sample] = field(default_factory=list)
    series: dict[str, Series] = field(default_factory=dict)
    changed_owners: list[str] = field(default_factory=list)

    def see(self, record: Record, outcome: str) -> None:
        """Note a record the import stored, with what storing it did."""
        if isinstance(record, Series):
            self.series[record.key] = Series(record.id, list(record.attributes))
            if outcome in _CHANGED:
                self.changed_owners.append(record.key)
        elif isinstance(record, DataSet) and outcome in _CHANGED:
            self.changed_owners.append(record.key)  # its columns are labelled from it
        elif isinstance(record, Sample) and outcome in _CHANGED:
            # the metadata only: a data table may be large
            self.samples.append(Sample(record.id, list(record.attributes)))

    def _series_of(self, hub: Hub, sample: Sample) -> list[Series]:
        out = []
        for acc in sample.series_ids:
            if acc not in self.series:
                try:
                    stored = hub.record(acc, RecordType.SERIES, table=False)
                except RecordNotFound:
                    continue
                if isinstance(stored, Series):
                    self.series[acc] = stored
            if acc in self.series:
                out.append(self.series[acc])
        return out

    def write(self, hub: Hub, writer: HubWriter) -> list[LabelChange]:
        """Label the file's new and updated samples in its transaction."""
        return write_sample_labels(writer, [(s, self._series_of(hub, s)) for s in self.samples])

    def relabel_members(self, hub: Hub) -> tuple[int, list[LabelChange]]:
        """Relabel stored samples of the file's new or updated series and DataSets that the
        file did not hold (their series' summary and design are label sources), and label
        the samples they list that have no record; returns how many and the values that
        changed."""
        done = {s.key for s in self.samples}
        members: list[str] = []
        for key in self.changed_owners:
            try:
                members += [m for m in hub.samples_of(key) if m not in done]
            except RecordNotFound:
                continue
        stored = list(dict.fromkeys(members))
        if not stored:
            return 0, []
        report = relabel_samples(hub, stored)
        return report.samples, report.changes
