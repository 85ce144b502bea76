"""The post-event report in the web app: the page (with a form for claimed figures and voices)
and the API that gives it in every format, with its provenance file. Both compute it with
`jalsa.report.build.build_report`, as the CLI does; nothing is stored, so the report always
reflects the data as it is."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from jalsa.conversation.analysis import Voices
from jalsa.errors import UserError
from jalsa.report.build import Report, build_report
from jalsa.report.render import provenance, render, to_html
from jalsa.team import Perm
from jalsa.web.deps import Caller, Requires, get_store
from jalsa.web.routes.common import API_ERRORS
from jalsa.web.services import services

router = APIRouter(responses=API_ERRORS)
MAX_CLAIMS = 20
MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "provenance": "application/json",
}
Lines = Annotated[str, Query(max_length=4000)]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _build(request: Request, slug: str, claims: list[str], voices: list[str]) -> Report:
    if len(claims) > MAX_CLAIMS:
        raise UserError(f"at most {MAX_CLAIMS} claims at once")
    return build_report(
        get_store(request),
        services(request).settings,
        slug,
        claims=claims,
        voices=Voices.parse(voices) if voices else None,
    )


# The report lists incidents with their vantages, cities and networks: the watch's data too.
WATCH = [Depends(Requires(Perm.VIEW_WATCH))]


@router.get(
    "/events/{slug}/report",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=WATCH,
)
def report_page(
    request: Request,
    slug: str,
    claims: Lines = "",
    voices: Lines = "",
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
) -> Response:
    report = _build(request, slug, _lines(claims), _lines(voices))
    query = [("claim", c) for c in _lines(claims)] + [("voice", v) for v in _lines(voices)]
    web = {
        "download": f"/api/events/{report.event.slug}/report?{urlencode(query)}",
        "claims": claims,
        "voices": voices,
    }
    return HTMLResponse(to_html(report, web=web))


@router.get(
    "/api/events/{slug}/report",
    tags=["report"],
    dependencies=WATCH,
    response_class=Response,
    responses={
        200: {
            "description": "The report in the asked format.",
            "content": {
                "application/json": {},
                "text/csv": {},
                "text/html": {},
                "application/pdf": {},
            },
        }
    },
)
def api_report(
    request: Request,
    slug: str,
    format: Annotated[
        str, Query(pattern="^(json|csv|html|pdf|provenance)$", description="Default json.")
    ] = "json",
    claim: Annotated[list[str], Query(max_length=MAX_CLAIMS)] = [],  # noqa: B006
    voice: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006
    who: Caller = Depends(Requires(Perm.VIEW_EVENTS)),
) -> Response:
    """The post-event report: every figure with its definition and source. `format`: json
    (the whole report), csv (one row per figure), html (one file that works offline), pdf,
    or provenance (every figure with where it came from). `claim`: figures others claimed,
    to check (repeatable); `voice`: NAME=#hashtag,phrase for share of voice."""
    report = _build(request, slug, claim, voice)
    data = provenance(report).encode() if format == "provenance" else render(report, format)
    name = f"report-{report.event.slug}" + (
        ".provenance.json" if format == "provenance" else f".{format}"
    )
    headers = {"Content-Disposition": f'attachment; filename="{name}"'} if format != "json" else {}
    return Response(data, media_type=MEDIA[format], headers=headers)
