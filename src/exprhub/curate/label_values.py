"""The label values that search indexes and bundles deliver: one function each, one place.

:func:`label_values` is where search documents take their sample labels from (see
:mod:`exprhub.search.hub_index`): the harmonized characteristics
(:func:`exprhub.curate.harmonize.sample_labels`: every name of
:data:`~exprhub.curate.harmonize.LABELS`, aliases included) joined with the standardized labels
stored in the hub (:mod:`exprhub.curate.labels`; ``GSM11805``'s "Gender = Female" in its
description makes it ``female[sex]``). :func:`standardized_label_values` reads the stored
labels alone (the ``label.*`` columns of a bundle's sample metadata).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from exprhub.curate.harmonize import LABELS, STANDARD_ALIASES, sample_labels
from exprhub.curate.labels.model import UNKNOWN
from exprhub.hub import Hub
from exprhub.hub.labels import sample_labels as stored_labels
from exprhub.hub.labels import unrecorded_members


def standardized_label_values(hub: Hub, samples: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """Stored standardized label values of ``samples``, by sample and field, from every
    labeller (rules, ontology, expression model, LLM); ``unknown`` is left out and each value
    listed once, in stored order. Samples without a label are absent."""
    out: dict[str, dict[str, list[str]]] = {}
    for key, labels in stored_labels(hub, list(samples)).items():
        fields: dict[str, list[str]] = {}
        for label in labels:
            value = label.value.strip()
            if not value or value.lower() == UNKNOWN:
                continue
            values = fields.setdefault(label.field, [])
            if value not in values:
                values.append(value)
        if fields:
            out[key] = fields
    return out


def label_values(
    hub: Hub, characteristics: Mapping[str, Sequence[tuple[str, str]]]
) -> dict[str, dict[str, list[str]]]:
    """Label values of samples, by sample key: harmonized characteristics and stored
    standardized labels.

    Parameters
    ----------
    hub
        The hub the samples are in (where stored labels are read from).
    characteristics
        Sample key -> the sample's ``(key, value)`` characteristics, all channels.

    Returns
    -------
    dict
        Sample key -> label name (one of :data:`~exprhub.curate.harmonize.LABELS`) -> values,
        lower-cased as listings and ``exprhub ls --label`` compare them; a standardized
        field's values also under its aliases (``organ`` for ``tissue``), except a value that
        differs from one already there only in case, spaces or punctuation (``CD-1`` beside
        ``cd1``); labels without a value are left out.
    """
    names = set(LABELS)
    aliases: dict[str, list[str]] = {}
    for alias, field in STANDARD_ALIASES.items():
        aliases.setdefault(field, []).append(alias)
    out = {key: sample_labels(pairs) for key, pairs in characteristics.items()}
    for key, fields in standardized_label_values(hub, characteristics).items():
        row = out.setdefault(key, {})
        for field, values in fields.items():
            for name in (field, *aliases.get(field, ())):
                if name not in names:
                    continue
                known = row.setdefault(name, [])
                seen = {_squashed(v) for v in known}
                for value in values:
                    if _squashed(value) not in seen:  # "CD-1" beside "cd1": the same value
                        known.append(value.lower())
                        seen.add(_squashed(value))
    return out


def _squashed(value: str) -> str:
    """A value without case, spaces or punctuation, to tell two spellings of one value."""
    return re.sub(r"[^0-9a-z]", "", value.lower())


def member_label_values(hub: Hub, owners: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """Label values of the samples without a record of their own (DataSet columns, samples a
    series only lists) that each of ``owners`` (series, platforms, DataSets) lists, merged
    per owner as :func:`label_values` gives them: such samples have no search document, so
    their owner's document carries their labels. Owners listing none are left out."""
    members = unrecorded_members(hub, owners)
    values = label_values(hub, {key: [] for keys in members.values() for key in keys})
    out: dict[str, dict[str, list[str]]] = {}
    for owner, keys in members.items():
        merged: dict[str, list[str]] = {}
        for key in keys:
            for name, found in values.get(key, {}).items():
                known = merged.setdefault(name, [])
                known += [v for v in found if v not in known]
        if merged:
            out[owner] = merged
    return out
