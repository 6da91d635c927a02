"""Write GEO records as a MINiML family document (XML, version 0.5.0 layout).

:func:`write_miniml` writes what GEO's ``view=full&form=xml`` gives for a family: the
``<MINiML>`` root in namespace ``http://www.ncbi.nlm.nih.gov/geo/info/MINiML``, then
``<Contributor>`` elements (one per distinct contact person or author), ``<Database>``, the
``<Platform>``\\ s, the ``<Sample>``\\ s and the ``<Series>``, with data tables inline as
``<Data-Table>`` / ``<Column>`` / ``<Internal-Data rows="n">`` (tab-separated rows, streamed).

SOFT attribute keys map back to MINiML elements as :mod:`exprhub.formats.miniml` maps them
forward:

- ``title`` -> ``Title``; ``geo_accession`` -> ``Accession``; ``status`` ("Public on <date>"),
  ``submission_date``, ``last_update_date`` -> ``Status`` with ``Release-Date``,
  ``Submission-Date``, ``Last-Update-Date`` (ISO dates);
- ``contact_*`` -> a ``Contributor`` (Person, Email, Phone, Fax, Laboratory, Department,
  Organization, Address/Line/City/State/Zip-Code/Country, Web-Link) and ``Contact-Ref``;
  ``contributor`` (and old ``Sample_author``) -> ``Contributor-Ref``;
- Sample: ``type``, ``channel_count``, per channel ``source_name``, ``organism`` (+ ``taxid``),
  ``characteristics`` (``"tag: value"`` -> ``Characteristics tag="tag"``), ``biomaterial_provider``,
  ``treatment_protocol``, ``growth_protocol``, ``molecule``, ``extract_protocol``, ``label``,
  ``label_protocol``; ``hyb_protocol``, ``scan_protocol``, ``description``,
  ``data_processing``, ``platform_id`` (``Platform-Ref``), ``library_*``, ``instrument_model``,
  ``anchor``, ``tag_count``, ``tag_length``;
- Platform: ``technology``, ``distribution``, ``organism`` (+ ``taxid``), ``manufacturer``,
  ``manufacture_protocol``, ``catalog_number``, ``web_link``, ``support``, ``coating``,
  ``description``, ``pubmed_id``;
- Series: ``pubmed_id``, ``web_link``, ``summary``, ``overall_design``, ``type``,
  ``sample_id`` (``Sample-Ref``);
- all: ``relation`` ("Type: target") -> ``Relation``, ``supplementary_file*`` ->
  ``Supplementary-Data`` (type from the file extension), repeated text attributes -> one element
  with one line per value; ``#COLUMN = description`` -> ``Column``/``Name``/``Description``.

Attributes with no MINiML element are not lost silently. Two groups:

*Derived* (dropped, since MINiML states them structurally and the reader rebuilds them):
``Platform_series_id``, ``Platform_sample_id``, ``Sample_series_id`` naming a series in the
document, ``Series_platform_id`` of platforms referenced by the document's samples,
``Series_platform_taxid``, ``Series_sample_taxid``, ``*_taxid`` used as ``Organism@taxid``,
``*_data_row_count`` (written as ``Internal-Data@rows``, even when the table holds fewer rows,
so the reader reports the same mismatch as for the SOFT file), and ``Database_ref``.

*Unmapped* (everything else, e.g. ``Sample_comment``, ``Series_variable_1``,
``Sample_series_id`` naming a series not in the document, a non-"Public on" status, and the
id of a submission-style record that is not an XML name): by default appended as
``!Key = value`` lines to the record's free text (``Description`` for samples and platforms,
``Summary`` for series); ``unmapped="skip"`` leaves them out, ``unmapped="error"`` raises.
Either way
:func:`write_miniml` returns every derived and unmapped attribute it did not write as an
element, so callers can report them.

References to records not in the document (a sample's platform, a series' samples) are written
as stub elements holding only the accession, as GEO does in its series view. DataSets (GDS) and
subsets have no MINiML form: passing one raises :class:`ValueError`.
"""

from __future__ import annotations

