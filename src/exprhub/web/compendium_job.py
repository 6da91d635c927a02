"""The ``compendium`` job kind and its route: ``POST /api/v1/compendia`` queues the build of
an organism's compendium (a zip); poll and download it under ``/api/v1/jobs/{id}``."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from exprhub.hub import Hub, HubError
from exprhub.web.deps import JobsDep
from exprhub.web.errors import ERROR_RESPONSES, excerpt
from exprhub.web.jobs import JobContext, JobKind, JobParamsError
from exprhub.web.routes_jobs import queue_job


def _validate(hub: Hub, params: dict[str, Any]) -> dict[str, Any]:
    from exprhub.bundles.compendium import CompendiumOptions
    from exprhub.bundles.compendium_source import resolve_organism

    organism = params.get("organism")
    if not isinstance(organism, str | int) or not str(organism).strip():
        raise JobParamsError("compendium needs an 'organism' (e.g. Homo sapiens or 9606)")
    try:
        tax_id, name = resolve_organism(organism)
    except HubError as exc:
        raise JobParamsError(excerpt(exc)) from None
    fields = set(CompendiumOptions.__dataclass_fields__) - {"workers", "chunk"}
    unknown = sorted(set(params) - fields - {"organism"})
    if unknown:
        raise JobParamsError(f"unknown compendium parameter(s): {', '.join(unknown)}")
    options = {k: v for k, v in params.items() if k in fields}
    try:
        CompendiumOptions(**options).check()
    except (TypeError, ValueError) as exc:
        raise JobParamsError(excerpt(exc)) from None
    return {"organism": name, "tax_id": tax_id, **options}


def _run(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Build in a child process, so that a long build holds neither the server's GIL nor its
    memory; the child's progress lines are passed on to the job."""
    from exprhub.bundles.compendium import organism_key

    name = f"{organism_key(params['organism'])}_compendium.zip"
    target = context.output_dir / name
    request = {
        "home": str(context.hub.home),
        "database_url": context.hub.database_url,
        "target": str(target),
        "params": params,
    }
    summary: dict[str, Any] | None = None
    # stderr to a file: a child writing much there while stdout is read cannot block
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, json.dumps(request)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            message = json.loads(line)
            if "report" in message:
                summary = message["report"]
            else:
                context.progress(message["progress"], message["message"])
        proc.wait()
        stderr.seek(0)
        errors = stderr.read()
    if proc.returncode != 0 or summary is None:
        lines = [x for x in errors.strip().splitlines() if x.strip()]
        raise HubError(
            lines[-1] if lines else f"the compendium build exited with {proc.returncode}"
        )
    summary.pop("path", None)
    return {
        "files": [name],
        "download_url": context.file_url(name),
        "size": target.stat().st_size,
        "media_type": "application/zip",
        "compendium": summary,
    }


_CHILD = "from exprhub.web.compendium_job import build_in_child; build_in_child()"


def build_in_child() -> None:
    """The child process of a compendium job: the request is ``sys.argv[1]`` (JSON); prints
    one JSON line per progress report, then the report; an error is one line on stderr and
    exit status 1."""
    from exprhub.bundles.compendium import CompendiumOptions, build_compendium

    request = json.loads(sys.argv[1])
    params = request["params"]
    options = {k: v for k, v in params.items() if k not in ("organism", "tax_id")}

    def progress(fraction: float, message: str) -> None:
        print(json.dumps({"progress": fraction, "message": message}), flush=True)

    try:
        with Hub(request["home"], database_url=request["database_url"]) as hub:
            report = build_compendium(
                hub,
                params["tax_id"],
                request["target"],
                options=CompendiumOptions(**options),
                progress=progress,
            )
    except Exception as exc:
        sys.stderr.write(" ".join((str(exc) or type(exc).__name__).splitlines()) + "\n")
        sys.exit(1)
    print(json.dumps({"report": report.to_dict()}, default=str), flush=True)


COMPENDIUM = JobKind(
    "compendium",
    _run,
    "build an organism's compendium (organism, format tsv|h5ad|parquet, rules) as a zip",
    _validate,
)


class CompendiumRequest(BaseModel):
    """An organism's compendium to build (defaults: refine.bio's rules)."""

    organism: str = Field(max_length=200, description="organism name or NCBI tax id")
    format: Literal["tsv", "h5ad", "parquet"] = "tsv"
    max_gene_missing: float = Field(0.3, ge=0, le=1)
    max_sample_missing: float = Field(0.5, ge=0, le=1)
    rank: int = Field(10, ge=1, le=100)
    impute: bool = True
    qn: bool = True


router = APIRouter(prefix="/api/v1/compendia", tags=["Jobs"], responses=ERROR_RESPONSES)


@router.post("", status_code=202, summary="Build an organism's compendium (a job)")
def submit_compendium(request: CompendiumRequest, jobs: JobsDep) -> JSONResponse:
    """Queue the build; the answer is the job (``Location``: its status URL). When it is
    done, its result's ``download_url`` serves the zip (docs/compendia.md)."""
    return queue_job(jobs, "compendium", request.model_dump())
