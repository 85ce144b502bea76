"""Real probes of a target: DNS, TCP, TLS (real and control SNI), HTTPS, plain HTTP, throughput.

`observe` takes the observations only -- a vantage agent runs it, and so does the jalsa server
as the *control helper* on an unfiltered network; `measure` adds the verdict (`classify`).
Every network failure becomes an observation with a failure word the classifier knows
(timeout, refused, reset, eof, alert); nothing here raises on a network error, because a
failure is exactly what a probe is for.
"""

from __future__ import annotations

import asyncio
import errno
import html
import ipaddress
import re
import ssl
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, Field, field_validator

from jalsa.watch.classify import Reference, classify
from jalsa.watch.dns import lookup, parse_resolver
from jalsa.watch.fingerprints import match_blockpage
from jalsa.watch.record import (
    HttpObservation,
    Measurement,
    Observations,
    Target,
    TcpObservation,
    ThroughputObservation,
    TlsObservation,
    Vantage,
)

# ICMP unreachable/prohibited answers to a SYN surface as these errnos: "refused" by a filter.
_ICMP_ERRNOS = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM}
_KEPT_HEADERS = ("server", "location", "content-type", "content-length", "via")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_PAGE_BYTES = 64 * 1024  # enough of a page for its title and a block-page match


class ProbeConfig(BaseModel):
    """How to probe; the defaults suit a volunteer's laptop on a slow, filtered network."""

    # "system" is the vantage's own resolver; the others show whether it lies (see dns.py for
    # the forms). The DoH URL names an IP so that it needs no (censorable) lookup itself.
    resolvers: list[str] = Field(
        default_factory=lambda: ["system", "1.1.1.1", "https://1.1.1.1/dns-query"]
    )
    dns_timeout: float = 5.0
    connect_timeout: float = 5.0
    tls_timeout: float = 5.0
    http_timeout: float = 10.0
    # A name the censor has no reason to block, sent as SNI to the target's own address.
    control_sni: str = "example.org"
    ca_bundle: str | None = None  # None: the system's CAs
    sample_bytes: int = 256 * 1024
    sample_seconds: float = 3.0
    max_addresses_per_family: int = 2
    concurrency: int = 4  # targets probed at once
    user_agent: str = "Mozilla/5.0 (jalsa disruption watch)"

    @field_validator("resolvers")
    @classmethod
    def _known_forms(cls, resolvers: list[str]) -> list[str]:
        """A mistyped resolver is a settings error now, not a failed lookup every round."""
        for resolver in resolvers:
            parse_resolver(resolver)
        return resolvers

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_bundle)


async def measure(
    target: Target,
    vantage: Vantage,
    config: ProbeConfig,
    *,
    control: Observations | None = None,
    reference: Reference | None = None,
    round_at: datetime | None = None,
) -> Measurement:
    """Observe one target and classify it against the control and the throughput reference."""
    started = datetime.now(UTC)
    observed = await observe(target, config)
    return Measurement(
        id=uuid.uuid4().hex,
        target=target.host,
        platform=target.platform,
        vantage=vantage,
        round_at=round_at or started,
        started_at=started,
        finished_at=datetime.now(UTC),
        observations=observed,
        control=control,
        verdict=classify(observed, control, reference, url=target.url),
        latency_ms=latency_ms(observed),
    )


async def measure_all(
    targets: Sequence[Target],
    vantage: Vantage,
    config: ProbeConfig,
    *,
    controls: dict[str, Observations] | None = None,
    references: dict[str, Reference] | None = None,
    round_at: datetime | None = None,
) -> list[Measurement]:
    """One round: every target, `config.concurrency` at a time, in the targets' order.
    `controls` and `references` are keyed by host."""
    round_at = round_at or datetime.now(UTC)
    limit = asyncio.Semaphore(config.concurrency)

    async def one(target: Target) -> Measurement:
        async with limit:
            return await measure(
                target,
                vantage,
                config,
                control=(controls or {}).get(target.host),
                reference=(references or {}).get(target.host),
                round_at=round_at,
            )

    return list(await asyncio.gather(*(one(t) for t in targets)))


async def observe_all(targets: Sequence[Target], config: ProbeConfig) -> list[Observations]:
    """`observe` for many targets, `config.concurrency` at a time (the control helper's round)."""
    limit = asyncio.Semaphore(config.concurrency)

    async def one(target: Target) -> Observations:
        async with limit:
            return await observe(target, config)

    return list(await asyncio.gather(*(one(t) for t in targets)))


