"""`jalsa serve`: the command center web app; on a fresh store it prints the one-time link that
creates the first admin."""

from __future__ import annotations

from typing import Annotated

import typer

from jalsa.cli.common import open_store
from jalsa.config import get_settings
from jalsa.terminal import console
from jalsa.timeutil import show


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run the command center web app."""
    import uvicorn

    from jalsa.web.app import create_app
    from jalsa.web.auth import first_admin_link

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    store = open_store(settings)
    with store.session() as session:
        link = first_admin_link(session)
    if link is not None and link.token is not None:
        console.print("No accounts yet. Open this one-time link to create the first admin:")
        console.print(f"  http://{host}:{port}/invite/{link.token}", highlight=False)
    elif link is not None:
        until = show(link.expires_at, settings.timezone, "%Y-%m-%d %H:%M %Z")
        console.print(
            "No accounts yet. An admin link was already printed by another worker (or an "
            f"earlier start); it is valid until {until}. Lost it? `jalsa user invite --role "
            "admin` prints a new one.",
            highlight=False,
        )
    console.print(f"jalsa is serving on http://{host}:{port}", highlight=False)
    # Open dashboards keep their event streams open: give them 3 s to go on shutdown.
    uvicorn.run(
        create_app(store, settings),
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        timeout_graceful_shutdown=3,
    )
