"""The refinery's stored results as the Python API reads them: which samples an accession
stands for, refined values, refinement bookkeeping and provenance.

The one module of ``exprhub.api`` that names where these reads live, so that moving them
changes one import here.
"""

from __future__ import annotations

from exprhub.refine.store import provenance, refine_states, refined_matrix, samples_for_accession

__all__ = ["provenance", "refine_states", "refined_matrix", "samples_for_accession"]
