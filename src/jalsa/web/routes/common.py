"""What the page and API modules share: rendering a page with the caller and their notices
(or again, with the reason, when a form's input cannot be used), post/redirect/get, reading a
form into the same pydantic model the JSON API takes, and the template helpers (permission
checks, times in an event's time zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, BeforeValidator, ValidationError

from jalsa.errors import NotFound, UserError
from jalsa.ids import MAX_ID, parse_id
from jalsa.team import Perm, allowed
from jalsa.timeutil import show
from jalsa.web.deps import Caller, client_ip
from jalsa.web.notices import Notice
from jalsa.web.services import services
from jalsa.web.templating import templates

M = TypeVar("M", bound=BaseModel)


class ErrorOut(BaseModel):
    detail: str


# The errors every API route may answer with, so the OpenAPI schema documents them. (422,
# input that does not match the schema, FastAPI documents by itself.)
API_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The input cannot be used; `detail` says why."},
    401: {"model": ErrorOut, "description": "No valid session cookie or API token."},
    403: {"model": ErrorOut, "description": "Your role may not do this (or no CSRF token)."},
    404: {"model": ErrorOut, "description": "No such event, user, token or credential."},
}


def id_text(value: object) -> object:
    """An id from an address or a query, read by `jalsa.ids.parse_id`: pydantic alone reads
    '01', '+1', ' 1', '1.0' and '1_0' as numbers, so one row would have many addresses."""
    if isinstance(value, str):
        parsed = parse_id(value, minimum=0)
        if parsed is None:
            raise ValueError("not an id: ASCII digits, no sign, spaces or leading zeros")
        return parsed
    return value


# Row ids in paths: one spelling per row, bounded so an absurd number is a 422, not a database
# overflow. Ids in a query: `Annotated[int | None, IdText, Query(ge=1, le=MAX_ID)]`.
IdText = BeforeValidator(id_text)
RowId = Annotated[int, IdText, Path(ge=1, le=MAX_ID)]


def page(
    request: Request,
    name: str,
    who: Caller,
    context: dict[str, Any],
    status_code: int = 200,
    *,
    error: UserError | None = None,
) -> Response:
    """Render a page for the caller: every page gets the user (for the nav), the CSRF token
    for its forms and the notices left by the previous request.

    `error` is why the input a form posted cannot be used: the page is shown again as a 400
    that says so. A NotFound is not about the input, so it is raised on (a 404)."""
    if isinstance(error, NotFound):
        raise error
    if error is not None:
        status_code = 400
    found = services(request)
    full = {
        "user": who.user,
        "csrf_token": who.csrf_token or "",
        "notices": found.notices.take(request),
        "error": None if error is None else str(error),
        "user_tz": found.settings.timezone,  # for times not tied to an event
        **context,
    }
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    if any(n.secret for n in full["notices"]):
        response.headers["Cache-Control"] = "no-store"
    return response


def done(
    request: Request,
    target: str,
    text: str,
    *,
    secret: str | None = None,
    secret_id: str = "one-time-secret",
) -> Response:
    """Post/redirect/get: leave a notice for the next page and send the browser there."""
    services(request).notices.add(request, Notice(text, secret, secret_id))
    return RedirectResponse(target, status_code=303)


def from_form(model: type[M], data: dict[str, Any]) -> M:
    """Validate form fields with the model the JSON API uses, so both follow one rule; a
    problem becomes a UserError whose message names the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UserError(validation_message(exc)) from None


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "input"
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where.replace('_', ' ')}: {message}")
    return "; ".join(parts)


def app_now(request: Request) -> datetime:
    """Now on the app's clock (the demo's compressed one, else the real one): every "as of"
    a page shows next to the data's own times must come from here, or two clocks mix."""
    return services(request).now()


def ip(request: Request) -> str:
    return client_ip(request)


# -- template helpers ----------------------------------------------------------------------


def _can(user: Any, perm: Perm | str) -> bool:
    return user is not None and allowed(user.role, Perm(perm))


def _local(value: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    return show(value, tz, fmt)


templates.env.globals["can"] = _can
templates.env.globals["Perm"] = Perm
templates.env.filters["local"] = _local
