"""Linear models and empirical Bayes statistics for differential expression, written from the
published methods (Smyth 2004; Phipson et al. 2016) and checked against R limma 3.54.

The steps, each in its own module and each working on any genes x samples matrix and design:

* :mod:`~exprhub.analysis.linear_models.design`: design matrices from groups and covariates;
* :mod:`~exprhub.analysis.linear_models.fit`: gene-wise least squares (``lmFit``);
* :mod:`~exprhub.analysis.linear_models.contrasts`: contrasts (``makeContrasts``,
  ``contrasts.fit``);
* :mod:`~exprhub.analysis.linear_models.moderation` and
  :mod:`~exprhub.analysis.linear_models.robust`: the variance prior (``fitFDist``,
  ``squeezeVar``, ``fitFDistRobustly``), with
  :mod:`~exprhub.analysis.linear_models.outliers` for the reduced prior df of outlying genes
  and :mod:`~exprhub.analysis.linear_models.lowess` for the robust trend;
* :mod:`~exprhub.analysis.linear_models.ebayes`: moderated t, F and B (``eBayes``);
* :mod:`~exprhub.analysis.linear_models.tables`: ``topTable``, ``decideTests``, ``p.adjust``.
"""

from __future__ import annotations

from exprhub.analysis.linear_models.contrasts import contrasts_fit, make_contrasts
from exprhub.analysis.linear_models.design import group_design
from exprhub.analysis.linear_models.ebayes import ModeratedFit, e_bayes, moderated_f
from exprhub.analysis.linear_models.fit import LinearModelFit, lm_fit
from exprhub.analysis.linear_models.moderation import SqueezedVariances, fit_f_dist, squeeze_var
from exprhub.analysis.linear_models.tables import decide_tests, p_adjust, top_table

__all__ = [
    "LinearModelFit",
    "ModeratedFit",
    "SqueezedVariances",
    "contrasts_fit",
    "decide_tests",
    "e_bayes",
    "fit_f_dist",
    "group_design",
    "lm_fit",
    "make_contrasts",
    "moderated_f",
    "p_adjust",
    "squeeze_var",
    "top_table",
]
