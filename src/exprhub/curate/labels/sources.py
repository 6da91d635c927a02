"""The texts of a sample that labels are read from, in order of precedence.

1. characteristics, channel 1 then channel 2 (``characteristics_ch1:tissue``): keyed by the
   submitter, so the key says what the value is;
2. ``key: value`` lines of the description (``Gender = Female``), read as characteristics;
3. source name (``source_name_ch1``, then ch2);
4. title;
5. description (free text);
6. the series' title, summary and overall design (``series.summary``).

A field takes its labels from the first of these that gives any; its confidence falls with
the rank.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from exprhub.curate.harmonize import harmonized_fields
from exprhub.records import Sample, Series

#: Confidence of a label read from a keyed value, a free-text field, or a series.
KEYED, SOURCE_NAME, TITLE, DESCRIPTION, SERIES = 0.95, 0.85, 0.75, 0.65, 0.5

_DESCRIPTION_PAIR = re.compile(r"^\s*([A-Za-z][\w ()/\-.]{0,40}?)\s*(?:=|:)\s*(\S.*?)\s*$")


@dataclass(frozen=True)
class SourceText:
    """One text of a sample: where it is (``source``), the key the submitter gave it (for
    characteristics), and where the value starts in the stored text (``offset``)."""

    source: str
    text: str
    confidence: float
    key: str | None = None
    offset: int = 0

    @property
    def fields(self) -> list[str]:
        """Harmonized fields the key maps to (``gender`` -> ``sex``); none without a key."""
        return harmonized_fields(self.key) if self.key else []


def _characteristic(source: str, raw: str, confidence: float) -> SourceText | None:
    key, sep, value = raw.partition(":")
    if not sep:
        return SourceText(source, raw, confidence * 0.9) if raw.strip() else None
    start = len(key) + 1
    start += len(value) - len(value.lstrip())
    name = key.strip()
    return SourceText(f"{source}:{name.lower()}", raw, confidence, name, start)


def _description_pairs(raw: str) -> list[SourceText]:
    """``key = value`` parts of a description line (``Age = 70; Gender = Female``), each
    with the offset of its value in the line."""
    out = []
    start = 0
    for part in raw.split(";"):
        match = _DESCRIPTION_PAIR.match(part)
        key = match.group(1).strip().lower() if match else ""
        # a key names a field in a few words ("Sample type"), not "The Cancer Genome Anatomy
        # Project (CGAP: http://...)"
        if match and key not in {"keywords", "http", "https"} and len(key.split()) <= 4:
            key = match.group(1).strip()
            # the text is the line up to the part's end, so offsets count from the line start
            text = raw[: start + match.end(2)]
            out.append(
                SourceText(
                    f"description:{key.lower()}", text, KEYED - 0.05, key, start + match.start(2)
                )
            )
        start += len(part) + 1
    return out


def sample_sources(sample: Sample, series: Sequence[Series] = ()) -> list[SourceText]:
    """Every labelled text of ``sample`` (and of its ``series``), highest precedence first."""
    keyed: list[SourceText] = []
    free: list[SourceText] = []
    for channel in range(1, max(sample.channel_count, 1) + 1):
        source = f"characteristics_ch{channel}"
        confidence = KEYED if channel == 1 else KEYED - 0.1
        for raw in sample.channel_values("characteristics", channel):
            found = _characteristic(source, raw, confidence)
            if found is not None:
                (keyed if found.key else free).append(found)
    for raw in sample.get_all("description"):
        keyed += _description_pairs(raw)
    texts = keyed + free
    for channel in range(1, max(sample.channel_count, 1) + 1):
        for raw in sample.channel_values("source_name", channel):
            confidence = SOURCE_NAME if channel == 1 else SOURCE_NAME - 0.2
            texts.append(SourceText(f"source_name_ch{channel}", raw, confidence))
    if sample.title:
        texts.append(SourceText("title", sample.title, TITLE))
    for raw in sample.get_all("description"):
        if raw.strip():
            texts.append(SourceText("description", raw, DESCRIPTION))
    for one in series:
        for name in ("title", "summary", "overall_design"):
            for raw in one.get_all(name):
                if raw.strip():
                    label = "design" if name == "overall_design" else name
                    texts.append(SourceText(f"series.{label}", raw, SERIES))
    return texts


def value_of(text: SourceText) -> tuple[str, int]:
    """The value part of a keyed text and its offset (the whole text when unkeyed)."""
    return text.text[text.offset :], text.offset