import gzip as gzip_module
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Literal

from exprhub.formats.miniml_elements import (
    BLOCKS,
    CHANNEL_ELEMENTS,
    CONTACT_ORDER,
    MINIML_NAMESPACE,
    ORDER,
    PLATFORM_ELEMENTS,
    SAMPLE_ELEMENTS,
    SERIES_ELEMENTS,
    Contributors,
    Unwritten,
    clean,
    iso_date,
    sub,
    supplementary_type,
)
from exprhub.records import Database, Platform, Record, Sample, Series, Table
from exprhub.records.model import is_accession

__all__ = ["MINIML_NAMESPACE", "Unwritten", "write_miniml"]

_HEADER = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n\n<MINiML\n'
    f'   xmlns="{MINIML_NAMESPACE}"\n'
    '   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
    f'   xsi:schemaLocation="{MINIML_NAMESPACE} {MINIML_NAMESPACE}.xsd"\n'
    '   version="0.5.0" >\n\n'
)
_MARKER = "@@exprhub-internal-data@@"
_ROWS_PER_CHUNK = 5000
_CHANNEL = re.compile(r"^(.*)_ch(\d+)$")


class _Document:
    """Builds the MINiML elements of a set of records."""

    def __init__(self, records: Sequence[Record], unmapped: str) -> None:
        self.records = records
        self.unmapped = unmapped
        self.report: list[Unwritten] = []
        self.contributors = Contributors()
        self.iids: dict[int, str] = {}
        used: set[str] = set()
        for record in records:
            iid = _iid(record.key, used)
            used.add(iid)
            self.iids[id(record)] = iid
        self.keys = {r.key: self.iids[id(r)] for r in records}
        self.series_keys = {r.key for r in records if isinstance(r, Series)}
        self.sample_platforms = {p for r in records if isinstance(r, Sample)
                                 for p in r.get_all("platform_id")}  # fmt: skip
        self.stubs: dict[str, list[str]] = {"Platform": [], "Sample": []}

    # --- bookkeeping --------------------------------------------------------------------------
    def note(self, record: Record, key: str, value: str, action: str) -> None:
        self.report.append(Unwritten(record.key, key, value, action))

    def leftover(self, record: Record, key: str, value: str, extra: list[str]) -> None:
        if self.unmapped == "error":
            raise ValueError(
                f"{record.key}: attribute {key} has no MINiML element (value {value!r}); "
                "pass unmapped='text' or 'skip' to write the document anyway"
            )
        if self.unmapped == "skip":
            self.note(record, key, value, "skipped")
            return
        self.note(record, key, value, "text")
        extra.append(f"!{key} = {value}")

    def ref(self, key: str, kind: str) -> str:
        if key in self.keys:
            return self.keys[key]
        if key not in self.stubs[kind]:
            self.stubs[kind].append(key)
        return _iid(key, set())

    # --- common parts -------------------------------------------------------------------------
    def head(
        self, record: Record, element: ET.Element, extra: list[str]
    ) -> list[tuple[str, str, str]]:
        """Status, Title, Accession; returns the attributes left for the entity."""
        status: dict[str, str] = {}
        rest: list[tuple[str, str, str]] = []
        titles: list[str] = []
        accessions: list[str] = []
        for key, value in record.attributes:
            name = record.field_name(key)
            if name == "title":
                titles.append(value)
            elif name == "geo_accession":
                accessions.append(value)
            elif name == "status" and "Release-Date" not in status:
                match = re.match(r"\s*public on\s+(.*)$", value, re.IGNORECASE)
                day = iso_date(match.group(1)) if match else None
                if day:
                    status["Release-Date"] = day
                else:
                    self.leftover(record, key, value, extra)
            elif name in ("submission_date", "last_update_date"):
                tag = "Submission-Date" if name == "submission_date" else "Last-Update-Date"
                day = iso_date(value)
                if day and tag not in status:
                    status[tag] = day
                else:
                    self.leftover(record, key, value, extra)
            else:
                rest.append((key, name, value))
        if status:
            block = sub(element, "Status", database="GEO")
            for tag in ("Submission-Date", "Release-Date", "Last-Update-Date"):
                if tag in status:
                    sub(block, tag, status[tag])
        for title in titles:
            sub(element, "Title", title)
        accession = accessions[0] if accessions else (record.id if is_accession(record.id) else "")
        if accession:
            sub(element, "Accession", accession, database="GEO")
        for value in accessions[1:]:
            self.leftover(record, "geo_accession", value, extra)
        return rest

    def contact_ref(
        self, record: Record, rest: list[tuple[str, str, str]], extra: list[str]
    ) -> tuple[str | None, list[tuple[str, str, str]]]:
        fields: list[tuple[str, str]] = []
        left: list[tuple[str, str, str]] = []
        for key, name, value in rest:
            if name.startswith("contact_"):
                field = name[len("contact_") :]
                if field == "name" or field in CONTACT_ORDER:
                    fields.append((field, value))
                else:
                    self.leftover(record, key, value, extra)
            else:
                left.append((key, name, value))
        if not fields:
            return None, left
        fields.sort(key=lambda f: -1 if f[0] == "name" else CONTACT_ORDER.index(f[0]))
        return self.contributors.contact(fields), left

    def text(
        self, element: ET.Element, name: str, values: list[str], depth: int, **attrib: str
    ) -> None:
        body = "\n".join(values)
        if name in BLOCKS:
            body = f"\n{body}\n{'  ' * depth}"
        sub(element, name, body, **attrib)

    def table(
        self, record: Record, element: ET.Element, extra: list[str], declared: list[tuple[str, str]]
    ) -> Table | None:
        table = record.table
        if not record.columns and table is None:
            for key, value in declared:
                if value.strip() not in ("", "0"):
                    self.leftover(record, key, value, extra)
                else:
                    self.note(record, key, value, "derived")
            return None
        rows = table.n_rows if table is not None else 0
        counts = [v.strip() for _, v in declared]
        if len(counts) == 1 and counts[0].isascii() and counts[0].isdigit():
            rows = int(counts[0])  # the declared count, as GEO writes it (chopped tables too)
            self.note(record, declared[0][0], declared[0][1], "derived")
        else:
            for key, value in declared:
                self.leftover(record, key, value, extra)
        block = sub(element, "Data-Table")
        names = table.names if table is not None else [n for n, _ in record.columns]
        descriptions = dict(record.columns)
        for position, name in enumerate(names, start=1):
            column = sub(block, "Column", position=str(position))
            sub(column, "Name", name)
            if descriptions.get(name, "").strip():
                sub(column, "Description", descriptions[name].strip())
        if table is not None:
            sub(block, "Internal-Data", _MARKER, rows=str(rows))
        return table


