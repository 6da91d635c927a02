"""Result tables: limma's ``topTable`` / ``topTableF``, ``decideTests`` and R ``p.adjust``.

:func:`p_adjust` (R ``p.adjust``; NaN p-values are kept as NaN and not counted in ``n``):

* ``"BH"`` (also ``"fdr"``): Benjamini & Hochberg (1995), ``min_{j >= i} n p_(j) / j``;
* ``"BY"``: Benjamini & Yekutieli (2001), BH times ``sum_{k=1..n} 1/k``;
* ``"holm"``: Holm (1979), ``max_{j <= i} (n - j + 1) p_(j)``;
* ``"bonferroni"``: ``n p``; ``"none"``: unchanged. All capped at 1.

:func:`top_table` for one coefficient gives limma's columns ``logFC, AveExpr, t, P.Value,
adj.P.Val, B`` (plus ``CI.L, CI.R`` with ``confint``); adjustment is over all genes before any
filter; ``p_value`` filters on ``adj.P.Val``, ``lfc`` on ``|logFC| >= lfc``; ``sort_by`` is
``"B"`` (default), ``"t"``, ``"P"`` (``"p"``), ``"logFC"``, ``"AveExpr"`` or ``"none"`` (ties
keep gene order); ``number`` rows (all when ``None``). With several coefficients it gives
``topTableF``'s columns: one per coefficient, ``AveExpr, F, P.Value, adj.P.Val`` (F over
those coefficients, sorted by F), ``lfc`` keeping genes with any ``|logFC| >= lfc``.

:func:`decide_tests` calls every gene and coefficient -1, 0 or 1 (down, not significant, up):
significant when the adjusted p-value is ``<= p_value`` and ``|coefficient| >= lfc``;
``"separate"`` adjusts each coefficient's p-values on their own, ``"global"`` adjusts all of
them as one set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from exprhub.analysis.linear_models.ebayes import ModeratedFit, moderated_f

__all__ = ["ADJUST_METHODS", "decide_tests", "p_adjust", "top_table"]

ADJUST_METHODS = ("BH", "BY", "holm", "bonferroni", "none")
_ALIASES = {
    "fdr": "BH",
    "bh": "BH",
    "by": "BY",
    "holm": "holm",
    "bonferroni": "bonferroni",
    "none": "none",
}


def _method(name: str) -> str:
    key = name if name in ADJUST_METHODS else _ALIASES.get(name.lower())
    if key is None:
        raise ValueError(f"adjust method must be one of {', '.join(ADJUST_METHODS)}, got {name!r}")
    return key


def p_adjust(p: np.ndarray | Sequence[float], method: str = "BH") -> np.ndarray:
    """Adjust p-values for multiple testing (R ``p.adjust``).

    Parameters
    ----------
    p
        P-values (any shape; NaN allowed).
    method
        ``"BH"`` (``"fdr"``), ``"BY"``, ``"holm"``, ``"bonferroni"`` or ``"none"``.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape.
    """
    method = _method(method)
    values = np.asarray(p, dtype=np.float64)
    flat = values.ravel()
    out = np.full_like(flat, np.nan)
    ok = ~np.isnan(flat)
    q = flat[ok]
    n = q.size
    if method == "none" or n == 0:
        out[ok] = q
        return out.reshape(values.shape)
    if method == "bonferroni":
        adjusted = np.minimum(1.0, n * q)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        scaled = (n - np.arange(n)) * q[order]
        adjusted = np.empty(n)
        adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    else:
        order = np.argsort(-q, kind="stable")
        i = np.arange(n, 0, -1)
        factor = float(np.sum(1.0 / np.arange(1, n + 1))) if method == "BY" else 1.0
        scaled = factor * n / i * q[order]
        adjusted = np.empty(n)
        adjusted[order] = np.minimum(1.0, np.minimum.accumulate(scaled))
    out[ok] = adjusted
    return out.reshape(values.shape)


def _columns(fit: ModeratedFit, coef: int | str | Sequence[int | str] | None) -> list[int]:
    names = fit.coefficient_names
    if coef is None:
        return list(range(len(names)))
    items = [coef] if isinstance(coef, (int, str)) else list(coef)
    out = []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise ValueError(f"no coefficient {item!r} (have {', '.join(names)})")
            out.append(names.index(item))
        else:
            if not 0 <= int(item) < len(names):
                raise ValueError(f"coefficient index {item} out of range 0..{len(names) - 1}")
            out.append(int(item))
    return out


def _limit(frame: pd.DataFrame, order: np.ndarray, number: int | None) -> pd.DataFrame:
    frame = frame.iloc[order]
    return frame if number is None else frame.iloc[: max(0, int(number))]


def top_table(
    fit: ModeratedFit,
    coef: int | str | Sequence[int | str] | None = None,
    *,
    number: int | None = 10,
    adjust_method: str = "BH",
    sort_by: str = "B",
    p_value: float = 1.0,
    lfc: float = 0.0,
    confint: bool | float = False,
) -> pd.DataFrame:
    """The top genes for one coefficient, or by moderated F for several (limma ``topTable``).

    Parameters
    ----------
    fit
        From :func:`~exprhub.analysis.linear_models.ebayes.e_bayes`.
    coef
        Coefficient name or index, or several; all when ``None`` (one: a t table).
    number
        Rows to return; ``None`` for all.
    adjust_method
        See :func:`p_adjust`.
    sort_by
        ``"B"``, ``"t"``, ``"P"``, ``"logFC"``, ``"AveExpr"``, ``"F"`` or ``"none"``.
    p_value
        Keep genes with ``adj.P.Val <= p_value``.
    lfc
        Keep genes with ``|logFC| >= lfc``.
    confint
        Add a confidence interval for logFC (``True``: 95 %, or the level).

    Returns
    -------
    pandas.DataFrame
        Indexed by gene.
    """
    columns = _columns(fit, coef)
    if len(columns) > 1:
        return _top_table_f(fit, columns, number, adjust_method, sort_by, p_value, lfc)
    j = columns[0]
    logfc = fit.fit.coefficients[:, j]
    table = pd.DataFrame(
        {"logFC": logfc, "AveExpr": fit.fit.amean, "t": fit.t[:, j], "P.Value": fit.p_value[:, j]},
        index=fit.genes,
    )
    table["adj.P.Val"] = p_adjust(table["P.Value"].to_numpy(), adjust_method)
    table["B"] = fit.lods[:, j]
    if confint:
        level = 0.95 if confint is True else float(confint)
        df = fit.df_total
        q = np.where(
            np.isinf(df), stats.norm.ppf((1 + level) / 2), stats.t.ppf((1 + level) / 2, df)
        )
        margin = q * fit.fit.stdev_unscaled[:, j] * np.sqrt(fit.s2_post)
        table.insert(1, "CI.L", logfc - margin)
        table.insert(2, "CI.R", logfc + margin)
    keep = np.ones(len(table), dtype=bool)
    if p_value < 1:
        keep &= table["adj.P.Val"].to_numpy() <= p_value
    if lfc > 0:
        keep &= np.abs(logfc) >= lfc
    table = table[keep]
    key = sort_by if sort_by != "p" else "P"
    if key == "B":
        order = np.argsort(-table["B"].to_numpy(), kind="stable")
    elif key == "t":
        order = np.argsort(-np.abs(table["t"].to_numpy()), kind="stable")
    elif key == "P":
        order = np.argsort(table["P.Value"].to_numpy(), kind="stable")
    elif key == "logFC":
        order = np.argsort(-np.abs(table["logFC"].to_numpy()), kind="stable")
    elif key == "AveExpr":
        order = np.argsort(-table["AveExpr"].to_numpy(), kind="stable")
    elif key == "none":
        order = np.arange(len(table))
    else:
        raise ValueError(f"sort_by must be B, t, P, logFC, AveExpr or none, got {sort_by!r}")
    return _limit(table, order, number)


def _top_table_f(
    fit: ModeratedFit,
    columns: list[int],
    number: int | None,
    adjust_method: str,
    sort_by: str,
    p_value: float,
    lfc: float,
) -> pd.DataFrame:
    names = [fit.coefficient_names[j] for j in columns]
    coefs = fit.fit.coefficients[:, columns]
    if len(columns) == len(fit.coefficient_names):
        f, f_p = fit.f, fit.f_p_value
    else:
        cov = fit.fit.cov_coefficients[np.ix_(columns, columns)]
        f, f_p, _ = moderated_f(fit.t[:, columns], cov, fit.df_total)
    table = pd.DataFrame(coefs, index=fit.genes, columns=names)
    table["AveExpr"] = fit.fit.amean
    table["F"] = f
    table["P.Value"] = f_p
    table["adj.P.Val"] = p_adjust(f_p, adjust_method)
    keep = np.ones(len(table), dtype=bool)
    if p_value < 1:
        keep &= table["adj.P.Val"].to_numpy() <= p_value
    if lfc > 0:
        keep &= np.any(np.abs(coefs) >= lfc, axis=1)
    table = table[keep]
    if sort_by in ("B", "F", "P", "p", "t"):
        order = np.argsort(-table["F"].to_numpy(), kind="stable")
    elif sort_by == "none":
        order = np.arange(len(table))
    else:
        raise ValueError(f"with several coefficients sort_by must be F or none, got {sort_by!r}")
    return _limit(table, order, number)


def decide_tests(
    fit: ModeratedFit,
    *,
    method: Literal["separate", "global"] = "separate",
    adjust_method: str = "BH",
    p_value: float = 0.05,
    lfc: float = 0.0,
) -> pd.DataFrame:
    """Call every gene up (1), down (-1) or not significant (0) for every coefficient.

    Parameters
    ----------
    fit
        From :func:`~exprhub.analysis.linear_models.ebayes.e_bayes`.
    method
        ``"separate"`` (adjust per coefficient) or ``"global"`` (adjust all together).
    adjust_method
        See :func:`p_adjust`.
    p_value
        Largest adjusted p-value called significant.
    lfc
        Smallest absolute coefficient called significant.

    Returns
    -------
    pandas.DataFrame
        Genes x coefficients of -1, 0, 1 (nullable ``Int8``; missing where the p-value is).
    """
    p = fit.p_value
    if method == "separate":
        adjusted = np.column_stack([p_adjust(p[:, j], adjust_method) for j in range(p.shape[1])])
    elif method == "global":
        adjusted = p_adjust(p, adjust_method)
    else:
        raise ValueError(f"method must be 'separate' or 'global', got {method!r}")
    coefs = fit.fit.coefficients
    significant = (adjusted <= p_value) & (np.abs(np.nan_to_num(coefs)) >= lfc)
    calls = np.where(significant, np.sign(np.nan_to_num(coefs)), 0).astype(np.int8)
    frame = pd.DataFrame(calls, index=fit.genes, columns=fit.coefficient_names).astype("Int8")
    return frame.mask(np.isnan(p))
