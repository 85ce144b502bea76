"""API tokens for scripts and vantage agents: each user manages their own. A new token is
shown once; only its hash is kept."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.store.models import ApiToken
from jalsa.team import Perm, issue_token, own_tokens, revoke_token
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import API_ERRORS, RowId, done, from_form, ip, page

router = APIRouter(responses=API_ERRORS)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(
        min_length=1, max_length=100, description="What it is for, e.g. 'probe in Karachi'."
    )
    scope: Literal["api", "agent"] = Field(
        "api",
        description="api: acts with your role, but cannot manage tokens; agent: uploads "
        "measurements for `vantage` only.",
    )
    vantage: str | None = Field(
        None, max_length=100, description="The vantage an agent token uploads for."
    )


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    scope: str
    vantage: str | None


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself; shown only in this answer.")


def make_token(request: Request, session: Session, who: Caller, data: TokenCreate) -> TokenCreated:
    row, plaintext = issue_token(
        session, who.user, data.name, scope=data.scope, vantage=data.vantage, ip=ip(request)
    )
    return TokenCreated(**TokenOut.model_validate(row).model_dump(), token=plaintext)


def revoke(request: Request, session: Session, who: Caller, token_id: int) -> ApiToken:
    """Revoke one of the caller's own tokens; someone else's is "not found" to them."""
    return revoke_token(session, who.user, token_id, ip=ip(request))


# -- pages ---------------------------------------------------------------------------------


def _tokens_page(
    request: Request, session: Session, who: Caller, error: UserError | None = None
) -> Response:
    return page(request, "tokens.html", who, {"tokens": own_tokens(session, who.user)}, error=error)


@router.get("/tokens", response_class=HTMLResponse, include_in_schema=False)
def tokens_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.OWN_TOKENS)),
) -> Response:
    return _tokens_page(request, session, who)


@router.post("/tokens", include_in_schema=False)
def token_create_form(
    request: Request,
    name: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "api",
    vantage: Annotated[str, Form()] = "",
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.OWN_TOKENS)),
) -> Response:
    fields = {"name": name, "scope": scope, "vantage": vantage.strip() or None}
    try:
        made = make_token(request, session, who, from_form(TokenCreate, fields))
    except UserError as exc:
        return _tokens_page(request, session, who, exc)
    return done(
        request,
        "/tokens",
        f"Token {made.name} created. Copy it now: it is shown only once.",
        secret=made.token,
        secret_id="new-token",
    )


@router.post("/tokens/{token_id}/revoke", include_in_schema=False)
def token_revoke_form(
    request: Request,
    token_id: RowId,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.OWN_TOKENS)),
) -> Response:
    row = revoke(request, session, who, token_id)
    return done(request, "/tokens", f"Token {row.name} is revoked.")


# -- JSON API ------------------------------------------------------------------------------


@router.get("/api/tokens", tags=["tokens"])
def api_tokens(
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.OWN_TOKENS)),
) -> list[TokenOut]:
    """Your API tokens (never the tokens themselves)."""
    return [TokenOut.model_validate(t) for t in own_tokens(session, who.user)]


@router.post("/api/tokens", tags=["tokens"], status_code=201)
def api_token_create(
    request: Request,
    data: TokenCreate,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.OWN_TOKENS)),
) -> TokenCreated:
    """Create an API token for `Authorization: Bearer ...`. The token is in this answer only.
    Only from a logged-in browser: no API token may create another."""
    return make_token(request, session, who, data)


@router.delete("/api/tokens/{token_id}", tags=["tokens"])
def api_token_revoke(
    request: Request,
    token_id: RowId,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.OWN_TOKENS)),
) -> TokenOut:
    """Revoke one of your tokens; it stops working at once. Revoking twice is harmless."""
    return TokenOut.model_validate(revoke(request, session, who, token_id))