def _iid(key: str, used: set[str]) -> str:
    iid = re.sub(r"[^A-Za-z0-9_.-]", "_", key) or "record"
    if not re.match(r"[A-Za-z_]", iid):
        iid = f"_{iid}"
    base, n = iid, 1
    while iid in used:
        n += 1
        iid = f"{base}_{n}"
    return iid


def _channels(
    doc: _Document,
    record: Sample,
    element: ET.Element,
    rest: list[tuple[str, str, str]],
    extra: list[str],
) -> list[tuple[str, str, str]]:
    channels: dict[int, list[tuple[str, str, str]]] = {}
    left: list[tuple[str, str, str]] = []
    for key, name, value in rest:
        match = _CHANNEL.match(name)
        base, number = (match.group(1), int(match.group(2))) if match else (name, 1)
        if base in CHANNEL_ELEMENTS or base in ("organism", "characteristics", "taxid"):
            channels.setdefault(number, []).append((key, base, value))
        elif match:
            doc.leftover(record, key, value, extra)
        else:
            left.append((key, name, value))
    for number in sorted(channels):
        items = channels[number]
        channel = sub(element, "Channel", position=str(number))
        taxids = [v for _, b, v in items if b == "taxid"]
        grouped: dict[str, list[str]] = {}
        for _, base, value in items:
            grouped.setdefault(base, []).append(value)
        for base in ("source_name", "organism", "characteristics", "biomaterial_provider",
                     "treatment_protocol", "growth_protocol", "molecule", "extract_protocol",
                     "label", "label_protocol"):  # fmt: skip
            values = grouped.get(base, [])
            if base == "organism":
                for i, organism in enumerate(values):
                    attrib = {"taxid": taxids[i]} if i < len(taxids) else {}
                    sub(channel, "Organism", organism, **attrib)
            elif base == "characteristics":
                for value in values:
                    tag, sep, rest_text = value.partition(": ")
                    plain = tag.strip() == tag and rest_text.strip() == rest_text
                    if sep and tag and rest_text and plain:
                        doc.text(channel, "Characteristics", [rest_text], 3, tag=tag)
                    else:
                        doc.text(channel, "Characteristics", [value], 3)
            elif values:
                doc.text(channel, CHANNEL_ELEMENTS[base], values, 3)
        for key, base, value in items:
            if base == "taxid":
                organisms = len(grouped.get("organism", []))
                if taxids.index(value) < organisms:
                    doc.note(record, key, value, "derived")
                else:
                    doc.leftover(record, key, value, extra)
    return left


