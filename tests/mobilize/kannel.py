"""A real Kannel for the gateway's tests (importable as `mobilize.kannel`): bearerbox, smsbox and
Kannel's fake SMSC as subprocesses, on free loopback ports, configured from a tmp dir (nothing
read from /etc/kannel), plus a tiny HTTP receiver standing in for the web app's callbacks.

Two fake SMSC connections: "fake" takes every message we send (a fakesmsc client started with
`-m 0` only listens and prints what arrives), "mo" takes none (`allowed-smsc-id`) and is where
a second fakesmsc injects a supporter's message. Bearerbox serves one fakesmsc client per
connection, so the listening one would otherwise block the injecting one.
"""

from __future__ import annotations

import http.server
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, quote, unquote_to_bytes, urlsplit

import httpx

from jalsa.doctor import KANNEL
from needs import need

BEARERBOX, SMSBOX, FAKESMSC = KANNEL  # where Debian's kannel and kannel-extras put them
T = TypeVar("T")
FAKE_ONLINE = re.compile(r"^\s*fake\[fake\].*\(online", re.M)  # in /status.txt
GOT_MESSAGE = re.compile(r"Got message \d+: <(\S*) (\S*) (\S+) (.*)>$")


def require_kannel() -> None:
    """Skip (fail in CI) with the install line when Kannel is missing."""
    need("Kannel")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], T], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Receiver:
    """The web app's stand-in: records each GET's path and decoded query, answers 200."""

    def __init__(self) -> None:
        self.requests: queue.Queue[tuple[str, dict[str, str]]] = queue.Queue()
        received = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                received.put((parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self, path: str, timeout: float = 10.0, **match: str) -> dict[str, str]:
        """The next request to `path` whose parameters include `match`; others are dropped."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                got_path, params = self.requests.get(timeout=left)
            except queue.Empty:
                break
            if got_path == path and all(params.get(k) == v for k, v in match.items()):
                return params
        raise AssertionError(f"no request to {path} with {match} within {timeout} s")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Kannel:
    """bearerbox + smsbox + a listening fakesmsc, configured in `workdir`."""

    username = "jalsa"
    password = "sendsms-pw"
    admin_password = "admin-pw"

    def __init__(self, workdir: Path, get_url: str) -> None:
        require_kannel()
        self.workdir = workdir
        self.ports = {name: free_port() for name in ("admin", "box", "fake", "mo", "sendsms")}
        self.conf = workdir / "kannel.conf"
        self.conf.write_text(self.config(get_url))
        self.fake_log = workdir / "fakesmsc.out"
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sendsms']}/cgi-bin/sendsms"

    def config(self, get_url: str) -> str:
        port, log = self.ports, self.workdir
        # get-url is quoted; a `"` in it would end the value, and Kannel has no escape for it.
        assert '"' not in get_url
        return f"""
group = core
admin-port = {port["admin"]}
admin-interface = 127.0.0.1
admin-password = {self.admin_password}
smsbox-port = {port["box"]}
box-allow-ip = 127.0.0.1
log-file = "{log}/bearerbox.log"
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {port["fake"]}
connect-allow-ip = 127.0.0.1

group = smsc
smsc = fake
smsc-id = mo
allowed-smsc-id = mo
port = {port["mo"]}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {port["box"]}
sendsms-port = {port["sendsms"]}
sendsms-interface = 127.0.0.1
mo-recode = true
log-file = "{log}/smsbox.log"
log-level = 1

group = sendsms-user
username = {self.username}
password = {self.password}
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{get_url}"
"""

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        out = open(self.workdir / f"{name}.out", "wb")  # noqa: SIM115 - the process keeps it
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir)
        out.close()
        self.processes.append(process)
        return process

    def _alive(self) -> None:
        for process in self.processes:
            assert process.poll() is None, f"{process.args[0]} exited: see {self.workdir}"

    def status(self) -> str:
        url = f"http://127.0.0.1:{self.ports['admin']}/status.txt"
        try:
            return httpx.get(url, params={"password": self.admin_password}, timeout=2).text
        except httpx.HTTPError:
            return ""

    def start(self) -> Kannel:
        """Start all three and wait until each is up; if one does not come up, stop the others
        (a failed start leaves no process behind)."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._spawn("bearerbox", BEARERBOX, str(self.conf))
        wait_for("bearerbox's admin port", lambda: self._alive() or "Status:" in self.status())
        self._spawn("fakesmsc", FAKESMSC, "-H", "127.0.0.1", "-r", str(self.ports["fake"]),
                    "-m", "0", "unused")  # fmt: skip
        self._spawn("smsbox", SMSBOX, str(self.conf))

        def ready() -> bool:
            self._alive()
            status = self.status()
            return bool(FAKE_ONLINE.search(status)) and "smsbox:" in status

        wait_for("the fake SMSC and smsbox to connect", ready)
        wait_for("smsbox's sendsms port", self._sendsms_listening)

    def _sendsms_listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.ports["sendsms"]), timeout=1):
                return True
        except OSError:
            return False

    def delivered(self) -> list[tuple[str, str, str]]:
        """What reached the fake SMSC: (sender, receiver, text), text decoded from fakesmsc's
        `text`, `data` (url-encoded bytes) or `ucs-2` (url-encoded UTF-16BE) forms."""
        out: list[tuple[str, str, str]] = []
        for line in self.fake_log.read_text(errors="replace").splitlines():
            match = GOT_MESSAGE.search(line)
            if match:
                sender, receiver, kind, data = match.groups()
                out.append((sender, receiver, fakesmsc_text(kind, data)))
        return out

    def inject_mo(self, sender: str, receiver: str, text: str) -> None:
        """A supporter's message, through a second fakesmsc on the "mo" connection: sent as
        `ucs2` when it is not plain ASCII, as a phone would."""
        if text.isascii():
            line = f"{sender} {receiver} text {text}"
        else:
            line = f"{sender} {receiver} ucs2 {quote(text.encode('utf-16-be'), safe='')}"
        name = f"fakesmsc-mo-{time.monotonic_ns()}"
        process = self._spawn(name, FAKESMSC, "-H", "127.0.0.1", "-r", str(self.ports["mo"]),
                              "-m", "1", line)  # fmt: skip
        log = self.workdir / f"{name}.out"
        wait_for("fakesmsc to send the MO", lambda: "sent message 1" in log.read_text())
        # It never exits by itself; bearerbox reads the line before it sees the close.
        self._terminate(process)

    def _terminate(self, process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop(self) -> None:
        """smsbox first, then the fake SMSC client, then bearerbox: each ends cleanly."""
        for process in reversed(self.processes):
            self._terminate(process)


def fakesmsc_text(kind: str, data: str) -> str:
    """fakesmsc prints data url-encoded, a space as `+` (a real `+` is `%2B`)."""
    if kind == "text":
        return data
    raw = unquote_to_bytes(data.replace("+", "%20"))
    return raw.decode("utf-16-be" if kind in ("ucs-2", "ucs2") else "utf-8", errors="replace")
