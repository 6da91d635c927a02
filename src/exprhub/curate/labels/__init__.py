"""Standardized sample labels with evidence (GEOmeta's fields, ontology terms, the text each
value rests on): :func:`label_sample` labels one sample; :class:`Label` is one label."""

from exprhub.curate.labels.extract import label_sample
from exprhub.curate.labels.model import FIELDS, LABELLER_VERSION, METHODS, UNKNOWN, Label

__all__ = ["FIELDS", "LABELLER_VERSION", "METHODS", "UNKNOWN", "Label", "label_sample"]
