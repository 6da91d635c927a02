"""Element tables and building blocks of the MINiML writer (:mod:`exprhub.formats.miniml_writer`):
which SOFT fields become which MINiML elements, contributors, and small XML helpers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from exprhub.records.model import parse_geo_date

__all__ = ["Unwritten"]

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
