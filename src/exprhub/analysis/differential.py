"""GEO2R-style differential expression on any genes x samples matrix.

:func:`differential_expression` does what NCBI GEO2R's generated R script does with limma,
using :mod:`exprhub.analysis.linear_models` (written from the papers, checked against R limma):

1. Samples: those assigned to a group (``groups``: sample -> group name); other samples are
   left out. At least two groups, and more samples than coefficients.
2. log2: GEO2R's rule on the kept samples' values (quantiles 0, .25, .5, .75, .99, 1): the
   data are linear, and are transformed, when ``q99 > 100`` or ``max - min > 50`` with
   ``q25 > 0`` (:func:`exprhub.refine.scale.geo2r_needs_log`). A transform turns values
   ``<= 0`` into missing values. ``log2=True`` / ``False`` overrides the rule.
3. Missing values: ``missing="drop"`` (GEO2R) leaves out genes with any missing value among
   the kept samples; ``missing="fit"`` fits such genes on their observed samples (limma).
4. Design: one column per group (``~group + 0``), in the order groups first appear in
   ``groups``, then the covariates (numeric as is, others as treatment-coded factors).
5. Contrasts: the given ones (expressions like ``"B-A"``, or name -> expression), else every
   pair of groups as ``earlier - later`` (GEO2R's "group 1 minus group 2").
6. ``lmFit``, ``contrasts.fit``, ``eBayes(proportion=0.01, trend, robust)``, then the top
   table: for one contrast ``logFC, AveExpr, t, P.Value, adj.P.Val, B``; for several, one
   logFC column per contrast with the moderated F (``F, P.Value, adj.P.Val``), as GEO2R.
   Sorted by B (one contrast) or F; ``adjust`` is the p-value adjustment (BH by default).

RNA-seq read counts (``counts=True``): instead of step 2, voom (Law et al. 2014,
:mod:`~exprhub.analysis.linear_models.voom`) turns the counts into log-counts per million with
precision weights, and ``lmFit`` uses the weights; genes with a missing count are left out.

The result keeps the fit (:attr:`DifferentialResult.fit`) so that other tables
(:func:`~exprhub.analysis.linear_models.tables.top_table`, ``decide_tests``) can be made.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from exprhub.analysis.linear_models import (
    ModeratedFit,
    contrasts_fit,
    e_bayes,
    group_design,
    lm_fit,
    make_contrasts,
    top_table,
)
from exprhub.analysis.linear_models.tables import ADJUST_METHODS
from exprhub.refine.scale import QUANTILE_PROBS, geo2r_needs_log

__all__ = ["DifferentialResult", "differential_expression"]

_PLAIN_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class DifferentialResult:
    """A top table and what produced it.

    Attributes
    ----------
    table
        The top table, indexed by gene (index name ``ID``).
    contrasts
        Coefficients x contrasts matrix used.
    design
        Samples x coefficients design matrix used.
    groups
        Sample -> group for the samples used, in column order.
    log2
        Whether the values were log2-transformed.
    log2_reason
        Why (the rule's quantiles, or "requested").
    df_prior
        Prior degrees of freedom (the bulk's value with ``robust``; may be ``inf``).
    s2_prior
        Prior variance (its median over genes with ``trend``).
    trend, robust
        The empirical Bayes options used.
    adjust
        The p-value adjustment method.
    genes_tested
        Genes in the fit.
    genes_dropped
        Genes left out for missing values (``missing="drop"``).
    fit
        The moderated fit, for further tables.
    """

    table: pd.DataFrame
    contrasts: pd.DataFrame
    design: pd.DataFrame
    groups: dict[str, str]
    log2: bool
    log2_reason: str
    df_prior: float
    s2_prior: float
    trend: bool
    robust: bool
    adjust: str
    genes_tested: int
    genes_dropped: int
    fit: ModeratedFit = field(repr=False)

    @property
    def samples(self) -> list[str]:
        """The samples used, in column order."""
        return list(self.groups)

    def summary(self) -> dict[str, Any]:
        """Everything but the table, as JSON-ready values."""
        return {
            "samples": self.samples,
            "groups": dict(self.groups),
            "levels": [str(c) for c in self.contrasts.index],
            "contrasts": {
                str(name): {str(k): float(v) for k, v in column.items() if v != 0}
                for name, column in self.contrasts.items()
            },
            "log2": self.log2,
            "log2_reason": self.log2_reason,
            "df_prior": _json_float(self.df_prior),
            "s2_prior": _json_float(self.s2_prior),
            "trend": self.trend,
            "robust": self.robust,
            "adjust": self.adjust,
            "genes_tested": self.genes_tested,
            "genes_dropped": self.genes_dropped,
        }

    def to_dict(self) -> dict[str, Any]:
        """The summary plus the table as a list of rows (``ID`` first; NaN/inf as None/str)."""
        rows = []
        for gene, row in zip(self.table.index, self.table.to_numpy(), strict=True):
            record: dict[str, Any] = {"ID": str(gene)}
            for key, value in zip(self.table.columns, row, strict=True):
                numeric = isinstance(value, int | float | np.number)
                record[str(key)] = _json_float(float(value)) if numeric else str(value)
            rows.append(record)
        return {**self.summary(), "columns": ["ID", *map(str, self.table.columns)], "table": rows}


def _json_float(value: float) -> float | str | None:
    if np.isnan(value):
        return None
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return float(value)


def _quoted(name: str) -> str:
    return name if _PLAIN_NAME.match(name) else f"`{name}`"


def differential_expression(
    values: pd.DataFrame,
    groups: Mapping[str, str],
    *,
    contrasts: Sequence[str] | Mapping[str, str] | None = None,
    covariates: pd.DataFrame | None = None,
    log2: bool | Literal["auto"] = "auto",
    missing: Literal["drop", "fit"] = "drop",
    trend: bool = False,
    robust: bool = False,
    adjust: str = "BH",
    proportion: float = 0.01,
    number: int | None = None,
    counts: bool = False,
) -> DifferentialResult:
    """Differential expression between groups of samples, as GEO2R computes it.

    Parameters
    ----------
    values
        Genes x samples expression values (columns are sample ids); NaN = missing.
    groups
        Sample id -> group name; samples not in it are left out.
    contrasts
        Expressions over group (and covariate) names such as ``"B-A"``, or name ->
        expression; default all pairs ``earlier - later``.
    covariates
        Samples x covariates (indexed by sample id) added to the design.
    log2
        ``"auto"`` (GEO2R's rule), ``True`` or ``False``.
    missing
        ``"drop"`` genes with missing values (GEO2R) or ``"fit"`` them on observed samples.
    trend
        Prior variance trending with average expression.
    robust
        Robust prior against hypervariable genes.
    adjust
        ``"BH"``, ``"BY"``, ``"holm"``, ``"bonferroni"`` or ``"none"``.
    proportion
        Assumed proportion of differentially expressed genes (for B).
    number
        Rows of the table; all when ``None``.
    counts
        The values are RNA-seq read counts: voom's log-cpm and precision weights (limma-voom)
        instead of the log2 rule; ``log2`` is then ignored.

    Returns
    -------
    DifferentialResult
    """
    if adjust not in ADJUST_METHODS and adjust.lower() not in ("fdr", "bh", "by"):
        raise ValueError(f"adjust must be one of {', '.join(ADJUST_METHODS)}, got {adjust!r}")
    if missing not in ("drop", "fit"):
        raise ValueError(f"missing must be 'drop' or 'fit', got {missing!r}")
    columns = [str(c) for c in values.columns]
    assigned = {str(k): str(v) for k, v in groups.items()}
    unknown = sorted(set(assigned) - set(columns))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise ValueError(f"{len(unknown)} grouped sample(s) are not columns of the values: {shown}")
    used = [c for c in columns if c in assigned]
    levels = list(dict.fromkeys(assigned[c] for c in assigned if c in set(used)))
    if len(levels) < 2:
        raise ValueError(f"need samples in at least two groups, got {len(levels)}")
    frame = values.copy()
    frame.columns = columns
    frame = frame[used]
    matrix = frame.to_numpy(dtype=np.float64)

    if counts:
        do_log, log2_reason = False, "read counts: voom log-counts per million and weights"
        missing = "drop"
    elif log2 == "auto":
        observed = matrix[~np.isnan(matrix)]
        if observed.size == 0:
            raise ValueError("the grouped samples have no values")
        quantiles = np.quantile(observed, QUANTILE_PROBS)
        do_log = geo2r_needs_log(quantiles)
        q = [f"{v:.4g}" for v in quantiles]
        log2_reason = f"GEO2R rule on quantiles 0/25/50/75/99/100% = {', '.join(q)}: " + (
            "linear, log2-transformed" if do_log else "already log scale"
        )
    elif isinstance(log2, bool):
        do_log, log2_reason = log2, "requested"
    else:
        raise ValueError(f"log2 must be 'auto', True or False, got {log2!r}")
    if do_log:
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = np.log2(np.where(matrix > 0, matrix, np.nan))

    dropped = 0
    if missing == "drop":
        complete = ~np.isnan(matrix).any(axis=1)
        dropped = int(np.count_nonzero(~complete))
        matrix = matrix[complete]
        genes = frame.index[complete]
    else:
        genes = frame.index
    if matrix.shape[0] == 0:
        raise ValueError("no gene has values in every grouped sample (try missing='fit')")

    cov_frame = None
    if covariates is not None:
        cov = covariates.copy()
        cov.index = [str(i) for i in cov.index]
        absent = [s for s in used if s not in cov.index]
        if absent:
            raise ValueError(f"covariates lack sample(s) {', '.join(absent[:5])}")
        cov_frame = cov.loc[used]
    design = group_design(
        [assigned[s] for s in used], covariates=cov_frame, levels=levels, samples=used
    )
    if len(used) <= np.linalg.matrix_rank(design.to_numpy()):
        raise ValueError(
            f"{len(used)} samples cannot estimate {design.shape[1]} coefficients with "
            "residual degrees of freedom left"
        )
    if contrasts is None:
        contrast_spec: Sequence[str] | Mapping[str, str] = {
            f"{a}-{b}": f"{_quoted(a)}-{_quoted(b)}" for a, b in itertools.combinations(levels, 2)
        }
    else:
        contrast_spec = contrasts
    contrast_matrix = make_contrasts(contrast_spec, design.columns)

    frame = pd.DataFrame(matrix, index=genes, columns=used)
    if counts:
        from exprhub.analysis.linear_models.voom import voom

        weighted = voom(frame, design)
        fit = lm_fit(weighted.log_cpm, design, weights=weighted.weights)
    else:
        fit = lm_fit(frame, design)
    moderated = e_bayes(
        contrasts_fit(fit, contrast_matrix), proportion=proportion, trend=trend, robust=robust
    )
    table = top_table(
        moderated,
        None if contrast_matrix.shape[1] > 1 else 0,
        number=number,
        adjust_method=adjust,
        sort_by="F" if contrast_matrix.shape[1] > 1 else "B",
    )
    table.index.name = "ID"
    return DifferentialResult(
        table=table,
        contrasts=contrast_matrix,
        design=design,
        groups={s: assigned[s] for s in used},
        log2=bool(do_log),
        log2_reason=log2_reason,
        df_prior=float(np.max(moderated.df_prior)),
        s2_prior=float(np.median(moderated.s2_prior)),
        trend=trend,
        robust=robust,
        adjust=adjust,
        genes_tested=int(matrix.shape[0]),
        genes_dropped=dropped,
        fit=moderated,
    )
