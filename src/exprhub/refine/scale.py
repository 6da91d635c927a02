"""Scale detection: is a sample's (or series') data already on a log scale, and what kind is it?

The rules, in order:

1. A GEO DataSet value type, when known, decides the kind and the base:

   ===================  ===========  =========================================
   value type           value kind   decision
   ===================  ===========  =========================================
   count                intensity    linear: log2 (unless the data are clearly
                                     already logged by rule 2; then kept)
   transformed count    intensity    already log: kept (log2 assumed), unless
                                     the data are clearly linear by rule 2
   log ratio            log-ratio    log2 assumed: kept
   log2 ratio           log-ratio    kept
   log10 ratio          log-ratio    x log2(10)
   log e ratio          log-ratio    x log2(e)
   Z-score              z-score      kept (never log-transformed)
   ===================  ===========  =========================================

2. Otherwise the data decide, by GEO2R's rule: with ``q`` the quantiles 0, .25, .5, .75, .99
   and 1 of the observed values (R type 7), the data are linear, and get log2, when
   ``q99 > 100`` or ``(q100 - q0 > 50 and q25 > 0)``. ``rule="refinebio"`` uses refine.bio's
   simpler "any value > 100" instead.

3. Taking log2, values <= 0 become NaN first (GEO2R does the same); their number is reported.

Two-channel log ratios ("log-ratio") and single-channel intensities ("intensity") are different
value kinds and must never be quantile-normalized together; :func:`value_kind` says which one a
sample is, from its value type or channel count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "GDS_VALUE_TYPES",
    "QUANTILE_PROBS",
    "ScaleDecision",
    "detect_scale",
    "geo2r_needs_log",
    "to_log2",
    "value_kind",
]

QUANTILE_PROBS = (0.0, 0.25, 0.5, 0.75, 0.99, 1.0)

ValueKind = Literal["intensity", "log-ratio", "z-score"]
Transform = Literal["none", "log2", "log10-to-log2", "ln-to-log2"]

#: GDS value type (lower case) -> (value kind, stated to be on a log scale, transform).
GDS_VALUE_TYPES: dict[str, tuple[ValueKind, bool, Transform]] = {
    "count": ("intensity", False, "log2"),
    "transformed count": ("intensity", True, "none"),
    "log ratio": ("log-ratio", True, "none"),
    "log2 ratio": ("log-ratio", True, "none"),
    "log10 ratio": ("log-ratio", True, "log10-to-log2"),
    "log e ratio": ("log-ratio", True, "ln-to-log2"),
    "z-score": ("z-score", True, "none"),
}


def _normalize_type(value_type: str | None) -> str | None:
    if value_type is None:
        return None
    text = " ".join(value_type.strip().lower().replace("_", " ").split())
    aliases = {
        "zscore": "z-score",
        "z score": "z-score",
        "loge ratio": "log e ratio",
        "ln ratio": "log e ratio",
    }
    return aliases.get(text, text) or None


def value_kind(value_type: str | None = None, channel_count: int | None = None) -> ValueKind:
    """The kind of values a sample holds: ``"intensity"``, ``"log-ratio"`` or ``"z-score"``.

    Parameters
    ----------
    value_type
        GDS value type (``"count"``, ``"log2 ratio"``, ...), if known; it wins.
    channel_count
        GEO ``!Sample_channel_count``; two channels without a value type mean log ratios.

    Raises
    ------
    ValueError
        For a value type GEO does not define.
    """
    vt = _normalize_type(value_type)
    if vt is not None:
        if vt not in GDS_VALUE_TYPES:
            raise ValueError(
                f"unknown GDS value type {value_type!r}; expected one of {sorted(GDS_VALUE_TYPES)}"
            )
        return GDS_VALUE_TYPES[vt][0]
    if channel_count is not None and channel_count >= 2:
        return "log-ratio"
    return "intensity"


@dataclass(frozen=True)
class ScaleDecision:
    """What to do to put values on a log2 scale.

    Attributes
    ----------
    is_log
        Whether the input already is on a log scale.
    transform
        ``"none"``, ``"log2"``, ``"log10-to-log2"`` or ``"ln-to-log2"``.
    reason
        One sentence saying why.
    quantiles
        The observed values' quantiles at :data:`QUANTILE_PROBS` (NaN when none observed).
    value_kind
        ``"intensity"``, ``"log-ratio"`` or ``"z-score"``.
    n_nonpositive
        Values <= 0 (they become NaN under ``"log2"``).
    """

    is_log: bool
    transform: Transform
    reason: str
    quantiles: tuple[float, ...]
    value_kind: ValueKind = "intensity"
    n_nonpositive: int = 0


def geo2r_needs_log(quantiles: tuple[float, ...] | np.ndarray) -> bool:
    """GEO2R's test on quantiles (0, .25, .5, .75, .99, 1): are the data linear?"""
    q = [float(v) for v in quantiles]
    return bool(q[4] > 100 or (q[5] - q[0] > 50 and q[1] > 0))


