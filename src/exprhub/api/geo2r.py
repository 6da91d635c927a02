"""GEO2R on hub data: differential expression between groups of samples of a DataSet, a series
or a list of samples, by :func:`exprhub.analysis.differential.differential_expression` (the
limma-equivalent linear model, checked against R limma).

Groups come from a field (every value of a subset type, harmonized field or characteristic is
a group, as GEO2R's "define groups" from a column) or from named sample sets (the sets of
:meth:`exprhub.api.Hub.compare`: a subset, ``field=value`` or samples).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from exprhub.api.explore_data import SampleSet, field_values, load, resolve_set

if TYPE_CHECKING:
    from exprhub.analysis.differential import DifferentialResult
    from exprhub.hub import Hub


def group_samples(
    hub: Hub,
    accession: str | Sequence[str],
    *,
    by: str | None = None,
    groups: Mapping[str, SampleSet] | None = None,
    values: str = "submitted",
    platform: str | None = None,
) -> tuple[dict[str, str], Any]:
    """Sample -> group name for a GEO2R run, and the analysis input it was drawn from.

    Raises
    ------
    ValueError
        Without ``by`` or ``groups`` (or with both), for an unknown field, a set naming no
        sample, a sample in two groups, or fewer than two groups.
    """
    if (by is None) == (groups is None):
        raise ValueError("give the groups by a field (by=) or as named sample sets (groups=)")
    data = load(hub, accession, values=values, platform=platform, identifiers=True)
    assigned: dict[str, str] = {}
    if by is not None:
        column = field_values(data.annotations, by)
        for sample, value in column.items():
            if value is not None and str(value).strip() and str(value) != "nan":
                assigned[str(sample)] = str(value)
    else:
        assert groups is not None
        for name, spec in groups.items():
            members, _ = resolve_set(data, spec, label=str(name))
            for sample in members:
                if sample in assigned:
                    raise ValueError(
                        f"{sample} is in two groups ({assigned[sample]!r} and {name!r})"
                    )
                assigned[sample] = str(name)
    if len(set(assigned.values())) < 2:
        what = f"field {by!r}" if by is not None else "the groups given"
        raise ValueError(f"{what} gives fewer than two groups of samples with values")
    return assigned, data


def sample_table(
    hub: Hub,
    accession: str | Sequence[str],
    *,
    values: str = "submitted",
    platform: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """The samples a GEO2R run can group, for picking them one by one: ``samples`` (one dict
    per sample with values: ``sample``, ``title`` where the sample is a stored record, and
    ``fields``, field -> value), ``columns`` (the fields any sample has a value of, those whose
    value varies across the samples first), ``varying`` (those fields), ``source`` (what was
    read) and ``samples_total``."""
    data = load(hub, accession, values=values, platform=platform)
    annotations = data.annotations
    keys = [str(k) for k in annotations.index]
    titles = {k: b.get("title") for k, b in hub.briefs(keys).items()}
    columns: list[str] = []
    varying: list[str] = []
    for column in annotations.columns:
        present = {str(v) for v in annotations[column] if v is not None and str(v).strip()}
        if not present:
            continue
        columns.append(str(column))
        if len(present) > 1:
            varying.append(str(column))
    ordered = varying + [c for c in columns if c not in varying]
    rows = []
    for key in keys[:limit] if limit is not None else keys:
        fields = {}
        for column in ordered:
            value = annotations.at[key, column]
            if value is not None and str(value).strip():
                fields[column] = str(value)
        rows.append({"sample": key, "title": titles.get(key), "fields": fields})
    return {
        "source": data.source,
        "samples_total": len(keys),
        "columns": ordered,
        "varying": varying,
        "samples": rows,
    }


def differential(
    hub: Hub,
    accession: str | Sequence[str],
    *,
    by: str | None = None,
    groups: Mapping[str, SampleSet] | None = None,
    contrasts: Sequence[str] | None = None,
    values: str = "submitted",
    platform: str | None = None,
    log2: bool | str = "auto",
    trend: bool = False,
    robust: bool = False,
    adjust: str = "BH",
    number: int | None = None,
) -> DifferentialResult:
    """See :meth:`exprhub.api.geo2r.Geo2R.differential`."""
    from exprhub.analysis.differential import differential_expression

    assigned, data = group_samples(
        hub, accession, by=by, groups=groups, values=values, platform=platform
    )
    if isinstance(log2, str) and log2 != "auto":
        log2 = {"yes": True, "no": False}.get(log2.lower(), log2)  # type: ignore[assignment]
    result = differential_expression(
        data.values,
        assigned,
        counts=values == "counts",
        contrasts=contrasts,
        log2=log2,  # type: ignore[arg-type]
        missing="fit",
        trend=trend,
        robust=robust,
        adjust=adjust,
        number=number,
    )
    if data.identifiers:
        result.table.insert(
            0, "identifier", [data.identifiers.get(str(i), "") for i in result.table.index]
        )
    result.table.attrs = {**data.source, "by": by}
    return result


def differential_dict(result: DifferentialResult, limit: int | None = 100) -> dict[str, Any]:
    """JSON of a GEO2R run: the fit's summary, what was read, and the first ``limit`` rows."""
    body = result.to_dict()
    body["rows_total"] = len(body["table"])
    if limit is not None:
        body["table"] = body["table"][:limit]
    body["source"] = {k: v for k, v in result.table.attrs.items() if k != "by"}
    body["by"] = result.table.attrs.get("by")
    return body


