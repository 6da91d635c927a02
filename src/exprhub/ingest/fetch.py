"""Download GEO records from NCBI's public HTTPS layout, then import them.

Where files live (relative to the base URL, default ``https://ftp.ncbi.nlm.nih.gov``)::

    geo/series/GSE1nnn/GSE1623/soft/GSE1623_family.soft.gz
    geo/series/GSE1nnn/GSE1623/matrix/GSE1623_series_matrix.txt.gz   (or GSE1623-GPL96_...)
    geo/series/GSE1nnn/GSE1623/miniml/GSE1623_family.xml.tgz
    geo/datasets/GDSnnn/GDS507/soft/GDS507.soft.gz
    geo/platforms/GPLnnn/GPL96/annot/GPL96.annot.gz
    geo/query/acc.cgi?acc=GPL96&targ=self&form=text&view=full        (platforms, samples)

Downloads are retried with back-off, resumed with HTTP ranges after a broken connection (with
``If-Range``, so that a file changed on the server since is downloaded whole again), checked
against the announced size and (for gzip) decompressed once end to end before
anything is imported.

Companion files: after a record is imported, each of its platforms' GEO annotation file
(``.annot.gz``, GEO's own probe -> Entrez Gene mapping) is fetched when the hub has none yet,
and a DataSet's or sample's platform record when the hub lacks it. GEO has annotation files
only for some platforms; a missing one (HTTP 404) is reported, not an error.
"""

from __future__ import annotations

import gzip
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from exprhub.hub import Hub, HubError, RecordNotFound
from exprhub.ingest.importer import ImportResult, RecordCallback, import_file
from exprhub.records import RecordType, parse_accession
from exprhub.records.model import DataSet

DEFAULT_BASE_URL = "https://ftp.ncbi.nlm.nih.gov"
FORMATS = ("soft", "matrix", "miniml", "annot")
USER_AGENT = "exprhub (+https://github.com/exprhub)"

#: Called with (url, bytes so far, total bytes or None) while downloading.
ProgressCallback = Callable[[str, int, int | None], None]


#: Called with one line for the user (a companion file GEO does not have, say).
NoticeCallback = Callable[[str], None]


class FetchError(HubError):
    """A record could not be downloaded; nothing was imported from it."""


class NotOnServer(FetchError):
    """The server has no such file (HTTP 404)."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: its path below the base URL and the local file name."""

    path: str
    name: str


def _folder(accession: str) -> str:
    acc = parse_accession(accession)
    digits = str(acc.number)
    return f"{acc.type.value}{digits[:-3]}nnn"


def remote_files(accession: str, format: str = "soft") -> list[RemoteFile] | str:
    """Files that hold ``accession`` in ``format``; a string is a directory to list first
    (series matrix files, one per platform).

    Raises
    ------
    ValueError
        For a malformed accession or a format GEO does not offer for that record type.
    """
    acc = parse_accession(accession)
    key = str(acc)
    kind = acc.type
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    if kind is RecordType.SERIES:
        base = f"geo/series/{_folder(key)}/{key}"
        if format == "soft":
            return [RemoteFile(f"{base}/soft/{key}_family.soft.gz", f"{key}_family.soft.gz")]
        if format == "miniml":
            return [RemoteFile(f"{base}/miniml/{key}_family.xml.tgz", f"{key}_family.xml.tgz")]
        if format == "matrix":
            return f"{base}/matrix/"
    if kind is RecordType.DATASET and format == "soft":
        path = f"geo/datasets/{_folder(key)}/{key}/soft/{key}.soft.gz"
        return [RemoteFile(path, f"{key}.soft.gz")]
    if kind is RecordType.PLATFORM and format == "annot":
        path = f"geo/platforms/{_folder(key)}/{key}/annot/{key}.annot.gz"
        return [RemoteFile(path, f"{key}.annot.gz")]
    if kind in (RecordType.PLATFORM, RecordType.SAMPLE) and format == "soft":
        query = urllib.parse.urlencode({"acc": key, "targ": "self", "form": "text", "view": "full"})
        return [RemoteFile(f"geo/query/acc.cgi?{query}", f"{key}.soft")]
    raise ValueError(f"GEO offers no {format} download for {kind.label} records like {key}")


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links += [v for k, v in attrs if k == "href" and v]


