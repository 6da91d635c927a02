"""Record listing filters as the API and the CLI take them (organism, platform, series,
``key=value`` characteristics and harmonized labels), turned into the hub's SQL filter."""

from __future__ import annotations

from collections.abc import Sequence

from exprhub.curate.harmonize import (
    LABELS,
    harmonized_field,
    label_source_keys,
    label_spellings,
    normalize_value,
    standard_field,
)
from exprhub.curate.labels.store import label_filter_terms
from exprhub.hub import Hub
from exprhub.hub.listing import CharacteristicMatch, ListingFilter, characteristic_keys


def parse_pair(text: str, what: str = "characteristic") -> tuple[str, str]:
    """Split a ``key=value`` (or ``key:value``) filter.

    Raises
    ------
    ValueError
        If ``text`` has no ``=`` or ``:`` separating a key from a value.
    """
    for sep in ("=", ":"):
        key, found, value = text.partition(sep)
        if found and key.strip():
            return key.strip(), value.strip()
    raise ValueError(f"{what} filter {text!r} must look like key=value (e.g. tissue=liver)")


def listing_filter(
    hub: Hub,
    *,
    organism: str | None = None,
    platform: str | None = None,
    series: str | None = None,
    characteristics: Sequence[tuple[str, str]] = (),
    labels: Sequence[tuple[str, str]] = (),
) -> ListingFilter:
    """The hub listing filter for these criteria.

    ``characteristics`` are submitted ``(key, value)`` pairs, matched as written (ignoring
    case); ``labels`` are ``(name, value)`` pairs of the one label vocabulary
    (:data:`exprhub.curate.harmonize.LABELS`). A standardized field matches the samples'
    stored labels (:mod:`exprhub.curate.labels`) by value or, for ontology fields, by the term
    the value names and its descendants (``tissue=kidney`` finds ``renal cortex``); a name
    that is also a harmonized field matches its characteristics too (``("sex", "female")``
    matches a characteristic ``gender: F`` of a sample not labelled yet).

    Raises
    ------
    ValueError
        If a label name is not in the vocabulary.
    """
    matches = [
        CharacteristicMatch(frozenset({key}), frozenset({value})) for key, value in characteristics
    ]
    if labels:
        stored = characteristic_keys(hub)
        for name, value in labels:
            harmonized = harmonized_field(name)
            standard = standard_field(name)
            if harmonized is None and standard is None:
                raise ValueError(f"unknown label {name!r}; labels are: {', '.join(sorted(LABELS))}")
            keys: set[str] = set()
            spellings: set[str] = set()
            if harmonized is not None:
                keys = label_source_keys(harmonized, stored)
                spellings = label_spellings(harmonized, value)
            label_values: frozenset[str] = frozenset()
            terms: frozenset[str] = frozenset()
            if standard is not None:
                label_values = frozenset({value, normalize_value(standard, value)})
                terms = label_filter_terms(standard, value)
            matches.append(
                CharacteristicMatch(
                    frozenset(keys), frozenset(spellings), standard, label_values, terms
                )
            )
    return ListingFilter(organism, platform, series, tuple(matches))
