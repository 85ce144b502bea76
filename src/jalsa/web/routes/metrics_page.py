"""The metric catalogue as a page: what every number on the dashboard means and where it
comes from. (The JSON form is `/api/metrics`, with the live routes.)"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from jalsa.platforms.registry import CATALOGUE
from jalsa.team import Perm
from jalsa.web.deps import Caller, Requires
from jalsa.web.routes.common import API_ERRORS, page

router = APIRouter(responses=API_ERRORS)


@router.get("/metrics", response_class=HTMLResponse, include_in_schema=False)
def metrics_page(request: Request, who: Caller = Depends(Requires(Perm.VIEW_EVENTS))) -> Response:
    return page(request, "metrics.html", who, {"catalogue": CATALOGUE})
