"""The verdict rules: from what a vantage observed, and what the control observed, to one method.

This is the one place the rules live; the probes, the server and the OONI import all call
`classify`. The rules follow OONI's web_connectivity 0.5 analysis: the steps run in order (DNS,
TCP, TLS, HTTP, throughput) and the first step that failed where the control succeeded names the
method. A step that failed at the control too means the site is down, not blocked.

Choices worth knowing:
- The resolver under test is the system resolver (what browsers and apps use); plain UDP/TCP
  resolvers stand in when no system lookup was recorded. Encrypted resolvers (DoH/DoT) and the
  control are the references for its answers.
- A resolver that gives no address at all (NXDOMAIN, no data, SERVFAIL, timeout) while the
  control resolves the name is `dns.nxdomain`; the reason says which answer it was.
- Answers are consistent when they overlap the references' or when TLS for the real name
  completed with a valid certificate on one of them (a CDN node or a transparent proxy).
- A TLS failure other than a timeout (reset, EOF, alert, bad certificate) is `tls.reset`.
- `http.diff` compares only answers that TLS did not authenticate (plain http:// URLs), as OONI
  does: over HTTPS a different page comes from the real server (a CAPTCHA, another language),
  not from the network. A block-page fingerprint counts over both.
- An answer that began (a status arrived) and then stalled until a timeout is `throttled`: this
  is how OONI's throttling scenarios look (HTTP 200, truncated body, generic_timeout_error).
- Without a control, a failing step still gets its method (the vantage could not get through)
  and the reason says no control was reached; nothing is called `down` without one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from jalsa.watch.fingerprints import BUILTIN, Fingerprints
from jalsa.watch.record import (
    DnsObservation,
    HttpObservation,
    Method,
    Observations,
    TcpObservation,
    TlsObservation,
    Verdict,
)

# Throttled when the rate is below this share of the reference. Mobile links in one city vary
# by up to about 5x over a day; a 10x drop is beyond that, and the 2023-24 Pakistani throttling
# of X and video cut rates by far more than 10x.
THROTTLE_RATIO = 0.1
# OONI's web_connectivity: bodies whose lengths differ by more than this share differ.
BODY_PROPORTION = 0.7

STEPS = ("dns", "tcp", "tls", "http")
Step = Literal["dns", "tcp", "tls", "http"]
Basis = Literal["measured", "reference", "none"]
PLAIN_DNS = ("udp", "tcp")
ENCRYPTED_DNS = ("doh", "dot")


@dataclass(frozen=True)
class Reference:
    """The rate a transfer is compared with: the vantage's recent baseline or the control's."""

    bits_per_second: float | None
    source: str  # in words, e.g. "lahore-ptcl median of the last 24 h"


@dataclass(frozen=True)
class _Case:
    observed: Observations
    control: Observations | None
    reference: Reference | None
    throttle_ratio: float
    fingerprints: Fingerprints

    def verdict(self, method: Method, reason: str, basis: Basis | None = None) -> Verdict:
        if basis is None:
            basis = "none" if self.control is None else "measured"
        if basis == "none":
            reason += "; no control was reached"
        return Verdict(method=method, reason=reason, control=basis)

    def down(self, reason: str) -> Verdict:
        return Verdict(method="down", reason=reason, control="measured")


def classify(
    observed: Observations,
    control: Observations | None,
    reference: Reference | None = None,
    *,
    throttle_ratio: float = THROTTLE_RATIO,
    fingerprints: Fingerprints = BUILTIN,
) -> Verdict:
    """The verdict for one target from one vantage: the first step that failed here where the
    control got through, `down` when the control failed too, else `ok`."""
    case = _Case(observed, control, reference, throttle_ratio, fingerprints)
    for step in (_dns, _tcp, _tls, _http, _throughput):
        found = step(case)
        if found is not None:
            return found
    return _end(case)


# --- helpers ---------------------------------------------------------------------------------


def _tls_ok(t: TlsObservation) -> bool:
    return t.ok and t.cert_valid is not False


def _http_ok(h: HttpObservation) -> bool:
    return h.failure is None and h.status is not None


def _step_results(obs: Observations, step: Step) -> list[bool]:
    if step == "dns":
        return [bool(d.answers) for d in obs.dns]
    if step == "tcp":
        return [t.ok for t in obs.tcp]
    if step == "tls":
        return [_tls_ok(t) for t in obs.tls if not t.control_sni]
    return [_http_ok(h) for h in obs.http]


def _control_ok(control: Observations | None, step: Step) -> bool | None:
    """Whether the control got through `step`: its own observations of the step, else the first
    later step it recorded (it could not have fetched the page without passing this one).
    None: no control, or it recorded nothing from this step on."""
    if control is None:
        return None
    for later in STEPS[STEPS.index(step) :]:
        results = _step_results(control, later)  # type: ignore[arg-type]
        if results:
            return any(results)
    return None


def _is_bogon(address: str) -> bool:
    """Private, loopback, link-local, reserved, shared, unspecified or multicast."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not ip.is_global or ip.is_multicast


