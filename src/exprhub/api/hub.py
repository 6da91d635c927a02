"""The hub of the Python API: ``exprhub.hub.Hub`` (the record catalogue) plus importing,
fetching (``exprhub.api.intake``), refining, searching and DataFrames of samples and values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from exprhub.api import frames, refinery
from exprhub.api.compendia import CompendiumMixin
from exprhub.api.explore_methods import ExploreMethods
from exprhub.api.geo2r import Geo2R
from exprhub.api.hub_check import HubCheck
from exprhub.api.label_checks import LabelChecks
from exprhub.api.labelling import LabelsHub
from exprhub.api.profiles import GeneProfiles, resolve_gene_terms
from exprhub.api.tissue_models import TissueModels
from exprhub.hub.queries import RecordSummary
from exprhub.records import RecordType

if TYPE_CHECKING:
    import anndata
    import pandas as pd

    from exprhub.bundles.bundle import BundleResult
    from exprhub.refine.pipeline import RefineOptions, RefineReport
    from exprhub.refine.store import RefinedCoverage
    from exprhub.search import SearchResults

#: ``key=value`` filters: a mapping, or ``"key=value"`` strings / ``(key, value)`` pairs (a
#: key may then repeat).
Pairs = Mapping[str, str] | Iterable[str | tuple[str, str]]


def _pairs(given: Pairs | None, what: str) -> list[tuple[str, str]]:
    from exprhub.curate.sample_filter import parse_pair

    if not given:
        return []
    if isinstance(given, Mapping):
        return [(str(k), str(v)) for k, v in given.items()]
    return [parse_pair(p, what) if isinstance(p, str) else (p[0], p[1]) for p in given]


def _file_pairs(
    given: Mapping[str, str | Path]
    | Mapping[str, str | Path | Sequence[str | Path]]
    | Sequence[str]
    | None,
) -> list[str]:
    """``"GSM=path"`` strings (several paths joined by commas) from a mapping or such strings."""
    if given is None:
        return []
    if not isinstance(given, Mapping):
        return [str(p) for p in given]
    return [
        f"{key}={value}" if isinstance(value, str | Path) else f"{key}={','.join(map(str, value))}"
        for key, value in given.items()
    ]


class Hub(
    LabelChecks,
    TissueModels,
    LabelsHub,
    GeneProfiles,
    ExploreMethods,
    Geo2R,
    CompendiumMixin,
    HubCheck,
):
    """A gene expression hub stored in a directory: its records, values, refinery and search.

    Everything ``exprhub.hub.Hub`` reads (``record``, ``related``, ``summary``,
    ``counts``, ``history``, ``conflicts``, ``sample_values`` ...) plus importing, fetching,
    refining and searching, and pandas DataFrames of sample metadata and expression values;
    comparing, clustering, distributions and PCA (:class:`ExploreMethods`).

    Parameters
    ----------
    path
        The hub directory (default: ``$EXPRHUB_HOME`` or ``./exprhub-data``).
    database_url
        SQLAlchemy URL of the metadata database (default: ``$EXPRHUB_DATABASE_URL``, else the
        SQLite file in the hub directory).
    create
        Create the hub if it does not exist (otherwise a missing hub raises
        ``exprhub.HubNotFound``).
    """

    def refine(
        self,
        accessions: str | Sequence[str] = (),
        *,
        workers: int | None = None,
        scheduler: str | None = None,
        skip_qn: bool = False,
        min_target_samples: int = 4,
        batch_size: int = 128,
        commit_size: int = 256,
        force: bool = False,
        retarget: bool = False,
        quant: Mapping[str, str | Path] | Sequence[str] | None = None,
        quant_dir: str | Path | None = None,
        reads: Mapping[str, str | Path | Sequence[str | Path]] | Sequence[str] | None = None,
        transcriptome: str | Path | None = None,
        tx2gene: str | Path | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> RefineReport:
        """Refine samples to gene-level, quantile-normalized values with provenance (the
        rules: docs/refine.md).

        Samples whose provenance is current are skipped, so running it again resumes an
        interrupted run and refines only what changed.

        Parameters
        ----------
        accessions
            Samples, series, platforms or DataSets (default: every sample of the hub).
        workers
            Local worker processes (default 2; ``0`` runs in this process).
        scheduler
            A Dask scheduler address (``tcp://HOST:PORT``) to run on instead.
        skip_qn
            Deliver gene-level values without quantile normalization.
        min_target_samples
            Fewest samples for a quantile-normalization target.
        batch_size
            Most samples per batch.
        commit_size
            Samples committed together (at least a batch).
        force
            Refine again even when the provenance is current.
        retarget
            Move the samples to the current quantile-normalization target of their organism
            and value kind, first building a new target version when its reference samples
            changed. Without it, a sample once delivered keeps the target version it was
            normalized to, whatever else is refined (docs/refine.md, "Values that never change
            silently"); the report's ``moves`` says how many samples moved from which version
            to which, ``target_notices`` when a retarget would change something.
        quant
            RNA-seq: Salmon ``quant.sf`` files by sample (refines these samples from them), as
            a mapping or ``"GSM=path"`` strings.
        quant_dir
            RNA-seq: a directory of ``<GSM>/quant.sf`` files.
        reads
            RNA-seq: FASTQ files by sample (one file, or two mates), quantified with Salmon
            first (needs ``transcriptome``), as a mapping or ``"GSM=reads.fq"`` /
            ``"GSM=mate1.fq,mate2.fq"`` strings.
        transcriptome
            RNA-seq: the transcript FASTA Salmon indexes.
        tx2gene
            RNA-seq: transcript -> gene table (default: Ensembl transcript ids resolved
            through the gene reference).
        progress
            Called with ``(phase, samples done since the last call, samples in the phase)``.

        Returns
        -------
        RefineReport
            Counts per phase, failures and waiting samples with reasons, QN targets used,
            and ``flags``: the stored profile flags of refined values computed afterwards
            for the series and DataSets named (docs/analysis.md, "Stored flags");
            ``to_dict()`` is the JSON of ``exprhub refine --json``.

        Raises
        ------
        exprhub.refine.executor.RefineInterrupted
            On SIGTERM / SIGINT inside ``exprhub.refine.executor.stop_on_signals()``: the
            workers are stopped and the batches committed so far kept.
        ValueError
            For RNA-seq inputs that are missing or malformed.
        """
        from exprhub.refine.executor import make_executor
        from exprhub.refine.pipeline import RefineOptions, refine

        options = RefineOptions(
            skip_qn=skip_qn,
            min_target_samples=min_target_samples,
            force=force,
            retarget=retarget,
            batch_size=batch_size,
            commit_size=commit_size,
        )
        keys = [accessions] if isinstance(accessions, str) else list(accessions)
        if quant or quant_dir or reads:
            return self._refine_rnaseq(
                quant, quant_dir, reads, transcriptome, tx2gene, options, scheduler, workers
            )
        with make_executor(scheduler, workers) as executor:
            report = refine(self, keys, executor=executor, options=options, progress=progress)
        from exprhub.analysis.stored_flags import refresh_after_refine

        report.flags = refresh_after_refine(self, keys)
        return report

    def _refine_rnaseq(
        self,
        quant: Mapping[str, str | Path] | Sequence[str] | None,
        quant_dir: str | Path | None,
        reads: Mapping[str, str | Path | Sequence[str | Path]] | Sequence[str] | None,
        transcriptome: str | Path | None,
        tx2gene: str | Path | None,
        options: RefineOptions,
        scheduler: str | None,
        workers: int | None,
    ) -> RefineReport:
        from exprhub.refine.executor import make_executor
        from exprhub.refine.pipeline_rnaseq import (
            collect_quant_files,
            collect_reads,
            quantify_reads,
            refine_rnaseq,
        )

        directory = Path(quant_dir) if quant_dir is not None else None
        files = collect_quant_files(_file_pairs(quant), directory) if quant or quant_dir else {}
        failed: dict[str, str] = {}
        with make_executor(scheduler, workers) as executor:
            if reads:
                if transcriptome is None:
                    raise ValueError("reads need a transcriptome (transcript FASTA) to quantify")
                found, failed = quantify_reads(
                    self, collect_reads(_file_pairs(reads)), Path(transcriptome), executor=executor
                )
                files.update(found)
            return refine_rnaseq(
                self,
                files,
                tx2gene=Path(tx2gene) if tx2gene is not None else None,
                executor=executor,
                options=options,
                failed_before=failed,
            )

    def qn_targets(self, *, all_versions: bool = True) -> list[dict[str, object]]:
        """Quantile-normalization target versions by organism, value kind and version:
        digest, sample count and ids, creation time, whether current, and ``samples_using``
        (samples normalized to it now). Every version ever built is kept."""
        return refinery.target_listing(self, current_only=not all_versions)

    def qn_target_moves(self, *, samples: bool = False) -> list[dict[str, object]]:
        """Every move of samples between target versions (``exprhub refine --retarget``,
        ``--skip-qn``), oldest first: run, organism, value kind, from and to version (``None``:
        no target), reason, how many samples (and which, if ``samples``)."""
        return [move.as_dict() for move in refinery.target_moves(self, with_samples=samples)]

    def refined_with_target(self, samples: str | Sequence[str], version: int) -> pd.DataFrame:
        """Refined values of ``samples`` as normalized to QN target ``version`` of their
        organism and value kind (genes x samples, float32): regenerates, bit for bit, the
        values they had under an earlier version.

        Raises
        ------
        ValueError
            When a sample has no gene-level values or there is no such target version.
        """
        keys = [samples] if isinstance(samples, str) else list(samples)
        return refinery.refined_with_target(self, keys, version)

    def provenance(self, sample: str) -> dict[str, object]:
        """How a sample was refined: status, processor and version, parameters, checksums,
        tool versions, QN target, mapping statistics and scale decision (JSON-ready).

        Raises
        ------
        exprhub.RecordNotFound
            If the sample has not been refined.
        """
        return refinery.provenance(self, sample)

    # ------------------------------------------------------------------ search
    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        offset: int = 0,
        facets: Sequence[str] | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
        expand: bool = True,
    ) -> SearchResults:
        """Search the hub's records with an Entrez-style query, ranked, with facet counts.

        The index is brought up to date first when the hub changed since its last sync.

        Parameters
        ----------
        query
            E.g. ``'liver[ALL] AND Mus musculus[ORGN] AND GSM[ETYP]'``; fields: ALL ACCN TITL
            DESC ORGN ETYP GTYP VTYP PTYP PLAT AUTH PDAT NSAM, label fields such as
            ``sex``, ``tissue``, ``disease`` (see docs/cli.md), and ``GENE`` (records on a
            platform measuring the gene, docs/analysis.md).
        limit
            Hits per page (at most 1000).
        offset
            Hits to skip (``offset + limit`` at most 10,000, as in NCBI Entrez).
        facets
            Facet fields to count (default: the index's).
        filters
            Only hits with one of these values per facet field.
        expand
            Words naming an anatomy, cell type or disease term also find the term's
            descendants (``kidney`` finds "renal cortex"; see docs/search.md).

        Returns
        -------
        SearchResults
            ``total`` matches, the page of ``hits`` (accession, type, title, score) and
            ``facets`` (value, count per field).

        Raises
        ------
        exprhub.search.QuerySyntaxError
            For a query that cannot be parsed (``reason`` and ``column`` say where).
        ValueError
            For ``limit`` / ``offset`` beyond the bounds above.
        """
        from exprhub.search.hub_index import HubSearch
        from exprhub.search.paging import check_search_page

        check_search_page(limit, offset)  # before opening the index: a clear error, fast
        resolved = resolve_gene_terms(self, query)  # ACTB[GENE]: the platforms measuring it
        with HubSearch(self) as engine:
            return engine.search(
                resolved,
                limit=limit,
                offset=offset,
                facets=facets,
                filters=filters,
                expand=expand,
            )

    def records(
        self,
        type: RecordType | str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        organism: str | None = None,
        platform: str | None = None,
        series: str | None = None,
        characteristics: Pairs | None = None,
        labels: Pairs | None = None,
    ) -> list[RecordSummary]:
        """Stored records in accession order, optionally of one type and filtered as
        ``exprhub ls`` filters them.

        Parameters
        ----------
        type
            ``"gse"``, ``"gsm"``, ``"gpl"``, ``"gds"``, ``"subset"`` (or a ``RecordType``);
            needed by every filter.
        limit
            At most this many records.
        offset
            Skip this many records.
        organism
            Only records of this organism (a series without organisms of its own: those of
            its samples).
        platform
            Only records related to this platform.
        series
            Only records related to this series.
        characteristics
            Samples with these characteristics as submitted (``{"tissue": "liver"}``, or
            ``["tissue=liver"]``), compared ignoring case.
        labels
            Samples with these labels (``{"sex": "female"}``, ``{"tissue": "kidney"}``):
            the standardized labels stored with evidence (:meth:`labels`; an ontology term
            also finds its descendants) or, for names that are harmonized fields, the
            characteristics (``gender: F``); label names are search's
            (:data:`exprhub.curate.harmonize.LABELS`). With type ``gse``, ``gpl`` or
            ``gds``: those listing such samples that have no record of their own (DataSet
            columns, samples a series only lists).

        Returns
        -------
        list of RecordSummary
            Type, accession, title, organisms and last update of each record.

        Raises
        ------
        ValueError
            For a filter without ``type``, a characteristic filter on another type than
            samples, a label filter on another type than samples, series, platforms and
            DataSets, an unknown label or record type, or paging out of bounds.
        """
        from exprhub.curate.sample_filter import listing_filter
        from exprhub.hub.listing import LABEL_OWNER_TYPES, check_listing_page, list_records

        check_listing_page(limit, offset)
        rtype = RecordType.parse(type) if isinstance(type, str) else type
        wanted = _pairs(characteristics, "characteristic")
        wanted_labels = _pairs(labels, "label")
        if not (organism or platform or series or wanted or wanted_labels):
            return super().records(rtype, limit=limit, offset=offset)
        if rtype is None:
            raise ValueError("filters need a record type (e.g. type='gsm')")
        if wanted and rtype is not RecordType.SAMPLE:
            raise ValueError("characteristic filters select samples: use type='gsm'")
        if wanted_labels and rtype not in (RecordType.SAMPLE, *LABEL_OWNER_TYPES):
            raise ValueError("label filters select samples (type='gsm'), or gse/gpl/gds")
        flt = listing_filter(
            self,
            organism=organism,
            platform=platform,
            series=series,
            characteristics=wanted,
            labels=wanted_labels,
        )
        return list_records(self, rtype, flt, limit=limit, offset=offset)[1]

    def samples(
        self,
        *,
        organism: str | None = None,
        platform: str | None = None,
        series: str | None = None,
        characteristics: Pairs | None = None,
        labels: Pairs | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> pd.DataFrame:
        """Sample metadata as a DataFrame, one row per sample (index: accession), filtered
        as ``exprhub ls --type gsm`` filters (the same options, see ``records``).

        Columns: ``title``, ``series``, ``platform``, ``organism`` and ``source_name``; the
        harmonized fields present (``sex``, ``age``, ``specimen_part``, ``disease`` ...,
        normalized as docs/refine.md describes); then every characteristic as submitted,
        named ``ch1.<key>`` (``ch2.<key>`` for a second channel). Several values of one
        cell are joined by ``"; "``.

        Returns
        -------
        pandas.DataFrame
            Text cells; NaN where a sample lacks a field.
        """
        summaries = self.records(
            RecordType.SAMPLE,
            limit=limit,
            offset=offset,
            organism=organism,
            platform=platform,
            series=series,
            characteristics=characteristics,
            labels=labels,
        )
        return frames.sample_frame(self, summaries)

    # ------------------------------------------------------------------ values
    def expression(
        self,
        accession_or_samples: str | Sequence[str],
        values: str = "submitted",
        *,
        platform: str | None = None,
    ) -> pd.DataFrame:
        """Expression values as a DataFrame: probes (or genes) x samples.

        Parameters
        ----------
        accession_or_samples
            A series, sample, platform or DataSet accession (its samples), or a list of
            sample accessions.
        values
            ``"submitted"``: the values as submitted to GEO (rows: the platform's probe ids,
            index ``ID_REF``; for a DataSet, its own table). ``"refined"``: the refinery's
            gene-level, quantile-normalized log2 values (rows: NCBI Gene ids, index
            ``gene_id``; samples of several platforms or organisms joined on the gene).
            ``"counts"``: RNA-seq read counts as imported from a counts table (rows: gene
            ids as the table gives them, index ``gene_id``).
        platform
            Submitted values only: read the samples of this platform (the others are left
            out); needed when the samples are on several (their probes differ).

        Returns
        -------
        pandas.DataFrame
            float32 values, NaN where a sample has no value; rows no sample has a value in
            are left out. Its ``attrs`` hold the provenance: ``exprhub`` (version), ``hub``,
            ``request``, ``values``, ``samples``, ``missing`` (sample -> why it has no
            values); for submitted values the ``matrix`` and ``platform`` read, for refined
            values ``provenance`` (sample -> processor and version, platform, tax id, value
            kind, QN target and checksums; ``provenance`` has the full record).

        Raises
        ------
        exprhub.RecordNotFound
            For an accession the hub does not know.
        exprhub.HubError
            When none of the samples has values of that kind.
        ValueError
            For an unknown ``values``, or submitted values on several platforms without
            ``platform``.

        Warns
        -----
        MissingValuesWarning
            When some of the samples have no values of that kind (listed in
            ``attrs["missing"]``).
        """
        return frames.expression_frame(self, accession_or_samples, values, platform)

    # ------------------------------------------------------------------ export
    def export(
        self, accession: str, path: str | Path, *, format: str = "soft", allow_partial: bool = False
    ) -> list[Path]:
        """Write a record as a file: ``"soft"`` (family SOFT), ``"miniml"``, ``"matrix"``
        (series matrix, one per platform) or ``"refined"`` (genes x samples TSV).

        Returns
        -------
        list of Path
            The files written (a series on several platforms: one series matrix each, named
            after ``path`` with the platform added).

        Raises
        ------
        exprhub.HubError
            For a missing record, a format that does not apply to it, or no refined sample.
        exprhub.bundles.export.PartialExport
            Refined: when only some samples are refined and not ``allow_partial`` (then a
            ``PartialExportWarning`` is issued instead and the refined ones are written).
        """
        from exprhub.bundles.export import export_record

        return export_record(self, accession, format, path, allow_partial=allow_partial)

    def refined_coverage(self, accession: str) -> RefinedCoverage:
        """How many of an accession's samples are refined, not refined yet, or failed."""
        from exprhub.refine.store import refined_coverage

        return refined_coverage(self, accession)

    # ------------------------------------------------------------------ bundles
    def bundle(
        self,
        path: str | Path,
        *,
        series: str | Sequence[str] | None = None,
        samples: str | Sequence[str] | None = None,
        query: str | None = None,
        aggregate: str = "experiment",
        scale: str = "none",
        qn: bool = True,
        format: str = "tsv",
    ) -> BundleResult:
        """Write a dataset bundle: the selected samples' refined values grouped into
        aggregates, their metadata, the samples left out with reasons, and every option and
        version that shaped the numbers (docs/bundles.md).

        Parameters
        ----------
        path
            The file to write, or an existing directory (the file is then named by its
            content hash: ``exprhub-bundle-<aggregate>-<format>-<sha256[:16]>.zip``).
        series, samples, query
            What to bundle: series and their samples, samples, and the records a search
            query matches (at least one).
        aggregate
            ``"experiment"`` (a matrix per series), ``"species"`` (per organism) or ``"all"``.
        scale
            Per-gene scaling after normalization: ``"none"``, ``"minmax"``, ``"standard"``,
            ``"robust"``.
        qn
            Quantile-normalized values (default) or, with False, gene-level values before
            normalization.
        format
            ``"tsv"`` (zip), ``"h5ad"`` (a .h5ad, or a zip of one per aggregate) or
            ``"parquet"`` (zip of tidy tables).

        Returns
        -------
        BundleResult
            ``path``, ``sha256`` and ``metadata`` (the aggregated metadata);
            ``as_dict()`` is the JSON of ``exprhub bundle create --json``.

        Raises
        ------
        exprhub.bundles.selection.BundleError
            For bad options, an empty selection, no deliverable sample, or an aggregate whose
            samples share no gene (nothing is written).
        """
        from exprhub.api.bundling import build_bundle

        return build_bundle(
            self,
            path,
            series=series,
            samples=samples,
            query=query,
            aggregate=aggregate,
            scale=scale,
            quantile_normalize=qn,
            format=format,
        )

    def to_anndata(
        self,
        *,
        series: str | Sequence[str] | None = None,
        samples: str | Sequence[str] | None = None,
        query: str | None = None,
        aggregate: str = "experiment",
        scale: str = "none",
        qn: bool = True,
        key: str | None = None,
    ) -> anndata.AnnData:
        """One aggregate of a bundle as an AnnData in memory: the same object an h5ad bundle
        holds (X samples x genes float32, obs sample metadata, var genes, uns the aggregated
        metadata). Options as :meth:`bundle`; ``key`` picks the aggregate when the selection
        makes several (e.g. ``"GSE3791"``, ``"HOMO_SAPIENS"``).

        Raises
        ------
        exprhub.bundles.selection.BundleError
            As :meth:`bundle`, and when the selection makes several aggregates and ``key`` is
            not given. Needs the ``h5ad`` extra (anndata).
        """
        from exprhub.api.bundling import to_anndata

        return to_anndata(
            self,
            series=series,
            samples=samples,
            query=query,
            aggregate=aggregate,
            scale=scale,
            quantile_normalize=qn,
            key=key,
        )
