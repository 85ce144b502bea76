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

import base64
import hashlib
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jalsa.watch.classify import classify
from jalsa.watch.fingerprints import BUILTIN, Fingerprints
from jalsa.watch.ooni_files import (  # the file formats, re-exported
    OoniFormatError as OoniFormatError,
)
from jalsa.watch.ooni_files import Problem, Raw, read_raw
from jalsa.watch.ooni_files import Record as Record
from jalsa.watch.record import (
    DnsObservation,
    DnsTransport,
    HttpObservation,
    Measurement,
    Observations,
    TcpObservation,
    TlsObservation,
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
# - redirect...ConnectionReset/EOF/Timeout...ForHTTP: the redirect target's TLS handshake
#   failed too and TLS comes before HTTP -> tls.*; EOF counts as a reset.
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
    "controlFailureWithSuccessfulHTTPWebsite": "ok",
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
    "redirectWithConsistentDNSAndThenConnectionResetForHTTP": "tls.reset",
    "redirectWithConsistentDNSAndThenConnectionResetForHTTPS": "tls.reset",
    "redirectWithConsistentDNSAndThenEOFForHTTP": "tls.reset",
    "redirectWithConsistentDNSAndThenEOFForHTTPS": "tls.reset",
    "redirectWithConsistentDNSAndThenNXDOMAIN": "dns.nxdomain",
    "redirectWithConsistentDNSAndThenTimeoutForHTTP": "tls.timeout",
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
    if data.get("test_name") != "web_connectivity":
        name = data.get("test_name")
        raise OoniMeasurementError(
            f"test_name is {name!r}; only web_connectivity measurements can be imported"
            if name
            else "no test_name: not an OONI measurement (an API listing holds only metadata; "
            "fetch each measurement's raw_measurement)"
        )
    keys = data.get("test_keys")
    url = data.get("input")
    if not isinstance(keys, dict) or not isinstance(url, str) or not url:
        raise OoniMeasurementError("a web_connectivity measurement without test_keys or input")
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
    if not requests and keys.get("http_experiment_failure"):
        # Old probes (MK) recorded the failure but not the request.
        hops.setdefault(0, _Hop(0)).observed.http.append(
            HttpObservation(url=url, failure=str(keys["http_experiment_failure"]))
        )
    found = [hops[d] for d in sorted(hops)] or [_Hop(0)]
    control = _control(keys, url)
    for h in found:
        if control is not None:
            h.control = control if h.depth == 0 else Observations(http=control.http)
        if h is not found[-1]:
            # The redirect itself is the answer of an earlier hop; the control's answer is the
            # final page, so only a failure there is worth comparing.
            h.observed.http = [x for x in h.observed.http if x.failure is not None]
    return found


def _decide(
    hops: list[_Hop], fingerprints: Fingerprints
) -> tuple[Verdict, Observations, Observations | None]:
    """The first hop that is not ok decides; else the last hop."""
    for h in hops:
        verdict = classify(h.observed, h.control, fingerprints=fingerprints)
        if verdict.method != "ok" or h is hops[-1]:
            if h.depth > 0:
                host = h.host or "the redirect target"
                verdict.reason = f"after {h.depth} redirect(s), at {host}: {verdict.reason}"
            return verdict, h.observed, h.control
    raise AssertionError("unreachable: there is always a last hop")


# --- observations ----------------------------------------------------------------------------

_ENGINES: dict[str, DnsTransport] = {
    "getaddrinfo": "system",
    "system": "system",
    "udp": "udp",
    "tcp": "tcp",
    "doh": "doh",
    "dot": "dot",
}


def _ip(text: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(str(text).strip("[]")))
    except ValueError:
        return None


def _dns_outcome(failure: Any, addresses: list[str]) -> tuple[str | None, str | None]:
    """(rcode, failure) from OONI's failure string."""
    if failure in ("dns_nxdomain_error", "dns_name_error"):
        return "NXDOMAIN", str(failure)
    if failure is None or failure == "dns_no_answer":
        return "NOERROR", None if addresses or failure is None else str(failure)
    return None, str(failure)


def _dns(query: Mapping[str, Any]) -> DnsObservation:
    answers = [
        a
        for entry in query.get("answers") or ()
        if (a := _ip(entry.get("ipv4") or entry.get("ipv6") or "")) is not None
    ]
    rcode, failure = _dns_outcome(query.get("failure"), answers)
    transport = _ENGINES.get(str(query.get("engine") or "system"), "system")
    return DnsObservation(
        resolver=query.get("resolver_address") or "system",
        transport=transport,
        answers=answers,
        rcode=rcode,
        failure=failure,
    )


def _failure(text: Any) -> str | None:
    """Our failure words (record.py) from OONI's failure strings."""
    if text is None:
        return None
    text = str(text)
    if "timeout" in text:
        return "timeout"
    if text.startswith(("connection_refused", "connection_reset")):
        return "reset"  # a RST answered the SYN (ECONNREFUSED) or the connection (ECONNRESET)
    if text.startswith(("host_unreachable", "network_unreachable")):
        return "unreachable"
    if text.startswith("eof"):
        return "eof"
    return text


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def _tcp(connect: Mapping[str, Any]) -> TcpObservation:
    status = connect.get("status") or {}
    return TcpObservation(
        ip=str(connect["ip"]),
        port=int(connect["port"]),
        ok=bool(status.get("success")),
        failure=_failure(status.get("failure")),
    )


_CERT_FAILURES = ("ssl_invalid_certificate", "ssl_unknown_authority", "ssl_invalid_hostname")


def _tls(handshake: Mapping[str, Any]) -> TlsObservation:
    ip, port = _address(str(handshake["address"]))
    failure = handshake.get("failure")
    ok = failure is None
    bad_cert = failure in _CERT_FAILURES or (ok and handshake.get("no_tls_verify"))
    return TlsObservation(
        ip=ip,
        port=port,
        sni=str(handshake.get("server_name") or ""),
        ok=ok,
        cert_valid=False if bad_cert else (True if ok else None),
        failure=_failure(failure),
    )


_TITLE = re.compile(r"<title[^>]*>([^<]{1,400})", re.IGNORECASE)


def _body(response: Mapping[str, Any]) -> str:
    body = response.get("body")
    if isinstance(body, dict):  # {"format": "base64", "data": ...}
        try:
            return base64.b64decode(str(body.get("data") or "")).decode("utf-8", "replace")
        except ValueError:
            return ""
    return body if isinstance(body, str) else ""


def _http(
    request: Mapping[str, Any], ip: str | None, fingerprints: Fingerprints
) -> HttpObservation:
    response = request.get("response") or {}
    body = _body(response)
    headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
    code = response.get("code")
    title = _TITLE.search(body)
    matched = fingerprints.match_http(body, headers)
    return HttpObservation(
        url=str((request.get("request") or {}).get("url") or ""),
        ip=ip,
        status=code if isinstance(code, int) and code > 0 else None,
        body_length=len(body.encode()) if body else (0 if code else None),
        title=" ".join(title.group(1).split()) if title else None,
        headers=headers,
        blockpage=matched.name if matched else None,
        failure=request.get("failure"),
    )


def _control(keys: Raw, url: str) -> Observations | None:
    """The test helper's answer as Observations, or None when it was not reached."""
    control = keys.get("control")
    if keys.get("control_failure") or not isinstance(control, dict) or not control:
        return None
    observed = Observations()
    dns = control.get("dns")
    if isinstance(dns, dict):
        answers = [a for a in (_ip(x) for x in dns.get("addrs") or ()) if a]
        rcode, failure = _dns_outcome(dns.get("failure"), answers)
        observed.dns.append(
            DnsObservation(
                resolver="control",
                transport="udp",
                answers=answers,
                rcode=rcode,
                failure=failure,
            )
        )
    for where, status in (control.get("tcp_connect") or {}).items():
        ip, port = _address(where)
        observed.tcp.append(
            TcpObservation(
                ip=ip,
                port=port,
                ok=bool(status.get("status")),
                failure=_failure(status.get("failure")),
            )
        )
    for where, status in (control.get("tls_handshake") or {}).items():
        ip, port = _address(where)
        ok = bool(status.get("status"))
        observed.tls.append(
            TlsObservation(
                ip=ip,
                port=port,
                sni=str(status.get("server_name") or ""),
                ok=ok,
                cert_valid=True if ok else None,
                failure=_failure(status.get("failure")),
            )
        )
    http = control.get("http_request")
    if isinstance(http, dict) and http:
        code, length = http.get("status_code"), http.get("body_length")
        observed.http.append(
            HttpObservation(
                url=url,
                status=code if isinstance(code, int) and code > 0 else None,
                body_length=length if isinstance(length, int) and length >= 0 else None,
                title=http.get("title") or None,
                headers={str(k).lower(): str(v) for k, v in (http.get("headers") or {}).items()},
                failure=http.get("failure"),
            )
        )
    return observed


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
    """Each measurement of each file with its comparison, or a Problem."""
    for path in paths:
        for record in read_raw(path):
            if isinstance(record, Problem):
                yield record
                continue
            try:
                measurement = to_measurement(record.data, fingerprints)
            except OoniMeasurementError as exc:
                yield Problem(record.path, record.line, str(exc))
                continue
            yield measurement, compare(measurement, record.data)
