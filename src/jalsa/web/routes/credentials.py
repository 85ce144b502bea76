"""Platform credentials entered in the web app. They are encrypted before they are stored
and never shown back: a list shows whether each is set and its last four characters."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from sqlalchemy.orm import Session

from jalsa.config import Settings
from jalsa.credentials import (
    credential_names,
    delete_credential,
    set_credential,
    stored_credentials,
)
from jalsa.errors import NotFound, UserError
from jalsa.platforms.registry import ACTIONS, CONNECTORS
from jalsa.team import Perm, audit
from jalsa.vault import Vault
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import API_ERRORS, done, from_form, ip, page
from jalsa.web.services import services

router = APIRouter(responses=API_ERRORS)

CredentialName = Annotated[
    str,
    Path(
        pattern=f"^({'|'.join(credential_names())})$",
        description="One of: " + ", ".join(credential_names()),
    ),
]


_TOKEN_CHARS = re.compile(r"^[!-~]+$")


def _token_text(value: str) -> str:
    if not _TOKEN_CHARS.match(value):
        raise ValueError(
            "a key or token is printable characters without spaces; check what was pasted"
        )
    return value


TokenText = Annotated[
    str,
    Field(min_length=1, max_length=4096),
    AfterValidator(_token_text),
    WithJsonSchema({"type": "string", "pattern": "^[!-~]+$", "maxLength": 4096}),
]


class CredentialValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: TokenText = Field(description="The token or key.")


class CredentialOut(BaseModel):
    name: str
    platforms: list[str] = Field(description="The stream kinds that use it.")
    stored: bool = Field(description="Entered here and kept encrypted.")
    in_environment: bool = Field(
        description="Also set by the server's environment or jalsa.toml, which wins."
    )
    hint: str | None = Field(description="The last four characters of a stored value.")
    updated_at: datetime | None


def _users_of(name: str) -> list[str]:
    """What a credential is for: the platform APIs it reads, the moderation it does."""
    readers = {c.title for c in CONNECTORS.values() if c.credential_setting == name}
    moderators = {
        f"{a.platform} moderation" for a in ACTIONS.values() if a.credential_settings[0] == name
    }
    return sorted(readers | moderators)


def credential_list(request: Request, session: Session) -> list[CredentialOut]:
    settings: Settings = services(request).settings
    stored = {c.name: c for c in stored_credentials(session)}
    out = []
    for name in credential_names():
        row = stored.get(name)
        out.append(
            CredentialOut(
                name=name,
                platforms=_users_of(name),
                stored=row is not None,
                in_environment=getattr(settings, name) is not None,
                hint=row.hint if row else None,
                updated_at=row.updated_at if row else None,
            )
        )
    return out


def _one(request: Request, session: Session, name: str) -> CredentialOut:
    return next(c for c in credential_list(request, session) if c.name == name)


def _known(name: str) -> None:
    if name not in credential_names():
        raise NotFound(f"no credential {name!r}; known: {', '.join(credential_names())}")


def store_credential(
    request: Request, session: Session, who: Caller, name: str, data: CredentialValue
) -> CredentialOut:
    _known(name)
    vault = Vault.from_settings(services(request).settings)
    set_credential(session, vault, name, data.value, who.user.id)
    audit(session, actor=who.user, action="credential.set", target=name, ip=ip(request))
    return _one(request, session, name)


def remove_credential(request: Request, session: Session, who: Caller, name: str) -> CredentialOut:
    _known(name)
    if not delete_credential(session, name):
        raise NotFound(f"no stored credential {name!r}")
    session.flush()
    audit(session, actor=who.user, action="credential.delete", target=name, ip=ip(request))
    return _one(request, session, name)


# -- pages ---------------------------------------------------------------------------------


def _credentials_page(
    request: Request, session: Session, who: Caller, error: UserError | None = None
) -> Response:
    context = {"credentials": credential_list(request, session)}
    return page(request, "credentials.html", who, context, error=error)


@router.get("/credentials", response_class=HTMLResponse, include_in_schema=False)
def credentials_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_CREDENTIALS)),
) -> Response:
    return _credentials_page(request, session, who)


@router.post("/credentials/{name}", include_in_schema=False)
def credential_set_form(
    request: Request,
    name: str,
    value: Annotated[str, Form()] = "",
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_CREDENTIALS)),
) -> Response:
    try:
        # A pasted value often brings a newline along; the form drops it, the API is exact.
        data = from_form(CredentialValue, {"value": value.strip()})
        store_credential(request, session, who, name, data)
    except UserError as exc:
        return _credentials_page(request, session, who, exc)
    return done(request, "/credentials", f"{name} is stored, encrypted.")


@router.post("/credentials/{name}/delete", include_in_schema=False)
def credential_delete_form(
    request: Request,
    name: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_CREDENTIALS)),
) -> Response:
    remove_credential(request, session, who, name)
    return done(request, "/credentials", f"The stored {name} is removed.")


# -- JSON API ------------------------------------------------------------------------------


@router.get("/api/credentials", tags=["credentials"])
def api_credentials(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_CREDENTIALS)),
) -> list[CredentialOut]:
    """Which platform credentials are set, with a hint; never the values."""
    return credential_list(request, session)


@router.put("/api/credentials/{name}", tags=["credentials"])
def api_credential_set(
    request: Request,
    name: CredentialName,
    data: CredentialValue,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_CREDENTIALS)),
) -> CredentialOut:
    """Store a credential, encrypted at rest. A value in the server's environment still wins."""
    return store_credential(request, session, who, name, data)


@router.delete("/api/credentials/{name}", tags=["credentials"])
def api_credential_delete(
    request: Request,
    name: CredentialName,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_CREDENTIALS)),
) -> CredentialOut:
    """Remove a stored credential (404 when none is stored)."""
    return remove_credential(request, session, who, name)
