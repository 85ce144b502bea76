"""Import OONI web_connectivity measurements as our `Measurement`s, classified by our rules.

OONI publishes one JSON measurement per file (the API's raw_measurement), JSONL with one per line
(the S3 buckets, often gzipped), or API answers wrapping them (`{"results": [...]}`,
`{"raw_measurement": "..."}`). test_keys 0.4 and 0.5 (and the older MK ones) are read.

A measurement can follow redirects: OONI 0.5 tags each observation with `depth=N`. Each hop is
classified on its own (the first hop that is not ok decides) because the flat `Observations`
record has no host per observation. The test helper's answer (`control`) covers the first hop;
for a later hop the control is only its final HTTP answer, which it could not have got without
resolving, connecting and handshaking there (`classify` reads a later step's success that way).

We then compare our method with OONI's own verdict (`blocking`, `accessible`, and 0.5's
`x_blocking_flags`) so that differences are visible, not hidden.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from jalsa.watch.classify import classify
from jalsa.watch.fingerprints import BUILTIN, Fingerprints
from jalsa.watch.ooni_files import (  # the file formats, re-exported
    OoniFormatError as OoniFormatError,
)
from jalsa.watch.ooni_files import Problem, Raw, fetch_hint, is_listing_row, read_raw
from jalsa.watch.ooni_files import Record as Record
from jalsa.watch.ooni_observations import control_observations as _control
from jalsa.watch.ooni_observations import dns_observation as _dns
from jalsa.watch.ooni_observations import http_observation as _http
from jalsa.watch.ooni_observations import tcp_observation as _tcp
from jalsa.watch.ooni_observations import tls_observation as _tls
from jalsa.watch.record import (
    HttpObservation,
    Measurement,
    Observations,
    Vantage,
    Verdict,
)

PLATFORM_DOMAINS: dict[str, tuple[str, ...]] = {
    "x": ("x.com", "twitter.com", "twimg.com", "t.co"),
    "facebook": ("facebook.com", "fbcdn.net", "fb.com", "fb.watch", "messenger.com"),
    "instagram": ("instagram.com", "cdninstagram.com"),
    "youtube": ("youtube.com", "youtu.be", "googlevideo.com", "ytimg.com", "youtube-nocookie.com"),
}

# OONI's category for each of our methods (OONI 0.4 calls a TLS failure "http-failure").
OONI_CATEGORY: dict[str, str] = {
    "ok": "accessible",
    "down": "down",
    "dns.nxdomain": "dns",
    "dns.bogon": "dns",
    "dns.injection": "dns",
    "tcp.timeout": "tcp_ip",
    "tcp.refused": "tcp_ip",
    "tcp.reset": "tcp_ip",
    "tls.reset": "http-failure",
    "tls.timeout": "http-failure",
    "tls.sni_filter": "http-failure",
    "http.failure": "http-failure",
    "throttled": "http-failure",
    "http.blockpage": "http-diff",
    "http.diff": "http-diff",
    "unknown": "unknown",
}
# OONI 0.5's x_blocking_flags bits (probe-cli webconnectivitylte analysiscore.go).
OONI_FLAGS: dict[int, str] = {
    1: "dns",
    2: "tcp_ip",
    4: "tls",
    8: "http-failure",
    16: "http-diff",
    32: "success",
}
_FLAG_OF_METHOD: dict[str, str] = {
    "ok": "success",
    "tls.reset": "tls",
    "tls.timeout": "tls",
    "tls.sni_filter": "tls",
}

# The expected method for each of OONI's web_connectivity QA scenarios (probe-cli
# internal/webconnectivityqa, in ooni/data's tests as wc05_qa/<name>.json), read from the
# scenario's name and measurement. Where the name does not settle it:
# - redirect...ConnectionRefused: OONI's "connection_refused" is a RST to the SYN -> tcp.reset.
# - redirect...ConnectionReset/EOF/Timeout...ForHTTPS: the redirect target's TLS handshake
#   failed -> tls.*; EOF counts as a reset. ...ForHTTP: the GET on port 80 failed; the handshake
#   on 443 only checks the addresses for an http:// URL -> http.failure.
# - controlFailureWithSuccessfulHTTPWebsite: a plain-HTTP page and no control to compare it
#   with -> unknown (as OONI says); over HTTPS the page is authenticated -> ok.
# - ...WithInconsistentDNS (tls, tcp, badSSL) and ghostDNS: the resolver's answers are not the
#   site's and TLS fails there: the first failing step is DNS -> dns.injection.
# - httpDiffWithInconsistentDNS: the answer is a transparent proxy that completes TLS with a
#   valid certificate (consistent by our rule) but rewrites plain HTTP -> http.diff.
# - throttling*: HTTP 200 then the body stalls until a timeout -> throttled.
# - badSSL*, localhost*, redirectWithMoreThanTenRedirects*: the control fails alike -> down.
# - redirectWithBrokenLocation*: the request fails, the control's succeeds -> http.failure.
QA_EXPECTED: dict[str, str] = {
    "badSSLWithExpiredCertificate": "down",
    "badSSLWithUnknownAuthorityWithConsistentDNS": "down",
    "badSSLWithUnknownAuthorityWithInconsistentDNS": "dns.injection",
    "badSSLWithWrongServerName": "down",
    "cloudflareCAPTCHAWithHTTP": "http.diff",
    "cloudflareCAPTCHAWithHTTPS": "ok",
    "controlFailureWithSuccessfulHTTPSWebsite": "ok",
    "controlFailureWithSuccessfulHTTPWebsite": "unknown",
    "dnsBlockingAndroidDNSCacheNoData": "dns.nxdomain",
    "dnsBlockingBOGON": "dns.bogon",
    "dnsBlockingNXDOMAIN": "dns.nxdomain",
    "dnsHijackingToLocalhostWithHTTP": "dns.bogon",
    "dnsHijackingToLocalhostWithHTTPS": "dns.bogon",
    "dnsHijackingToProxyWithHTTPSURL": "ok",
    "dnsHijackingToProxyWithHTTPURL": "ok",
    "ghostDNSBlockingWithHTTP": "dns.injection",
    "ghostDNSBlockingWithHTTPS": "dns.injection",
    "httpBlockingConnectionReset": "http.failure",
    "httpDiffWithConsistentDNS": "http.diff",
    "httpDiffWithInconsistentDNS": "http.diff",
    "idnaWithoutCensorshipLowercase": "ok",
    "idnaWithoutCensorshipWithFirstLetterUppercase": "ok",
    "largeFileWithHTTP": "ok",
    "largeFileWithHTTPS": "ok",
    "localhostWithHTTP": "down",
    "localhostWithHTTPS": "down",
    "redirectWithBrokenLocationForHTTP": "http.failure",
    "redirectWithBrokenLocationForHTTPS": "http.failure",
    "redirectWithConsistentDNSAndThenConnectionRefusedForHTTP": "tcp.reset",
    "redirectWithConsistentDNSAndThenConnectionRefusedForHTTPS": "tcp.reset",
    "redirectWithConsistentDNSAndThenConnectionResetForHTTP": "http.failure",
    "redirectWithConsistentDNSAndThenConnectionResetForHTTPS": "tls.reset",
    "redirectWithConsistentDNSAndThenEOFForHTTP": "http.failure",
    "redirectWithConsistentDNSAndThenEOFForHTTPS": "tls.reset",
    "redirectWithConsistentDNSAndThenNXDOMAIN": "dns.nxdomain",
    "redirectWithConsistentDNSAndThenTimeoutForHTTP": "http.failure",
    "redirectWithConsistentDNSAndThenTimeoutForHTTPS": "tls.timeout",
    "redirectWithMoreThanTenRedirectsAndHTTP": "down",
    "redirectWithMoreThanTenRedirectsAndHTTPS": "down",
    "successWithHTTP": "ok",
    "successWithHTTPS": "ok",
    "tcpBlockingConnectTimeout": "tcp.timeout",
    "tcpBlockingConnectionRefusedWithInconsistentDNS": "dns.injection",
    "throttlingWithHTTP": "throttled",
    "throttlingWithHTTPS": "throttled",
    "tlsBlockingConnectionResetWithConsistentDNS": "tls.reset",
    "tlsBlockingConnectionResetWithInconsistentDNS": "dns.injection",
    "websiteDownNXDOMAIN": "down",
    "websiteDownNoAddrs": "down",
    "websiteDownTCPConnect": "down",
}


class OoniMeasurementError(ValueError):
    """One measurement that cannot be converted; the message says why."""


def read_ooni(
    path: str | Path, fingerprints: Fingerprints = BUILTIN, limit: int | None = None
) -> Iterator[Measurement | Problem]:
    """Our measurements from an OONI file; a measurement that cannot be used is a Problem.
    `limit`: the most bytes of the file read, decompressed (MAX_DOCUMENT_BYTES by default)."""
    for record in read_raw(path, limit):
        if isinstance(record, Problem):
            yield record
            continue
        try:
            yield to_measurement(record.data, fingerprints)
        except OoniMeasurementError as exc:
            yield Problem(record.path, record.line, str(exc))


# --- one measurement -------------------------------------------------------------------------


def platform_of(host: str) -> str:
    """x, facebook, instagram or youtube by domain suffix; else "other"."""
    host = host.lower().rstrip(".")
    for platform, domains in PLATFORM_DOMAINS.items():
        if any(host == d or host.endswith("." + d) for d in domains):
            return platform
    return "other"


def measurement_id(data: Raw) -> str:
    """OONI's measurement_uid; else the report id and a hash of the input; else (test data
    with neither) a hash of the whole measurement."""
    uid = data.get("measurement_uid")
    if uid:
        return f"ooni:{uid}"
    report, url = data.get("report_id") or "", data.get("input") or ""
    if report:
        return f"ooni:{report}:{hashlib.sha256(str(url).encode()).hexdigest()[:12]}"
    canonical = json.dumps(data, sort_keys=True, default=str).encode()
    return f"ooni:sha256:{hashlib.sha256(canonical).hexdigest()[:24]}"


def _time(text: Any) -> datetime:
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise OoniMeasurementError(f"measurement_start_time {text!r} is not a time") from exc


def to_measurement(data: Any, fingerprints: Fingerprints = BUILTIN) -> Measurement:
    """Our record of one OONI web_connectivity measurement, with our verdict."""
    if not isinstance(data, dict):
        raise OoniMeasurementError(f"expected a JSON object, got {type(data).__name__}")
    if is_listing_row(data):
        raise OoniMeasurementError(
            "a row of an OONI API listing (/api/v1/measurements: metadata, no test_keys), not "
            f"a measurement; fetch it: {fetch_hint(data.get('measurement_uid'))}"
        )
    if data.get("test_name") != "web_connectivity":
        name = data.get("test_name")
        if name:
            raise OoniMeasurementError(
                f"test_name is {str(name)[:40]!r}; only web_connectivity measurements can be "
                "imported"
            )
        found = ", ".join(repr(str(k)[:30]) for k in list(data)[:5]) or "none"
        raise OoniMeasurementError(
            f"not an OONI measurement: no test_name (its keys: {found}); expected OONI "
            "web_connectivity measurements as OONI's API or its S3 buckets give them"
        )
    keys = data.get("test_keys")
    url = data.get("input")
    if not isinstance(keys, dict):
        raise OoniMeasurementError("a web_connectivity measurement without test_keys")
    if not isinstance(url, str) or not url:
        raise OoniMeasurementError("a web_connectivity measurement without an input URL")
    try:
        hops = _hops(keys, url, fingerprints)
        verdict, observed, control = _decide(hops, fingerprints)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise OoniMeasurementError(f"test_keys not in the expected shape ({exc!r})") from exc
    host = (urlsplit(url).hostname or url).lower()
    started = _time(data.get("measurement_start_time"))
    runtime = data.get("test_runtime")
    seconds = float(runtime) if isinstance(runtime, int | float) else 0.0
    asn = str(data.get("probe_asn") or "AS0")
    cc = str(data.get("probe_cc") or "ZZ")
    return Measurement(
        id=measurement_id(data),
        target=host,
        platform=platform_of(host),
        vantage=Vantage(name=f"ooni-{cc}-{asn}", city="", network=asn),
        round_at=started,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds),
        observations=observed,
        control=control,
        verdict=verdict,
        source=f"ooni:{data.get('report_id') or ''}",
    )


@dataclass
class _Hop:
    depth: int
    host: str = ""
    observed: Observations = field(default_factory=Observations)
    control: Observations | None = None
    url: str | None = None


def _depth(entry: Mapping[str, Any]) -> int:
    for tag in entry.get("tags") or ():
        if isinstance(tag, str) and tag.startswith("depth="):
            return int(tag.removeprefix("depth="))
    return 0


def _hops(keys: Raw, url: str, fingerprints: Fingerprints) -> list[_Hop]:
    hops: dict[int, _Hop] = {}

    def hop(entry: Mapping[str, Any], host: Any = None) -> Observations:
        found = hops.setdefault(_depth(entry), _Hop(_depth(entry)))
        found.host = found.host or str(host or "")
        return found.observed

    for query in keys.get("queries") or ():
        hop(query, query.get("hostname")).dns.append(_dns(query))
    ips: dict[Any, str] = {}
    for connect in keys.get("tcp_connect") or ():
        observation = _tcp(connect)
        ips[connect.get("transaction_id")] = observation.ip
        hop(connect).tcp.append(observation)
    for handshake in keys.get("tls_handshakes") or ():
        hop(handshake, handshake.get("server_name")).tls.append(_tls(handshake))
    requests = list(keys.get("requests") or ())
    # OONI lists a redirect chain newest first; we keep it in the order it happened.
    for request in reversed(requests):
        ip = ips.get(request.get("transaction_id"))
        answer = _http(request, ip, fingerprints)
        hop(request, urlsplit(answer.url).hostname).http.append(answer)
    failed_before = any(not t.ok for h in hops.values() for t in h.observed.tcp) or any(
        not t.ok for h in hops.values() for t in h.observed.tls
    )
    if not requests and keys.get("http_experiment_failure") and not failed_before:
        # Old probes (MK) recorded the failure but not the request. (Newer ones copy a
        # connect's or handshake's failure there when no request was made.)
        hops.setdefault(0, _Hop(0)).observed.http.append(
            HttpObservation(url=url, failure=str(keys["http_experiment_failure"]))
        )
    if requests and isinstance(keys.get("body_length_match"), bool):
        # The probe's own comparison is about the final request (the newest, listed first).
        final = hops[max(hops)].observed.http
        if final:
            final[-1].length_match = keys["body_length_match"]
    found = [hops[d] for d in sorted(hops)] or [_Hop(0)]
    control = _control(keys, url)
    previous = url
    for h in found:
        if control is not None:
            h.control = control if h.depth == 0 else Observations(http=control.http)
        h.url = url if h.depth == 0 else _hop_url(h, previous)
        if h.observed.http:
            last = h.observed.http[-1]
            previous = urljoin(last.url, last.headers.get("location", "")) or previous
    return found


def _hop_url(h: _Hop, previous: str) -> str | None:
    """The URL a later hop fetched: its first request's, else where the previous hop's answer
    pointed (a hop that failed before its request)."""
    if h.observed.http:
        return h.observed.http[0].url or None
    return previous or None


def _decide(
    hops: list[_Hop], fingerprints: Fingerprints
) -> tuple[Verdict, Observations, Observations | None]:
    """The first hop that is not ok decides; else the last hop."""
    for h in hops:
        verdict = classify(
            h.observed,
            h.control,
            fingerprints=fingerprints,
            url=h.url,
            final_hop=h is hops[-1],
        )
        if verdict.method != "ok" or h is hops[-1]:
            if h.depth > 0:
                host = h.host or "the redirect target"
                verdict.reason = f"after {h.depth} redirect(s), at {host}: {verdict.reason}"
            return verdict, h.observed, h.control
    raise AssertionError("unreachable: there is always a last hop")


# --- comparison with OONI's verdict ----------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Our verdict beside OONI's for one measurement."""

    id: str
    input: str
    method: str  # ours
    category: str  # ours, in OONI's words
    ooni: str  # OONI's: dns, tcp_ip, http-failure, http-diff, accessible, down, unknown
    ooni_flags: tuple[str, ...]  # OONI 0.5's x_blocking_flags, in words (empty before 0.5)

    @property
    def agrees(self) -> bool:
        """Our category is OONI's `blocking`, or (0.5) one of the steps its flags name."""
        return (
            self.category == self.ooni
            or _FLAG_OF_METHOD.get(self.method, self.category) in self.ooni_flags
        )


