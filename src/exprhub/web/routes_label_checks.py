"""REST routes of label checks: ``GET /api/v1/labels/qc`` (annotated sex against sex predicted
from expression), and the sex check shown on a sample page. The standardized labels
themselves: :mod:`exprhub.web.routes_labels`."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query

from exprhub.api.label_checks import label_qc, resolve_samples
from exprhub.hub import Hub
from exprhub.web.deps import HubDep
from exprhub.web.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

#: Most samples one request checks (each reads its refined column); more: `exprhub labels qc`.
MAX_QC_SAMPLES = 2000


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@router.get("/labels/qc", summary="Annotated sex against sex predicted from expression")
def labels_qc(
    hub: HubDep,
    accessions: Annotated[
        str | None,
        Query(
            description="samples, series, platforms or DataSets, comma-separated "
            "(default: every refined sample)"
        ),
    ] = None,
    all_samples: Annotated[
        bool, Query(alias="all", description="every sample checked, not only the flagged")
    ] = False,
) -> dict[str, Any]:
    """Samples whose annotated sex (characteristics, else ``Gender = ...`` in the
    description) disagrees with the sex their refined expression shows: Y-linked genes
    against XIST (docs/label_checks.md). Each row: ``sample``, ``annotated``,
    ``annotated_from``, ``predicted``, ``confidence``, ``flag``, ``status``, ``reason``."""
    wanted = [a for a in (accessions or "").replace(" ", ",").split(",") if a]
    samples = resolve_samples(hub, wanted)
    if len(samples) > MAX_QC_SAMPLES:
        raise ApiError(
            400,
            "too_many_samples",
            f"{len(samples)} samples: at most {MAX_QC_SAMPLES} per request "
            "(name fewer accessions, or run `exprhub labels qc`)",
        )
    frame = label_qc(hub, samples, flagged_only=not all_samples)
    rows = [
        {"sample": str(key), **{c: _plain(v) for c, v in row.items()}}
        for key, row in frame.to_dict(orient="index").items()
    ]
    return {"checked": len(samples), "flagged": sum(1 for r in rows if r["flag"]), "samples": rows}


def sex_check_view(hub: Hub, sample: str) -> dict[str, Any] | None:
    """The sex check of one sample for its page: None unless its refined values give a
    prediction or its record states a sex."""
    frame = label_qc(hub, [sample])
    if frame.empty:
        return None
    row = frame.iloc[0]
    if row["status"] == "not annotated" and row["predicted"] == "uncertain":
        return None
    return {k: _plain(v) for k, v in row.items()}
