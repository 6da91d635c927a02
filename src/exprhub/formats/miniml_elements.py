"""Element tables and building blocks of the MINiML reader (:mod:`exprhub.formats.miniml`) and
writer (:mod:`exprhub.formats.miniml_writer`): which SOFT fields become which MINiML elements
and back, contributors, and small XML helpers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date

from exprhub.records.model import parse_geo_date

__all__ = ["MINIML_NAMESPACE", "Contact", "Unwritten"]

MINIML_NAMESPACE = "http://www.ncbi.nlm.nih.gov/geo/info/MINiML"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: A count or position: ASCII digits, short enough for int() and any real table.
_DECIMAL = re.compile(r"[0-9]{1,18}")
#: MINiML element -> SOFT field name on reading, where the plain lower-case/underscore rule is
#: not it.
SOFT_FIELDS = {
    "Source": "source_name",
    "Hybridization-Protocol": "hyb_protocol",
    "Supplementary-Data": "supplementary_file",
    "Platform-Ref": "platform_id",
    "Sample-Ref": "sample_id",
    "Series-Ref": "series_id",
}
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

CONTACT_ORDER = (
    "email", "phone", "fax", "laboratory", "department", "institute", "address", "city",
    "state", "zip/postal_code", "country", "web_link",
)  # fmt: skip
CHANNEL_ELEMENTS = {
    "source_name": "Source",
    "biomaterial_provider": "Biomaterial-Provider",
    "treatment_protocol": "Treatment-Protocol",
    "growth_protocol": "Growth-Protocol",
    "molecule": "Molecule",
    "extract_protocol": "Extract-Protocol",
    "label": "Label",
    "label_protocol": "Label-Protocol",
}
SAMPLE_ELEMENTS = {
    "type": "Type",
    "channel_count": "Channel-Count",
    "hyb_protocol": "Hybridization-Protocol",
    "scan_protocol": "Scan-Protocol",
    "description": "Description",
    "data_processing": "Data-Processing",
    "anchor": "Anchor",
    "tag_count": "Tag-Count",
    "tag_length": "Tag-Length",
    "library_strategy": "Library-Strategy",
    "library_source": "Library-Source",
    "library_selection": "Library-Selection",
}
#: element order per entity; "@organism", "@platform", "@instrument" mark structured parts.
ORDER = {
    "Platform": ("Technology", "Distribution", "@organism", "Manufacturer",
                 "Manufacture-Protocol", "Catalog-Number", "Web-Link", "Support", "Coating",
                 "Description", "Pubmed-ID"),
    "Sample": ("Hybridization-Protocol", "Scan-Protocol", "Description", "Data-Processing",
               "Anchor", "Tag-Count", "Tag-Length", "@platform", "Library-Strategy",
               "Library-Source", "Library-Selection", "@instrument"),
    "Series": ("Pubmed-ID", "Web-Link", "Summary", "Overall-Design", "Type"),
}  # fmt: skip
PLATFORM_ELEMENTS = {
    "technology": "Technology",
    "distribution": "Distribution",
    "manufacturer": "Manufacturer",
    "manufacture_protocol": "Manufacture-Protocol",
    "catalog_number": "Catalog-Number",
    "web_link": "Web-Link",
    "support": "Support",
    "coating": "Coating",
    "description": "Description",
    "pubmed_id": "Pubmed-ID",
}
SERIES_ELEMENTS = {
    "pubmed_id": "Pubmed-ID",
    "web_link": "Web-Link",
    "summary": "Summary",
    "overall_design": "Overall-Design",
    "type": "Type",
}
#: elements written as a block: text on its own lines, as GEO writes long text.
BLOCKS = {
    "Characteristics", "Treatment-Protocol", "Growth-Protocol", "Extract-Protocol",
    "Label-Protocol", "Hybridization-Protocol", "Scan-Protocol", "Description",
    "Data-Processing", "Summary", "Overall-Design", "Manufacture-Protocol",
    "Supplementary-Data", "Biomaterial-Provider",
}  # fmt: skip


@dataclass(frozen=True)
class Unwritten:
    """An attribute not written as a MINiML element.

    ``action`` is ``"derived"`` (dropped: the document states it structurally), ``"text"``
    (appended to the record's Description/Summary), or ``"skipped"``.
    """

    record: str
    key: str
    value: str
    action: str


def clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def iso_date(text: str) -> str | None:
    day = parse_geo_date(text)
    return day.isoformat() if day else None


def sub(parent: ET.Element, name: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, name, attrib)
    if text is not None:
        element.text = clean(text)
    return element


def split_person(name: str) -> tuple[str, str, str]:
    parts = name.split(",", 2)
    if len(parts) < 3:
        return ("", "", name)
    return (parts[0], parts[1], parts[2])


class Contributors:
    """Distinct contact persons and authors, with their ``contribN`` ids."""

    def __init__(self) -> None:
        self.elements: list[ET.Element] = []
        self._contacts: dict[tuple[tuple[str, str], ...], str] = {}
        self._names: dict[str, str] = {}

    def _new(self) -> tuple[str, ET.Element]:
        iid = f"contrib{len(self.elements) + 1}"
        element = ET.Element("Contributor", {"iid": iid})
        self.elements.append(element)
        return iid, element

    def contact(self, fields: list[tuple[str, str]]) -> str:
        key = tuple(fields)
        if key in self._contacts:
            return self._contacts[key]
        iid, element = self._new()
        self._contacts[key] = iid
        values: dict[str, list[str]] = {}
        for name, value in fields:
            values.setdefault(name, []).append(value)
        name = (values.get("name") or [""])[0]
        if name:
            self._names.setdefault(name, iid)
            self._add_person(element, name)
        for simple, tag in (("email", "Email"), ("phone", "Phone"), ("fax", "Fax"),
                            ("laboratory", "Laboratory"), ("department", "Department"),
                            ("institute", "Organization")):  # fmt: skip
            for value in values.get(simple, []):
                sub(element, tag, value)
        address = [k for k in ("address", "city", "state", "zip/postal_code", "country")
                   if k in values]  # fmt: skip
        if address:
            block = sub(element, "Address")
            tags = {"address": "Line", "city": "City", "state": "State",
                    "zip/postal_code": "Zip-Code", "country": "Country"}  # fmt: skip
            for part in address:
                for value in values[part]:
                    sub(block, tags[part], value)
        for value in values.get("web_link", []):
            sub(element, "Web-Link", value)
        return iid

    def author(self, name: str) -> str:
        if name in self._names:
            return self._names[name]
        iid, element = self._new()
        self._names[name] = iid
        self._add_person(element, name)
        return iid

    @staticmethod
    def _add_person(element: ET.Element, name: str) -> None:
        first, middle, last = split_person(name)
        person = sub(element, "Person")
        sub(person, "First", first)
        if middle:
            sub(person, "Middle", middle)
        sub(person, "Last", last)


def supplementary_type(url: str) -> str:
    text = url.strip()
    if not text or text.upper() == "NONE":
        return "unknown"
    if "/sra" in text.lower():
        return "SRA Experiment"
    name = text.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".gz", ".bz2", ".zip"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    stem, dot, ext = name.rpartition(".")
    return ext.upper() if dot and stem and ext.isalnum() else "unknown"


# --- reading ---------------------------------------------------------------------------------
def local_name(tag: object) -> str:
    """An element's tag without its namespace."""
    return str(tag).rsplit("}", 1)[-1]


def soft_field(name: str) -> str:
    """The SOFT field name a MINiML element is read as (``Source`` -> ``source_name``)."""
    return SOFT_FIELDS.get(name, name.lower().replace("-", "_"))


def text_lines(element: ET.Element) -> list[str]:
    """Text of an element as SOFT values: one per line, outer blank lines dropped."""
    text = "".join(element.itertext()) if len(element) else (element.text or "")
    text = text.strip()
    return [line.strip() for line in text.split("\n")] if text else []


def ascii_decimal(text: str) -> int | None:
    """``text`` as a non-negative integer if it is one written in ASCII digits (``str.isdigit``
    also accepts ``'²'``, which ``int`` rejects), else None."""
    text = text.strip()
    return int(text) if _DECIMAL.fullmatch(text) else None


def geo_date(text: str) -> str:
    """``2021-07-19`` -> ``Jul 19 2021``; other text unchanged."""
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*", text)
    if not match:
        return text.strip()
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return text.strip()
    return f"{_MONTHS[day.month - 1]} {day.day:02d} {day.year}"


class Contact:
    """A ``<Contributor>`` element: a person or an organization, with contact details."""

    def __init__(self, element: ET.Element) -> None:
        self.fields: dict[str, list[str]] = {}
        self.person: tuple[str, str, str] | None = None
        for child in element:
            name = local_name(child.tag)
            if name == "Person":
                parts = {local_name(p.tag): (p.text or "") for p in child}
                self.person = (
                    parts.get("First", ""),
                    parts.get("Middle", ""),
                    parts.get("Last", ""),
                )
            elif name == "Address":
                for part in child:
                    key = local_name(part.tag)
                    key = (
                        "zip/postal_code"
                        if key in ("Zip-Code", "Postal-Code")
                        else ("address" if key == "Line" else key.lower().replace("-", "_"))
                    )
                    self.fields.setdefault(key, []).extend(text_lines(part))
            else:
                key = "institute" if name == "Organization" else soft_field(name)
                self.fields.setdefault(key, []).extend(text_lines(child))

    @property
    def name(self) -> str:
        if self.person:
            return ",".join(self.person)
        return (self.fields.get("institute") or [""])[0]

    def contact_attributes(self) -> list[tuple[str, str]]:
        out = [("contact_name", self.name)]
        for key in CONTACT_ORDER:
            out.extend((f"contact_{key}", v) for v in self.fields.get(key, []))
        return out
