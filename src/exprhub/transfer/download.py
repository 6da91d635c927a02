"""HTTP(S) downloads from NCBI's servers (or a mirror, or a test server): retried with
back-off, resumed with HTTP ranges after a broken connection (with ``If-Range``, so that a file
changed on the server since is downloaded whole again), checked against the announced size and
(for gzip) decompressed once end to end before anything uses them.

Nothing here knows GEO's or NCBI's file layout: :mod:`exprhub.ingest.fetch` (GEO records) and
:mod:`exprhub.refine.ncbi_genes` (NCBI gene tables) say which files to get.
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

from exprhub.storage.errors import HubError

__all__ = [
    "DEFAULT_BASE_URL",
    "USER_AGENT",
    "Downloader",
    "FetchError",
    "NotOnServer",
    "ProgressCallback",
    "RemoteFile",
]

DEFAULT_BASE_URL = "https://ftp.ncbi.nlm.nih.gov"
USER_AGENT = "exprhub (+https://github.com/exprhub)"

#: Called with (url, bytes so far, total bytes or None) while downloading.
ProgressCallback = Callable[[str, int, int | None], None]


class FetchError(HubError):
    """A record could not be downloaded; nothing was imported from it."""


class NotOnServer(FetchError):
    """The server has no such file (HTTP 404)."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: its path below the base URL and the local file name."""

    path: str
    name: str


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