def _answers(observations: Iterable[DnsObservation]) -> set[str]:
    return {a for d in observations for a in d.answers}


def _no_address(d: DnsObservation) -> str:
    if d.rcode and d.rcode != "NOERROR":
        return d.rcode
    return d.failure or "no address"


def _names(addresses: Iterable[str], limit: int = 3) -> str:
    items = sorted(addresses)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _after(seconds: Iterable[float]) -> str:
    longest = max(seconds, default=0.0)
    return f" after {longest * 1000:.0f} ms" if longest > 0 else ""


def _is_timeout(failure: str | None) -> bool:
    return failure is not None and "timeout" in failure.lower()


# --- DNS -------------------------------------------------------------------------------------


def _dns(case: _Case) -> Verdict | None:
    dns = case.observed.dns
    tested = [d for d in dns if d.transport == "system"] or [
        d for d in dns if d.transport in PLAIN_DNS
    ]
    if not tested:
        return None
    who = "system" if tested[0].transport == "system" else tested[0].resolver
    encrypted = [d for d in dns if d.transport in ENCRYPTED_DNS]
    references = encrypted + (case.control.dns if case.control else [])
    answers = _answers(tested)
    if not answers:
        return _dns_no_address(case, who, tested, references)
    return _dns_bogon(case, who, answers, references) or _dns_injection(
        case, who, answers, references
    )


def _dns_no_address(
    case: _Case, who: str, tested: list[DnsObservation], references: list[DnsObservation]
) -> Verdict:
    said = _no_address(tested[0])
    if _control_ok(case.control, "dns") is False:
        return case.down(f"the {who} resolver answered {said} and the control found no address")
    return case.verdict(
        "dns.nxdomain", f"the {who} resolver answered {said}{_elsewhere(case, references)}"
    )


def _elsewhere(case: _Case, references: list[DnsObservation]) -> str:
    """What the control, else an encrypted resolver, answered instead, in words."""
    control = _answers(case.control.dns) if case.control else set()
    if control:
        return f"; the control resolved {_names(control)}"
    encrypted = _answers(references)
    return f"; an encrypted resolver resolved {_names(encrypted)}" if encrypted else ""


def _dns_bogon(
    case: _Case, who: str, answers: set[str], references: list[DnsObservation]
) -> Verdict | None:
    bogons = {a for a in answers if _is_bogon(a)} - _answers(references)
    if not bogons:
        return None
    return case.verdict(
        "dns.bogon",
        f"the {who} resolver answered {_names(bogons)}, a private or reserved address"
        + _elsewhere(case, references),
    )


