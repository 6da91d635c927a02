"""REST routes of the tissue model: stored models, predictions, the QC of labelled against
predicted tissue, and ``POST /api/v1/labels/tissue-models`` (a job: train, evaluate, and
optionally store predictions). The predicted tissue on a sample page:
:func:`tissue_view`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from exprhub.api import tissue_models as api
from exprhub.api.label_checks import resolve_samples
from exprhub.hub import Hub, HubError
from exprhub.hub.labels import sample_labels
from exprhub.web.deps import HubDep, JobsDep
from exprhub.web.errors import ERROR_RESPONSES, ApiError, excerpt
from exprhub.web.jobs import JobContext, JobKind, JobParamsError
from exprhub.web.routes_jobs import queue_job

router = APIRouter(prefix="/api/v1/labels", tags=["Labels"], responses=ERROR_RESPONSES)

#: Most samples one request predicts or checks (each reads its refined column); more: the CLI.
MAX_SAMPLES = 2000


def _samples(hub: Hub, accessions: str | None) -> list[str]:
    wanted = [a for a in (accessions or "").replace(" ", ",").split(",") if a]
    samples = resolve_samples(hub, wanted)
    if len(samples) > MAX_SAMPLES:
        raise ApiError(
            400,
            "too_many_samples",
            f"{len(samples)} samples: at most {MAX_SAMPLES} per request (name fewer "
            "accessions, or run `exprhub labels tissue-model`)",
        )
    return samples


AccessionsQuery = Annotated[
    str | None,
    Query(
        description="samples, series, platforms or DataSets, comma-separated "
        "(default: every refined sample)"
    ),
]


@router.get("/tissue-models", summary="Stored tissue models, newest first")
def list_tissue_models(
    hub: HubDep,
    organism: Annotated[str | None, Query(description="organism name or tax id")] = None,
) -> dict[str, Any]:
    """Each model's summary: ``version``, ``tax_id``, ``kind``, ``digest``,
    ``library_version`` (scikit-learn), ``n_samples``, ``n_classes``, ``classes`` (samples
    and series groups per tissue), ``genes``, ``params``, ``evaluation`` (held out by series
    groups) and ``current`` (the newest of its organism)."""
    return {"models": api.tissue_models(hub, organism)}


@router.get("/tissue-models/{version}", summary="One stored tissue model and its training set")
def get_tissue_model(version: str, hub: HubDep) -> dict[str, Any]:
    """The model's summary and ``training`` (sample, tissue, ontology id, series group and
    refined-values checksum of each training sample)."""
    try:
        return api.tissue_model(hub, version)
    except KeyError:
        raise ApiError(404, "not_found", f"no tissue model {excerpt(version)}") from None


@router.get("/tissue-predictions", summary="Tissue predicted from expression (not stored)")
def tissue_predictions(
    hub: HubDep,
    accessions: AccessionsQuery = None,
    model: Annotated[str | None, Query(description="a model version (default: current)")] = None,
) -> dict[str, Any]:
    """One row per sample: ``tissue`` (``uncertain`` when no call), ``ontology_id``,
    ``confidence`` (the predicted probability), ``model_version``, ``genes_measured``,
    ``reason``."""
    samples = _samples(hub, accessions)
    try:
        frame = api.predict_tissue(hub, samples, version=model)
    except KeyError:
        raise ApiError(404, "not_found", f"no tissue model {excerpt(model or '')}") from None
    return {"samples": api.json_rows(frame)}


@router.get("/tissue-qc", summary="Labelled tissue against tissue predicted from expression")
def tissue_qc(
    hub: HubDep,
    accessions: AccessionsQuery = None,
    all_samples: Annotated[
        bool, Query(alias="all", description="every sample checked, not only the flagged")
    ] = False,
) -> dict[str, Any]:
    """Samples whose rule tissue label disagrees with the tissue the current model predicts.
    Each row: ``sample``, ``annotated``, ``annotated_id``, ``predicted``, ``predicted_id``,
    ``confidence``, ``model_version``, ``in_training``, ``flag``, ``status``, ``reason``."""
    samples = _samples(hub, accessions)
    rows = api.json_rows(api.tissue_qc(hub, samples, flagged_only=not all_samples))
    return {"checked": len(samples), "flagged": sum(1 for r in rows if r["flag"]), "samples": rows}


def _validate(hub: Hub, params: dict[str, Any]) -> dict[str, Any]:
    try:
        request = TissueModelRequest(**params)
    except ValueError as exc:
        raise JobParamsError(excerpt(" ".join(str(exc).splitlines()))) from None
    if request.organism is not None:
        try:
            api.organisms_to_model(hub, request.organism)
        except HubError as exc:
            raise JobParamsError(excerpt(exc)) from None
    return request.model_dump()


def _run(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    predict = params.get("predict", "none")
    trained = api.train_tissue_models(
        context.hub,
        params.get("organism"),
        evaluate=params.get("evaluate", True),
        folds=params.get("folds"),
        c=params.get("c", 1.0),
        gene_coverage=params.get("gene_coverage", 1.0),
        progress=lambda f, m: context.progress(0.8 * f, m),
    )
    result: dict[str, Any] = {**trained.as_dict(), "predictions": None}
    if predict != "none" and trained.models:
        context.progress(0.8, "predicting and storing tissue labels")
        stored = api.store_tissue_predictions(context.hub, all_samples=predict == "all")
        result["predictions"] = {k: v for k, v in stored.as_dict().items() if k != "changes"}
        result["predictions"]["changed"] = len(stored.changes)
    context.progress(1.0, "done")
    return result


TISSUE_MODEL = JobKind(
    "tissue-model",
    _run,
    "train tissue models from expression (organism, evaluate, folds, c, gene_coverage, "
    "predict none|unlabelled|all)",
    _validate,
)


class TissueModelRequest(BaseModel):
    """A tissue model to train (defaults: every refined organism, evaluated, nothing
    predicted)."""

    organism: str | None = Field(None, max_length=200, description="organism name or tax id")
    evaluate: bool = True
    folds: int | None = Field(None, ge=2, le=1000)
    c: float = Field(1.0, gt=0, le=1e6)
    gene_coverage: float = Field(1.0, gt=0, le=1)
    predict: Literal["none", "unlabelled", "all"] = "none"


@router.post("/tissue-models", status_code=202, summary="Train tissue models (a job)")
def submit_tissue_model(request: TissueModelRequest, jobs: JobsDep) -> JSONResponse:
    """Queue training (and, with ``predict``, storing predictions as labels); the answer is
    the job (``Location``: its status URL), whose result holds the models, their held-out
    evaluation and what was stored."""
    return queue_job(jobs, "tissue-model", request.model_dump())


def tissue_view(hub: Hub, sample: str) -> dict[str, Any] | None:
    """The tissue of one sample for its page: the current model's prediction checked against
    its rule tissue label, and the prediction stored as a label (``stored``, if any); None
    when no model predicts it (not refined, or no model of its organism)."""
    frame = api.tissue_qc(hub, [sample])
    if frame.empty or not frame.iloc[0]["model_version"]:
        return None
    (view,) = api.json_rows(frame)
    stored = sample_labels(hub, [sample], methods=("expression model",)).get(sample, [])
    view["stored"] = [
        {"tissue": lab.value, "confidence": lab.confidence, "model_version": lab.evidence}
        for lab in stored
        if lab.field == "tissue"
    ]
    return view