def _is_derived(doc: _Document, record: Record, name: str, value: str) -> bool:
    """Whether an attribute is stated structurally elsewhere in the document."""
    if isinstance(record, Platform):
        if name in ("series_id", "sample_id"):
            return True
        if name == "taxid":
            return record.get_all("taxid").index(value) < len(record.get_all("organism"))
    if isinstance(record, Sample):
        return name == "series_id" and value in doc.series_keys
    if isinstance(record, Series):
        if name in ("platform_taxid", "sample_taxid"):
            return True
        return name == "platform_id" and value in doc.sample_platforms
    return False


def _finish(
    doc: _Document,
    record: Record,
    element: ET.Element,
    rest: list[tuple[str, str, str]],
    mapping: dict[str, str],
    free_text: str,
    extra: list[str],
    contact: str | None,
) -> Table | None:
    """Write the remaining mapped elements in GEO's order, then refs, relations, table."""
    grouped: dict[str, list[str]] = {}
    contributors: list[str] = []
    supplementary: list[str] = []
    relations: list[tuple[str, str]] = []
    samples: list[str] = []
    platforms: list[str] = []
    instruments: list[str] = []
    declared: list[tuple[str, str]] = []
    for key, name, value in rest:
        if name in mapping:
            grouped.setdefault(mapping[name], []).append(value)
        elif name in ("contributor", "author"):
            contributors.append(value)
        elif name == "supplementary_file" or name.startswith("supplementary_file_"):
            supplementary.append(value)
        elif name == "relation":
            relation_type, sep, target = value.partition(": ")
            if sep:
                relations.append((relation_type.strip(), target.strip()))
            else:
                doc.leftover(record, key, value, extra)
        elif name == "sample_id" and isinstance(record, Series):
            if value.strip() in doc.keys:
                samples.append(value.strip())
            else:
                samples.extend(v for v in re.split(r"[,\s]+", value) if v)
        elif name == "platform_id" and isinstance(record, Sample):
            platforms.append(value.strip())
        elif name == "instrument_model" and isinstance(record, Sample):
            instruments.append(value)
        elif name == "data_row_count":
            declared.append((key, value))
        elif _is_derived(doc, record, name, value):
            doc.note(record, key, value, "derived")
        else:
            doc.leftover(record, key, value, extra)
    organisms = record.get_all("organism") if isinstance(record, Platform) else []
    taxids = record.get_all("taxid") if isinstance(record, Platform) else []
    table_element = ET.Element("tmp")
    table = doc.table(record, table_element, extra, declared)
    if extra:
        grouped.setdefault(free_text, []).extend(extra)
    for tag in ORDER[type(record).__name__]:
        if tag == "@organism":
            for i, organism in enumerate(organisms):
                attrib = {"taxid": taxids[i]} if i < len(taxids) else {}
                sub(element, "Organism", organism, **attrib)
        elif tag == "@platform":
            for platform in platforms:
                sub(element, "Platform-Ref", ref=doc.ref(platform, "Platform"))
        elif tag == "@instrument":
            for instrument in instruments:
                model = sub(element, "Instrument-Model")
                sub(model, "Predefined", instrument)
        elif tag in grouped:
            if tag == "Type":
                for value in grouped[tag]:
                    doc.text(element, tag, [value], 2)
            else:
                doc.text(element, tag, grouped[tag], 2)
    for position, name in enumerate(contributors, start=1):
        sub(element, "Contributor-Ref", ref=doc.contributors.author(name), position=str(position))
    if contact:
        sub(element, "Contact-Ref", ref=contact)
    for sample in samples:
        sub(element, "Sample-Ref", ref=doc.ref(sample, "Sample"))
    for url in supplementary:
        doc.text(element, "Supplementary-Data", [url], 2, type=supplementary_type(url))
    for relation_type, target in relations:
        sub(element, "Relation", type=relation_type, target=target)
    element.extend(list(table_element))
    return table


