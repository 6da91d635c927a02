"""Analysis of the hub's expression values: GEO Profiles (values, rank percentiles, flags,
neighbours), GEO2R-style differential expression (a linear-model / empirical-Bayes fit written
from the published methods, checked against R limma), comparisons of sample sets, clustering
and distributions. Reads expression through the hub and the refinery's public functions.

Entry points (imported on first use, so ``import exprhub.analysis`` stays cheap)::

    from exprhub.analysis import differential_expression
    result = differential_expression(values, {"GSM1": "control", "GSM2": "treated", ...})
    result.table                      # limma-style top table (a DataFrame)

The limma-equivalent steps are in :mod:`exprhub.analysis.linear_models` (``lm_fit``,
``contrasts_fit``, ``e_bayes``, ``top_table``, ``decide_tests``, ``p_adjust``...).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exprhub.analysis.differential import DifferentialResult, differential_expression
    from exprhub.analysis.linear_models import (
        contrasts_fit,
        decide_tests,
        e_bayes,
        group_design,
        lm_fit,
        make_contrasts,
        p_adjust,
        top_table,
    )

_LAZY = {
    "DifferentialResult": "exprhub.analysis.differential",
    "differential_expression": "exprhub.analysis.differential",
    "contrasts_fit": "exprhub.analysis.linear_models",
    "decide_tests": "exprhub.analysis.linear_models",
    "e_bayes": "exprhub.analysis.linear_models",
    "group_design": "exprhub.analysis.linear_models",
    "lm_fit": "exprhub.analysis.linear_models",
    "make_contrasts": "exprhub.analysis.linear_models",
    "p_adjust": "exprhub.analysis.linear_models",
    "top_table": "exprhub.analysis.linear_models",
}

__all__ = [
    "DifferentialResult",
    "contrasts_fit",
    "decide_tests",
    "differential_expression",
    "e_bayes",
    "group_design",
    "lm_fit",
    "make_contrasts",
    "p_adjust",
    "top_table",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'exprhub.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
