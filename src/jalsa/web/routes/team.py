"""The team: who has an account and with which role, one-time invitation links, and (for
admins) changing roles and deactivating accounts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.store.models import User
from jalsa.team import (
    INVITABLE,
    Perm,
    Role,
    can_invite,
    change_user,
    members,
    pending_invitations,
)
from jalsa.team import invite as create_invite
from jalsa.timeutil import utc_now
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import API_ERRORS, RowId, done, from_form, ip, page

router = APIRouter(responses=API_ERRORS)


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    role: Role
    note: str = Field("", max_length=200, description="Who it is for, e.g. 'Ayesha, Lahore'.")
    hours: float = Field(72, ge=1, le=24 * 14, description="The link expires after this long.")


class InvitationOut(BaseModel):
    role: Role
    note: str
    expires_at: datetime
    path: str = Field(description="The one-time link's path (`/invite/...`); shown only now.")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    active: bool | None = None


def invite(
    request: Request, session: Session, who: Caller, data: InvitationCreate
) -> InvitationOut:
    if not can_invite(who.role, data.role):
        raise HTTPException(403, f"your role ({who.role}) may not invite a {data.role}")
    token = create_invite(
        session, who.user, role=data.role, note=data.note, hours=data.hours, ip=ip(request)
    )
    return InvitationOut(
        role=data.role,
        note=data.note,
        expires_at=utc_now() + timedelta(hours=data.hours),
        path=f"/invite/{token}",
    )


def update_user(
    request: Request, session: Session, who: Caller, user_id: int, data: UserUpdate
) -> User:
    """Change a role or deactivate; the team never loses its last active admin."""
    role = data.role.value if data.role is not None else None
    return change_user(session, who.user, user_id, role=role, active=data.active, ip=ip(request))


# -- pages ---------------------------------------------------------------------------------


def _users_page(
    request: Request, session: Session, who: Caller, error: UserError | None = None
) -> Response:
    invitable = INVITABLE.get(Role(who.role), frozenset())
    context = {
        "members": members(session),
        "roles": list(Role),
        "invitable": [r for r in Role if r in invitable],
        "pending": pending_invitations(session),
    }
    return page(request, "users.html", who, context, error=error)


@router.get("/users", response_class=HTMLResponse, include_in_schema=False)
def users_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_USERS)),
) -> Response:
    return _users_page(request, session, who)


@router.post("/users/invite", include_in_schema=False)
def invite_form(
    request: Request,
    role: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    hours: Annotated[str, Form()] = "72",
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.INVITE)),
) -> Response:
    try:
        data = from_form(InvitationCreate, {"role": role, "note": note, "hours": hours or 72})
        made = invite(request, session, who, data)
    except UserError as exc:
        return _users_page(request, session, who, exc)
    link = str(request.base_url).rstrip("/") + made.path
    return done(
        request,
        "/users",
        f"Invitation for a {made.role.value} created. Send this link to the person; it works "
        "once and is shown only now.",
        secret=link,
        secret_id="invite-link",
    )


@router.post("/users/{user_id}", include_in_schema=False)
def user_form(
    request: Request,
    user_id: RowId,
    role: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.MANAGE_USERS)),
) -> Response:
    fields: dict[str, object] = {}
    if role:
        fields["role"] = role
    if active:
        fields["active"] = active
    try:
        user = update_user(request, session, who, user_id, from_form(UserUpdate, fields))
    except UserError as exc:
        return _users_page(request, session, who, exc)
    state = "active" if user.active else "deactivated"
    return done(request, "/users", f"{user.username} is now {user.role}, {state}.")


# -- JSON API ------------------------------------------------------------------------------


@router.get("/api/users", tags=["team"])
def api_users(
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_USERS)),
) -> list[UserOut]:
    """The team: every account with its role and whether it is active."""
    return [UserOut.model_validate(u) for u in members(session)]


@router.post("/api/invitations", tags=["team"], status_code=201)
def api_invite(
    request: Request,
    data: InvitationCreate,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.INVITE)),
) -> InvitationOut:
    """Create a one-time invitation link. The link is in this answer only: nothing that could
    rebuild it is stored. Coordinators may invite volunteers, moderators and viewers."""
    return invite(request, session, who, data)


@router.patch("/api/users/{user_id}", tags=["team"])
def api_user_update(
    request: Request,
    user_id: RowId,
    data: UserUpdate,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.MANAGE_USERS)),
) -> UserOut:
    """Change an account's role or deactivate it (admins only). A deactivated account's
    sessions and API tokens stop working at once."""
    return UserOut.model_validate(update_user(request, session, who, user_id, data))
