"""GEO MINiML (XML) reader: single documents and ``_family.xml.tgz`` bundles.

MINiML documents (namespace ``http://www.ncbi.nlm.nih.gov/geo/info/MINiML``, version 0.5 and
earlier forms, also accepted without a namespace) are mapped to the attribute keys GEO uses in
SOFT, so a record read from MINiML looks like the same record read from SOFT as far as both carry
the same facts:

- ``<Title>`` -> ``Sample_title``; ``<Accession>`` -> ``Sample_geo_accession``; ``<Status>``
  -> ``Sample_status`` (``Public on Jul 20 2021``), ``Sample_submission_date``,
  ``Sample_last_update_date`` (GEO's ``Mon DD YYYY`` form);
- ``<Channel position="n">`` children -> ``*_chN`` keys (``source_name_ch1``,
  ``organism_ch1`` + ``taxid_ch1``, ``characteristics_ch1 = "tag: value"``, ``molecule_ch1``,
  ``label_ch1``, protocols ...);
- ``<Platform-Ref>`` -> ``Sample_platform_id``; ``<Sample-Ref>`` -> ``Series_sample_id``;
  ``<Relation type target>`` -> ``*_relation = "Type: target"``; ``<Supplementary-Data>`` ->
  ``*_supplementary_file``; ``<Contributor-Ref>`` -> ``*_contributor = "First,Middle,Last"``;
  ``<Contact-Ref>`` -> ``*_contact_name``, ``*_contact_email`` ...;
- multi-line text (protocols, data processing, summary) gives one attribute per line, as SOFT;
- ``<Data-Table>`` columns -> ``record.columns`` (a ``Link-Prefix`` is kept SOFT-style as
  ``LINK_PRE:"..."``), rows -> ``record.table`` from ``<Internal-Data>`` or from the
  ``<External-Data>`` file (next to the XML, or inside the same ``.tgz`` bundle), and the
  declared row count -> ``*_data_row_count``.

Elements that only name an accession (``<Sample iid="GSM1"><Accession>GSM1</Accession>``, the
stubs of a series view) are references, not records, and are not yielded. Records come in
document order (contributors and the database first, the series last).

XML is parsed with defusedxml: DTDs, entity declarations and external references are refused
(:class:`~exprhub.formats.errors.FormatError`). Bytes are decoded before parsing (UTF-8, line by
line falling back to Windows-1252), since GEO files declaring UTF-8 may hold Windows-1252 bytes.

A bundle is read once as a stream (see :mod:`exprhub.formats.miniml_bundle`). Lines, table
cells and columns, attribute values, archive members and decompressed data beyond the reader's
:class:`~exprhub.formats.limits.Limits` are refused with a
:class:`~exprhub.formats.errors.LimitExceeded` naming the file (and member).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from exprhub.formats.errors import FormatError, LimitExceeded, ParseWarning
from exprhub.formats.limits import Limits
from exprhub.formats.miniml_bundle import (
    PendingTable,
    bundle_records,
    is_tar,
    member_key,
    read_sibling_table,
)
from exprhub.formats.miniml_elements import (
    MINIML_NAMESPACE,
    Contact,
    ascii_decimal,
    geo_date,
    local_name,
    soft_field,
    text_lines,
)
from exprhub.formats.source import decode_bytes, open_binary
from exprhub.formats.tab_block import parse_tab_block
from exprhub.records import Database, Platform, Record, Sample, Series, Table

__all__ = ["MINIML_NAMESPACE", "MinimlReader", "is_tar", "read_miniml"]

_CLASSES: dict[str, type[Record]] = {"Platform": Platform, "Sample": Sample, "Series": Series}
_CHUNK = 1 << 20


class _TextReader:
    """File-like ``read(n) -> str`` over a binary stream, decoding GEO text block by block.

    A line longer than ``limits.line_bytes`` raises LimitExceeded naming ``source``.
    """

    def __init__(self, stream: BinaryIO, limits: Limits, source: str) -> None:
        self._stream = stream
        self._pending = b""
        self._eof = False
        self._limits = limits
        self._source = source
        self._lines = 0  # lines handed out so far

    def read(self, size: int = -1) -> str:
        while not self._eof:
            block = self._stream.read(_CHUNK)
            if not block:
                self._eof = True
                break
            data = self._pending + block
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) > self._limits.line_bytes:
                    raise self._too_long(data, 0)
                self._pending = data
                continue
            self._pending = data[cut + 1 :]
            if len(data) > self._limits.line_bytes:
                self._check_lines(data, cut)
            self._lines += data.count(b"\n", 0, cut + 1)
            return decode_bytes(data[: cut + 1])
        data, self._pending = self._pending, b""
        return decode_bytes(data)

    def _check_lines(self, data: bytes, cut: int) -> None:
        """Raise LimitExceeded if a line of ``data`` (up to ``cut`` and the line after it) is
        longer than the limit."""
        limit = self._limits.line_bytes
        start = 0
        while start <= cut:
            end = data.find(b"\n", start, cut + 1)
            if end - start > limit:
                raise self._too_long(data, start)
            start = end + 1
        if len(data) - cut - 1 > limit:
            raise self._too_long(data, cut + 1)

    def _too_long(self, data: bytes, start: int) -> LimitExceeded:
        limit = self._limits.line_bytes
        return LimitExceeded(
            self._source,
            self._lines + data.count(b"\n", 0, start) + 1,
            f"line longer than {limit} bytes (limit {self._limits.describe('line_bytes')})",
        )


class MinimlReader:
    """Read GEO records from a MINiML document or a MINiML family bundle (``.tgz``).

    Parameters
    ----------
    path
        A ``.xml`` document (plain or gzip) or a ``.tgz`` / ``.tar.gz`` / ``.tar`` bundle; the
        kind is told by content.
    limits
        What the file may hold (default: :meth:`Limits.from_env`).

    Attributes
    ----------
    warnings
        Recoverable problems found while reading (filled as :meth:`records` runs).
    """

    def __init__(self, path: str | Path, limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or Limits.from_env()
        self.warnings: list[ParseWarning] = []
        self._contacts: dict[str, Contact] = {}
        self._ids: dict[str, str] = {}
        self._sample_platforms: dict[str, list[str]] = {}

    def _warn(self, message: str, line: int | None = None) -> None:
        self.warnings.append(ParseWarning(str(self.path), line, message))

    # --- entry points ---------------------------------------------------------------------
    def records(self) -> Iterator[Record]:
        """Yield the records of the document(s) in document order.

        Raises
        ------
        FormatError
            If the file is not MINiML, is not well-formed, or uses DTDs or entities.
        LimitExceeded
            If the file holds more than :attr:`limits` allow (names the file and limit).
        """
        try:
            with open_binary(self.path, limits=self.limits) as stream:
                bundle = is_tar(stream.read(512))
            if bundle:
                yield from bundle_records(
                    self.path,
                    self.limits,
                    parse_document=self._document,
                    attach=self._attach,
                    warn=self._warn,
                )
                return
            with open_binary(self.path, limits=self.limits) as stream:
                yield from self._document(stream, str(self.path), self._sibling_table)
        except LimitExceeded as error:
            raise error.located(self.path) from None

    def _sibling_table(self, pending: PendingTable) -> None:
        found = read_sibling_table(self.path, pending.file, self.limits)
        if found is None:
            name = member_key(pending.file)
            self._warn(f"{pending.record.id}: table file {name} not found next to the document")
            return
        candidate, data = found
        self._attach(pending, data, str(candidate))

    # --- one document ---------------------------------------------------------------------
    def _document(
        self, stream: BinaryIO, source: str, external: Callable[[PendingTable], None]
    ) -> Iterator[Record]:
        parser = DET.iterparse(  # type: ignore[no-untyped-call]
            _TextReader(stream, self.limits, source),
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        depth = 0
        root: ET.Element | None = None
        try:
            for event, element in parser:
                if event == "start":
                    depth += 1
                    if depth == 1:
                        root = element
                        self._check_root(element, source)
                    continue
                depth -= 1
                if depth != 1 or root is None:
                    continue
                record = self._top_level(element, external)
                root.remove(element)
                element.clear()
                if record is not None:
                    yield record
        except ET.ParseError as error:
            line = error.position[0] if error.position else None
            raise FormatError(
                source, line, f"malformed XML ({error}); expected a MINiML document"
            ) from None
        except DefusedXmlException as error:
            raise FormatError(
                source,
                None,
                f"unsafe XML refused ({error!r}): MINiML documents "
                "have no DTD, entity declarations or external references",
            ) from None
        if root is None:
            raise FormatError(source, None, "empty document; expected a MINiML document")

    def _check_root(self, element: ET.Element, source: str) -> None:
        name = local_name(element.tag)
        if name == "MINiML":
            return
        if name == "eSummaryResult":
            raise FormatError(
                source,
                None,
                "this is an Entrez eSummary result (search hits), "
                "not a GEO record; expected a MINiML document",
            )
        raise FormatError(
            source, None, f"root element <{name}>; expected <MINiML> (namespace {MINIML_NAMESPACE})"
        )

    def _top_level(
        self, element: ET.Element, external: Callable[[PendingTable], None]
    ) -> Record | None:
        name = local_name(element.tag)
        iid = element.get("iid", "")
        if name == "Contributor":
            self._contacts[iid] = Contact(element)
            return None
        if name == "Database":
            return self._database(element, iid)
        cls = _CLASSES.get(name)
        if cls is None:
            self._warn(f"ignored element <{name}>")
            return None
        children = [local_name(c.tag) for c in element]
        accession = next(
            (" ".join(text_lines(c)) for c in element if local_name(c.tag) == "Accession"), ""
        )
        record_id = accession or iid
        self._ids[iid] = record_id
        if set(children) <= {"Accession"}:
            return None  # a reference to a record described elsewhere
        return self._entity(cls, record_id, element, external)

    def _database(self, element: ET.Element, iid: str) -> Database:
        record = Database(iid or "GEO")
        keys = {
            "Name": "name",
            "Organization": "institute",
            "Web-Link": "web_link",
            "Email": "email",
        }
        for child in element:
            key = keys.get(local_name(child.tag))
            if key:
                for value in text_lines(child):
                    record.add(key, value)
        return record

    def _entity(
        self,
        cls: type[Record],
        record_id: str,
        element: ET.Element,
        external: Callable[[PendingTable], None],
    ) -> Record:
        record = cls(record_id)
        head: list[tuple[str, str]] = []
        body: list[tuple[str, str]] = []
        title: list[tuple[str, str]] = []
        accession: list[tuple[str, str]] = []
        table_element: ET.Element | None = None
        for child in element:
            name = local_name(child.tag)
            if (
                child.text
                and len(child.text) > self.limits.attribute_bytes
                and name != "Data-Table"
            ):
                self._check_text(record_id, [(soft_field(name), child.text)])
            if name == "Status":
                head = self._status(child)
            elif name == "Title":
                title = [("title", v) for v in text_lines(child)]
            elif name == "Accession":
                accession = [("geo_accession", v) for v in text_lines(child)]
            elif name == "Channel":
                body.extend(self._channel(child))
            elif name == "Organism":
                body.extend(self._organism(child, ""))
            elif name == "Contributor-Ref":
                contact = self._contact(child.get("ref", ""))
                if contact:
                    body.append(("contributor", contact.name))
            elif name == "Contact-Ref":
                contact = self._contact(child.get("ref", ""))
                if contact:
                    body.extend(contact.contact_attributes())
            elif name == "Relation":
                body.append(("relation", f"{child.get('type', '')}: {child.get('target', '')}"))
            elif name in ("Platform-Ref", "Sample-Ref", "Series-Ref"):
                ref = child.get("ref", "")
                body.append((soft_field(name), self._ids.get(ref, ref)))
            elif name == "Data-Table":
                table_element = child
            else:
                body.extend((soft_field(name), v) for v in text_lines(child))
        if isinstance(record, Series):
            body = self._series_platforms(body)
        if isinstance(record, Sample):
            platforms = [v for k, v in body if k == "platform_id"]
            self._sample_platforms[record_id] = platforms
        self._check_text(record_id, [*title, *accession, *head, *body])
        for key, value in [*title, *accession, *head, *body]:
            record.add(key, value)
        if table_element is not None:
            self._table(record, table_element, external)
        return record

    def _check_text(self, record_id: str, attributes: list[tuple[str, str]]) -> None:
        """Raise LimitExceeded if the values of one key (the lines of one element's text, as a
        rule) or all values together are longer than the limits (in characters: the text is
        decoded by now)."""
        limits = self.limits
        by_key: dict[str, int] = {}
        total = 0
        for key, value in attributes:
            by_key[key] = by_key.get(key, 0) + len(value)
            total += len(value)
        key, longest = max(by_key.items(), key=lambda item: item[1], default=("", 0))
        if longest > limits.attribute_bytes:
            raise LimitExceeded(
                self.path,
                None,
                f"{record_id}: attribute {key!r} has {longest} characters of text, more than "
                f"{limits.attribute_bytes} (limit {limits.describe('attribute_bytes')})",
            )
        if total > limits.record_attribute_bytes:
            raise LimitExceeded(
                self.path,
                None,
                f"{record_id}: the attributes add up to {total} characters, more than "
                f"{limits.record_attribute_bytes} "
                f"(limit {limits.describe('record_attribute_bytes')})",
            )

    def _status(self, element: ET.Element) -> list[tuple[str, str]]:
        dates = {local_name(c.tag): " ".join(text_lines(c)) for c in element}
        out: list[tuple[str, str]] = []
        if dates.get("Release-Date"):
            out.append(("status", f"Public on {geo_date(dates['Release-Date'])}"))
        if dates.get("Submission-Date"):
            out.append(("submission_date", geo_date(dates["Submission-Date"])))
        if dates.get("Last-Update-Date"):
            out.append(("last_update_date", geo_date(dates["Last-Update-Date"])))
        return out

    def _organism(self, element: ET.Element, suffix: str) -> list[tuple[str, str]]:
        out = [(f"organism{suffix}", v) for v in text_lines(element)]
        taxid = element.get("taxid")
        if taxid:
            out.append((f"taxid{suffix}", taxid))
        return out

    def _channel(self, element: ET.Element) -> list[tuple[str, str]]:
        suffix = f"_ch{element.get('position', '1')}"
        out: list[tuple[str, str]] = []
        for child in element:
            name = local_name(child.tag)
            if name == "Organism":
                out.extend(self._organism(child, suffix))
            elif name == "Characteristics":
                tag = (child.get("tag") or "").strip()
                for value in text_lines(child):
                    out.append((f"characteristics{suffix}", f"{tag}: {value}" if tag else value))
            else:
                out.extend((f"{soft_field(name)}{suffix}", v) for v in text_lines(child))
        return out

    def _contact(self, ref: str) -> Contact | None:
        contact = self._contacts.get(ref)
        if contact is None:
            self._warn(f"reference to unknown contributor {ref!r}")
        return contact

    def _series_platforms(self, body: list[tuple[str, str]]) -> list[tuple[str, str]]:
        platforms: list[str] = []
        for key, value in body:
            if key == "sample_id":
                for platform in self._sample_platforms.get(value, []):
                    if platform not in platforms:
                        platforms.append(platform)
        if not platforms or any(k == "platform_id" for k, _ in body):
            return body
        at = next((i for i, (k, _) in enumerate(body) if k == "relation"), len(body))
        return [*body[:at], *(("platform_id", p) for p in platforms), *body[at:]]

    # --- tables ---------------------------------------------------------------------------
    def _table(
        self, record: Record, element: ET.Element, external: Callable[[PendingTable], None]
    ) -> None:
        columns: list[tuple[int, str, str]] = []
        for child in element:
            name = local_name(child.tag)
            if name == "Column":
                parts = {local_name(p.tag): " ".join(text_lines(p)) for p in child}
                description = parts.get("Description", "")
                if parts.get("Link-Prefix"):
                    link = f'LINK_PRE:"{parts["Link-Prefix"]}"'
                    description = f"{description} {link}" if description else link
                position = child.get("position", "")
                order = ascii_decimal(position)
                if order is None:
                    if position.strip():
                        self._warn(
                            f"{record.id}: <Column position={position!r}> is not a column "
                            "number (expected 1, 2, ...); kept in document order"
                        )
                    order = len(columns) + 1
                columns.append((order, parts.get("Name", ""), description))
        columns.sort(key=lambda c: c[0])
        record.columns = [(name, description) for _, name, description in columns]
        for child in element:
            name = local_name(child.tag)
            rows_text = child.get("rows", "")
            rows = ascii_decimal(rows_text)
            if rows is None and rows_text.strip():
                self._warn(
                    f"{record.id}: <{name} rows={rows_text!r}> is not a row count "
                    "(expected 0, 1, 2, ...); ignored"
                )
            if rows is not None:
                record.add("data_row_count", str(rows))
            if name == "Internal-Data":
                text = "".join(child.itertext())
                text = re.sub(r"\A(?:[ \t]*\r?\n)+", "", text)
                text = re.sub(r"(?:\r?\n[ \t]*)+\Z", "\n", text)
                self._attach(PendingTable(record, "", rows), text.encode("utf-8"))
            elif name == "External-Data":
                file = " ".join(text_lines(child))
                external(PendingTable(record, file, rows))

    def _attach(self, pending: PendingTable, data: bytes, source: str | None = None) -> None:
        record = pending.record
        names = [name for name, _ in record.columns]
        where = source or str(self.path)
        if len(names) > self.limits.columns:
            raise LimitExceeded(
                where,
                None,
                f"{record.id}: table has {len(names)} columns, more than {self.limits.columns} "
                f"(limit {self.limits.describe('columns')})",
            )
        try:
            found, arrays = parse_tab_block(
                io.BytesIO(data), header=False, names=names, quoted=False, limits=self.limits
            )
        except LimitExceeded as error:
            # Internal-Data lines are not counted from the document's start: no line then
            line = error.line if source else None
            raise LimitExceeded(where, line, f"{record.id}: {error.message}") from None
        if arrays and arrays[0].shape[0] and [str(a[0]) for a in arrays[: len(names)]] == names:
            arrays = [a[1:] for a in arrays]  # the file repeats the header row
        if len(found) > len(names):
            self._warn(
                f"{record.id}: table rows have {len(found)} cells but "
                f"{len(names)} columns are declared"
            )
        table = Table(found, arrays) if found else Table(names, [[] for _ in names])
        if pending.rows is not None and table.n_rows != pending.rows:
            self._warn(f"{record.id}: table has {table.n_rows} rows, {pending.rows} declared")
        record.table = table


def read_miniml(path: str | Path) -> list[Record]:
    """Read all records of a MINiML document or bundle."""
    return list(MinimlReader(path).records())