def _entity(doc: _Document, record: Record) -> tuple[ET.Element, Table | None]:
    tag = type(record).__name__
    element = ET.Element(tag, {"iid": doc.iids[id(record)]})
    extra: list[str] = []
    if not record.accession and doc.iids[id(record)] != record.id:
        doc.leftover(record, "id", record.id, extra)  # a name that is not an XML name
    rest = doc.head(record, element, extra)
    contact, rest = doc.contact_ref(record, rest, extra)
    if isinstance(record, Sample):
        for name in ("type", "channel_count"):
            values = [v for _, n, v in rest if n == name]
            if values:
                doc.text(element, SAMPLE_ELEMENTS[name], values[:1], 2)
                rest = [(k, n, v) for k, n, v in rest if n != name or v not in values[:1]]
        rest = _channels(doc, record, element, rest, extra)
        mapping = {k: v for k, v in SAMPLE_ELEMENTS.items() if k not in ("type", "channel_count")}
        free = "Description"
    elif isinstance(record, Platform):
        rest = [(k, n, v) for k, n, v in rest if n != "organism"]
        mapping, free = PLATFORM_ELEMENTS, "Description"
    else:
        mapping, free = SERIES_ELEMENTS, "Summary"
    table = _finish(doc, record, element, rest, mapping, free, extra, contact)
    return element, table


def _database(record: Database | None) -> ET.Element:
    element = ET.Element("Database", {"iid": "GEO"})
    values = {
        "name": "Gene Expression Omnibus (GEO)",
        "institute": "NCBI NLM NIH",
        "web_link": "http://www.ncbi.nlm.nih.gov/geo",
        "email": "geo@ncbi.nlm.nih.gov",
    }
    if record is not None:
        for key, value in record.attributes:
            name = record.field_name(key)
            if name in values:
                values[name] = value
    sub(element, "Name", values["name"])
    sub(element, "Public-ID", "GEO")
    sub(element, "Organization", values["institute"])
    sub(element, "Web-Link", values["web_link"])
    sub(element, "Email", values["email"])
    return element


def _escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\r", "&#13;")
    return clean(text)


def _serialize(element: ET.Element, write: Callable[[str], None], table: Table | None) -> None:
    ET.indent(element, space="  ", level=1)
    text = "  " + ET.tostring(element, encoding="unicode") + "\n\n"
    if table is None or _MARKER not in text:
        write(text)
        return
    before, after = text.split(_MARKER, 1)
    write(before + "\n")
    columns = [c.tolist() for c in table.columns]
    for start in range(0, table.n_rows, _ROWS_PER_CHUNK):
        stop = min(start + _ROWS_PER_CHUNK, table.n_rows)
        lines = ["\t".join(cells) for cells in zip(*(c[start:stop] for c in columns), strict=True)]
        write(_escape("\n".join(lines) + "\n"))
    write("      " + after)


