"""`jalsa user`: team accounts for the web app, created from the command line, and one-time
invitation links."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from jalsa.cli.common import open_store
from jalsa.config import get_settings
from jalsa.errors import UserError
from jalsa.terminal import console

user_app = typer.Typer(help="Team accounts for the web app.", no_args_is_help=True)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name: a-z, 0-9, '.', '_', '-'.")],
    role: Annotated[str, typer.Option(help="admin, coordinator, moderator, volunteer, viewer")],
    display_name: Annotated[str, typer.Option(help="Name shown to the team.")] = "",
) -> None:
    """Create an account; the password is asked for (or read from standard input)."""
    from jalsa.web.auth import audit, create_user

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    with open_store().session() as session:
        user = create_user(
            session, username=username, password=password, role=role, display_name=display_name
        )
        audit(
            session,
            actor=None,
            action="user.create",
            target=user.username,
            details={"role": role, "via": "cli"},
        )
    console.print(f"created {user.username} ({role})")


@user_app.command("invite")
def user_invite(
    role: Annotated[str, typer.Option(help="admin, coordinator, moderator, volunteer, viewer")],
    base_url: Annotated[
        str | None, typer.Option(help="The address volunteers open (default: from settings).")
    ] = None,
    hours: Annotated[float, typer.Option(help="The link expires after this long.")] = 72,
) -> None:
    """Print a one-time invitation link for a new team member."""
    from jalsa.web.auth import audit, create_invitation
    from jalsa.web.permissions import Role

    if role not in {r.value for r in Role}:
        raise UserError(f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}")
    settings = get_settings()
    with open_store(settings).session() as session:
        token = create_invitation(session, role=role, created_by=None, hours=hours)
        audit(session, actor=None, action="invitation.create", details={"role": role, "via": "cli"})
    root = (base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    console.print(f"{root}/invite/{token}", highlight=False, soft_wrap=True)