def _tls_on(observed: Observations, addresses: set[str]) -> tuple[bool, str]:
    """Whether TLS for the real name completed with a valid certificate on one of `addresses`,
    and what happened there in words."""
    tried = [t for t in observed.tls if t.ip in addresses and not t.control_sni]
    if any(_tls_ok(t) for t in tried):
        return True, "completed"
    if not tried:
        return False, "could not be tried"
    t = tried[0]
    return False, "gave an invalid certificate" if t.ok else f"failed ({t.failure or 'error'})"


def _dns_injection(
    case: _Case,
    who: str,
    answers: set[str],
    references: list[DnsObservation],
) -> Verdict | None:
    known = _answers(references)
    listed = case.fingerprints.match_dns(answers)
    if listed is not None:
        return case.verdict(
            "dns.injection",
            f"the {who} resolver answered {listed.ip}, a known block-page address ({listed.name})",
        )
    valid, tls = _tls_on(case.observed, answers)
    if valid:
        return None
    if known:
        if answers & known:
            return None
        why = f"neither the control nor an encrypted resolver answered that ({_names(known)})"
    elif any(_no_address(d) == "NXDOMAIN" for d in references):
        why = "the control or an encrypted resolver says the name does not exist"
    else:
        return None
    return case.verdict(
        "dns.injection",
        f"the {who} resolver answered {_names(answers)}: {why}, and TLS for the name {tls} there",
    )


# --- TCP -------------------------------------------------------------------------------------

_TCP = {
    "reset": ("tcp.reset", "was answered with a reset"),
    "refused": ("tcp.refused", "was refused by an ICMP unreachable message"),
    "timeout": ("tcp.timeout", "got no answer"),
}


def _tcp_kind(failed: list[TcpObservation]) -> str:
    failures = {(t.failure or "").lower() for t in failed}
    if "reset" in failures:
        return "reset"
    if failures & {"refused", "unreachable"}:
        return "refused"
    return "timeout"


def _tcp(case: _Case) -> Verdict | None:
    tcp = case.observed.tcp
    if not tcp or any(t.ok for t in tcp):
        return None
    method, what = _TCP[_tcp_kind(tcp)]
    where = _names(f"{t.ip}:{t.port}" for t in tcp)
    said = f"TCP connect to {where} {what}{_after(t.seconds for t in tcp)}"
    control = _control_ok(case.control, "tcp")
    if control is False:
        return case.down(f"{said}, and the control could not connect either")
    return case.verdict(method, said + ("; the control connected" if control else ""))


# --- TLS -------------------------------------------------------------------------------------


def _tls(case: _Case) -> Verdict | None:
    real = [t for t in case.observed.tls if not t.control_sni]
    if not real or any(_tls_ok(t) for t in real):
        return None
    first = real[0]
    failure = first.failure or ("invalid certificate" if first.ok else "error")
    said = f"TLS with SNI {first.sni} failed ({failure}){_after([first.seconds])} on {first.ip}"
    decoys = [t for t in case.observed.tls if t.control_sni and t.ip in {r.ip for r in real}]
    passed = next((t for t in decoys if t.ok), None)
    if passed is not None:
        return case.verdict(
            "tls.sni_filter", f"{said}; with the control SNI {passed.sni} it completed"
        )
    if decoys:
        said += f"; with the control SNI {decoys[0].sni} it failed too"
    control = _control_ok(case.control, "tls")
    if control is False:
        return case.down(f"{said}, and the control's handshake failed too")
    timeout = all(_is_timeout(t.failure) for t in real)
    method = "tls.timeout" if timeout else "tls.reset"
    return case.verdict(method, said + ("; the control completed it" if control else ""))


# --- HTTP ------------------------------------------------------------------------------------


def _http(case: _Case) -> Verdict | None:
    http = case.observed.http
    if not http:
        return None
    answered = [h for h in http if _http_ok(h)]
    if not answered:
        return _http_failed(case, http[-1])
    return _blockpage(case, answered) or _http_diff(case, answered[-1])


