"""Whether a matrix of expression values is on a linear scale and wants a log2 transform.

The rule is the one GEO2R states for its "auto-detect" option: look at the 0, 25, 50, 75, 99
and 100 % quantiles of all values; the values are linear (and get log2) when the 99 % quantile
exceeds 100, or when the range exceeds 50 and the 25 % quantile is positive.
"""

from __future__ import annotations

import numpy as np

#: The ``log`` choices of the analysis functions.
LOG_CHOICES = ("auto", "yes", "no")


def looks_linear(values: np.ndarray) -> bool:
    """True when ``values`` look like linear-scale intensities (GEO2R's auto-detect rule).

    Parameters
    ----------
    values
        Any array of numbers; NaN is ignored.
    """
    from exprhub.refine.scale import QUANTILE_PROBS, geo2r_needs_log

    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return False
    return geo2r_needs_log(np.quantile(finite, QUANTILE_PROBS))


def to_log2(values: np.ndarray, log: str | bool = "auto") -> tuple[np.ndarray, bool]:
    """``values`` as float64 on a log2 scale when asked or detected, and whether it was applied.

    Parameters
    ----------
    values
        Expression values (any shape).
    log
        ``"auto"`` (GEO2R's rule, see :func:`looks_linear`), ``"yes"`` / True (always log2),
        ``"no"`` / False (never). Values <= 0 become NaN when log2 is applied.

    Raises
    ------
    ValueError
        For another ``log``.
    """
    choice = {True: "yes", False: "no"}.get(log, log) if isinstance(log, bool) else log
    if choice not in LOG_CHOICES:
        raise ValueError(f"log must be one of {', '.join(LOG_CHOICES)}; got {log!r}")
    data = np.array(values, dtype=np.float64)
    apply = choice == "yes" or (choice == "auto" and looks_linear(data))
    if apply:
        with np.errstate(invalid="ignore", divide="ignore"):
            data[data <= 0] = np.nan
            data = np.log2(data)
    return data, apply
