"""The label values that search indexes and counts as facets: one function, one place.

:func:`label_values` is where search documents take their sample labels from (see
:mod:`exprhub.search.hub_index`). Today the values are the harmonized characteristics
(:func:`exprhub.curate.harmonize.sample_labels`: every name of
:data:`~exprhub.curate.harmonize.LABELS`, aliases included); when standardized labels are
stored in the hub, reading them here is the only change search needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from exprhub.curate.harmonize import sample_labels
from exprhub.hub import Hub


def label_values(
    hub: Hub, characteristics: Mapping[str, Sequence[tuple[str, str]]]
) -> dict[str, dict[str, list[str]]]:
    """Label values of samples, by sample key.

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
        normalized as listings and ``exprhub ls --label`` compare them; labels without a value
        are left out.
    """
    del hub  # labels come from the characteristics until standardized labels are stored
    return {key: sample_labels(pairs) for key, pairs in characteristics.items()}
