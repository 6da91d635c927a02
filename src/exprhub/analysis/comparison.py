"""Compare two sets of samples, as GEO's DataSet tool "compare 2 sets of samples" does.

For every row (probe or gene) of a values matrix: the means of set A and set B, their fold
difference and, for the t-tests, the statistic, its p-value and the p-value adjusted for the
number of rows tested. Works on any matrix; ``exprhub.api`` feeds it hub data.

Methods
-------
``t-test``
    Student's two-sample t-test with pooled variance (R ``t.test(var.equal = TRUE)``).
``welch``
    Welch's t-test, unequal variances, Welch-Satterthwaite degrees of freedom (R ``t.test``).
``limma``
    GEO2R's test: the moderated t-test of a linear model with one coefficient per set and the
    contrast A - B, variances shrunk by empirical Bayes (:mod:`exprhub.analysis.linear_models`,
    R limma's ``lmFit`` / ``contrasts.fit`` / ``eBayes``); ``df`` is the moderated test's total
    degrees of freedom. A row is fitted on its present values.
``fold``
    The fold difference of the set means of the values; no test.
``rank-fold``
    The fold difference of the set means of rank percentiles (each value's rank within its
    sample, 0-100, as GEO Profiles rank them); no test.

Each test uses a row's values that are present: at least two per set (else the row gets NaN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.analysis.value_scale import looks_linear, to_log2

if TYPE_CHECKING:
    import pandas as pd

#: The comparison methods (see the module docstring).
METHODS = ("t-test", "welch", "limma", "fold", "rank-fold")
#: The methods that test (a p-value per row); the others only measure the fold.
TESTS = ("t-test", "welch", "limma")
#: p-value adjustments: Benjamini-Hochberg, Benjamini-Yekutieli, Holm, Bonferroni, none.
ADJUSTMENTS = ("BH", "BY", "holm", "bonferroni", "none")
#: Columns of a comparison table, in order.
COLUMNS = (
    "mean_a",
    "mean_b",
    "n_a",
    "n_b",
    "fold",
    "log2_fold",
    "statistic",
    "df",
    "p_value",
    "adj_p_value",
)


@dataclass(frozen=True)
class Thresholds:
    """Which rows a comparison keeps: ``p_value`` / ``adj_p_value`` at most this (rows
    without a p-value fail them), ``fold`` at least this far from 1 either way (a fold of 2
    keeps rows with A/B >= 2 or <= 1/2). ``None`` keeps every row."""

    p_value: float | None = None
    adj_p_value: float | None = None
    fold: float | None = None

    def __post_init__(self) -> None:
        for name in ("p_value", "adj_p_value"):
            value = getattr(self, name)
            if value is not None and not 0 < value <= 1:
                raise ValueError(f"{name} threshold must be in (0, 1]; got {value}")
        if self.fold is not None and not self.fold >= 1:
            raise ValueError(f"fold threshold must be at least 1; got {self.fold}")

    def as_dict(self) -> dict[str, float | None]:
        """JSON-ready mapping."""
        return {"p_value": self.p_value, "adj_p_value": self.adj_p_value, "fold": self.fold}


def adjust_p_values(p_values: np.ndarray, method: str = "BH") -> np.ndarray:
    """p-values adjusted for multiple testing, as R ``p.adjust`` (NaN stays NaN and does not
    count as a test): :func:`exprhub.analysis.linear_models.p_adjust`, limited to
    :data:`ADJUSTMENTS`.

    Raises
    ------
    ValueError
        For another method.
    """
    from exprhub.analysis.linear_models.tables import p_adjust

    if method not in ADJUSTMENTS:
        raise ValueError(f"adjust must be one of {', '.join(ADJUSTMENTS)}; got {method!r}")
    return p_adjust(p_values, method)


def _set_stats(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: count of values present, their mean and sample variance (ddof 1)."""
    present = ~np.isnan(data)
    n = present.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(present, data, 0.0).sum(axis=1) / n
        centred = np.where(present, data - mean[:, None], 0.0)
        var = (centred**2).sum(axis=1) / (n - 1)
    return n, mean, var