class Geo2R:
    """GEO2R on the hub's values (a mixin of :class:`exprhub.api.Hub`)."""

    def differential(
        self,
        accession: str | Sequence[str],
        *,
        by: str | None = None,
        groups: Mapping[str, SampleSet] | None = None,
        contrasts: Sequence[str] | None = None,
        values: str = "submitted",
        platform: str | None = None,
        log2: bool | str = "auto",
        trend: bool = False,
        robust: bool = False,
        adjust: str = "BH",
        number: int | None = None,
    ) -> DifferentialResult:
        """Differential expression between groups of samples, as GEO2R computes it (a
        limma-equivalent linear model with empirical Bayes moderation; docs/analysis.md).

        Parameters
        ----------
        accession
            A DataSet (its own table and subsets), a series, several accessions, or samples.
        by
            A field whose every value is a group: a subset type (``"disease state"``), a
            harmonized field or a characteristic.
        groups
            Or named sample sets: ``{"RCC": "disease state=RCC", "ctrl": "GSM1,GSM2"}``.
        contrasts
            Such as ``["RCC-normal"]`` (default: every pair of groups).
        values, platform
            As in :meth:`expression`: ``"submitted"``, ``"refined"``, or ``"counts"`` (RNA-seq
            read counts: limma-voom, Law et al. 2014, instead of the log2 rule).
        log2
            ``"auto"`` (GEO2R's rule), ``True`` / ``"yes"``, ``False`` / ``"no"``.
        trend, robust
            limma's ``eBayes(trend=, robust=)``.
        adjust
            ``"BH"``, ``"BY"``, ``"holm"``, ``"bonferroni"`` or ``"none"``.
        number
            Rows of the table (default all).

        Returns
        -------
        DifferentialResult
            ``table`` (a limma top table: ``identifier`` where known, ``logFC``, ``AveExpr``,
            ``t``, ``P.Value``, ``adj.P.Val``, ``B``; ``F`` for several contrasts),
            ``summary()`` and ``to_dict()``. Rows are fitted on their present values.

        Raises
        ------
        ValueError
            For groups that cannot be formed (see :func:`group_samples`) or a model that
            cannot be fitted.
        """
        return differential(
            self,  # type: ignore[arg-type]
            accession,
            by=by,
            groups=groups,
            contrasts=contrasts,
            values=values,
            platform=platform,
            log2=log2,
            trend=trend,
            robust=robust,
            adjust=adjust,
            number=number,
        )
