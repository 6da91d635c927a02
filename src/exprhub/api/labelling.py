"""Standardized labels in the Python API (``exprhub.Hub`` extends :class:`LabelsHub`):
reading them as a DataFrame or per sample, relabelling, exporting, and the changes relabels
made."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exprhub.api.intake import IntakeHub

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.curate.labels import Label
    from exprhub.curate.labels.store import RelabelReport

#: Formats of :meth:`LabelsHub.export_labels`.
LABEL_EXPORT_FORMATS: tuple[str, ...] = ("csv", "xlsx", "parquet")


def _accessions(accessions: str | Iterable[str] | None) -> list[str] | None:
    if accessions is None:
        return None
    return [accessions] if isinstance(accessions, str) else list(accessions)


class LabelsHub(IntakeHub):
    """The label methods of the Python API's hub."""

    def sample_labels(self, accession: str) -> list[Label]:
        """The stored labels of one sample (in field order), with their evidence; also of a
        sample known only as a DataSet column or a series' member.

        Raises
        ------
        exprhub.RecordNotFound
            If the accession is not a sample in the hub.
        """
        from exprhub.curate.labels.store import sample_key

        key = sample_key(self, accession)
        return self.labels_of([key]).get(key, [])

    def labels_of(self, accessions: str | Iterable[str] | None = None) -> dict[str, list[Label]]:
        """Stored labels by sample key, of the samples the accessions stand for (a series:
        its samples; None: every sample); samples without labels map to an empty list.

        Raises
        ------
        exprhub.RecordNotFound
            If an accession is not in the hub.
        """
        from exprhub.curate.labels.store import from_stored, sample_keys
        from exprhub.curate.labels.table import in_field_order
        from exprhub.hub import RecordNotFound
        from exprhub.hub.labels import sample_labels

        keys, missing = sample_keys(self, _accessions(accessions))
        if missing:
            raise RecordNotFound(f"not in the hub: {', '.join(missing)}")
        stored = sample_labels(self, keys)
        return {k: in_field_order(from_stored(x) for x in stored.get(k, [])) for k in keys}

    def labels(
        self, accessions: str | Iterable[str] | None = None, *, evidence: bool = True
    ) -> pd.DataFrame:
        """Labels as a DataFrame: one row per sample (index ``sample``), one column per field
        (``unknown`` where no evidence gives a value) and, with ``evidence``, the columns
        ``field.ontology_id``, ``field.source``, ``field.evidence``, ``field.method`` and
        ``field.confidence``.

        Raises
        ------
        exprhub.RecordNotFound
            If an accession is not in the hub.
        """
        import pandas as pd

        from exprhub.curate.labels.table import label_rows, table_columns

        rows = label_rows(self.labels_of(accessions), evidence=evidence)
        frame = pd.DataFrame(rows, columns=table_columns(evidence=evidence))
        return frame.set_index("sample")

    def relabel(
        self, accessions: str | Iterable[str] | None = None, *, llm: bool = False
    ) -> RelabelReport:
        """Label the samples the accessions stand for (None: all) again from their stored
        metadata; the report lists every value that changed (also kept in the hub).

        With ``llm``, ask the OpenAI-compatible endpoint of ``EXPRHUB_LLM_URL`` /
        ``EXPRHUB_LLM_MODEL`` / ``EXPRHUB_LLM_KEY`` instead (see ``docs/labels.md``); its
        labels (method ``llm``) are stored beside the rule labels, never over them.

        Raises
        ------
        ValueError
            If ``llm`` is asked for and no endpoint is configured.
        exprhub.curate.labels.llm.LLMError
            If the endpoint gives no usable answer (labels of earlier batches are kept).
        """
        from exprhub.curate.labels.llm import LLMConfig, LLMLabeller
        from exprhub.curate.labels.store import relabel

        labeller = None
        if llm:
            config = LLMConfig.from_env()
            if config is None:
                raise ValueError("--llm needs EXPRHUB_LLM_URL and EXPRHUB_LLM_MODEL to be set")
            labeller = LLMLabeller(config)
        return relabel(self, _accessions(accessions), llm=labeller)

    def label_changes(self, accessions: str | Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Values relabelling changed, oldest first (of these samples' if given)."""
        from exprhub.curate.labels.store import sample_keys
        from exprhub.hub.labels import label_changes

        given = _accessions(accessions)
        keys = None if given is None else sample_keys(self, given)[0]
        return [c.as_dict() for c in label_changes(self, keys)]

    def export_labels(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        accessions: str | Iterable[str] | None = None,
    ) -> Path:
        """Write :meth:`labels` (with evidence) to ``path`` as CSV, Excel (``xlsx``, the
        ``xlsx`` extra) or Parquet; the format defaults to the file's suffix.

        Raises
        ------
        ValueError
            If the format is not one of :data:`LABEL_EXPORT_FORMATS`.
        ImportError
            If writing xlsx without openpyxl (the message names the extra).
        """
        target = Path(path)
        chosen = (format or target.suffix.lstrip(".")).lower()
        if chosen not in LABEL_EXPORT_FORMATS:
            raise ValueError(
                f"label export format {chosen or '(none)'!r}: use one of "
                + ", ".join(LABEL_EXPORT_FORMATS)
            )
        frame = self.labels(accessions).reset_index()
        if chosen == "xlsx":
            try:
                import openpyxl  # noqa: F401
            except ImportError:
                raise ImportError(
                    "xlsx export needs openpyxl: pip install 'exprhub[xlsx]'"
                ) from None
        partial = target.with_name(f".{target.name}.partial")
        if chosen == "csv":
            frame.to_csv(partial, index=False)
        elif chosen == "xlsx":
            frame.to_excel(partial, index=False, sheet_name="labels", engine="openpyxl")
        else:
            frame.to_parquet(partial, index=False)
        partial.replace(target)
        return target
