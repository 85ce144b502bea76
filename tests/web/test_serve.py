"""`jalsa serve` as an operator runs it: a real process on a free loopback port that answers,
and that stops when asked (Ctrl-C, or SIGTERM from systemd) even while dashboards are
connected to the live stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from webkit import Member, free_port, make_member, seed_event

from jalsa.store import Store

pytestmark = pytest.mark.integration


class Serve:
    def __init__(self, tmp_path: Path) -> None:
        self.url_db = f"sqlite:///{tmp_path / 'jalsa.db'}"
        self.store = Store(self.url_db)
        self.viewer: Member = make_member(self.store, "viewer")
        seed_event(self.store)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "JALSA_DATABASE_URL": self.url_db,
            "JALSA_DATA_DIR": str(tmp_path / "data"),
            "JALSA_CONFIG": str(tmp_path / "absent.toml"),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jalsa.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, "jalsa serve exited while starting"
            assert time.monotonic() < deadline, "jalsa serve did not answer in 30 s"
            time.sleep(0.1)

    def stops_within(self, sig: int, seconds: float) -> bool:
        self.proc.send_signal(sig)
        try:
            self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.store.dispose()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    running = Serve(tmp_path)
    yield running
    running.close()


def _hold_stream(serve: Serve, opened: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {serve.viewer.token}"}
    try:
        with httpx.stream(
            "GET", f"{serve.base}/api/events/rally/stream", headers=headers, timeout=None
        ) as response:
            for _ in response.iter_lines():
                opened.set()
    except httpx.HTTPError:
        pass


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_stops_at_once_when_idle(serve: Serve, sig: int) -> None:
    assert httpx.get(f"{serve.base}/login").status_code == 200
    assert serve.stops_within(sig, 10)


def test_serve_stops_within_seconds_while_a_dashboard_is_connected(serve: Serve) -> None:
    opened = threading.Event()
    reader = threading.Thread(target=_hold_stream, args=(serve, opened), daemon=True)
    reader.start()
    assert opened.wait(10), "the stream did not open"
    assert serve.stops_within(signal.SIGTERM, 5), "jalsa serve still runs 5 s after SIGTERM"
