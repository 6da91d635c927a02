"""A local HTTP server that serves ../shared/fixtures in NCBI GEO's download layout (and any
extra files, such as NCBI gene tables, at the paths given).

It honours Range and If-Range requests (files carry their mtime as Last-Modified), lists the
series matrix directories like NCBI does, and can be told to break the first transfer of a file
half-way so that resuming is exercised.
"""

from __future__ import annotations

import email.utils
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def ncbi_layout(fixtures: Path) -> dict[str, Path]:
    """Map NCBI paths (and acc.cgi accessions) to fixture files."""
    geo = fixtures
    return {
        "/geo/series/GSE1nnn/GSE1623/soft/GSE1623_family.soft.gz": geo
        / "gemma/GSE1623_family.soft.txt.gz",
        "/geo/series/GSE2nnn/GSE2870/soft/GSE2870_family.soft.gz": geo
        / "gemma/GSE2870_family.soft.gz",
        "/geo/series/GSE3nnn/GSE3791/soft/GSE3791_family.soft.gz": geo
        / "gemma/GSE3791_family.soft.gz",
        "/geo/series/GSE11nnn/GSE11897/soft/GSE11897_family.soft.gz": geo
        / "gemma/GSE11897_family.soft.gz",
        "/geo/series/GSE7nnn/GSE7774/soft/GSE7774_family.soft.gz": geo
        / "gemma/GSE7774_family.soft.gz",
        "/geo/datasets/GDS1nnn/GDS1794/soft/GDS1794.soft.gz": geo / "gemma/GDS1794.soft.gz",
        "/geo/datasets/GDS3nnn/GDS3254/soft/GDS3254.soft.gz": geo / "gemma/GDS3254.soft.gz",
        "/geo/series/GSE99nnn/GSE99709/matrix/GSE99709_series_matrix.txt.gz": geo
        / "phantasus/GSE99709_series_matrix.txt.gz",
        "/geo/datasets/GDSnnn/GDS507/soft/GDS507.soft.gz": geo / "geoquery/GDS507.soft.gz",
        "/geo/platforms/GPLnnn/GPL97/annot/GPL97.annot.gz": geo / "geoquery/GPL97.annot.gz",
        "acc:GSM11805": geo / "geoquery/GSM11805.txt.gz",
        "acc:GPL96": geo / "geoquery/GPL96.txt.gz",
    }


class GeoServer:
    """Serve fixtures on 127.0.0.1 in a background thread (use as a context manager)."""

    def __init__(self, fixtures: Path, extra: dict[str, Path] | None = None) -> None:
        self.files = {**ncbi_layout(fixtures), **(extra or {})}
        self.break_once: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parsed = urllib.parse.urlparse(self.path)
                server.requests.append((self.path, self.headers.get("Range")))
                key = parsed.path
                if parsed.path == "/geo/query/acc.cgi":
                    key = "acc:" + urllib.parse.parse_qs(parsed.query).get("acc", [""])[0]
                if parsed.path == "/geo/download/":  # NCBI-generated RNA-seq counts
                    key = "download:" + urllib.parse.parse_qs(parsed.query).get("file", [""])[0]
                if key.endswith("/matrix/"):
                    names = [Path(p).name for p in server.files if p.startswith(key)]
                    if not names:
                        self.send_error(404)
                        return
                    body = "".join(f'<a href="{n}">{n}</a>\n' for n in names).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                path = server.files.get(key)
                if path is None:
                    self.send_error(404)
                    return
                data = path.read_bytes()
                modified = email.utils.formatdate(path.stat().st_mtime, usegmt=True)
                start = 0
                header = self.headers.get("Range")
                if_range = self.headers.get("If-Range")
                if if_range is not None and if_range != modified:
                    header = None  # changed since: the whole file
                if header and header.startswith("bytes="):
                    start = int(header[6:].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Last-Modified", modified)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if key in server.break_once:
                    server.break_once.discard(key)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> GeoServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
