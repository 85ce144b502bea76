"""The verdict rules after DNS (docs/ooni-decision-table.md): the final answer when a page came
back; else TLS and TCP per endpoint on the URL's port; else the end. Each failure is compared
with the control's result for the same endpoint and step (`Case.expectation`)."""

from __future__ import annotations

from collections.abc import Sequence

from jalsa.watch.classify_base import (
    Case,
    after,
    endpoints,
    http_ok,
    is_ipv6,
    is_timeout,
    tls_ok,
)
from jalsa.watch.record import HttpObservation, TcpObservation, TlsObservation, Verdict

Endpoint = TcpObservation | TlsObservation
# Throttled when the rate is below this share of the reference. Mobile links in one city vary
# by up to about 5x over a day; a 10x drop is beyond that, and the 2023-24 Pakistani throttling
# of X and video cut rates by far more than 10x.
THROTTLE_RATIO = 0.1
# OONI's web_connectivity: bodies whose lengths differ by more than this share differ.
BODY_PROPORTION = 0.7


def after_dns(case: Case) -> Verdict:
    """The verdict once DNS has passed: the final answer decides when there is one."""
    http = case.observed.http
    found = _blockpage(case, [h for h in http if http_ok(h)])
    if found is not None:
        return found
    chain = [h for h in http if not h.check_only]
    if chain:
        final = chain[-1]  # the last request of a chain is its final answer
        if not http_ok(final):
            return _http_failed(case, final)
        if _unauthenticated(case, final):
            return _tls(case) or _http_failed(case, final)
        verdict = _answer(case, final)
        if verdict.method != "ok":
            return verdict
        return _throughput(case) or verdict
    return _tls(case) or _tcp(case) or _end(case)


# --- the final answer ------------------------------------------------------------------------


def _unauthenticated(case: Case, h: HttpObservation) -> bool:
    """An https:// answer over a connection whose handshake did not verify (our probe fetches
    the page anyway, to see it): the handshake's failure decides."""
    if not h.url.lower().startswith("https://"):
        return False
    there = [t for t in case.observed.tls if not t.control_sni and t.ip == h.ip]
    return bool(there) and not any(tls_ok(t) for t in there)


def _blockpage(case: Case, answered: list[HttpObservation]) -> Verdict | None:
    for h in answered:
        name = h.blockpage
        if name is None:
            matched = case.fingerprints.match_http(None, h.headers)
            name = matched.name if matched else None
        if name is not None:
            return case.rule(
                "http.blockpage", f"GET {h.url} answered the block page {name} (HTTP {h.status})"
            )
    return None


def _answer(case: Case, h: HttpObservation) -> Verdict:
    said = f"GET {h.url} answered HTTP {h.status}"
    if not case.final_hop and h.status is not None and 300 <= h.status < 400:
        where = h.headers.get("location", "")
        return case.rule("http.redirect", f"{said}, a redirect to {where or 'the next hop'}")
    if h.url.lower().startswith("https://"):
        return case.rule("https.answered", f"{said} over TLS with a valid certificate")
    c = case.control_answer()
    if c is None:
        fetched = case.control_fetched()
        why = "no control was reached" if case.control is None else "the control got no page"
        if fetched is False:
            why = "the control's own request failed"
        return case.rule("http.no_reference", f"{said} over plain HTTP; {why} to compare it with")
    if h.status != c.status:
        return case.rule("http.status_diff", f"{said}; the control got HTTP {c.status}")
    if h.body_error:
        return _unreadable(case, h, f"{said}, a body that cannot be read ({h.body_error})")
    here, there = (h.title or "").strip(), (c.title or "").strip()
    if here.casefold() == there.casefold():
        return case.rule("http.title_match", f"{said} titled {here!r}, as the control's")
    lengths = (h.body_length, c.body_length)
    if h.body_truncated or None in lengths:
        why = "truncated by the probe" if h.body_truncated else "of unrecorded length"
        return _unreadable(case, h, f"{said} titled {here!r}, a body {why}")
    small, large = sorted(n or 0 for n in lengths)
    if large == 0 or small / large >= BODY_PROPORTION:
        return case.rule(
            "http.length_match",
            f"{said}, {h.body_length} bytes; the control got {c.body_length} bytes",
        )
    return case.rule(
        "http.body_diff",
        f"GET {h.url} answered a page titled {here!r} of {h.body_length} bytes; the control "
        f"got {there!r} of {c.body_length} bytes",
    )


def _unreadable(case: Case, h: HttpObservation, said: str) -> Verdict:
    if h.length_match:
        return case.rule("http.length_match", f"{said}; the probe found its length matching")
    return case.rule("http.body_unknown", f"{said}: nothing to compare with the control's page")


def _http_failed(case: Case, h: HttpObservation) -> Verdict:
    said = f"GET {h.url} failed ({h.failure or 'no answer'}){after([h.seconds])}"
    fetched = case.control_fetched()
    if fetched is False:
        return case.rule("http.failure.down", f"{said}, and the control's request failed too")
    stalled = h.status is not None and is_timeout(h.failure)
    method = "throttled" if stalled else "http.failure"
    if stalled:
        said = (
            f"GET {h.url} began (HTTP {h.status}) but the body stalled until the "
            f"timeout{after([h.seconds])}"
        )
    if fetched is None:
        return case.rule("http.failure.alone", said, method, basis="none")
    c = case.control_answer()
    got = f"; the control fetched {c.body_length} bytes" if c and c.body_length else ""
    if stalled:
        return case.rule("http.throttled", said + (got or "; the control fetched it"))
    return case.rule("http.failure", said + (got or "; the control fetched it"))


# --- no final answer: TLS, then TCP, per endpoint --------------------------------------------


