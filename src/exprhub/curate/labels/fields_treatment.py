"""Rules for what was done to a sample: the perturbation (name, type, dose with unit,
frequency, duration, route), the time point, and the outcome."""

from __future__ import annotations

import re

from exprhub.curate.labels.finding import Finding, make_label
from exprhub.curate.labels.model import Label
from exprhub.curate.labels.sources import SourceText, value_of

#: Keys (beyond the harmonized treatment/compound keys) that name a perturbation.
TREATMENT_KEYS = ("agent", "stimulus", "stimulation", "infection", "exposure", "diet")
#: Keys that name an outcome.
OUTCOME_KEYS = ("outcome", "response", "clinical outcome", "survival", "status", "responder")

_GEO_TREATMENT = re.compile(
    r"\bTreatment,\s*type=(?P<type>[^,]+),\s*description=(?P<name>.+)$", re.I
)
#: Perturbation types and the words that name them, tried in order.
PERTURBATION_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "control",
        re.compile(
            r"\b(?:controls?|vehicle|untreated|mock|sham|no treatment|placebo|baseline|"
            r"PBS|DMSO|saline|unstimulated|normal diet)\b|^\s*none\s*$",
            re.I,
        ),
    ),
    ("knockdown", re.compile(r"\b(?:si|sh)RNA\b|\bknock[\s\-]?down\b", re.I)),
    ("knockout", re.compile(r"\bknock[\s\-]?out\b|\bCRISPR\b", re.I)),
    ("overexpression", re.compile(r"\bover[\s\-]?express\w*|\btransfect\w*", re.I)),
    ("infection", re.compile(r"\binfect\w*|\bvirus\b|\bbacteri\w*", re.I)),
    (
        "biologic",
        re.compile(
            r"\b(?:antibody|IL-?\d+|interleukin|interferon|IFN|TNF|TGF|cytokine|growth factor|"
            r"insulin|LPS|lipopolysaccharide|serum)\b",
            re.I,
        ),
    ),
    ("stress", re.compile(r"\bstress\b|\bhypoxi\w*|\bheat shock\b|\bimmobili[sz]\w*", re.I)),
    ("diet", re.compile(r"\bdiet\b|\bfed\b|\bfasting\b|\bfasted\b", re.I)),
    ("radiation", re.compile(r"\birradiat\w*|\bradiation\b|\bUV\b|\bGy\b", re.I)),
)
_TREATED_WITH = re.compile(
    r"\b(?:treated|stimulated|exposed|infected|incubated) (?:with|to) (?P<name>[^,;.()]+)", re.I
)
_DOSE = re.compile(
    r"(?<![\w.])(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[pnuµμm]?M|[pnuµμm]?g/(?:k?g|ml|l|L|mL)|"
    r"mg|µg|ug|ng|IU|U/ml|%|ppm|Gy|MOI)(?![A-Za-z])"
)
_FREQUENCY = re.compile(
    r"\b(?:once|twice|three times|(?:\d+)\s*times)\s+(?:a\s+|per\s+)?(?:day|daily|week|weekly)\b|"
    r"\b(?:daily|weekly|every\s+\d+\s*(?:h|hours?|days?))\b|\bsingle dose\b|\bb\.?i\.?d\.?\b|"
    r"\bq\.?d\.?\b",
    re.I,
)
_DURATION = re.compile(
    r"\bfor\s+(?P<span>\d+(?:\.\d+)?\s*(?:-\s*\d+\s*)?(?:min(?:utes?)?|h|hrs?|hours?|d|days?|"
    r"w|wks?|weeks?|months?))\b",
    re.I,
)
_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("intraperitoneal", r"\bintraperitoneal\w*|\bi\.p\.(?!\w)"),
        ("intravenous", r"\bintravenous\w*|\bi\.v\.(?!\w)"),
        ("subcutaneous", r"\bsubcutaneous\w*|\bs\.c\.(?!\w)"),
        ("intramuscular", r"\bintramuscular\w*|\bi\.m\.(?!\w)"),
        (
            "oral",
            r"\boral(?:ly)?\b|\bgavage\b|\bp\.o\.(?!\w)|\bdrinking water\b|\bin (?:the )?diet\b",
        ),
        ("intranasal", r"\bintranasal\w*"),
        ("inhalation", r"\binhal\w*"),
        ("topical", r"\btopical\w*"),
        ("in culture medium", r"\b(?:culture )?medium\b"),
    )
)
_TIMEPOINT = re.compile(
    r"\b(?:day|week|month|hour)\s*\d+(?:\.\d+)?\b|\b\d+(?:\.\d+)?\s*(?:h|hrs?|hours?|d|days?|"
    r"min(?:utes?)?|weeks?)\s*(?:post|after)\b[\w\s\-]{0,20}",
    re.I,
)