def write_miniml(
    records: Iterable[Record],
    target: str | Path | IO[str] | IO[bytes],
    *,
    gzip: bool | None = None,
    unmapped: Literal["text", "skip", "error"] = "text",
) -> list[Unwritten]:
    """Write records (a family: Series, Platforms, Samples) as one MINiML document.

    Parameters
    ----------
    records
        Platform, Sample and Series records (a Database record sets the ``<Database>``
        element); written in GEO's order: platforms, samples, series.
    target
        A path, or an open text or binary stream (not closed).
    gzip
        Compress; by default when ``target`` is a path ending in ``.gz``.
    unmapped
        What to do with attributes that have no MINiML element (see the module docs):
        ``"text"`` appends them to Description/Summary, ``"skip"`` leaves them out,
        ``"error"`` raises :class:`ValueError`.

    Returns
    -------
    list[Unwritten]
        The attributes not written as elements (derived ones and unmapped ones).

    Raises
    ------
    ValueError
        For a record that MINiML cannot hold (DataSet, Subset, Annotation), or an unmapped
        attribute when ``unmapped="error"``.
    """
    if unmapped not in ("text", "skip", "error"):
        raise ValueError(f"unmapped must be 'text', 'skip' or 'error', not {unmapped!r}")
    items = list(records)
    database = next((r for r in items if isinstance(r, Database)), None)
    entities: list[Record] = []
    for record in items:
        if isinstance(record, Database):
            continue
        if not isinstance(record, Platform | Sample | Series):
            raise ValueError(
                f"{record.key}: MINiML has no element for a {type(record).__name__} record; "
                "expected Platform, Sample or Series records"
            )
        entities.append(record)
    ordered = [r for kind in (Platform, Sample, Series) for r in entities if isinstance(r, kind)]
    doc = _Document(ordered, unmapped)
    if database is not None:
        for key, value in database.attributes:
            if database.field_name(key) not in ("name", "institute", "web_link", "email"):
                doc.note(database, key, value, "derived")
    built = [_entity(doc, record) for record in ordered]
    if gzip is None:
        gzip = isinstance(target, str | Path) and str(target).lower().endswith(".gz")
    if isinstance(target, str | Path):
        with open(target, "wb") as raw:
            _write_all(doc, database, built, raw, gzip)
    else:
        _write_all(doc, database, built, target, gzip)
    return doc.report


def _write_all(
    doc: _Document,
    database: Database | None,
    built: list[tuple[ET.Element, Table | None]],
    target: IO[str] | IO[bytes],
    compress: bool,
) -> None:
    if isinstance(target, io.TextIOBase):
        if compress:
            raise ValueError("gzip output needs a path or a binary stream, not a text stream")
        _write_document(doc, database, built, target.write)
        return
    binary: IO[bytes] = target  # type: ignore[assignment]
    if compress:
        with gzip_module.GzipFile(fileobj=binary, mode="wb", mtime=0, filename="") as zipped:
            _write_document(doc, database, built, lambda s: zipped.write(s.encode("utf-8")))
    else:
        _write_document(doc, database, built, lambda s: binary.write(s.encode("utf-8")))


def _write_document(
    doc: _Document,
    database: Database | None,
    built: list[tuple[ET.Element, Table | None]],
    write: Callable[[str], object],
) -> None:
    def out(text: str) -> None:
        write(text)

    out(_HEADER)
    for element in doc.contributors.elements:
        _serialize(element, out, None)
    _serialize(_database(database), out, None)
    stubs = {kind: [ET.Element(kind, {"iid": _iid(key, set())}) for key in keys]
             for kind, keys in doc.stubs.items()}  # fmt: skip
    for kind, elements in stubs.items():
        for element, key in zip(elements, doc.stubs[kind], strict=True):
            sub(element, "Accession", key, database="GEO")
    for element in stubs["Platform"]:
        _serialize(element, out, None)
    for (element, table), record in zip(built, doc.records, strict=True):
        if isinstance(record, Series) and stubs["Sample"]:
            for stub in stubs["Sample"]:
                _serialize(stub, out, None)
            stubs["Sample"] = []
        _serialize(element, out, table)
    for stub in stubs["Sample"]:
        _serialize(stub, out, None)
    out("</MINiML>\n")
