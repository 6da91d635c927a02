"""Genes and GEO Profiles in the Python API: :class:`GeneProfiles`, which
:class:`exprhub.api.Hub` inherits (``gene``, ``find_genes``, ``profile``, ``profile_flags``,
``profile_neighbours``, ``profile_image``). docs/analysis.md, "Genes and profiles"."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exprhub.hub import Hub as CatalogueHub

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.analysis.genes import GeneMatch, GeneRecord
    from exprhub.analysis.stored_flags import FlagUpdate
    from exprhub.search import Query


class GeneProfiles(CatalogueHub):
    """Gene look-up, gene records and profiles of a hub (mixed into ``exprhub.Hub``)."""

    def find_genes(
        self, text: str, *, organism: str | None = None, limit: int = 50
    ) -> list[GeneMatch]:
        """Genes matching a symbol, synonym, NCBI Gene id, Ensembl id or words of the gene
        name, over the gene reference and the platforms' probe annotations, best first.

        Parameters
        ----------
        text
            ``"ACTB"``, ``"60"``, ``"ENSG00000075624"``, ``"actin beta"`` ...
        organism
            Only genes of this organism (scientific name or NCBI tax id).
        limit
            At most this many genes.
        """
        from exprhub.analysis.genes import find_genes

        return find_genes(self, text, organism=organism, limit=limit)

    def gene(self, text: str, *, organism: str | None = None) -> GeneRecord:
        """The record of the gene best matching ``text``: identifiers, the probes of each
        platform measuring it, the series and DataSets on those platforms, its refined values
        summarized by series and harmonized field, and the other matches
        (``as_dict()`` is the JSON of ``exprhub gene --json``).

        Raises
        ------
        exprhub.analysis.genes.GeneNotFound
            When no gene matches.
        """
        from exprhub.analysis.genes import gene_record

        return gene_record(self, text, organism=organism)

    def profile(
        self,
        accession: str,
        gene_or_probe: str,
        *,
        values: str = "submitted",
        platform: str | None = None,
        fdr: float = 0.05,
        min_log2_fold: float = 1.0,
    ) -> pd.DataFrame:
        """The profile of a gene or probe in a DataSet or series (GEO Profiles): its value in
        every sample, the rank percentile within each sample, and the samples' groups per
        subset type.

        Parameters
        ----------
        accession
            A DataSet (its own table and subsets) or series.
        gene_or_probe
            A probe id, or a gene (symbol, synonym, NCBI Gene or Ensembl id): every probe of
            the platform annotated with it.
        values
            ``"submitted"`` (as stored) or ``"refined"`` (gene-level, log2, quantile-normalized).
        platform
            For a series on several platforms: which one.
        fdr, min_log2_fold
            Flag thresholds (see ``profile_flags``).

        Returns
        -------
        pandas.DataFrame
            One row per feature and sample: ``feature``, ``symbol``, ``sample``, ``value``,
            ``rank_percentile`` (1..100), one column per subset type. ``attrs``: the context,
            subset types and their groups, and the feature's flags.

        Raises
        ------
        exprhub.analysis.genes.GeneNotFound
            When the gene or probe is not measured there.
        exprhub.RecordNotFound, exprhub.HubError
            For an unknown accession, or one without values of that kind.
        """
        from exprhub.analysis.flags import FlagOptions
        from exprhub.analysis.profiles import profile_frame

        return profile_frame(
            self,
            accession,
            gene_or_probe,
            values=values,
            platform=platform,
            flag_options=FlagOptions(fdr, min_log2_fold),
        )

    def profile_flags(
        self,
        accession: str,
        *,
        values: str = "submitted",
        platform: str | None = None,
        fdr: float = 0.05,
        min_log2_fold: float = 1.0,
        all_rows: bool = False,
    ) -> pd.DataFrame:
        """Probes (or genes) differentially expressed across each subset type: one-way ANOVA
        across the groups on log2 values, Benjamini-Hochberg FDR <= ``fdr`` and a largest
        minus smallest group mean >= ``min_log2_fold`` (docs/analysis.md).

        Returns
        -------
        pandas.DataFrame
            ``feature``, ``symbol``, ``subset_type``, ``F``, ``p_value``, ``fdr``,
            ``log2_fold``, ``flagged``; the flagged rows only unless ``all_rows``.
        """
        from exprhub.analysis.flags import FlagOptions
        from exprhub.analysis.profiles import flagged_frame

        return flagged_frame(
            self,
            accession,
            values=values,
            platform=platform,
            options=FlagOptions(fdr, min_log2_fold),
            only_flagged=not all_rows,
        )

    def profile_neighbours(
        self,
        accession: str,
        gene_or_probe: str,
        *,
        values: str = "submitted",
        platform: str | None = None,
        min_r: float = 0.7,
        count: int = 20,
        negative: bool = False,
    ) -> pd.DataFrame:
        """Probes (or genes) whose profiles in the DataSet or series correlate best with the
        gene's or probe's (Pearson r >= ``min_r``, the ``count`` best; ``negative`` also takes
        r <= -``min_r``): ``feature``, ``symbol``, ``r``, best first."""
        from exprhub.analysis.neighbours import NeighbourOptions
        from exprhub.analysis.profiles import neighbour_frame

        return neighbour_frame(
            self,
            accession,
            gene_or_probe,
            values=values,
            platform=platform,
            options=NeighbourOptions(min_r, count, negative),
        )

    def compute_stored_flags(
        self,
        accessions: str | Sequence[str] | None = None,
        *,
        values: str | Sequence[str] = ("submitted", "refined"),
        force: bool = False,
    ) -> list[FlagUpdate]:
        """Compute and store the flags (default thresholds) of DataSets and series whose
        stored flags are missing or stale, i.e. computed from values, groups or samples that
        have changed since (``force``: all of them); ``[FLAG]`` search reads them.

        Parameters
        ----------
        accessions
            DataSets and series (default: every one in the hub).
        values
            ``"submitted"`` and / or ``"refined"``.
        force
            Compute again even when current.

        Returns
        -------
        list of exprhub.analysis.stored_flags.FlagUpdate
            Per accession, value kind and platform: ``new``, ``recomputed`` (why, flagged rows
            before and after, how many came and went), ``current`` or ``unavailable``.
        """
        from exprhub.analysis.stored_flags import compute_stored_flags

        keys = [accessions] if isinstance(accessions, str) else accessions
        kinds = [values] if isinstance(values, str) else list(values)
        return compute_stored_flags(self, keys, values=kinds, force=force)

    def stored_flags_status(
        self,
        accessions: str | Sequence[str] | None = None,
        *,
        values: str | Sequence[str] = ("submitted", "refined"),
    ) -> list[dict[str, Any]]:
        """The stored flag sets, each ``current`` or ``stale`` (``state``), and the DataSets
        and series with no stored flags of their submitted values (``missing``)."""
        from exprhub.analysis.stored_flags import stored_flag_status

        keys = [accessions] if isinstance(accessions, str) else accessions
        kinds = [values] if isinstance(values, str) else list(values)
        return stored_flag_status(self, keys, values=kinds)

    def profile_image(self, profile: pd.DataFrame, path: str | Path) -> Path:
        """Draw a profile (from :meth:`profile`) as GEO Profiles does, to PNG or SVG (by the
        suffix); needs the ``images`` extra (matplotlib)."""
        from exprhub.analysis.profile_chart import write_profile_image

        return write_profile_image(profile, Path(path))


# Module-level forms of the methods, for callers holding a catalogue hub (the web app).


def find_genes(hub: CatalogueHub, text: str, **options: Any) -> list[GeneMatch]:
    """:meth:`GeneProfiles.find_genes` on any hub."""
    return GeneProfiles.find_genes(hub, text, **options)  # type: ignore[arg-type]


def gene(hub: CatalogueHub, text: str, **options: Any) -> GeneRecord:
    """:meth:`GeneProfiles.gene` on any hub."""
    return GeneProfiles.gene(hub, text, **options)  # type: ignore[arg-type]


def profile(hub: CatalogueHub, accession: str, gene_or_probe: str, **options: Any) -> pd.DataFrame:
    """:meth:`GeneProfiles.profile` on any hub."""
    return GeneProfiles.profile(hub, accession, gene_or_probe, **options)  # type: ignore[arg-type]


def profile_flags(hub: CatalogueHub, accession: str, **options: Any) -> pd.DataFrame:
    """:meth:`GeneProfiles.profile_flags` on any hub."""
    return GeneProfiles.profile_flags(hub, accession, **options)  # type: ignore[arg-type]


def profile_neighbours(
    hub: CatalogueHub, accession: str, gene_or_probe: str, **options: Any
) -> pd.DataFrame:
    """:meth:`GeneProfiles.profile_neighbours` on any hub."""
    return GeneProfiles.profile_neighbours(hub, accession, gene_or_probe, **options)  # type: ignore[arg-type]


def stored_flags_status(hub: CatalogueHub, accessions: Any = None, **options: Any) -> Any:
    """:meth:`GeneProfiles.stored_flags_status` on any hub."""
    return GeneProfiles.stored_flags_status(hub, accessions, **options)  # type: ignore[arg-type]


def resolve_gene_terms(hub: CatalogueHub, query: str) -> str | Query:
    """The query with its ``text[GENE]`` terms replaced by the platforms measuring the gene
    and its ``text[FLAG]`` terms by the DataSets and series flagging those genes
    (:mod:`exprhub.search.resolved_fields`); the query itself when it has neither."""
    from exprhub.search.resolved_fields import has_resolved_field, resolve_query

    if not has_resolved_field(query):
        return query
    from exprhub.analysis.genes import platforms_for_text
    from exprhub.analysis.stored_flags import accessions_flagging
    from exprhub.search import DEFAULT_SCHEMA

    return resolve_query(
        query,
        DEFAULT_SCHEMA,
        {"gene": lambda text: platforms_for_text(hub, text)},
        flags=lambda flag, genes: accessions_flagging(hub, flag, genes),
    )