def ooni_verdict(data: Raw) -> tuple[str, tuple[str, ...]]:
    """OONI's own category and 0.5 flags for a raw measurement."""
    keys = data.get("test_keys") or {}
    blocking, accessible = keys.get("blocking"), keys.get("accessible")
    if isinstance(blocking, str):
        category = blocking
    elif blocking is False:
        category = "accessible" if accessible is True else "down"
    else:
        category = "unknown"
    bits = keys.get("x_blocking_flags")
    flags = (
        tuple(name for bit, name in OONI_FLAGS.items() if bits & bit)
        if isinstance(bits, int)
        else ()
    )
    return category, flags


def compare(measurement: Measurement, raw: Raw) -> Comparison:
    category, flags = ooni_verdict(raw)
    return Comparison(
        id=measurement.id,
        input=str(raw.get("input") or ""),
        method=measurement.verdict.method,
        category=OONI_CATEGORY[measurement.verdict.method],
        ooni=category,
        ooni_flags=flags,
    )


@dataclass(frozen=True)
class Summary:
    measurements: int
    problems: int
    methods: dict[str, int]
    agreeing: int

    @property
    def agreement(self) -> float | None:
        return self.agreeing / self.measurements if self.measurements else None


def summarize(comparisons: Iterable[Comparison], problems: int = 0) -> Summary:
    """How many measurements, which methods, and how often we agree with OONI."""
    items = list(comparisons)
    return Summary(
        measurements=len(items),
        problems=problems,
        methods=dict(Counter(c.method for c in items).most_common()),
        agreeing=sum(c.agrees for c in items),
    )


def import_and_compare(
    paths: Iterable[str | Path], fingerprints: Fingerprints = BUILTIN
) -> Iterator[tuple[Measurement, Comparison] | Problem]:
    """Each measurement of each file with its comparison, or a Problem (a file that cannot be
    read at all is one Problem with `whole_file`, and the next file is read)."""
    for path in paths:
        try:
            records = list(read_raw(path))
        except OoniFormatError as exc:
            yield Problem(str(path), None, str(exc), whole_file=True)
            continue
        for record in records:
            if isinstance(record, Problem):
                yield record
                continue
            try:
                measurement = to_measurement(record.data, fingerprints)
            except OoniMeasurementError as exc:
                yield Problem(record.path, record.line, str(exc))
                continue
            yield measurement, compare(measurement, record.data)
