"""Loopback servers for the watch's agent, service and CLI tests (importable as
`watch.servers`): an HTTPS site on 127.0.0.1 with a certificate for `localhost` from a test
CA, and the jalsa web app on uvicorn on a port that stays the same across a restart (an
agent keeps one server URL while the server goes down and comes back)."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from watch.certs import certificate, write_key, write_pem

BIG_BYTES = 256 * 1024


def make_ca_and_site(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, site certificate, site key) for `localhost` and 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("jalsa test CA", ca_key, ca=True)
    site_key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    site = certificate("localhost", site_key, ca.subject, ca_key, sans=sans)
    paths = (folder / "ca.pem", folder / "site.pem", folder / "site.key")
    write_pem(paths[0], ca)
    write_pem(paths[1], site)
    write_key(paths[2], site_key)
    return paths


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/big"):
            body = b"x" * BIG_BYTES
        else:
            body = b"<html><head><title>Loopback platform</title></head><body>"
            body += b"welcome " * 200 + b"</body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)


class _TlsServer(http.server.ThreadingHTTPServer):
    """TLS handshakes in the request's thread, so a stalled client holds up no one."""

    daemon_threads = True
    context: ssl.SSLContext

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@contextlib.contextmanager
def tls_site(folder: Path) -> Iterator[tuple[int, Path]]:
    """An HTTPS site on 127.0.0.1: yields (port, CA file to trust)."""
    ca, cert, key = make_ca_and_site(folder)
    server = _TlsServer(("127.0.0.1", 0), _Handler)
    server.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.context.load_cert_chain(cert, key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], ca
    finally:
        server.shutdown()
        server.server_close()


def probe_settings(ca: Path) -> dict[str, Any]:
    """Probe settings for loopback targets: the system resolver only, short timeouts."""
    return {
        "resolvers": ["system"],
        "dns_timeout": 1.0,
        "connect_timeout": 1.0,
        "tls_timeout": 1.0,
        "http_timeout": 2.0,
        "ca_bundle": str(ca),
        "sample_bytes": 64 * 1024,
        "sample_seconds": 1.0,
    }


def targets_toml(port: int, ca: Path) -> str:
    """A targets file for the agent: the loopback site (as X, and its big file as YouTube's
    sample) and a name that does not resolve (as Facebook)."""
    lines = [
        "[[targets]]",
        'host = "localhost"',
        'platform = "x"',
        f"port = {port}",
        f'sample_url = "https://localhost:{port}/big"',
        "[[targets]]",
        'host = "nowhere.invalid"',
        'platform = "facebook"',
        "[probe]",
    ]
    for key, value in probe_settings(ca).items():
        rendered = (
            "[" + ", ".join(f'"{v}"' for v in value) + "]"
            if isinstance(value, list)
            else f'"{value}"'
            if isinstance(value, str)
            else str(value)
        )
        lines.append(f"{key} = {rendered}")
    return "\n".join(lines) + "\n"


class AppServer:
    """The web app on uvicorn in a thread, on a fixed loopback port (0: a free one, kept for
    later starts): stop it and start a new one on the same address."""

    def __init__(self, port: int = 0) -> None:
        if port == 0:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
        self.port = port
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, app: FastAPI) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self.server = server
        self.thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert self.thread.is_alive(), "the server thread died while starting"
            assert time.monotonic() < deadline, "the server did not start in 10 s"
            time.sleep(0.01)

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(15)
        self.server = self.thread = None
