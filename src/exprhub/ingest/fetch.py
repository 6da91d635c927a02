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

NCBI-generated RNA-seq counts: after a series is imported whose samples have no values and are
human or mouse, its ``<GSE>_raw_counts_<build>_NCBI.tsv.gz`` (``GRCh38.p13`` for human,
``GRCm39`` for mouse) is fetched from GEO's download service
(``https://www.ncbi.nlm.nih.gov/geo/download/?type=rnaseq_counts&acc=GSE...&format=file&file=...``;
with another base URL, ``<base>/geo/download/?...``) and attached to the series' samples
(:mod:`exprhub.ingest.counts_import`). GEO has such counts only for some series; a missing
file is reported, not an error.

Companion files: after a record is imported, each of its platforms' GEO annotation file
(``.annot.gz``, GEO's own probe -> Entrez Gene mapping) is fetched when the hub has none yet,
and a DataSet's or sample's platform record when the hub lacks it. GEO has annotation files
only for some platforms; a missing one (HTTP 404) is reported, not an error.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from exprhub.hub import COUNTS_KIND, Hub, RecordNotFound
from exprhub.ingest.counts_import import import_counts_table
from exprhub.ingest.importer import ImportResult, RecordCallback, import_file
from exprhub.records import RecordType, parse_accession
from exprhub.records.model import DataSet
from exprhub.transfer.download import (
    DEFAULT_BASE_URL,
    Downloader,
    FetchError,
    NotOnServer,
    ProgressCallback,
    RemoteFile,
)

FORMATS = ("soft", "matrix", "miniml", "annot")

#: Called with one line for the user (a companion file GEO does not have, say).
NoticeCallback = Callable[[str], None]


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


#: NCBI's GEO service for generated RNA-seq counts (not on the FTP host).
NCBI_COUNTS_SERVICE = "https://www.ncbi.nlm.nih.gov/"
#: The genome build of NCBI's generated counts, by organism.
NCBI_COUNTS_BUILDS = {"Homo sapiens": "GRCh38.p13", "Mus musculus": "GRCm39"}


def ncbi_counts_file(series: str, organism: str, base_url: str = DEFAULT_BASE_URL) -> RemoteFile:
    """Where GEO serves the NCBI-generated raw counts of a human or mouse series.

    Raises
    ------
    ValueError
        For an organism NCBI generates no counts for.
    """
    build = NCBI_COUNTS_BUILDS.get(organism)
    if build is None:
        raise ValueError(f"NCBI generates RNA-seq counts for human and mouse, not {organism!r}")
    name = f"{series}_raw_counts_{build}_NCBI.tsv.gz"
    query = urllib.parse.urlencode(
        {"type": "rnaseq_counts", "acc": series, "format": "file", "file": name}
    )
    host = NCBI_COUNTS_SERVICE if base_url.rstrip("/") == DEFAULT_BASE_URL else ""
    return RemoteFile(f"{host}geo/download/?{query}", name)


def _series_without_values(hub: Hub, series: str) -> str | None:
    """The organism of a series whose samples have no values and no counts yet, when NCBI
    generates counts for it; else None."""
    samples = [k for k in hub.samples_of(series) if k.upper().startswith("GSM")]
    if not samples or hub.current_columns(samples, ("submitted", COUNTS_KIND)):
        return None
    organisms = {o for f in hub.sample_facts(samples).values() for o in f.organisms}
    if len(organisms) != 1:
        return None
    organism = organisms.pop()
    return organism if organism in NCBI_COUNTS_BUILDS else None


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
    counts: bool = True,
) -> list[ImportResult]:
    """Download each accession in ``format`` and import it (one transaction per file).

    With ``counts``, a human or mouse series whose samples have no values gets NCBI's
    generated raw counts when GEO has them (see the module docs).

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
        if counts and parse_accession(accession).type is RecordType.SERIES:
            series = str(parse_accession(accession))
            _fetch_ncbi_counts(hub, series, downloader, results, notice, keep_downloads)
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


def _fetch_ncbi_counts(
    hub: Hub,
    series: str,
    downloader: Downloader,
    results: list[ImportResult],
    notice: NoticeCallback,
    keep_downloads: bool,
) -> None:
    organism = _series_without_values(hub, series)
    if organism is None:
        return
    remote = ncbi_counts_file(series, organism, downloader.base_url)
    try:
        local = downloader.download(remote)
    except NotOnServer:
        notice(f"{series}: GEO has no NCBI-generated counts ({remote.name})")
        return
    try:
        results.append(import_counts_table(hub, local, series))
    finally:
        if not keep_downloads:
            local.unlink(missing_ok=True)
