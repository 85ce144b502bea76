"""Run the simulator on a real port: in a background thread (CLI demo, sync tests, benchmarks),
as a task of the running event loop (async tests), or in the foreground (`jalsa sim`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

import uvicorn

from jalsa.clock import Clock, CompressedClock
from jalsa.serving import EmbeddedServer, bind
from jalsa.sim.scenario import Scenario, load_scenario
from jalsa.sim.server import create_app, sim_base_urls
from jalsa.sim.simulator import Simulator


def make_clock(
    scenario: Scenario, speed: float = 1.0, *, start: datetime | None = None
) -> CompressedClock:
    """A clock for a demo of `scenario`: it starts `lead_in_minutes` before the rally (or at
    `start`) and runs `speed` times faster than the wall clock. Share it with the tracker."""
    return CompressedClock(start or scenario.clock_start, speed)


class _DropResetNoise(logging.Filter):
    """Closing a connection mid-response is how the simulator emulates a reset; uvicorn logs
    that as an application error, which would only confuse a demo audience."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


_FILTER = _DropResetNoise()


class SimServer:
    """The simulator app bound to `host:port` (port 0 picks a free one).

    with SimServer(scenario, clock) as sim:        # background thread
        settings = load_settings(**sim.base_urls)
    async with SimServer(scenario, clock) as sim:  # task in the running loop
        ...
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        clock: Clock | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        hang_seconds: float = 60.0,
        log_level: str = "warning",
    ) -> None:
        self.scenario = scenario or load_scenario(None)
        self.clock: Clock = clock or make_clock(self.scenario, speed)
        self.app = create_app(self.scenario, self.clock, hang_seconds=hang_seconds)
        self.host = host
        self.port = port
        self.log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    @property
    def simulator(self) -> Simulator:
        sim: Simulator = self.app.state.sim
        return sim

    @property
    def url(self) -> str:
        """The root URL, e.g. `http://127.0.0.1:41234` (valid once started)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_urls(self) -> dict[str, str]:
        """Settings attribute → base URL (`youtube_base_url`, ...) for this simulator."""
        return sim_base_urls(self.url)

    def _bind(self) -> socket.socket:
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        return sock

    def _make_server(self, embedded: bool = True) -> uvicorn.Server:
        logging.getLogger("uvicorn.error").addFilter(_FILTER)
        config = uvicorn.Config(
            self.app,
            log_config=None,  # leave the host program's logging alone
            log_level=self.log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        return EmbeddedServer(config) if embedded else uvicorn.Server(config)

    # -- background thread --

    def start(self, timeout: float = 10.0) -> str:
        """Serve in a background thread; returns the root URL once the port accepts requests."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        sock = self._bind()
        server = self._server = self._make_server()

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # reported by start()
                self._error = exc

        self._thread = threading.Thread(target=run, name="jalsa-sim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the simulator did not start: {self._error!r}")
            time.sleep(0.01)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background server and wait for it (idempotent)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._server = None

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- task in the running event loop --

    async def start_async(self, timeout: float = 10.0) -> str:
        """Serve as a task of the running event loop; returns the root URL once listening."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        sock = self._bind()
        server = self._server = self._make_server()
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="jalsa-sim")
        deadline = time.monotonic() + timeout
        while not server.started:
            if self._task.done() or time.monotonic() > deadline:
                await self.stop_async()
                raise RuntimeError("the simulator did not start")
            await asyncio.sleep(0.01)
        return self.url

    async def stop_async(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, SystemExit):
                await self._task
            self._task = None
        self._server = None

    async def __aenter__(self) -> SimServer:
        await self.start_async()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_async()

    # -- foreground --

    def serve_forever(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve in the foreground until Ctrl-C or SIGTERM (for `jalsa sim`); `on_ready` gets
        the root URL once the port is bound (to print it)."""
        sock = self._bind()
        if on_ready is not None:
            on_ready(self.url)
        self._server = self._make_server(embedded=False)
        try:
            self._server.run(sockets=[sock])
        finally:
            self._server = None


def spawn_simulator(
    *args: str, timeout: float = 30.0
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start `jalsa sim --port 0 ARGS` as its own process (tests and benchmarks that need real
    processes) and return it with the environment it printed: JALSA_*_BASE_URL -> URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "jalsa.cli", "sim", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(urls) < len(sim_base_urls("")) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("export "):
            key, value = line.removeprefix("export ").strip().split("=", 1)
            urls[key] = value
    if len(urls) < len(sim_base_urls("")):
        proc.kill()
        raise RuntimeError("the simulator did not start")
    return proc, urls
