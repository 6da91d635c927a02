"""The refinery's stored results as the Python API reads them: which samples an accession
stands for, refined values, refinement bookkeeping and provenance.

The one module of ``exprhub.api`` that names where these reads live, so that moving them
changes one import here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exprhub.refine.store import (
    provenance,
    qn_assignments,
    refine_states,
    refined_matrix,
    samples_for_accession,
    target_listing,
    target_moves,
)

__all__ = [
    "provenance",
    "qn_assignments",
    "refine_states",
    "refined_matrix",
    "refined_with_target",
    "samples_for_accession",
    "target_listing",
    "target_moves",
]

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

    from exprhub.hub import Hub


def refined_with_target(hub: Hub, samples: Sequence[str], version: int) -> pd.DataFrame:
    """:func:`exprhub.refine.pipeline_qn.refined_with_target` (imported when first used)."""
    from exprhub.refine.pipeline_qn import refined_with_target as regenerate

    return regenerate(hub, samples, version)
