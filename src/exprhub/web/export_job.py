"""The built-in ``export`` job kind: one record written to a file in a download format."""

from __future__ import annotations

import shutil
from typing import Any

from exprhub.hub import Hub
from exprhub.web.errors import excerpt
from exprhub.web.jobs import JobContext, JobKind, JobParamsError


def _validate_export(hub: Hub, params: dict[str, Any]) -> dict[str, Any]:
    from exprhub.records import RecordType
    from exprhub.web.downloads import DownloadFormat
    from exprhub.web.service import SEGMENT_TYPES, guess_type

    accession = params.get("accession")
    if not isinstance(accession, str) or not accession.strip():
        raise JobParamsError("export needs an 'accession' (e.g. GSE2870)")
    fmt = str(params.get("format", "soft")).lower()
    valid = [f.value for f in DownloadFormat if f != "refined"]
    if fmt not in valid:
        raise JobParamsError(f"export format {excerpt(fmt)!r} is not one of {', '.join(valid)}")
    kind = params.get("type")
    record_type = SEGMENT_TYPES.get(str(kind)) if kind else guess_type(accession)
    if record_type is None and kind:
        try:
            record_type = RecordType.parse(str(kind))
        except ValueError as exc:
            raise JobParamsError(excerpt(exc)) from None
    if record_type is None or record_type is RecordType.SUBSET:
        raise JobParamsError(f"cannot tell the record type of {excerpt(accession)!r}; give 'type'")
    if not hub.has(accession, record_type):
        raise JobParamsError(f"{record_type.label} {excerpt(accession)} is not in the hub")
    out = {"accession": accession.strip().upper(), "format": fmt, "type": record_type.value}
    if params.get("platform"):
        out["platform"] = str(params["platform"])
    return out


def _run_export(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    from exprhub.records import RecordType
    from exprhub.web.downloads import DownloadFormat, make_download

    context.progress(0.1, f"writing {params['accession']} as {params['format']}")
    download = make_download(
        context.hub,
        params["accession"],
        RecordType(params["type"]),
        DownloadFormat(params["format"]),
        platform=params.get("platform"),
        directory=context.output_dir,
    )
    target = context.output_dir / download.filename
    shutil.move(download.path, target)
    download.cleanup()
    context.progress(1.0, "done")
    return {
        "files": [download.filename],
        "download_url": context.file_url(download.filename),
        "size": target.stat().st_size,
        "media_type": download.media_type,
    }


EXPORT = JobKind(
    "export",
    _run_export,
    "write one record (accession, format soft|miniml|matrix|json|tsv) to a file",
    _validate_export,
)
