"""REST routes of the GEO2R page under ``/api/v1/analysis``: the samples of a DataSet or
series with what is known of each (to define groups by picking samples), and GEO2R runs whose
groups are given in a JSON body (``POST /{acc}/de``; ``GET /{acc}/de`` takes them as
``group=NAME=GSM1,GSM2`` parameters, which a long list of samples can make too long a URL).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from exprhub.web.deps import HubDep
from exprhub.web.errors import ERROR_RESPONSES, ApiError
from exprhub.web.routes_analysis import (
    DEFAULT_ROWS,
    Platform,
    Values,
    accessions_given,
    check_format,
    differential_response,
    run_analysis,
)

router = APIRouter(prefix="/api/v1/analysis", tags=["Analysis"], responses=ERROR_RESPONSES)


@router.get("/{acc}/samples", summary="The samples with values, for defining groups")
def samples(
    hub: HubDep,
    acc: str,
    values: Values = "submitted",
    platform: Platform = None,
    limit: Annotated[int, Query(ge=1, le=100000, description="at most this many samples")] = 5000,
) -> Any:
    """One row per sample with values: its accession, title (for samples stored as records)
    and every annotation field (series, platform, DataSet subset types, harmonized fields,
    ``ch1.*`` characteristics as submitted); ``columns`` lists the fields with a value in at
    least one sample, those whose value differs between samples first (``varying``)."""
    from exprhub.api.geo2r import sample_table

    accession = accessions_given(acc)
    return run_analysis(
        lambda: sample_table(hub, accession, values=values, platform=platform, limit=limit)
    )


class DifferentialRequest(BaseModel):
    """A GEO2R run: groups (named sample lists or sets) or a field, and limma's options."""

    model_config = ConfigDict(extra="forbid")

    groups: dict[str, list[str] | str] | None = Field(
        None,
        description="group name -> its samples (a list of GSM accessions) or a set "
        "('GDS507_1', 'disease state=RCC', 'GSM1,GSM2'); in the order of the design",
        examples=[{"tumour": ["GSM11815", "GSM11832"], "normal": ["GSM11810", "GSM11827"]}],
    )
    by: str | None = Field(None, description="or: every value of this field is a group")
    contrasts: list[str] | None = Field(
        None, description="such as 'tumour-normal' (default: every pair)"
    )
    values: str = Field("submitted", description="submitted, refined or counts")
    platform: str | None = Field(None, description="submitted values: this platform's samples")
    log: str = Field("auto", description="log2 first: auto (GEO2R's rule), yes or no")
    trend: bool = False
    robust: bool = False
    adjust: str = Field("BH", description="BH, BY, holm, bonferroni or none")
    limit: int = Field(DEFAULT_ROWS, ge=1, le=100000, description="rows in JSON")
    format: str = Field("json", description="json, tsv (the whole table), png or svg (volcano)")
    figure: bool = Field(False, description="include the volcano plot's plotly figure")


@router.post("/{acc}/de", summary="GEO2R with the groups in a JSON body")
def differential_post(hub: HubDep, acc: str, request: DifferentialRequest) -> Response:
    """``GET /{acc}/de`` with its parameters in a JSON body, so that groups can be long lists
    of samples: ``{"groups": {"tumour": ["GSM11815", ...], "normal": [...]}}``. Answers as
    the GET does (JSON, ``tsv``, ``png``, ``svg``)."""
    from exprhub.api.geo2r import differential as run

    check_format(request.format, ("json", "tsv", "png", "svg"))
    groups = request.groups
    if groups is not None:
        empty = [name for name, members in groups.items() if not name.strip() or not members]
        if empty:
            raise ApiError(
                422, "invalid_request", f"group {empty[0]!r}: a group needs a name and samples"
            )
    result = run_analysis(
        lambda: run(
            hub, accessions_given(acc), by=request.by, groups=groups, contrasts=request.contrasts,
            values=request.values, platform=request.platform, log2=request.log,
            trend=request.trend, robust=request.robust, adjust=request.adjust,
        )
    )  # fmt: skip
    return differential_response(
        acc, result, format=request.format, limit=request.limit, figure=request.figure
    )
