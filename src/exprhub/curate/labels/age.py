"""Ages as submitters write them, and the age groups they fall in.

:func:`parse_age` reads ``E12.5`` (embryonic day), ``P21`` (postnatal day), ``12 +/- 1
weeks``, ``45 y``, ``6mo``, ``3 week old``, ``8-10 weeks`` (a range: its middle), ``age
(years): 45`` (the unit from the key). :func:`age_group` puts an age in GEOmeta-style bands:
for humans infant, pediatric, adolescent, adults by decade and elderly bands; for mice and
rats embryonic and week bands. No ontology has these rules, so they live here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Units an age is given in, with their length in days.
UNIT_DAYS: dict[str, float] = {
    "hours": 1 / 24,
    "days": 1.0,
    "weeks": 7.0,
    "months": 30.4375,
    "years": 365.25,
}
_UNIT_WORDS: tuple[tuple[str, str], ...] = (
    ("hours", r"h|hr|hrs|hours?"),
    ("days", r"d|days?"),
    ("weeks", r"w|wk|wks|weeks?"),
    ("months", r"m|mo|mos|mon|months?"),
    ("years", r"y|yr|yrs|years?"),
)
_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)"
_UNIT = "|".join(f"(?P<{name}>{words})" for name, words in _UNIT_WORDS)
_PLAIN = re.compile(
    rf"(?<![\w.])(?P<value>{_NUMBER})"
    rf"(?:\s*(?:-|to|–)\s*(?P<high>{_NUMBER}))?"
    rf"(?:\s*(?:\+/-|\+-|±)\s*(?P<spread>{_NUMBER}))?"
    rf"\s*-?\s*(?:{_UNIT})(?![a-z])(?:[\s-]*old)?",
    re.IGNORECASE,
)
_EMBRYONIC = re.compile(
    r"(?<![\w.])(?:E|[Ee]mbryonic day|e\.d\.|dpc|days post coitum)\s*"
    r"(?P<value>\d{1,2}(?:\.\d+)?)(?![\w.])",
)
_POSTNATAL = re.compile(
    r"(?<![\w.])(?:P|PND|[Pp]ost-?natal [Dd]ay)\s*(?P<value>\d{1,3}(?:\.\d+)?)"
    r"(?![\w.])",
)
# "0.5 days postnatal", "3 days after birth": postnatal days written after the number
_DAYS_AFTER_BIRTH = re.compile(
    rf"(?<![\w.])(?P<value>{_NUMBER})\s*(?:d|days?)\s*(?:postnatal|post[\s\-]natal|"
    r"after birth|post[\s\-]?partum)\b",
    re.IGNORECASE,
)
_BARE = re.compile(rf"^\s*(?P<value>{_NUMBER})\s*$")


@dataclass(frozen=True)
class Age:
    """An age: ``value`` in ``unit`` (``years`` ... ``hours``, ``embryonic day``,
    ``postnatal day``), found at ``text[start:end]``."""

    value: float
    unit: str
    start: int
    end: int
    low: float | None = None
    high: float | None = None
    spread: float | None = None

    @property
    def text(self) -> str:
        """The value with its unit as written: ``12 weeks``, ``12-15 weeks`` (a range),
        ``12 +/- 1 weeks``, ``E12.5``, ``P21``."""
        number = f"{self.value:g}"
        if self.unit == "embryonic day":
            return f"E{number}"
        if self.unit == "postnatal day":
            return f"P{number}"
        if self.spread is not None:
            return f"{number} +/- {self.spread:g} {self.unit}"
        if self.low is not None and self.high is not None and self.low != self.high:
            return f"{self.low:g}-{self.high:g} {self.unit}"
        return f"{number} {self.unit.removesuffix('s') if self.value == 1 else self.unit}"

    @property
    def days(self) -> float | None:
        """Age after birth in days; negative before birth (an embryonic day, whose distance
        to birth depends on the species: only its sign is meaningful)."""
        if self.unit == "embryonic day":
            return self.value - 100.0  # embryonic days have at most two digits
        if self.unit == "postnatal day":
            return self.value
        return self.value * UNIT_DAYS[self.unit]


def _unit_of(match: re.Match[str]) -> str:
    for name, _ in _UNIT_WORDS:
        if match.group(name):
            return name
    raise ValueError("no unit")  # the pattern always has one


def parse_age(text: str, *, unit: str | None = None, postnatal: bool = True) -> Age | None:
    """The first age in ``text``; ``unit`` (from a key such as ``age (years)``) is used for a
    bare number. None when there is no age with a unit. ``postnatal=False`` skips ``P21``
    (in free text that is more often the gene p21 than postnatal day 21)."""
    patterns = [(_EMBRYONIC, "embryonic day"), (_DAYS_AFTER_BIRTH, "postnatal day")]
    if postnatal:
        patterns.append((_POSTNATAL, "postnatal day"))
    for pattern, fixed in patterns:
        match = pattern.search(text)
        if match:
            return Age(float(match.group("value")), fixed, match.start(), match.end())
    for match in _PLAIN.finditer(text):
        found = _unit_of(match)
        if found in ("hours", "days") and not match.group("value"):
            continue
        low = float(match.group("value"))
        high = float(match.group("high")) if match.group("high") else None
        if high is not None and high < low:
            continue
        value = (low + high) / 2 if high is not None else low
        spread = None
        if match.group("spread"):
            spread = float(match.group("spread"))
            low, high = value - spread, value + spread
        return Age(value, found, match.start(), match.end(), low, high, spread)
    bare = _BARE.match(text)
    if bare and unit in UNIT_DAYS:
        return Age(float(bare.group("value")), unit, bare.start("value"), bare.end("value"))
    return None


def unit_from_key(key: str) -> str | None:
    """The unit a characteristic key gives its values: ``age (years)`` -> ``years``."""
    words = re.findall(r"[a-z]+", key.lower())
    for name, pattern in _UNIT_WORDS:
        if any(re.fullmatch(pattern, w) for w in words[1:]):
            return name
    return None


#: Human age groups: (upper bound in years, exclusive; group).
HUMAN_GROUPS: tuple[tuple[float, str], ...] = (
    (1, "infant"),
    (12, "pediatric"),
    (18, "adolescent"),
    (30, "adult 18-29"),
    (40, "adult 30-39"),
    (50, "adult 40-49"),
    (60, "adult 50-59"),
    (65, "adult 60-64"),
    (75, "elderly 65-74"),
    (85, "elderly 75-84"),
    (float("inf"), "elderly 85+"),
)
#: Mouse and rat age groups: (upper bound in weeks, exclusive; group).
RODENT_GROUPS: tuple[tuple[float, str], ...] = (
    (3, "0-3 weeks"),
    (8, "3-8 weeks"),
    (12, "8-12 weeks"),
    (26, "12-26 weeks"),
    (52, "26-52 weeks"),
    (78, "52-78 weeks"),
    (float("inf"), "78+ weeks"),
)
_RODENTS = frozenset({"mus musculus", "rattus norvegicus"})


def age_group(age: Age, organism: str | None) -> str | None:
    """The age group of ``age`` for ``organism`` (None for other organisms)."""
    days = age.days
    name = (organism or "").strip().lower()
    if days is None:
        return None
    if name == "homo sapiens":
        if days < 0:
            return "fetal"
        years = days / UNIT_DAYS["years"]
        return next(group for bound, group in HUMAN_GROUPS if years < bound)
    if name in _RODENTS:
        if days < 0:
            return "embryonic"
        weeks = days / UNIT_DAYS["weeks"]
        return next(group for bound, group in RODENT_GROUPS if weeks < bound)
    return None
