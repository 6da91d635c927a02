"""Record listing filters as the API and the CLI take them (organism, platform, series,
``key=value`` characteristics and harmonized labels), turned into the hub's SQL filter."""

from __future__ import annotations

from collections.abc import Sequence

from exprhub.curate.harmonize import label_field, label_source_keys, label_spellings
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
    case); ``labels`` are harmonized ``(field, value)`` pairs (``("sex", "female")`` also
    matches a characteristic ``gender: F``).

    Raises
    ------
    ValueError
        If a label names no harmonized field.
    """
    matches = [
        CharacteristicMatch(frozenset({key}), frozenset({value})) for key, value in characteristics
    ]
    if labels:
        stored = characteristic_keys(hub)
        for name, value in labels:
            field = label_field(name)
            keys = label_source_keys(field, stored)
            matches.append(
                CharacteristicMatch(frozenset(keys), frozenset(label_spellings(field, value)))
            )
    return ListingFilter(organism, platform, series, tuple(matches))
