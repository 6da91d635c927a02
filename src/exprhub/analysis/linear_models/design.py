"""Design matrices from group labels and covariates.

Rules (R ``model.matrix``, stated so they need not be looked up):

* :func:`group_design` is GEO2R's ``model.matrix(~group + 0)``: one indicator column per group
  (the "cell means" parametrization, no intercept), columns in the order of ``levels`` (by
  default the groups in order of first appearance), rows in sample order.
* Covariates are appended after the group columns. A numeric covariate is one column, used as
  is. A non-numeric covariate is a factor coded by treatment contrasts: one indicator column
  per level except the first (levels sorted), named ``<covariate><level>`` as R names them.
* Every value must be present: a sample with a missing covariate is an error (R's
  ``model.matrix`` would silently drop the row).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["group_design"]


def group_design(
    groups: Sequence[str],
    *,
    covariates: pd.DataFrame | None = None,
    levels: Sequence[str] | None = None,
    samples: Sequence[object] | None = None,
) -> pd.DataFrame:
    """A samples x coefficients design: one indicator column per group, then covariates.

    Parameters
    ----------
    groups
        The group of every sample, in sample order.
    covariates
        Samples x covariates, rows in the same order as ``groups`` (numeric columns are used as
        is; other columns become treatment-coded factors).
    levels
        Group names in column order; default: order of first appearance in ``groups``.
    samples
        Row labels; default ``0..n-1`` (or the covariates' index).

    Returns
    -------
    pandas.DataFrame
        The design matrix (float64).
    """
    labels = [str(g) for g in groups]
    if levels is None:
        levels = list(dict.fromkeys(labels))
    levels = [str(v) for v in levels]
    unknown = sorted(set(labels) - set(levels))
    if unknown:
        raise ValueError(f"groups not among the levels: {', '.join(unknown)}")
    if samples is None:
        samples = list(covariates.index) if covariates is not None else list(range(len(labels)))
    samples = list(samples)
    if len(samples) != len(labels):
        raise ValueError(f"{len(samples)} sample labels for {len(labels)} group assignments")
    codes = np.array([levels.index(g) for g in labels], dtype=np.intp)
    matrix = (codes[:, None] == np.arange(len(levels))[None, :]).astype(np.float64)
    design = pd.DataFrame(matrix, index=list(samples), columns=levels)
    if covariates is None or covariates.shape[1] == 0:
        return design
    if len(covariates) != len(labels):
        raise ValueError(f"covariates have {len(covariates)} rows for {len(labels)} samples")
    extra: dict[str, np.ndarray] = {}
    for name in covariates.columns:
        column = covariates[name]
        if column.isna().any():
            missing = [str(s) for s in np.asarray(samples)[column.isna().to_numpy()]][:5]
            raise ValueError(f"covariate {name!r} is missing for sample(s) {', '.join(missing)}")
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            extra[str(name)] = column.to_numpy(dtype=np.float64)
            continue
        values = column.astype(str).to_numpy()
        for level in sorted(set(values))[1:]:
            extra[f"{name}{level}"] = (values == level).astype(np.float64)
    clash = sorted(set(extra) & set(levels))
    if clash:
        raise ValueError(f"covariate column names clash with group names: {', '.join(clash)}")
    for key, vector in extra.items():
        design[key] = vector
    return design
