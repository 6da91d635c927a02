"""The dataset cart page: series and samples added from search results and record pages (kept
in the browser), reviewed and built as a bundle through the bundle API
(:mod:`exprhub.web.routes_bundles`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exprhub.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/cart", response_class=HTMLResponse)
def cart_page(request: Request) -> HTMLResponse:
    """The dataset cart (its contents live in the browser's localStorage)."""
    return render(request, "cart.html", title="Dataset cart")