def _http_failed(case: _Case, h: HttpObservation) -> Verdict:
    said = f"GET {h.url} failed ({h.failure or 'no answer'}){_after([h.seconds])}"
    control = _control_ok(case.control, "http")
    if control is False:
        return case.down(f"{said}, and the control's request failed too")
    reference = _control_answer(case)
    fetched = (
        f"; the control fetched {reference.body_length} bytes"
        if reference and reference.body_length
        else ("; the control fetched it" if control else "")
    )
    if h.status is not None and _is_timeout(h.failure):
        return case.verdict(
            "throttled",
            f"GET {h.url} began (HTTP {h.status}) but the body stalled until the "
            f"timeout{_after([h.seconds])}{fetched}",
        )
    return case.verdict("http.failure", said + fetched)


def _blockpage(case: _Case, answered: list[HttpObservation]) -> Verdict | None:
    for h in answered:
        name = h.blockpage
        if name is None:
            matched = case.fingerprints.match_http(None, h.headers)
            name = matched.name if matched else None
        if name is not None:
            return case.verdict(
                "http.blockpage", f"GET {h.url} answered the block page {name} (HTTP {h.status})"
            )
    return None


def _control_answer(case: _Case) -> HttpObservation | None:
    answered = [h for h in case.control.http if _http_ok(h)] if case.control else []
    return answered[-1] if answered else None


def _http_diff(case: _Case, h: HttpObservation) -> Verdict | None:
    if h.url.lower().startswith("https://"):
        return None
    c = _control_answer(case)
    if c is None:
        return None
    if h.status != c.status:
        return case.verdict(
            "http.diff", f"GET {h.url} answered HTTP {h.status}; the control got HTTP {c.status}"
        )
    here, there = (h.title or "").strip(), (c.title or "").strip()
    lengths = (h.body_length, c.body_length)
    if here.casefold() == there.casefold() or None in lengths:
        return None
    small, large = sorted(n or 0 for n in lengths)
    if large == 0 or small / large >= BODY_PROPORTION:
        return None
    return case.verdict(
        "http.diff",
        f"GET {h.url} answered a page titled {here!r} of {h.body_length} bytes; the control "
        f"got {there!r} of {c.body_length} bytes",
    )


# --- throughput ------------------------------------------------------------------------------


def _throughput(case: _Case) -> Verdict | None:
    t = case.observed.throughput
    if t is None:
        return None
    control = case.control.throughput if case.control else None
    if t.failure and not t.bytes:
        if control is not None and control.failure and not control.bytes:
            return case.down(f"the sample {t.url} failed ({t.failure}) here and at the control")
        return case.verdict("http.failure", f"the sample {t.url} failed ({t.failure})")
    rate = t.bits_per_second
    basis: Basis
    if case.reference is not None and case.reference.bits_per_second:
        ref, source, basis = case.reference.bits_per_second, case.reference.source, "reference"
    elif control is not None and control.bits_per_second:
        ref, source, basis = control.bits_per_second, "the control", "measured"
    else:
        return None
    if rate is None or rate >= case.throttle_ratio * ref:
        return None
    return case.verdict(
        "throttled",
        f"the sample {t.url} came at {rate / 1000:.0f} kbit/s, {rate / ref:.0%} of "
        f"{ref / 1000:.0f} kbit/s from {source}",
        basis,
    )


# --- the end ---------------------------------------------------------------------------------


def _end(case: _Case) -> Verdict:
    obs = case.observed
    reached = (
        any(t.ok for t in obs.tcp)
        or any(_tls_ok(t) for t in obs.tls)
        or any(_http_ok(h) for h in obs.http)
    )
    if not reached and _control_ok(case.control, "tcp") is False:
        return case.down("nothing past DNS could be reached, and the control could not fetch it")
    if case.control is None:
        return case.verdict("ok", "every step succeeded")
    return case.verdict("ok", "every step succeeded and matched the control")