def _tls(case: Case) -> Verdict | None:
    port = case.fetch_port()
    if port not in (None, 443):
        return None  # a handshake on 443 for an http:// URL only checks the addresses
    real = [t for t in case.observed.tls if not t.control_sni and t.port == (port or t.port)]
    failed = [t for t in real if not tls_ok(t)]
    if not failed:
        return None
    first = failed[0]
    failure = first.failure or ("invalid certificate" if first.ok else "error")
    said = f"TLS with SNI {first.sni} failed ({failure}){after([first.seconds])} on {first.ip}"
    decoys = [t for t in case.observed.tls if t.control_sni and t.ip in {f.ip for f in failed}]
    passed = next((t for t in decoys if t.ok), None)
    if passed is not None:
        return case.rule(
            "tls.sni_filter", f"{said}; with the control SNI {passed.sni} it completed"
        )
    if decoys:
        said += f"; with the control SNI {decoys[0].sni} it failed too"
    groups = _by_expectation(case, failed, "tls")
    unexpected = groups["unexpected"]
    if unexpected:
        method = "tls.timeout" if all(is_timeout(t.failure) for t in unexpected) else "tls.reset"
        return case.rule(
            "tls.unexpected",
            f"{said}; the control completed it on {endpoints(unexpected)} or fetched the page",
            method,
        )
    if case.control is None:
        method = "tls.timeout" if all(is_timeout(t.failure) for t in failed) else "tls.reset"
        return case.rule("tls.alone", said, method)
    if groups["expected"]:
        return case.rule("tls.expected", f"{said}, and the control's handshake failed too")
    return case.rule(
        "tls.unexplained", f"{said}; the control neither tried there nor fetched the page"
    )


_TCP = {
    "reset": ("tcp.reset", "was answered with a reset"),
    "refused": ("tcp.refused", "was refused by an ICMP unreachable message"),
    "timeout": ("tcp.timeout", "got no answer"),
}


def _tcp_kind(failed: Sequence[Endpoint]) -> str:
    failures = {(t.failure or "").lower() for t in failed}
    if "reset" in failures:
        return "reset"
    if failures & {"refused", "unreachable"}:
        return "refused"
    return "timeout"


def _no_ipv6_route(t: TcpObservation) -> bool:
    return not t.ok and (t.failure or "").lower() == "unreachable" and is_ipv6(t.ip)


def _tcp(case: Case) -> Verdict | None:
    port = case.fetch_port()
    tried = [t for t in case.observed.tcp if port is None or t.port == port]
    v6_unreachable = [t for t in tried if _no_ipv6_route(t)]
    if v6_unreachable:
        if len(v6_unreachable) == len(tried):
            return case.rule(
                "tcp.ipv6_only",
                f"every connect ({endpoints(tried)}) was to IPv6 and the vantage has no IPv6 route",
            )
        case.note("tcp.ipv6_unreachable")
    failed = [t for t in tried if not t.ok and not _no_ipv6_route(t)]
    if not failed:
        return None
    groups = _by_expectation(case, failed, "tcp")
    shown = groups["unexpected"] or failed
    method, what = _TCP[_tcp_kind(shown)]
    said = f"TCP connect to {endpoints(shown)} {what}{after(t.seconds for t in shown)}"
    if groups["unexpected"]:
        return case.rule(
            "tcp.unexpected", f"{said}; the control connected there or fetched the page", method
        )
    if case.control is None:
        return case.rule("tcp.alone", said, method)
    if groups["expected"]:
        return case.rule("tcp.expected", f"{said}, and the control could not connect either")
    return case.rule(
        "tcp.unexplained", f"{said}; the control neither tried there nor fetched the page"
    )


def _by_expectation(case: Case, failed: Sequence[Endpoint], step: str) -> dict[str, list[Endpoint]]:
    groups: dict[str, list[Endpoint]] = {"unexpected": [], "expected": [], "unexplained": []}
    for t in failed:
        groups[case.expectation(t.ip, t.port, step)].append(t)  # type: ignore[arg-type]
    return groups


# --- throughput and the end ------------------------------------------------------------------


def _throughput(case: Case) -> Verdict | None:
    t = case.observed.throughput
    if t is None:
        return None
    control = case.control.throughput if case.control else None
    if t.failure and not t.bytes:
        if control is not None and control.failure and not control.bytes:
            return case.rule(
                "throughput.down",
                f"the sample {t.url} failed ({t.failure}) here and at the control",
            )
        return case.rule("throughput.failed", f"the sample {t.url} failed ({t.failure})")
    rate = t.bits_per_second
    if case.reference is not None and case.reference.bits_per_second:
        ref, source, basis = case.reference.bits_per_second, case.reference.source, "reference"
    elif control is not None and control.bits_per_second:
        ref, source, basis = control.bits_per_second, "the control", "measured"
    else:
        return None
    if rate is None or rate >= case.throttle_ratio * ref:
        return None
    return case.rule(
        "throughput.throttled",
        f"the sample {t.url} came at {rate / 1000:.0f} kbit/s, {rate / ref:.0%} of "
        f"{ref / 1000:.0f} kbit/s from {source}",
        basis=basis,  # type: ignore[arg-type]
    )


def _end(case: Case) -> Verdict:
    obs = case.observed
    tried = obs.tcp or obs.tls
    said = (
        "connected, but no request was made"
        if tried
        else "nothing was measured past DNS (no connect, no request)"
    )
    if case.control_fetched() is False:
        return case.rule("end.no_request.down", f"{said}, and the control could not fetch it")
    if case.control is None and not obs.dns and not tried:
        said = "nothing was observed"
    return case.rule("end.no_request", f"{said}: a step that did not run is not a success")