def _perturbation_texts(finding: Finding) -> list[tuple[SourceText, str, int]]:
    out = []
    for text in finding.keyed(("treatment", "compound"), TREATMENT_KEYS):
        value, offset = value_of(text)
        if value.strip():
            out.append((text, value.rstrip(), offset))
    for text in finding.free():
        if text.source.startswith("series."):
            break
        match = _GEO_TREATMENT.search(text.text) or _TREATED_WITH.search(text.text)
        if match:  # GEO's old "Treatment, type=..., description=..." lines; "treated with X"
            out.append((text, match.group("name").rstrip(), match.start("name")))
    return out


def _name_span(value: str) -> tuple[int, int]:
    """Where the perturbation's name is in ``value``: after a leading dose (``10 nM
    estradiol``), before a dose, route, frequency or duration (``tamoxifen 75 mg/kg``)."""
    lead = re.match(r"\s*" + _DOSE.pattern + r"\s*(?:of\s+)?", value)
    first = lead.end() if lead and lead.end() < len(value) else 0
    rest = value[first:]
    cut = len(rest)
    for pattern in (_DOSE, _FREQUENCY, _DURATION, *(p for _, p in _ROUTES)):
        match = pattern.search(rest)
        if match and match.start() > 0:
            cut = min(cut, match.start())
    name = re.sub(r"[\s,;:(]+(?:at|with|of|by|in|via)?\s*$", "", rest[:cut])
    if not name.strip():
        return 0, len(value.rstrip())
    skip = len(name) - len(name.lstrip())
    return first + skip, first + len(name)


def perturbation(finding: Finding) -> list[Label]:
    """The perturbation (as keyed) with its type, dose, frequency, duration and route."""
    texts = _perturbation_texts(finding)
    if not texts:
        return []
    text, value, offset = texts[0]
    end = offset + len(value)
    start, stop = _name_span(value)
    out = [make_label("perturbation", value[start:stop], text, offset + start, offset + stop)]
    for kind, pattern in PERTURBATION_TYPES:
        match = pattern.search(value)
        if match:
            out.append(
                make_label(
                    "perturbation_type", kind, text, offset + match.start(), offset + match.end()
                )
            )
            break
    else:
        if "compound" in text.fields or (text.key or "").lower() in ("drug", "agent"):
            out.append(
                make_label(
                    "perturbation_type",
                    "compound",
                    text,
                    offset,
                    end,
                    confidence=text.confidence * 0.8,
                )
            )
    for field_name, pattern in (("dose", _DOSE), ("frequency", _FREQUENCY)):
        match = pattern.search(value)
        if match:
            shown = " ".join(match.group(0).split())
            out.append(
                make_label(field_name, shown, text, offset + match.start(), offset + match.end())
            )
    duration = _DURATION.search(value)
    if duration:
        out.append(
            make_label(
                "duration",
                " ".join(duration.group("span").split()),
                text,
                offset + duration.start("span"),
                offset + duration.end("span"),
            )
        )
    for name, pattern in _ROUTES:
        match = pattern.search(value)
        if match:
            out.append(
                make_label("route", name, text, offset + match.start(), offset + match.end())
            )
            break
    return out


def timepoint(finding: Finding) -> list[Label]:
    """The time point (as keyed, else ``day 3`` / ``24 h post infection`` in the sample's own
    text)."""
    for text in finding.keyed(("time",), ("timepoint", "time point", "day", "hours")):
        value, offset = value_of(text)
        if value.strip():
            return [
                make_label(
                    "timepoint", " ".join(value.split()), text, offset, offset + len(value.rstrip())
                )
            ]
    for text in finding.free():
        if text.source.startswith(("series.", "description")):
            break
        match = _TIMEPOINT.search(text.text)
        if match:
            return [
                make_label(
                    "timepoint",
                    " ".join(match.group(0).split()),
                    text,
                    match.start(),
                    match.end(),
                    confidence=text.confidence * 0.8,
                )
            ]
    return []


def outcome(finding: Finding) -> list[Label]:
    """The outcome (response, survival, status), as keyed."""
    for text in finding.keyed((), OUTCOME_KEYS):
        value, offset = value_of(text)
        if value.strip():
            return [
                make_label(
                    "outcome",
                    " ".join(value.lower().split()),
                    text,
                    offset,
                    offset + len(value.rstrip()),
                )
            ]
    return []
