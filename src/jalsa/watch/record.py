"""What a probe observes and what we conclude from it.

A measurement of one target from one vantage point holds *observations* (what each step --
DNS, TCP, TLS, HTTP, a throughput sample -- returned, failures included) and a *verdict*
(one method from `METHODS`, with the reason in words). Observations come first and verdicts are
derived from them (`classify.py`), as in OONI's pipeline, so the same classifier runs on our
probes, on the server's control measurement and on imported OONI measurements.

All records are pydantic models: agents upload them as JSON, the server stores them, OONI
measurements are converted into them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

# The verdicts, in the spirit of OONI web_connectivity 0.5. A blocking method names the first
# step that failed where the control succeeded.
METHODS: dict[str, str] = {
    "ok": "every step succeeded and matched the control",
    "down": "the target failed from the control too: the site is down, not blocked",
    "dns.nxdomain": "the resolver said the name does not exist; the control resolved it",
    "dns.bogon": "the resolver answered a private, loopback or reserved address",
    "dns.injection": "the resolver answered addresses that are not the target's: they differ "
    "from the control's and an encrypted resolver's, and TLS for the name fails on them",
    "tcp.timeout": "no answer to TCP connect on any address; the control connected",
    "tcp.refused": "TCP connect refused by an ICMP unreachable or prohibited message; the "
    "control connected",
    "tcp.reset": "TCP connect answered with a reset on every address; the control connected",
    "tls.reset": "the connection was reset during the TLS handshake, with the real name and "
    "with a control name alike",
    "tls.timeout": "the TLS handshake got no answer, with the real name and a control name",
    "tls.sni_filter": "the TLS handshake failed with the real name (SNI) but succeeded on the "
    "same address with a control name",
    "http.failure": "TLS succeeded but the HTTP request failed (reset, timeout, no answer)",
    "http.blockpage": "the HTTP answer is a known block page",
    "http.diff": "the HTTP answer differs from the control's (status, title or size)",
    "throttled": "every step succeeded but the transfer rate was far below the reference",
    "unknown": "the observations do not settle it: a step did not run, the control has nothing "
    "to compare with, or the answer cannot be read (docs/ooni-decision-table.md)",
}
BLOCKING: frozenset[str] = frozenset(METHODS) - {"ok", "down", "unknown"}
# Verdicts a flaky network does not produce, only a censor: a lossy link times out or resets,
# it does not invent a "no such name", a private address, another server's address, a reset
# aimed at one name only, or a block page. The detector weighs them more (docs/decisions.md
# §14) -- when confirmed: the DNS verdicts only against a control (a resolver that says
# nothing at all is also dns.nxdomain), while an SNI filter carries its own control (the
# control name passed on the same address) and a block page is its own proof (a fingerprint).
CENSOR_ONLY: frozenset[str] = frozenset(
    {"dns.nxdomain", "dns.bogon", "dns.injection", "tls.sni_filter", "http.blockpage"}
)
SELF_CONFIRMED: frozenset[str] = frozenset({"tls.sni_filter", "http.blockpage"})
Method = str

DnsTransport = Literal["system", "udp", "tcp", "doh", "dot"]


class Target(BaseModel):
    """A host to probe and the platform it serves."""

    host: str
    platform: str
    # The path of the HTTP GET (the home page by default).
    path: str = "/"
    # A URL fetched to sample throughput (None: the HTTP GET's own body is the sample).
    sample_url: str | None = None
    port: int = 443

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"


# The default targets: the hosts a viewer's browser or app needs to watch each platform.
DEFAULT_TARGETS: tuple[Target, ...] = (
    Target(host="x.com", platform="x"),
    Target(host="twitter.com", platform="x"),
    Target(host="abs.twimg.com", platform="x"),
    Target(host="video.twimg.com", platform="x"),
    Target(host="www.facebook.com", platform="facebook"),
    Target(host="static.xx.fbcdn.net", platform="facebook"),
    Target(host="www.instagram.com", platform="instagram"),
    Target(host="www.youtube.com", platform="youtube"),
    Target(host="redirector.googlevideo.com", platform="youtube"),
    Target(host="i.ytimg.com", platform="youtube"),
)


class Vantage(BaseModel):
    """Where a measurement was taken from."""

    name: str
    city: str = ""
    network: str = ""  # the ISP or mobile operator, as the volunteer gives it, or an ASN


class DnsObservation(BaseModel):
    resolver: str  # "system", an address ("1.1.1.1") or a DoH/DoT URL
    transport: DnsTransport
    answers: list[str] = Field(default_factory=list)  # A and AAAA addresses
    rcode: str | None = None  # NOERROR, NXDOMAIN, SERVFAIL, ... (None: no answer)
    failure: str | None = None  # timeout, refused, error text
    seconds: float = 0.0


class TcpObservation(BaseModel):
    ip: str
    port: int
    ok: bool
    failure: str | None = None  # timeout, refused, reset, unreachable, error text
    seconds: float = 0.0


class TlsObservation(BaseModel):
    ip: str
    port: int
    sni: str
    control_sni: bool = False  # True: a name unrelated to the target, to test SNI filtering
    ok: bool  # the handshake completed (whatever the certificate)
    cert_valid: bool | None = None  # the chain and the name verified (None: not reached)
    failure: str | None = None  # reset, timeout, eof, alert, error text
    seconds: float = 0.0


class HttpObservation(BaseModel):
    url: str
    ip: str | None = None
    status: int | None = None
    body_length: int | None = None
    title: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)  # a few, lower-case names
    blockpage: str | None = None  # the name of the fingerprint that matched
    failure: str | None = None  # reset, timeout, eof, error text
    seconds: float = 0.0
    # The probe kept only the start of the body: body_length is not the page's length.
    body_truncated: bool = False
    # Why the body could not be read (e.g. not valid base64); body_length and title are then None.
    body_error: str | None = None
    # The probe's own comparison of the body length with the control's (OONI's
    # body_length_match), when it made one.
    length_match: bool | None = None
    # A side request made only to look for a block page (our probe's plain GET on port 80):
    # not the page itself, so never the final answer.
    check_only: bool = False


class ThroughputObservation(BaseModel):
    url: str
    bytes: int
    seconds: float
    failure: str | None = None

    @property
    def bits_per_second(self) -> float | None:
        return self.bytes * 8 / self.seconds if self.seconds > 0 and self.bytes else None


class Observations(BaseModel):
    """Everything one round of probing saw for one target."""

    dns: list[DnsObservation] = Field(default_factory=list)
    tcp: list[TcpObservation] = Field(default_factory=list)
    tls: list[TlsObservation] = Field(default_factory=list)
    http: list[HttpObservation] = Field(default_factory=list)
    throughput: ThroughputObservation | None = None


class Verdict(BaseModel):
    method: Method
    reason: str  # in words, naming the observations that decided it
    control: Literal["measured", "reference", "none"] = "none"

    @property
    def blocked(self) -> bool:
        return self.method in BLOCKING

    @property
    def censor_only(self) -> bool:
        """A censor's signature (see `CENSOR_ONLY`): such a method, confirmed by the control
        ("measured", or "reference": compared with something beyond the vantage) unless it
        carries its own proof."""
        return self.method in CENSOR_ONLY and (
            self.method in SELF_CONFIRMED or self.control != "none"
        )


class Measurement(BaseModel):
    """One target from one vantage at one time. `id` is made by whoever measured, so an upload
    that is repeated stores the measurement once."""

    id: str
    target: str  # the host
    platform: str
    vantage: Vantage
    # The scheduled start of the probing round it belongs to: a vantage probes every target
    # once per round, and the detector reads a vantage's rounds in order.
    round_at: datetime
    started_at: datetime
    finished_at: datetime
    observations: Observations
    control: Observations | None = None  # from the server's control helper, if reached
    verdict: Verdict
    # Time to the first byte of the answer, or the TCP connect time (ms), for latency series.
    latency_ms: float | None = None
    source: str = "probe"  # probe, or "ooni:<report id>" for imported measurements