async def observe(target: Target, config: ProbeConfig) -> Observations:
    """DNS with every resolver, TCP to each address, TLS with the real and the control SNI,
    then HTTPS, plain HTTP and a throughput sample on the best address."""
    context = config.ssl_context()
    specs = [parse_resolver(r) for r in config.resolvers]
    dns = list(
        await asyncio.gather(*(lookup(target.host, s, config.dns_timeout, context) for s in specs))
    )
    addresses = _pick_addresses(
        (a for d in dns for a in d.answers), config.max_addresses_per_family
    )
    tcp = list(
        await asyncio.gather(
            *(probe_tcp(ip, target.port, config.connect_timeout) for ip in addresses)
        )
    )
    reached = [t.ip for t in tcp if t.ok]
    tls = list(
        await asyncio.gather(
            *(
                probe_tls(ip, target.port, sni, sni != target.host, config, context)
                for ip in reached
                for sni in (target.host, config.control_sni)
            )
        )
    )
    observed = Observations(dns=dns, tcp=tcp, tls=tls)
    real = [t for t in tls if not t.control_sni and t.ok]
    best = next((t for t in real if t.cert_valid), real[0] if real else None)
    if best is not None:
        page, sample = await _get(
            target.url, best.ip, target.port, target.host, config, best.cert_valid is True
        )
        observed.http.append(page)
        if target.sample_url is None:
            observed.throughput = sample
        else:
            observed.throughput = await _sample(target, best.ip, best.cert_valid is True, config)
    # Block pages are mostly served on port 80, to whatever address the resolver gave.
    plain_ip = best.ip if best else (reached[0] if reached else next(iter(addresses), None))
    if plain_ip is not None:
        page, _ = await _get(f"http://{target.host}/", plain_ip, 80, target.host, config, False)
        observed.http.append(page.model_copy(update={"check_only": True}))
    return observed


def latency_ms(observed: Observations) -> float | None:
    """The TCP connect time of the first address that connected (else the first TLS time)."""
    for t in observed.tcp:
        if t.ok:
            return t.seconds * 1000
    for s in observed.tls:
        if s.ok:
            return s.seconds * 1000
    return None


def _pick_addresses(answers: Iterable[str], per_family: int) -> list[str]:
    """The distinct addresses in the resolvers' order, at most `per_family` v4 and v6 each."""
    picked: list[str] = []
    counts = {4: 0, 6: 0}
    for answer in dict.fromkeys(answers):
        try:
            version = ipaddress.ip_address(answer).version
        except ValueError:
            continue
        if counts[version] < per_family:
            counts[version] += 1
            picked.append(answer)
    return picked


async def _open(
    ip: str, port: int, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)


def _close(writer: asyncio.StreamWriter) -> None:
    writer.transport.abort()


def connect_failure(exc: BaseException) -> str:
    """The classifier's word for a failed TCP connect (see TcpObservation.failure)."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError | ConnectionResetError):
        return "reset"  # a RST answered the SYN
    if isinstance(exc, OSError) and exc.errno in _ICMP_ERRNOS:
        return "refused"
    return f"{type(exc).__name__}: {exc}"


async def probe_tcp(ip: str, port: int, timeout: float) -> TcpObservation:
    started = time.monotonic()
    try:
        _, writer = await _open(ip, port, timeout)
    except (OSError, TimeoutError) as exc:
        failure = connect_failure(exc)
        return TcpObservation(
            ip=ip, port=port, ok=False, failure=failure, seconds=time.monotonic() - started
        )
    seconds = time.monotonic() - started
    _close(writer)
    return TcpObservation(ip=ip, port=port, ok=True, seconds=seconds)


async def probe_tls(
    ip: str, port: int, sni: str, control_sni: bool, config: ProbeConfig, context: ssl.SSLContext
) -> TlsObservation:
    """One handshake on a fresh connection. A certificate that fails verification still means
    the server (or whoever holds the address) answered: ok, with cert_valid False."""
    obs = TlsObservation(ip=ip, port=port, sni=sni, control_sni=control_sni, ok=False)
    try:
        reader, writer = await _open(ip, port, config.connect_timeout)
    except (OSError, TimeoutError) as exc:
        obs.failure = f"tcp {connect_failure(exc)}"
        return obs
    started = time.monotonic()
    try:
        await asyncio.wait_for(_handshake(reader, writer, context, sni), config.tls_timeout)
        obs.ok, obs.cert_valid = True, True
    except ssl.SSLCertVerificationError:
        obs.ok, obs.cert_valid = True, False
    except (OSError, TimeoutError, EOFError, ssl.SSLError) as exc:
        obs.failure = tls_failure(exc)
    finally:
        _close(writer)
    obs.seconds = time.monotonic() - started
    return obs


def tls_failure(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, EOFError | ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return "eof"
    if isinstance(exc, ssl.SSLError) and "ALERT" in str(exc.reason or "").upper():
        return "alert"
    return f"{type(exc).__name__}: {exc}"


async def _handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    context: ssl.SSLContext,
    sni: str,
) -> None:
    """Drive the handshake through memory BIOs, so that a FIN (eof) and a RST (reset) from the
    network stay distinct -- asyncio's own start_tls reports both as a lost connection."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=sni)
    while True:
        try:
            tls.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            done = False
        finally:
            pending = outgoing.read()
            if pending:
                writer.write(pending)
        await writer.drain()
        if done:
            return
        chunk = await reader.read(65536)
        if not chunk:
            raise EOFError("the connection was closed during the handshake")
        incoming.write(chunk)


