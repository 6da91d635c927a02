"""REST routes for standardized sample labels: one sample's labels with their evidence, and
the labels of many samples (accessions, or series standing for their samples)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from exprhub.curate.labels import LABELLER_VERSION
from exprhub.curate.labels.store import from_stored, sample_key, sample_keys
from exprhub.curate.labels.table import in_field_order
from exprhub.hub import Hub, RecordNotFound
from exprhub.hub.labels import sample_labels
from exprhub.web.deps import HubDep
from exprhub.web.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

#: Most samples one ``/api/v1/labels`` request answers.
MAX_LABELLED_SAMPLES = 5000


def labels_of(hub: Hub, keys: list[str]) -> list[dict[str, Any]]:
    """``{"sample", "labels"}`` of each sample key, labels in field order."""
    stored = sample_labels(hub, keys)
    return [
        {
            "sample": key,
            "labels": [
                lab.as_dict() for lab in in_field_order(map(from_stored, stored.get(key, [])))
            ],
        }
        for key in keys
    ]


@router.get(
    "/samples/{acc}/labels",
    tags=["Labels"],
    summary="Standardized labels of one sample, with their evidence",
)
def sample_labels_route(acc: str, hub: HubDep) -> dict[str, Any]:
    """Each label: field, value, ontology id, source field, evidence text and its offsets in
    that field, method and confidence (fields without a label are unknown)."""
    key = sample_key(hub, acc)  # a DataSet column without a record is a sample too
    return {"labeller_version": LABELLER_VERSION, **labels_of(hub, [key])[0]}


@router.get(
    "/labels",
    tags=["Labels"],
    summary="Standardized labels of many samples",
)
def labels_route(
    hub: HubDep,
    accessions: Annotated[
        str,
        Query(description="comma-separated samples, or series/platforms for their samples"),
    ],
) -> dict[str, Any]:
    """The labels of every sample the accessions stand for (at most 5000 samples)."""
    given = [a.strip() for a in accessions.split(",") if a.strip()]
    if not given:
        raise ApiError(400, "bad_request", "accessions: give at least one accession")
    keys, missing = sample_keys(hub, given)
    if missing:
        raise RecordNotFound(f"not in this hub: {', '.join(missing)}")
    if len(keys) > MAX_LABELLED_SAMPLES:
        raise ApiError(
            400,
            "bad_request",
            f"{len(keys)} samples: ask for at most {MAX_LABELLED_SAMPLES} at a time",
        )
    return {"labeller_version": LABELLER_VERSION, "samples": labels_of(hub, keys)}
