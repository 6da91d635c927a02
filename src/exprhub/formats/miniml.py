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

A bundle is read once as a stream; table files are kept (in memory up to
``_HELD_BYTES`` in all, beyond that in temporary files) only until the record naming them is
next in document order. Lines, table cells and columns, attribute values, archive members and
decompressed data beyond the reader's :class:`~exprhub.formats.limits.Limits` are refused with a
:class:`~exprhub.formats.errors.LimitExceeded` naming the file (and member).
"""

from __future__ import annotations

import io
import re
import shutil
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from exprhub.formats.archive import iter_members
from exprhub.formats.errors import FormatError, LimitExceeded, ParseWarning
from exprhub.formats.limits import Limits
from exprhub.formats.matrix import parse_tab_block
from exprhub.formats.source import decode_bytes, open_binary
from exprhub.records import Database, Platform, Record, Sample, Series, Table

__all__ = ["MINIML_NAMESPACE", "MinimlReader", "is_tar", "read_miniml"]

MINIML_NAMESPACE = "http://www.ncbi.nlm.nih.gov/geo/info/MINiML"

_CLASSES: dict[str, type[Record]] = {"Platform": Platform, "Sample": Sample, "Series": Series}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: MINiML element -> SOFT field name, where the plain lower-case/underscore rule is not it.
_FIELDS = {
    "Source": "source_name",
    "Hybridization-Protocol": "hyb_protocol",
    "Supplementary-Data": "supplementary_file",
    "Platform-Ref": "platform_id",
    "Sample-Ref": "sample_id",
    "Series-Ref": "series_id",
}
_CHUNK = 1 << 20
#: Bytes of a bundle's table files held in memory at most while they wait for their record;
#: more go to temporary files.
_HELD_BYTES = 1 << 26
#: A count or position: ASCII digits, short enough for int() and any real table.
_DECIMAL = re.compile(r"[0-9]{1,18}")


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _field(name: str) -> str:
    return _FIELDS.get(name, name.lower().replace("-", "_"))


def _lines(element: ET.Element) -> list[str]:
    """Text of an element as SOFT values: one per line, outer blank lines dropped."""
    text = "".join(element.itertext()) if len(element) else (element.text or "")
    text = text.strip()
    return [line.strip() for line in text.split("\n")] if text else []


def _decimal(text: str) -> int | None:
    """``text`` as a non-negative integer if it is one written in ASCII digits (``str.isdigit``
    also accepts ``'²'``, which ``int`` rejects), else None."""
    text = text.strip()
    return int(text) if _DECIMAL.fullmatch(text) else None


def _geo_date(text: str) -> str:
    """``2021-07-19`` -> ``Jul 19 2021``; other text unchanged."""
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*", text)
    if not match:
        return text.strip()
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return text.strip()
    return f"{_MONTHS[day.month - 1]} {day.day:02d} {day.year}"


def _member_key(file: str) -> str:
    """The name a table file named by ``<External-Data>`` has in a bundle (its last part)."""
    return PurePosixPath(file.replace("\\", "/")).name


def is_tar(head: bytes) -> bool:
    """Whether ``head`` (at least 262 bytes of decompressed data) starts a tar archive."""
    return len(head) >= 262 and head[257:262] == b"ustar"


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


class _Held:
    """A bundle's table file kept until the record naming it is next: its bytes, or a
    temporary file holding them."""

    def __init__(self, handle: BinaryIO, size: int, in_memory: bool) -> None:
        self.size = size
        self.in_memory = in_memory
        self._data: bytes | None = None
        self._file: BinaryIO | None = None
        if in_memory:
            self._data = handle.read()
        else:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
            shutil.copyfileobj(handle, self._file, _CHUNK)

    def read(self) -> bytes:
        if self._data is not None:
            return self._data
        assert self._file is not None
        self._file.seek(0)
        return self._file.read()

    def close(self) -> None:
        self._data = None
        if self._file is not None:
            self._file.close()
            self._file = None


class _Contact:
    """A ``<Contributor>`` element: a person or an organization, with contact details."""

    def __init__(self, element: ET.Element) -> None:
        self.fields: dict[str, list[str]] = {}
        self.person: tuple[str, str, str] | None = None
        for child in element:
            name = _local(child.tag)
            if name == "Person":
                parts = {_local(p.tag): (p.text or "") for p in child}
                self.person = (
                    parts.get("First", ""),
                    parts.get("Middle", ""),
                    parts.get("Last", ""),
                )
            elif name == "Address":
                for part in child:
                    key = _local(part.tag)
                    key = (
                        "zip/postal_code"
                        if key in ("Zip-Code", "Postal-Code")
                        else ("address" if key == "Line" else key.lower().replace("-", "_"))
                    )
                    self.fields.setdefault(key, []).extend(_lines(part))
            else:
                key = "institute" if name == "Organization" else _field(name)
                self.fields.setdefault(key, []).extend(_lines(child))

    @property
    def name(self) -> str:
        if self.person:
            return ",".join(self.person)
        return (self.fields.get("institute") or [""])[0]

    def contact_attributes(self) -> list[tuple[str, str]]:
        out = [("contact_name", self.name)]
        for key in (
            "email",
            "phone",
            "fax",
            "laboratory",
            "department",
            "institute",
            "address",
            "city",
            "state",
            "zip/postal_code",
            "country",
            "web_link",
        ):
            out.extend((f"contact_{key}", v) for v in self.fields.get(key, []))
        return out


class _Pending:
    """A record whose table is in an external file not read yet."""

    def __init__(self, record: Record, file: str, rows: int | None) -> None:
        self.record = record
        self.file = file
        self.rows = rows


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
        self._contacts: dict[str, _Contact] = {}
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
                yield from self._bundle_records()
                return
            with open_binary(self.path, limits=self.limits) as stream:
                yield from self._document(stream, str(self.path), self._sibling_table)
        except LimitExceeded as error:
            raise error.located(self.path) from None

    def _sibling_table(self, pending: _Pending) -> None:
        name = PurePosixPath(pending.file.replace("\\", "/")).name
        candidates = [self.path.parent / name, self.path.parent / f"{name}.gz"]
        limit = self.limits.member_bytes
        for candidate in candidates:
            if candidate.is_file():
                with open_binary(candidate, limits=self.limits) as stream:
                    data = stream.read(limit + 1)
                if len(data) > limit:
                    raise LimitExceeded(
                        candidate,
                        None,
                        f"table file holds more than {limit} bytes "
                        f"(limit {self.limits.describe('member_bytes')})",
                    )
                self._attach(pending, data, str(candidate))
                return
        self._warn(f"{pending.record.id}: table file {name} not found next to the document")

    def _bundle_records(self) -> Iterator[Record]:
        """Stream a tar bundle once: documents are parsed when reached, table files are kept
        when reached (see :class:`_Held`), and records are yielded in document order, each
        as soon as its tables are in, which are then attached."""
        held: dict[str, _Held] = {}  # table files kept, by name
        named: dict[int, list[_Pending]] = {}  # id(record) -> its external tables
        wanted: dict[str, int] = {}  # table file -> records naming it not yet given it
        queue: deque[Record] = deque()
        in_memory = 0

        def collect(pending: _Pending) -> None:
            named.setdefault(id(pending.record), []).append(pending)
            key = _member_key(pending.file)
            wanted[key] = wanted.get(key, 0) + 1

        def give(record: Record) -> None:
            nonlocal in_memory
            for pending in named.pop(id(record), []):
                key = _member_key(pending.file)
                wanted[key] -= 1
                table = held.get(key)
                if table is None:
                    self._warn(f"{record.id}: table file {key} not found in the bundle")
                    continue
                self._attach(pending, table.read(), f"{self.path}!{key}")
                if not wanted[key]:
                    in_memory -= table.size if table.in_memory else 0
                    table.close()
                    del held[key]

        def ready() -> Iterator[Record]:
            while queue and all(_member_key(p.file) in held for p in named.get(id(queue[0]), ())):
                record = queue.popleft()
                give(record)
                yield record

        with open_binary(self.path, limits=self.limits) as raw:
            try:
                for member, handle in iter_members(raw, self.path, self.limits, "tar bundle"):
                    if handle is None:
                        continue
                    key = PurePosixPath(member.name).name
                    if key.lower().endswith(".xml"):
                        source = f"{self.path}!{member.name}"
                        queue.extend(self._document(handle, source, collect))  # type: ignore[arg-type]
                    elif wanted.get(key) or key.lower().endswith(".txt"):
                        fits = in_memory + member.size <= _HELD_BYTES
                        held[key] = _Held(handle, member.size, fits)  # type: ignore[arg-type]
                        in_memory += member.size if fits else 0
                    yield from ready()
            except tarfile.TarError as error:
                raise FormatError(self.path, None, f"unreadable tar bundle ({error})") from None
            finally:
                for table in held.values():
                    table.close()
        while queue:
            record = queue.popleft()
            give(record)
            yield record

    # --- one document ---------------------------------------------------------------------
    def _document(
        self, stream: BinaryIO, source: str, external: Callable[[_Pending], None]
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
        name = _local(element.tag)
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
        self, element: ET.Element, external: Callable[[_Pending], None]
    ) -> Record | None:
        name = _local(element.tag)
        iid = element.get("iid", "")
        if name == "Contributor":
            self._contacts[iid] = _Contact(element)
            return None
        if name == "Database":
            return self._database(element, iid)
        cls = _CLASSES.get(name)
        if cls is None:
            self._warn(f"ignored element <{name}>")
            return None
        children = [_local(c.tag) for c in element]
        accession = next((" ".join(_lines(c)) for c in element if _local(c.tag) == "Accession"), "")
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
            key = keys.get(_local(child.tag))
            if key:
                for value in _lines(child):
                    record.add(key, value)
        return record

    def _entity(
        self,
        cls: type[Record],
        record_id: str,
        element: ET.Element,
        external: Callable[[_Pending], None],
    ) -> Record:
        record = cls(record_id)
        head: list[tuple[str, str]] = []
        body: list[tuple[str, str]] = []
        title: list[tuple[str, str]] = []
        accession: list[tuple[str, str]] = []
        table_element: ET.Element | None = None
        for child in element:
            name = _local(child.tag)
            if (
                child.text
                and len(child.text) > self.limits.attribute_bytes
                and name != "Data-Table"
            ):
                self._check_text(record_id, [(_field(name), child.text)])
            if name == "Status":
                head = self._status(child)
            elif name == "Title":
                title = [("title", v) for v in _lines(child)]
            elif name == "Accession":
                accession = [("geo_accession", v) for v in _lines(child)]
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
                body.append((_field(name), self._ids.get(ref, ref)))
            elif name == "Data-Table":
                table_element = child
            else:
                body.extend((_field(name), v) for v in _lines(child))
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
        dates = {_local(c.tag): " ".join(_lines(c)) for c in element}
        out: list[tuple[str, str]] = []
        if dates.get("Release-Date"):
            out.append(("status", f"Public on {_geo_date(dates['Release-Date'])}"))
        if dates.get("Submission-Date"):
            out.append(("submission_date", _geo_date(dates["Submission-Date"])))
        if dates.get("Last-Update-Date"):
            out.append(("last_update_date", _geo_date(dates["Last-Update-Date"])))
        return out

    def _organism(self, element: ET.Element, suffix: str) -> list[tuple[str, str]]:
        out = [(f"organism{suffix}", v) for v in _lines(element)]
        taxid = element.get("taxid")
        if taxid:
            out.append((f"taxid{suffix}", taxid))
        return out

    def _channel(self, element: ET.Element) -> list[tuple[str, str]]:
        suffix = f"_ch{element.get('position', '1')}"
        out: list[tuple[str, str]] = []
        for child in element:
            name = _local(child.tag)
            if name == "Organism":
                out.extend(self._organism(child, suffix))
            elif name == "Characteristics":
                tag = (child.get("tag") or "").strip()
                for value in _lines(child):
                    out.append((f"characteristics{suffix}", f"{tag}: {value}" if tag else value))
            else:
                out.extend((f"{_field(name)}{suffix}", v) for v in _lines(child))
        return out

    def _contact(self, ref: str) -> _Contact | None:
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
        self, record: Record, element: ET.Element, external: Callable[[_Pending], None]
    ) -> None:
        columns: list[tuple[int, str, str]] = []
        for child in element:
            name = _local(child.tag)
            if name == "Column":
                parts = {_local(p.tag): " ".join(_lines(p)) for p in child}
                description = parts.get("Description", "")
                if parts.get("Link-Prefix"):
                    link = f'LINK_PRE:"{parts["Link-Prefix"]}"'
                    description = f"{description} {link}" if description else link
                position = child.get("position", "")
                order = _decimal(position)
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
            name = _local(child.tag)
            rows_text = child.get("rows", "")
            rows = _decimal(rows_text)
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
                self._attach(_Pending(record, "", rows), text.encode("utf-8"))
            elif name == "External-Data":
                file = " ".join(_lines(child))
                external(_Pending(record, file, rows))

    def _attach(self, pending: _Pending, data: bytes, source: str | None = None) -> None:
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
