"""DNS lookups for the probes: the system resolver and configured plain and encrypted ones.

Each lookup becomes a `DnsObservation`, failures included, so a censored resolver (a lie, a
NXDOMAIN, silence) can be compared with an encrypted one that the censor cannot read.

A resolver is named by one string:
  "system"                          the vantage's own resolver (getaddrinfo, i.e. the stub)
  "1.1.1.1" or "1.1.1.1:5353"       plain DNS over UDP (falls back to TCP when truncated)
  "tcp://1.1.1.1"                   plain DNS over TCP
  "https://1.1.1.1/dns-query"       DNS over HTTPS (RFC 8484)
  "tls://1.1.1.1#cloudflare-dns.com" DNS over TLS (the name after # is checked on the cert)

DoH is sent with httpx and dnspython's wire format rather than `dns.asyncquery.https`: since
2.9 dnspython's DoH needs the separate httpx2/h2 packages, while httpx is already ours.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import httpx

from jalsa.watch.record import DnsObservation, DnsTransport

_DNS_MESSAGE = "application/dns-message"


@dataclass(frozen=True)
class ResolverSpec:
    """A parsed resolver string (see the module docstring)."""

    name: str  # the string it was parsed from, kept as the observation's `resolver`
    transport: DnsTransport
    address: str = ""  # IP for udp/tcp/dot, URL for doh
    port: int = 53
    tls_name: str | None = None  # DoT: the name to verify on the certificate


def parse_resolver(spec: str) -> ResolverSpec:
    """Read one resolver string; raises ValueError with the accepted forms on a bad one."""
    if spec == "system":
        return ResolverSpec(spec, "system")
    if spec.startswith("https://"):
        return ResolverSpec(spec, "doh", spec, 443)
    transport: DnsTransport = "udp"
    rest = spec
    for prefix, kind in (("tcp://", "tcp"), ("tls://", "dot"), ("udp://", "udp")):
        if spec.startswith(prefix):
            transport, rest = kind, spec[len(prefix) :]  # type: ignore[assignment]
    rest, _, tls_name = rest.partition("#")
    port = 853 if transport == "dot" else 53
    host = rest
    if rest.startswith("["):  # [2606:4700::1111]:53
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":"):
            port = int(tail[1:])
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        port = int(port_text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"resolver {spec!r}: give 'system', an IP address ('1.1.1.1'), 'tcp://IP', "
            "'tls://IP#name' or a DoH URL ('https://1.1.1.1/dns-query')"
        ) from None
    return ResolverSpec(spec, transport, host, port, tls_name or None)


async def lookup(
    host: str, spec: ResolverSpec, timeout: float, ssl_context: ssl.SSLContext
) -> DnsObservation:
    """Resolve `host` (A and AAAA) with one resolver; never raises on a network error."""
    started = time.monotonic()
    obs = DnsObservation(resolver=spec.name, transport=spec.transport)
    try:
        if spec.transport == "system":
            await _system(host, obs, timeout)
        else:
            await _query(host, spec, obs, timeout, ssl_context)
    except (TimeoutError, dns.exception.Timeout, httpx.TimeoutException):
        obs.failure = "timeout"
    except ConnectionRefusedError:
        obs.failure = "refused"
    except ConnectionResetError:
        obs.failure = "reset"
    except httpx.ConnectError as exc:  # DoH: the OS error is wrapped (in an exception group)
        obs.failure = _wrapped(exc) or f"ConnectError: {exc}"
    except (
        OSError,
        ValueError,
        dns.exception.DNSException,
        httpx.HTTPError,
        httpx.InvalidURL,
    ) as exc:
        obs.failure = f"{type(exc).__name__}: {exc}".strip()
    obs.seconds = time.monotonic() - started
    return obs


async def _system(host: str, obs: DnsObservation, timeout: float) -> None:
    """getaddrinfo, as the browser does; its error codes stand for the stub's rcodes."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout
        )
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_NONAME:
            obs.rcode = "NXDOMAIN"
        elif exc.errno == getattr(socket, "EAI_NODATA", None):
            obs.rcode = "NOERROR"
        elif exc.errno == socket.EAI_AGAIN:  # SERVFAIL or no answer: the stub cannot tell
            obs.failure = "timeout"
        else:
            obs.failure = f"gaierror: {exc.strerror}"
        return
    obs.rcode = "NOERROR"
    obs.answers = _unique(str(info[4][0]) for info in infos)


async def _query(
    host: str, spec: ResolverSpec, obs: DnsObservation, timeout: float, context: ssl.SSLContext
) -> None:
    """A and AAAA at once; the rcode is A's unless only AAAA answered."""
    results = await asyncio.gather(
        *(
            _one(dns.message.make_query(host, rdtype), spec, timeout, context)
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
        ),
        return_exceptions=True,
    )
    answers: list[str] = []
    rcode: str | None = None
    for result in results:
        if isinstance(result, BaseException):
            continue
        rcode = rcode or dns.rcode.to_text(result.rcode())
        for rrset in result.answer:
            if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                answers.extend(rdata.to_text() for rdata in rrset)
    if rcode is None:  # both failed: report the A query's failure
        first = results[0]
        assert isinstance(first, BaseException)
        raise first
    obs.rcode = rcode
    obs.answers = _unique(answers)


async def _one(
    query: dns.message.Message, spec: ResolverSpec, timeout: float, context: ssl.SSLContext
) -> dns.message.Message:
    if spec.transport == "udp":
        response, _ = await dns.asyncquery.udp_with_fallback(
            query, spec.address, timeout=timeout, port=spec.port
        )
        return response
    if spec.transport == "tcp":
        return await dns.asyncquery.tcp(query, spec.address, timeout=timeout, port=spec.port)
    if spec.transport == "dot":
        return await dns.asyncquery.tls(
            query,
            spec.address,
            timeout=timeout,
            port=spec.port,
            ssl_context=context,
            server_hostname=spec.tls_name,
        )
    return await _doh(query, spec.address, timeout, context)


async def _doh(
    query: dns.message.Message, url: str, timeout: float, context: ssl.SSLContext
) -> dns.message.Message:
    """RFC 8484 POST with the wire-format message."""
    query.id = 0  # as RFC 8484 recommends, for caches
    async with httpx.AsyncClient(verify=context, timeout=timeout) as client:
        response = await client.post(
            url,
            content=query.to_wire(),
            headers={
                "content-type": "application/dns-message",
                "accept": "application/dns-message",
            },
        )
    response.raise_for_status()
    return dns.message.from_wire(response.content)


def _wrapped(exc: BaseException) -> str | None:
    """ "refused" or "reset" when a connection error of that kind is inside `exc`."""
    todo: list[BaseException] = [exc]
    for _ in range(50):  # a chain is short; this only guards against a cycle
        if not todo:
            break
        current = todo.pop()
        if isinstance(current, ConnectionRefusedError):
            return "refused"
        if isinstance(current, ConnectionResetError):
            return "reset"
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return None


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
