"""Routes, one module per area. Every route depends on `Requires(Perm.X)`, except the few
public ones below; a test checks that no other route lacks a permission."""

from __future__ import annotations

from fastapi import FastAPI

from jalsa.web.routes.sms_callbacks import CALLBACK_PATHS

# The SMS gateways' callbacks are signed by the gateway instead (see sms_callbacks.py).
PUBLIC_PATHS = frozenset({"/login", "/logout", "/invite/{token}", "/healthz"}) | CALLBACK_PATHS


def register(app: FastAPI) -> None:
    from jalsa.web.routes.conversation import router as conversation_router
    from jalsa.web.routes.inbox_api import router as inbox_router
    from jalsa.web.routes.live import router as live_router
    from jalsa.web.routes.pages import register as register_pages
    from jalsa.web.routes.session import router as session_router
    from jalsa.web.routes.sms_callbacks import router as sms_callbacks_router
    from jalsa.web.routes.watch_api import router as watch_router

    app.include_router(session_router)
    app.include_router(live_router)
    app.include_router(conversation_router)
    app.include_router(watch_router)
    app.include_router(inbox_router)
    app.include_router(sms_callbacks_router)
    register_pages(app)