def t_tests(a: np.ndarray, b: np.ndarray, *, equal_var: bool = True) -> dict[str, np.ndarray]:
    """Row-wise two-sample t-tests of ``a`` against ``b`` (rows x samples, NaN = missing).

    Returns
    -------
    dict
        ``n_a``, ``n_b``, ``mean_a``, ``mean_b``, ``statistic``, ``df``, ``p_value``
        (two-sided); NaN where a set has fewer than two values or both variances are 0.
    """
    from scipy.stats import t as t_distribution

    n_a, mean_a, var_a = _set_stats(a)
    n_b, mean_b, var_b = _set_stats(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        if equal_var:
            df = n_a + n_b - 2
            pooled = ((n_a - 1) * var_a + (n_b - 1) * var_b) / df
            se = np.sqrt(pooled * (1 / n_a + 1 / n_b))
        else:
            sa, sb = var_a / n_a, var_b / n_b
            se = np.sqrt(sa + sb)
            df = (sa + sb) ** 2 / (sa**2 / (n_a - 1) + sb**2 / (n_b - 1))
        statistic = (mean_a - mean_b) / se
    valid = (n_a >= 2) & (n_b >= 2) & np.isfinite(statistic)
    statistic = np.where(valid, statistic, np.nan)
    df = np.where(valid, df, np.nan)
    p_value = np.full(statistic.shape, np.nan)
    p_value[valid] = 2 * t_distribution.sf(np.abs(statistic[valid]), df[valid])
    return {
        "n_a": n_a,
        "n_b": n_b,
        "mean_a": mean_a,
        "mean_b": mean_b,
        "statistic": statistic,
        "df": df,
        "p_value": p_value,
    }


def rank_percentiles(frame: pd.DataFrame) -> pd.DataFrame:
    """Each value's rank within its sample (column) as a percentile in (0, 100]: ties share
    their mean rank, missing values stay missing."""
    return frame.rank(axis=0, method="average", pct=True) * 100.0


def moderated_t_tests(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Per row: GEO2R's moderated t of set ``a`` against set ``b`` (the contrast A - B of a
    linear model with one mean per set, empirical Bayes variances), its total degrees of
    freedom and two-sided p-value. Rows are fitted on their present values; NaN where a row
    cannot be estimated."""
    import pandas as pd

    from exprhub.analysis.differential import differential_expression

    n = a.shape[0]
    columns = [f"a{i}" for i in range(a.shape[1])] + [f"b{i}" for i in range(b.shape[1])]
    frame = pd.DataFrame(np.hstack([a, b]), columns=columns)
    groups = {c: "A" if c.startswith("a") else "B" for c in columns}
    result = differential_expression(
        frame, groups, contrasts={"A-B": "A-B"}, log2=False, missing="fit", adjust="none"
    )
    table = result.table.reindex(pd.RangeIndex(n))
    return {
        "statistic": table["t"].to_numpy(dtype=np.float64),
        "df": np.asarray(result.fit.df_total, dtype=np.float64).reshape(-1)[:n],
        "p_value": table["P.Value"].to_numpy(dtype=np.float64),
    }


def compare_sets(
    frame: pd.DataFrame,
    a: Sequence[str],
    b: Sequence[str],
    *,
    method: str = "t-test",
    log: str | bool = "auto",
    adjust: str = "BH",
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """Compare sample set ``a`` with set ``b`` row by row.

    Parameters
    ----------
    frame
        Values: rows (probes or genes) x samples (columns named by sample).
    a, b
        The two sets: column names of ``frame``, disjoint, each not empty.
    method
        One of :data:`METHODS` (see the module docstring).
    log
        ``"auto"`` (log2 when GEO2R's rule finds linear values), ``"yes"``, ``"no"``; the
        t-tests and ``fold`` use the values on that scale (``rank-fold`` ignores it).
    adjust
        p-value adjustment, one of :data:`ADJUSTMENTS`.
    thresholds
        Rows to keep (default: all).

    Returns
    -------
    pandas.DataFrame
        One row per kept row of ``frame`` (same index), sorted by p-value (fold methods: by
        the distance of the fold from 1), columns :data:`COLUMNS`. ``mean_a`` / ``mean_b``
        are on the analysed scale (``attrs["scale"]``: ``log2`` when the values are or were
        made log2 values, ``linear``, or ``rank`` percentiles); ``fold`` is A over B on the
        linear scale (``2 ** (mean_a - mean_b)`` for log2 values, ``mean_a / mean_b``
        otherwise), ``log2_fold`` its log2. ``attrs``: ``method``, ``log2_applied``,
        ``scale``, ``adjust``, ``thresholds``, ``a``, ``b``, ``rows_tested``,
        ``rows_kept``.

    Raises
    ------
    ValueError
        For an unknown method or adjustment, an empty or overlapping set, a set of one sample
        for a t-test, or a sample that is not a column of ``frame``.
    """
    import pandas as pd

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    set_a, set_b = list(dict.fromkeys(a)), list(dict.fromkeys(b))
    _check_sets(frame, set_a, set_b)
    if method in TESTS:
        for label, members in (("A", set_a), ("B", set_b)):
            if len(members) < 2:
                raise ValueError(
                    f"a t-test needs at least 2 samples in each set; set {label} has "
                    f"{len(members)} (compare by fold instead)"
                )
    thresholds = thresholds or Thresholds()
    log2_applied = False
    if method == "rank-fold":
        data = rank_percentiles(frame[set_a + set_b]).to_numpy(dtype=np.float64)
        scale = "rank"
    else:
        raw = frame[set_a + set_b].to_numpy()
        data, log2_applied = to_log2(raw, log)
        scale = "log2" if log2_applied or not looks_linear(raw) else "linear"
    values_a, values_b = data[:, : len(set_a)], data[:, len(set_a) :]
    if method in ("t-test", "welch"):
        stats = t_tests(values_a, values_b, equal_var=method == "t-test")
    elif method == "limma":
        stats = t_tests(values_a, values_b)  # for the counts and means
        stats.update(moderated_t_tests(values_a, values_b))
    else:
        stats = t_tests(values_a, values_b)  # for the counts and means
        stats["statistic"] = stats["df"] = stats["p_value"] = np.full(len(frame), np.nan)
    mean_a, mean_b = stats["mean_a"], stats["mean_b"]
    with np.errstate(invalid="ignore", divide="ignore"):
        if scale == "log2":
            log2_fold = mean_a - mean_b
            fold = np.exp2(log2_fold)
        else:
            fold = mean_a / mean_b
            fold = np.where((mean_a > 0) & (mean_b > 0), fold, np.nan)
            log2_fold = np.log2(fold)
    table = pd.DataFrame(
        {
            "mean_a": mean_a,
            "mean_b": mean_b,
            "n_a": stats["n_a"].astype(np.int64),
            "n_b": stats["n_b"].astype(np.int64),
            "fold": fold,
            "log2_fold": log2_fold,
            "statistic": stats["statistic"],
            "df": stats["df"],
            "p_value": stats["p_value"],
            "adj_p_value": adjust_p_values(stats["p_value"], adjust),
        },
        index=frame.index.copy(),
    )
    keep = _passing(table, thresholds)
    sort_key = table["p_value"] if method in TESTS else -np.abs(table["log2_fold"]).fillna(-np.inf)
    kept = table[keep].assign(_key=sort_key[keep]).sort_values("_key", kind="stable")
    kept = kept.drop(columns="_key")
    kept.attrs = {
        "method": method,
        "log2_applied": log2_applied,
        "scale": scale,
        "adjust": adjust,
        "thresholds": thresholds.as_dict(),
        "a": set_a,
        "b": set_b,
        "rows_tested": len(table),
        "rows_kept": len(kept),
    }
    return kept


def _check_sets(frame: pd.DataFrame, a: list[str], b: list[str]) -> None:
    if not a or not b:
        raise ValueError(f"set {'A' if not a else 'B'} has no samples")
    both = sorted(set(a) & set(b))
    if both:
        raise ValueError(f"samples in both sets: {', '.join(both[:5])}")
    columns = set(map(str, frame.columns))
    unknown = [k for k in a + b if k not in columns]
    if unknown:
        raise ValueError(f"not samples of these values: {', '.join(unknown[:5])}")


def _passing(table: pd.DataFrame, thresholds: Thresholds) -> Any:
    keep = np.ones(len(table), dtype=bool)
    if thresholds.p_value is not None:
        keep &= (table["p_value"] <= thresholds.p_value).to_numpy()
    if thresholds.adj_p_value is not None:
        keep &= (table["adj_p_value"] <= thresholds.adj_p_value).to_numpy()
    if thresholds.fold is not None:
        limit = np.log2(thresholds.fold)
        keep &= (np.abs(table["log2_fold"]) >= limit).to_numpy()
    return keep


def as_top_table(table: pd.DataFrame) -> pd.DataFrame:
    """A comparison table with limma's column names, for the volcano and MA plots:
    ``logFC`` (log2 fold), ``AveExpr`` (mean of the two set means), ``P.Value``,
    ``adj.P.Val`` (NaN for the fold methods)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "logFC": table["log2_fold"],
            "AveExpr": (table["mean_a"] + table["mean_b"]) / 2,
            "P.Value": table["p_value"],
            "adj.P.Val": table["adj_p_value"],
        },
        index=table.index,
    )
