"""The probe on loopback, without namespaces: handshakes, failures as observations, DoH."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jalsa.watch.dns import lookup, parse_resolver
from jalsa.watch.probe import ProbeConfig, measure, observe, probe_tcp, probe_tls
from jalsa.watch.record import Target, Vantage
from watch.netlab import PLATFORM_IP, _Handler, _Server, client_hello_sni, make_certificates


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    make_certificates(folder)
    return folder


@pytest.fixture(scope="module")
def https_port(certs: Path) -> Iterator[int]:
    """The lab's site server on 127.0.0.1: `/` is a page titled after the Host, and DoH."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.context.load_cert_chain(certs / "site.pem", certs / "site.key")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def config(certs: Path | None, **changes: Any) -> ProbeConfig:
    settings: dict[str, Any] = {
        "resolvers": ["system"],
        "dns_timeout": 1.0,
        "connect_timeout": 1.0,
        "tls_timeout": 1.0,
        "http_timeout": 2.0,
        "ca_bundle": str(certs / "ca.pem") if certs else None,
    }
    return ProbeConfig(**(settings | changes))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_observe_a_local_https_server(certs: Path, https_port: int) -> None:
    observed = await observe(Target(host="localhost", platform="x", port=https_port), config(certs))
    assert "127.0.0.1" in observed.dns[0].answers
    assert any(t.ok and t.ip == "127.0.0.1" for t in observed.tcp)
    real = [t for t in observed.tls if t.ip == "127.0.0.1" and not t.control_sni]
    assert [(t.ok, t.cert_valid) for t in real] == [(True, True)]
    page = observed.http[0]
    assert (page.url, page.ip, page.status, page.title) == (
        "https://localhost/",
        "127.0.0.1",
        200,
        "localhost home",
    )
    assert observed.http[1].url == "http://localhost/"  # port 80: answered or a failure
    assert observed.throughput is not None
    assert observed.throughput.bytes == page.body_length


async def test_measure_gives_a_verdict_without_a_control(certs: Path, https_port: int) -> None:
    target = Target(host="localhost", platform="x", port=https_port)
    measured = await measure(target, Vantage(name="loopback"), config(certs))
    assert measured.verdict.method == "dns.bogon"  # localhost is a loopback address
    assert measured.verdict.control == "none"
    assert measured.latency_ms is not None and measured.latency_ms > 0


async def test_handshake_is_recorded_apart_from_the_certificate(
    certs: Path, https_port: int
) -> None:
    ours = config(certs)
    context = ours.ssl_context()
    wrong_name = await probe_tls("127.0.0.1", https_port, "example.org", True, ours, context)
    assert (wrong_name.ok, wrong_name.cert_valid, wrong_name.failure) == (True, False, None)
    system = config(None)
    unknown_ca = await probe_tls(
        "127.0.0.1", https_port, "x.test", False, system, system.ssl_context()
    )
    assert (unknown_ca.ok, unknown_ca.cert_valid) == (True, False)


async def test_a_closed_port_is_a_reset() -> None:
    observed = await probe_tcp("127.0.0.1", closed_port(), 1.0)
    assert (observed.ok, observed.failure) == (False, "reset")


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _tls_against(handler: Handler) -> str | None:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ours = ProbeConfig(connect_timeout=1.0, tls_timeout=0.5)
    try:
        observed = await probe_tls("127.0.0.1", port, "x.test", False, ours, ours.ssl_context())
    finally:
        server.close()
    assert not observed.ok
    return observed.failure


async def test_tls_failures_are_told_apart() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(5)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(5)
        writer.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2)
        writer.close()

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(5)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    assert await _tls_against(reset) == "reset"
    assert await _tls_against(close) == "eof"
    assert await _tls_against(silent) == "timeout"
    assert "SSLError" in (await _tls_against(garbage) or "")


async def test_unresolvable_names_and_dead_resolvers_are_observations(certs: Path) -> None:
    dead = closed_port()
    resolvers = [
        "system",
        f"127.0.0.1:{dead}",
        f"tcp://127.0.0.1:{dead}",
        f"https://127.0.0.1:{dead}/dns-query",
        f"tls://127.0.0.1:{dead}#x.test",
    ]
    observed = await observe(
        Target(host="nonexistent.invalid", platform="x"), config(certs, resolvers=resolvers)
    )
    assert [d.resolver for d in observed.dns] == resolvers
    assert all(not d.answers for d in observed.dns)
    system, udp, tcp, doh, dot = observed.dns
    assert system.rcode == "NXDOMAIN" or system.failure
    assert udp.failure in ("refused", "timeout")
    assert (tcp.failure, doh.failure, dot.failure) == ("refused", "refused", "refused")
    assert (observed.tcp, observed.tls, observed.http, observed.throughput) == ([], [], [], None)


async def test_doh_lookup(certs: Path, https_port: int) -> None:
    resolver = parse_resolver(f"https://127.0.0.1:{https_port}/dns-query")
    context = config(certs).ssl_context()
    found = await lookup("x.test", resolver, 2.0, context)
    assert (found.transport, found.rcode, found.answers) == ("doh", "NOERROR", [PLATFORM_IP])
    missing = await lookup("nope.test", resolver, 2.0, context)
    assert (missing.rcode, missing.answers) == ("NXDOMAIN", [])


async def test_dot_lookup(certs: Path) -> None:
    """DNS over TLS to a tiny server: length-prefixed DNS messages on a TLS stream."""
    import dns.message
    import dns.rdatatype
    import dns.rrset

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = int.from_bytes(await reader.readexactly(2))
        query = dns.message.from_wire(await reader.readexactly(size))
        response = dns.message.make_response(query)
        name = query.question[0].name
        if query.question[0].rdtype == dns.rdatatype.A:
            response.answer.append(dns.rrset.from_text(name, 60, "IN", "A", PLATFORM_IP))
        wire = response.to_wire()
        writer.write(len(wire).to_bytes(2) + wire)
        await writer.drain()
        writer.close()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs / "site.pem", certs / "site.key")
    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        resolver = parse_resolver(f"tls://127.0.0.1:{port}#x.test")
        found = await lookup("x.test", resolver, 2.0, config(certs).ssl_context())
    finally:
        server.close()
    assert (found.transport, found.rcode, found.answers) == ("dot", "NOERROR", [PLATFORM_IP])


def test_resolver_forms() -> None:
    assert parse_resolver("system").transport == "system"
    plain = parse_resolver("1.1.1.1")
    assert (plain.transport, plain.address, plain.port) == ("udp", "1.1.1.1", 53)
    assert parse_resolver("tcp://9.9.9.9:5353").port == 5353
    dot = parse_resolver("tls://1.1.1.1#cloudflare-dns.com")
    assert (dot.transport, dot.port, dot.tls_name) == ("dot", 853, "cloudflare-dns.com")
    assert parse_resolver("[2606:4700::1111]:53").address == "2606:4700::1111"
    assert parse_resolver("https://1.1.1.1/dns-query").transport == "doh"
    with pytest.raises(ValueError, match="give 'system'"):
        parse_resolver("dns.google")


def test_the_lab_proxy_reads_the_sni_of_a_client_hello() -> None:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="x.test")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = outgoing.read()
    assert client_hello_sni(hello) == "x.test"
    assert client_hello_sni(b"GET / HTTP/1.1\r\n\r\n") is None
