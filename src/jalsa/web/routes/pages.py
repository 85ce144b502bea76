"""The pages and the JSON API of the command center, one router per area."""

from __future__ import annotations

from fastapi import FastAPI

from jalsa.web.routes import (
    audit,
    credentials,
    dashboard,
    events,
    inbox_pages,
    incidents,
    metrics_page,
    report,
    sms,
    streams,
    team,
    tokens,
)

# Order matters where paths overlap: /events/new before /events/{slug}.
ROUTERS = (
    events,
    dashboard,
    streams,
    incidents,
    report,
    inbox_pages,
    sms,
    credentials,
    team,
    audit,
    tokens,
    metrics_page,
)


def register(app: FastAPI) -> None:
    for module in ROUTERS:
        app.include_router(module.router)