class Downloader:
    """HTTP(S) downloads with retries, resume and integrity checks.

    Parameters
    ----------
    base_url
        Root of NCBI's layout (or a mirror / test server).
    directory
        Where partial and finished downloads are kept.
    retries
        Attempts per file after the first one.
    backoff
        Seconds before the first retry; doubles each time.
    """

    def __init__(
        self,
        base_url: str,
        directory: Path,
        *,
        retries: int = 4,
        backoff: float = 0.5,
        timeout: float = 60.0,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.directory = directory
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.progress = progress

    def url(self, path: str) -> str:
        """Absolute URL of a path below the base URL."""
        return urllib.parse.urljoin(self.base_url, path)

    def list_directory(self, path: str, pattern: str) -> list[str]:
        """File names in a directory listing that match ``pattern``."""
        url = self.url(path)
        try:
            with urllib.request.urlopen(self._request(url), timeout=self.timeout) as response:
                html = response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as exc:
            raise self._http_error(url, exc) from None
        except (urllib.error.URLError, OSError) as exc:
            raise FetchError(f"cannot reach {url}: {_reason(exc)}") from None
        parser = _LinkParser()
        parser.feed(html)
        names = [Path(urllib.parse.urlparse(link).path).name for link in parser.links]
        return sorted({n for n in names if re.fullmatch(pattern, n)})

    def _request(
        self, url: str, start: int = 0, validator: str | None = None
    ) -> urllib.request.Request:
        headers = {"User-Agent": USER_AGENT}
        if start:
            headers["Range"] = f"bytes={start}-"
            if validator:
                # the rest of the same file, or all of it if it changed since (NCBI's gene files
                # are rebuilt daily; appending a new version's tail would corrupt the download)
                headers["If-Range"] = validator
        return urllib.request.Request(url, headers=headers)

    @staticmethod
    def _http_error(url: str, exc: urllib.error.HTTPError) -> FetchError:
        if exc.code == 404:
            return NotOnServer(f"not found on the server (HTTP 404): {url}")
        return FetchError(f"HTTP {exc.code} {exc.reason} for {url}")

    def download(self, remote: RemoteFile) -> Path:
        """Download one file (resuming a partial one); return the finished local path.

        Raises
        ------
        FetchError
            On HTTP errors such as 404, after exhausting retries, or when the file is
            shorter than announced or its gzip stream is corrupt.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / remote.name
        partial = target.with_name(target.name + ".part")
        url = self.url(remote.path)
        attempt = 0
        while True:
            try:
                self._transfer(url, partial)
                break
            except urllib.error.HTTPError as exc:
                if exc.code == 416 and partial.exists():  # already complete
                    break
                if exc.code < 500 and exc.code != 429:
                    partial.unlink(missing_ok=True)
                    raise self._http_error(url, exc) from None
                failure: Exception = exc
            except (urllib.error.URLError, OSError, _Truncated) as exc:
                failure = exc
            attempt += 1
            if attempt > self.retries:
                raise FetchError(
                    f"download of {url} failed after {attempt} attempts: {_reason(failure)}"
                ) from None
            time.sleep(self.backoff * 2 ** (attempt - 1))
        _verify(partial, remote.name)
        partial.replace(target)
        _validator_path(partial).unlink(missing_ok=True)
        return target

    def _transfer(self, url: str, partial: Path) -> None:
        start = partial.stat().st_size if partial.exists() else 0
        stamp = _validator_path(partial)
        validator = stamp.read_text().strip() if start and stamp.exists() else None
        request = self._request(url, start, validator)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            status = response.status
            length = response.headers.get("Content-Length")
            if start and status != 206:  # server ignored the range, or the file changed
                start = 0
            if not start:
                current = response.headers.get("ETag") or response.headers.get("Last-Modified")
                if current:
                    stamp.write_text(current)
                else:
                    stamp.unlink(missing_ok=True)
            total = _total_size(response.headers.get("Content-Range"), length, start)
            mode = "ab" if start else "wb"
            received = start
            with partial.open(mode) as out:
                while block := response.read(1 << 16):
                    out.write(block)
                    received += len(block)
                    if self.progress is not None:
                        self.progress(url, received, total)
        if total is not None and received < total:
            raise _Truncated(f"connection closed after {received} of {total} bytes")


class _Truncated(OSError):
    pass


def _validator_path(partial: Path) -> Path:
    """Where the ETag / Last-Modified of a partial download is kept for resuming it."""
    return partial.with_name(partial.name + ".validator")


def _total_size(content_range: str | None, length: str | None, start: int) -> int | None:
    if content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isascii() and total.isdigit() else None
    if length and length.isascii() and length.isdigit():
        return start + int(length)
    return None


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__


def _verify(path: Path, name: str) -> None:
    with path.open("rb") as handle:
        magic = handle.read(2)
    if magic != b"\x1f\x8b":
        if path.stat().st_size == 0:
            raise FetchError(f"{name}: the server sent an empty file")
        return
    try:
        with gzip.open(path, "rb") as stream:
            while stream.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        path.unlink(missing_ok=True)
        raise FetchError(f"{name}: downloaded gzip data is corrupt ({exc})") from None


def platforms_of(hub: Hub, accession: str) -> list[str]:
    """The platforms of a stored record (a platform is its own); empty when unknown."""
    acc = parse_accession(accession)
    key = str(acc)
    if acc.type is RecordType.PLATFORM:
        return [key]
    if acc.type is RecordType.DATASET:
        if not hub.has(key, RecordType.DATASET):
            return []
        record = hub.record(key, RecordType.DATASET, table=False)
        platform = record.platform_id if isinstance(record, DataSet) else None
        return [platform] if platform else []
    try:
        return list(hub.related(key).get("platform", []))
    except RecordNotFound:
        return []


def fetch(
    hub: Hub,
    accessions: list[str],
    *,
    base_url: str = DEFAULT_BASE_URL,
    format: str = "soft",
    progress: ProgressCallback | None = None,
    on_record: RecordCallback | None = None,
    keep_downloads: bool = False,
    annotations: bool = True,
    on_notice: NoticeCallback | None = None,
) -> list[ImportResult]:
    """Download each accession in ``format`` and import it (one transaction per file).

    With ``annotations``, each record's platforms come along (see the module docs): their GEO
    annotation files, and the platform record of a DataSet or sample when the hub lacks it.
    ``format="annot"`` fetches only annotation files: of a platform, or of the platforms the
    hub knows for a series, DataSet or sample.

    Raises
    ------
    FetchError
        If an accession cannot be downloaded; accessions before it stay imported.
    ValueError
        For a malformed accession or an unavailable format.
    """
    downloader = Downloader(base_url, hub.home / "downloads", progress=progress)
    results: list[ImportResult] = []
    notice = on_notice or (lambda _message: None)

    def download_and_import(remote: RemoteFile) -> None:
        local = downloader.download(remote)
        try:
            results.append(import_file(hub, local, on_record=on_record))
        finally:
            if not keep_downloads:
                local.unlink(missing_ok=True)

    companions_done: set[str] = set()
    for accession in accessions:
        if format == "annot" and parse_accession(accession).type is not RecordType.PLATFORM:
            platforms = platforms_of(hub, accession)
            if not platforms:
                raise FetchError(
                    f"the hub knows no platform of {accession}; fetch {accession} first"
                )
            for platform in platforms:
                _fetch_annotation(platform, download_and_import, notice)
            continue
        found = remote_files(accession, format)
        if isinstance(found, str):
            names = downloader.list_directory(found, r".+_series_matrix\.txt\.gz")
            if not names:
                raise FetchError(f"no series matrix files listed at {downloader.url(found)}")
            found = [RemoteFile(found + n, n) for n in names]
        for remote in found:
            download_and_import(remote)
        if not annotations or format == "annot":
            continue
        for platform in platforms_of(hub, accession):
            if platform in companions_done:
                continue
            companions_done.add(platform)
            if not hub.has(platform, RecordType.PLATFORM):
                record_files = remote_files(platform, "soft")
                assert isinstance(record_files, list)
                try:
                    download_and_import(record_files[0])
                except NotOnServer:
                    notice(f"{platform}: GEO sent no platform record")
            if hub.annotation(platform, table=False) is None:
                _fetch_annotation(platform, download_and_import, notice)
    return results


def _fetch_annotation(
    platform: str, download_and_import: Callable[[RemoteFile], None], notice: NoticeCallback
) -> None:
    remote = remote_files(platform, "annot")
    assert isinstance(remote, list)
    try:
        download_and_import(remote[0])
    except NotOnServer:
        notice(f"{platform}: GEO has no annotation file ({remote[0].name})")