def http_failure(exc: BaseException) -> str:
    """The classifier's word for a failed HTTP exchange, from httpx's error and its causes."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    causes = list(_causes(exc))
    if isinstance(exc, httpx.ConnectError):
        # the most telling of the connect errors (httpx may wrap several attempts in one)
        for cause in causes:
            if isinstance(cause, ssl.SSLError):
                return f"tls {tls_failure(cause)}"
            if isinstance(cause, OSError) and (cause.errno or isinstance(cause, TimeoutError)):
                return f"tcp {connect_failure(cause)}"
    for cause in causes:
        if isinstance(cause, ConnectionResetError):
            return "reset"
        if isinstance(cause, ssl.SSLError):
            return f"tls {tls_failure(cause)}"
    if isinstance(exc, httpx.RemoteProtocolError) and "disconnect" in str(exc).lower():
        return "eof"
    return f"{type(exc).__name__}: {exc}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps: causes, contexts and the members of exception groups."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


async def _get(
    url: str, ip: str, port: int, host: str, config: ProbeConfig, verify: bool
) -> tuple[HttpObservation, ThroughputObservation]:
    """GET `url` from the address `ip` with the real Host and SNI; the body is read up to the
    sample cap, and the read is also the throughput sample."""
    parts = urlsplit(url)
    authority = f"[{ip}]" if ":" in ip else ip
    direct = f"{parts.scheme}://{authority}:{port}{parts.path or '/'}"
    if parts.query:
        direct += f"?{parts.query}"
    obs = HttpObservation(url=url, ip=ip)
    sample = ThroughputObservation(url=url, bytes=0, seconds=0.0)
    started = time.monotonic()
    body = bytearray()
    try:
        async with (
            httpx.AsyncClient(
                verify=config.ssl_context() if verify else False,
                timeout=config.http_timeout,
                headers={"user-agent": config.user_agent},
            ) as client,
            client.stream(
                "GET", direct, headers={"host": host}, extensions={"sni_hostname": host}
            ) as response,
        ):
            obs.status = response.status_code
            obs.headers = {k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers}
            first_byte = time.monotonic()
            try:
                async for chunk in response.aiter_raw():
                    body += chunk
                    elapsed = time.monotonic() - first_byte
                    if len(body) >= config.sample_bytes or elapsed >= config.sample_seconds:
                        break
            finally:
                sample.seconds = time.monotonic() - first_byte
                sample.bytes = len(body)
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ssl.SSLError) as exc:
        failure = http_failure(exc)
        if obs.status is None:
            obs.failure = failure
        sample.failure = failure
    obs.seconds = time.monotonic() - started
    if obs.status is not None:
        obs.body_length = len(body)
        obs.title = _title(bytes(body[:_PAGE_BYTES]))
        obs.blockpage = match_blockpage(obs.status, obs.headers, bytes(body[:_PAGE_BYTES]))
    return obs, sample


async def _sample(
    target: Target, ip: str, verify: bool, config: ProbeConfig
) -> ThroughputObservation:
    """The throughput sample from `target.sample_url`, on the same address when it is the
    target's own host (another host is resolved by the system resolver)."""
    assert target.sample_url is not None
    parts = urlsplit(target.sample_url)
    host = parts.hostname or target.host
    if host != target.host:
        ip, verify = host, True
    _, sample = await _get(target.sample_url, ip, parts.port or target.port, host, config, verify)
    return sample


def _title(body: bytes) -> str | None:
    found = _TITLE.search(body)
    if not found:
        return None
    text = html.unescape(found.group(1).decode("utf-8", "replace"))
    return " ".join(text.split())[:200] or None
