"""The age parser: GEO's spellings of ages, and properties over generated ages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exprhub.curate.labels.age import (
    HUMAN_GROUPS,
    UNIT_DAYS,
    age_group,
    parse_age,
    unit_from_key,
)


@pytest.mark.parametrize(
    ("text", "value", "unit", "shown"),
    [
        ("E12.5", 12.5, "embryonic day", "E12.5"),
        ("embryonic day 14", 14, "embryonic day", "E14"),
        ("P21", 21, "postnatal day", "P21"),
        ("12 +/- 1 weeks", 12, "weeks", "12 +/- 1 weeks"),
        ("45 y", 45, "years", "45 years"),
        ("6mo", 6, "months", "6 months"),
        ("3 week old", 3, "weeks", "3 weeks"),
        ("45-year-old", 45, "years", "45 years"),
        ("8-10 weeks", 9, "weeks", "8-10 weeks"),
        (".5 Days Postnatal", 0.5, "postnatal day", "P0.5"),
        ("Postnatal Day 0.5", 0.5, "postnatal day", "P0.5"),
        ("1 month old", 1, "months", "1 month"),
        ("60 yrs", 60, "years", "60 years"),
    ],
)
def test_spellings(text, value, unit, shown):
    age = parse_age(text)
    assert age is not None
    assert (age.value, age.unit, age.text) == (value, unit, shown)
    assert text[age.start : age.end].strip() != ""


@pytest.mark.parametrize("text", ["10 mg/kg", "E189", "day 3", "GSM123", "", "adult"])
def test_not_ages(text):
    assert parse_age(text) is None


def test_spread_gives_bounds_and_key_gives_unit():
    age = parse_age("12 +/- 1 weeks")
    assert age is not None and (age.low, age.high) == (11, 13)
    assert unit_from_key("age (years)") == "years"
    assert unit_from_key("age") is None
    bare = parse_age("45", unit="years")
    assert bare is not None and bare.text == "45 years"
    assert parse_age("45") is None  # a bare number without a unit is no age


@pytest.mark.parametrize(
    ("text", "organism", "group"),
    [
        ("6mo", "Homo sapiens", "infant"),
        ("8 years", "Homo sapiens", "pediatric"),
        ("15 years", "Homo sapiens", "adolescent"),
        ("45 y", "Homo sapiens", "adult 40-49"),
        ("70 years", "Homo sapiens", "elderly 65-74"),
        ("90 years", "Homo sapiens", "elderly 85+"),
        ("E12.5", "Mus musculus", "embryonic"),
        ("P21", "Mus musculus", "3-8 weeks"),
        ("12 weeks", "Mus musculus", "12-26 weeks"),
        ("2 years", "Rattus norvegicus", "78+ weeks"),
        ("12 weeks", "Danio rerio", None),
    ],
)
def test_age_groups(text, organism, group):
    age = parse_age(text)
    assert age is not None
    assert age_group(age, organism) == group


_UNITS = {"y": "years", "years": "years", "mo": "months", "weeks": "weeks", "d": "days"}


@given(
    number=st.integers(min_value=0, max_value=120),
    unit=st.sampled_from(sorted(_UNITS)),
    gap=st.sampled_from(["", " ", "-"]),
    before=st.sampled_from(["", "aged ", "donor, "]),
    after=st.sampled_from(["", " old", ", male"]),
)
def test_generated_ages_parse_to_their_number_and_unit(number, unit, gap, before, after):
    text = f"{before}{number}{gap}{unit}{after}"
    age = parse_age(text)
    assert age is not None
    assert (age.value, age.unit) == (number, _UNITS[unit])
    assert text[age.start : age.end].startswith(str(number))


@given(years=st.floats(min_value=0, max_value=119.9, allow_nan=False))
def test_every_human_age_has_one_group_in_order(years):
    age = parse_age(f"{years:.1f} years")
    assert age is not None
    group = age_group(age, "Homo sapiens")
    names = [name for _, name in HUMAN_GROUPS]
    assert group in names
    bound = next(b for b, name in HUMAN_GROUPS if name == group)
    assert age.value * UNIT_DAYS["years"] / UNIT_DAYS["years"] < bound


@given(day=st.floats(min_value=0, max_value=21, allow_nan=False))
def test_embryonic_days_are_before_birth(day):
    age = parse_age(f"E{day:.1f}")
    assert age is not None and age.days is not None and age.days < 0
    assert age_group(age, "Mus musculus") == "embryonic"
