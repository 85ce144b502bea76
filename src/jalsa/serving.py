"""Serving an ASGI app with uvicorn inside a program that runs other things: the demo runs the
simulator, the tracker and the dashboard in one process, tests and benchmarks run the simulator
beside their own code. A core module, so the simulator (`jalsa.sim`) and the demo (`jalsa.demo`)
share it without either importing the web app."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from jalsa.errors import UserError


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host program."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int, *, fallback: bool = False) -> socket.socket:
    """A listening socket on host:port; with `fallback`, a free port if that one is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if not fallback:
            sock.close()
            raise UserError(
                f"cannot listen on {host}:{port} ({exc.strerror}); choose another port"
            ) from None
        sock.bind((host, 0))
    sock.listen(256)
    sock.setblocking(False)
    return sock


class WebServer:
    """An app (the dashboard in the demo) as a task of the running event loop."""

    def __init__(self, app: ASGIApp, host: str, port: int, *, fallback: bool = True) -> None:
        self.sock = bind(host, port, fallback=fallback)
        self.host = host
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_config=None, log_level="warning", access_log=False, timeout_graceful_shutdown=1
        )
        self.server = EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        self._task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the web server stopped while starting")
            await asyncio.sleep(0.01)
        return self.url

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, SystemExit):
                await self._task
            self._task = None
