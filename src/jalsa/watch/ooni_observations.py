"""OONI's web_connectivity test_keys as our observations: one function per data format of
ooni/spec (df-002 `queries`, df-005 `tcp_connect`, df-006 `tls_handshakes`, df-001 `requests`,
the test helper's `control`). Observations only: no verdict is made here (`classify.py` does),
as in OONI's pipeline, where observations come before analysis."""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from jalsa.watch.fingerprints import Fingerprints
from jalsa.watch.ooni_files import Raw
from jalsa.watch.record import (
    DnsObservation,
    DnsTransport,
    HttpObservation,
    Observations,
    TcpObservation,
    TlsObservation,
)

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


def dns_observation(query: Mapping[str, Any]) -> DnsObservation:
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


def tcp_observation(connect: Mapping[str, Any]) -> TcpObservation:
    status = connect.get("status") or {}
    return TcpObservation(
        ip=str(connect["ip"]),
        port=int(connect["port"]),
        ok=bool(status.get("success")),
        failure=_failure(status.get("failure")),
    )


_CERT_FAILURES = ("ssl_invalid_certificate", "ssl_unknown_authority", "ssl_invalid_hostname")


def tls_observation(handshake: Mapping[str, Any]) -> TlsObservation:
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


def _body(response: Mapping[str, Any]) -> tuple[str, str | None]:
    """The body as text, and why it could not be read (None: it could)."""
    body = response.get("body")
    if isinstance(body, dict):  # {"format": "base64", "data": ...}
        data = body.get("data")
        if body.get("format") != "base64" or not isinstance(data, str):
            return "", f"a body in an unknown format ({str(body.get('format'))[:20]!r})"
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            return "", "the body is not valid base64"
        return raw.decode("utf-8", "replace"), None
    if body is None or isinstance(body, str):
        return body or "", None
    return "", f"a body of type {type(body).__name__}"


def http_observation(
    request: Mapping[str, Any], ip: str | None, fingerprints: Fingerprints
) -> HttpObservation:
    response = request.get("response") or {}
    body, unreadable = _body(response)
    headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
    code = response.get("code")
    title = _TITLE.search(body)
    matched = fingerprints.match_http(body, headers)
    length = len(body.encode()) if body else (0 if code else None)
    return HttpObservation(
        url=str((request.get("request") or {}).get("url") or ""),
        ip=ip,
        status=code if isinstance(code, int) and code > 0 else None,
        body_length=None if unreadable else length,
        title=" ".join(title.group(1).split()) if title else None,
        headers=headers,
        blockpage=matched.name if matched else None,
        failure=request.get("failure"),
        body_truncated=response.get("body_is_truncated") is True,
        body_error=unreadable,
    )


def control_observations(keys: Raw, url: str) -> Observations | None:
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