def detect_scale(
    values: np.ndarray,
    value_type: str | None = None,
    channel_count: int | None = None,
    *,
    rule: Literal["geo2r", "refinebio"] = "geo2r",
) -> ScaleDecision:
    """Decide whether ``values`` (any shape; NaN = missing) need a log2 transform.

    See the module docstring for the rules.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    obs = x[~np.isnan(x)]
    kind = value_kind(value_type, channel_count)
    n_nonpos = int(np.count_nonzero(obs <= 0))
    if obs.size == 0:
        return ScaleDecision(False, "none", "no observed values", (math.nan,) * 6, kind, 0)
    q = tuple(float(v) for v in np.quantile(obs, QUANTILE_PROBS))
    if rule == "geo2r":
        linear = geo2r_needs_log(q)
        why = f"GEO2R rule: q99={q[4]:.4g}, max-min={q[5] - q[0]:.4g}, q25={q[1]:.4g} " + (
            "-> linear" if linear else "-> already log"
        )
    elif rule == "refinebio":
        linear = bool(q[5] > 100)
        why = f"refine.bio rule: max={q[5]:.4g} " + (
            "> 100 -> linear" if linear else "<= 100 -> log"
        )
    else:
        raise ValueError(f"rule must be 'geo2r' or 'refinebio', got {rule!r}")
    vt = _normalize_type(value_type)
    if vt is not None:
        _, stated_log, transform = GDS_VALUE_TYPES[vt]
        if kind == "intensity" and stated_log == linear:
            # the data contradict the stated type; they win for intensities
            transform = "log2" if linear else "none"
            reason = f"value type {vt!r} but data disagree ({why})"
            return ScaleDecision(not linear, transform, reason, q, kind, n_nonpos)
        reason = (
            f"value type {vt!r}: "
            + {
                "none": "kept as is",
                "log2": "linear, log2 applied",
                "log10-to-log2": "log10, rescaled to log2",
                "ln-to-log2": "natural log, rescaled to log2",
            }[transform]
        )
        return ScaleDecision(stated_log, transform, reason, q, kind, n_nonpos)
    if kind != "intensity":
        return ScaleDecision(True, "none", f"{kind} values are kept as is", q, kind, n_nonpos)
    return ScaleDecision(not linear, "log2" if linear else "none", why, q, kind, n_nonpos)


def to_log2(values: np.ndarray, decision: ScaleDecision) -> np.ndarray:
    """Apply ``decision.transform``; returns a new float64 array of the same shape.

    Under ``"log2"``, values <= 0 become NaN.
    """
    x = np.array(values, dtype=np.float64, copy=True)
    if decision.transform == "none":
        return x
    if decision.transform == "log2":
        x[x <= 0] = np.nan
        with np.errstate(invalid="ignore"):
            return np.log2(x)
    if decision.transform == "log10-to-log2":
        return x * math.log2(10.0)
    if decision.transform == "ln-to-log2":
        return x * math.log2(math.e)
    raise ValueError(f"unknown transform {decision.transform!r}")
