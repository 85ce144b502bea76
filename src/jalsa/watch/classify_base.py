"""What the verdict rules share: the case being judged, the row it ends on, and the lookups of
the control's result for one endpoint and step (OONI's expected / unexpected / unexplained)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from jalsa.watch.fingerprints import Fingerprints
from jalsa.watch.record import (
    DnsObservation,
    HttpObservation,
    Observations,
    TcpObservation,
    TlsObservation,
    Verdict,
)
from jalsa.watch.verdict_table import BY_ID

Basis = Literal["measured", "reference", "none"]
# How a failure compares with the control's result for the same endpoint and step.
Expectation = Literal["unexpected", "expected", "unexplained"]


@dataclass(frozen=True)
class Reference:
    """The rate a transfer is compared with: the vantage's recent baseline or the control's."""

    bits_per_second: float | None
    source: str  # in words, e.g. "lahore-ptcl median of the last 24 h"


@dataclass
class Case:
    observed: Observations
    control: Observations | None
    reference: Reference | None
    throttle_ratio: float
    fingerprints: Fingerprints
    url: str | None = None  # the URL this measurement fetched, when the caller knows it
    final_hop: bool = True  # False: a later hop of a redirect chain follows this one
    trace: list[str] = field(default_factory=list)  # the rows passed, then the deciding one

    def note(self, rule: str) -> None:
        """A row that passes on to the next step."""
        assert rule in BY_ID and not BY_ID[rule].methods, rule
        self.trace.append(rule)

    def rule(
        self, rule: str, reason: str, method: str | None = None, basis: Basis | None = None
    ) -> Verdict:
        """The verdict of row `rule`: its method (or `method`, one of the row's)."""
        row = BY_ID[rule]
        method = method or (row.methods[0] if len(row.methods) == 1 else None)
        assert method is not None and method in row.methods, (rule, method)
        self.trace.append(rule)
        if basis is None:
            basis = "none" if self.control is None else "measured"
        if basis == "none" and method != "unknown" and "no control" not in reason:
            reason += "; no control was reached"
        return Verdict(method=method, reason=reason, control=basis)

    # --- the control, per endpoint and step -------------------------------------------------

    def control_fetched(self) -> bool | None:
        """Whether the control fetched the page; None: no control, or it recorded no request."""
        if self.control is None or not self.control.http:
            return None
        return any(http_ok(h) for h in self.control.http)

    def control_answer(self) -> HttpObservation | None:
        answered = [h for h in self.control.http if http_ok(h)] if self.control else []
        return answered[-1] if answered else None

    def control_reached(self) -> bool | None:
        """Whether the control reached the site itself (a valid handshake or the page);
        False when every handshake and its request failed; None when it did not try."""
        if self.control is None:
            return None
        tls = [t for t in self.control.tls if not t.control_sni]
        fetched = self.control_fetched()
        if fetched or any(tls_ok(t) for t in tls):
            return True
        if fetched is False or tls:
            return False
        return None

    def expectation(self, ip: str, port: int, step: Literal["tcp", "tls"]) -> Expectation:
        """A failure at (ip, port) against the control: it succeeded there (or, not having
        tried there, fetched the page) -> unexpected; it failed there (or could not fetch the
        page) -> expected; else unexplained."""
        if self.control is None:
            return "unexplained"
        results = (
            [t.ok for t in self.control.tcp if (t.ip, t.port) == (ip, port)]
            if step == "tcp"
            else [tls_ok(t) for t in self.control.tls if (t.ip, t.port) == (ip, port)]
        )
        if results:
            return "unexpected" if any(results) else "expected"
        fetched = self.control_fetched()
        if fetched is None:
            return "unexplained"
        return "unexpected" if fetched else "expected"

    def fetch_port(self) -> int | None:
        """The port of the URL fetched (443 for https://, 80 for http://); None: unknown."""
        chain = [h for h in self.observed.http if not h.check_only]
        url = self.url or (chain[-1].url if chain else None)
        if not url:
            return None
        try:
            parts = urlsplit(url)
            return parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
        except ValueError:
            return None


# --- helpers ---------------------------------------------------------------------------------


def tls_ok(t: TlsObservation) -> bool:
    return t.ok and t.cert_valid is not False


def http_ok(h: HttpObservation) -> bool:
    return h.failure is None and h.status is not None


def is_bogon(address: str) -> bool:
    """Private, loopback, link-local, reserved, shared, unspecified or multicast."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not ip.is_global or ip.is_multicast


def is_ipv6(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).version == 6
    except ValueError:
        return False


def answers(observations: Iterable[DnsObservation]) -> set[str]:
    return {a for d in observations for a in d.answers}


def no_address(d: DnsObservation) -> str:
    if d.rcode and d.rcode != "NOERROR":
        return d.rcode
    return d.failure or "no address"


def names(addresses: Iterable[str], limit: int = 3) -> str:
    items = sorted(addresses)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def after(seconds: Iterable[float]) -> str:
    longest = max(seconds, default=0.0)
    return f" after {longest * 1000:.0f} ms" if longest > 0 else ""


def is_timeout(failure: str | None) -> bool:
    return failure is not None and "timeout" in failure.lower()


def endpoints(items: Iterable[TcpObservation | TlsObservation]) -> str:
    return names(f"[{t.ip}]:{t.port}" if ":" in t.ip else f"{t.ip}:{t.port}" for t in items)
