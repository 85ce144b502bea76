"""The decision table (src/jalsa/watch/verdict_table.py), row by row: each row has an example of
its own, and `explain` must pass through that row (and, for a row with a verdict, end on it
with one of its methods). docs/ooni-decision-table.md is generated from the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from jalsa.watch.classify import Reference, explain
from jalsa.watch.record import (
    DnsObservation,
    HttpObservation,
    Observations,
    TcpObservation,
    ThroughputObservation,
    TlsObservation,
)
from jalsa.watch.verdict_table import BY_ID, RULES, table_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ooni-decision-table.md"
IP, OTHER, V6 = "157.240.1.35", "83.224.65.41", "2a03:2880:f137:182:face:b00c:0:25de"
HOST = "www.facebook.com"
HTTPS, HTTP = f"https://{HOST}/", f"http://{HOST}/"


def dns(*answers: str, rcode: str = "NOERROR", transport: str = "system") -> DnsObservation:
    return DnsObservation(
        resolver=transport if transport != "doh" else "https://dns.google/dns-query",
        transport=transport,  # type: ignore[arg-type]
        answers=list(answers),
        rcode=rcode if not answers and rcode != "NOERROR" else ("NOERROR" if answers else rcode),
        failure=None if answers or rcode != "NOERROR" else "no answer",
    )


def tcp(ip: str = IP, port: int = 443, failure: str | None = None) -> TcpObservation:
    return TcpObservation(ip=ip, port=port, ok=failure is None, failure=failure)


def tls(
    ip: str = IP, failure: str | None = None, *, sni: str = HOST, decoy: bool = False
) -> TlsObservation:
    ok = failure is None
    return TlsObservation(
        ip=ip, port=443, sni=sni, control_sni=decoy, ok=ok, cert_valid=ok or None, failure=failure
    )


def get(url: str = HTTPS, status: int | None = 200, failure: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {"title": "Facebook", "body_length": 60_000} | kw
    return HttpObservation(url=url, ip=IP, status=status, failure=failure, **values)  # type: ignore[arg-type]


def site(*ips: str, http: list[HttpObservation] | None = None, port: int = 443) -> Observations:
    """The path through `ips` that works, with the page."""
    ips = ips or (IP,)
    return Observations(
        dns=[dns(*ips)],
        tcp=[tcp(ip, port) for ip in ips],
        tls=[tls(ip) for ip in ips],
        http=[get()] if http is None else http,
    )


CONTROL = site()
PLAIN_CONTROL = site(http=[get(HTTP)])
FAILED_CONTROL = Observations(
    dns=[dns(IP)], tcp=[tcp(IP, 443, "timeout")], http=[get(status=None, failure="timeout")]
)


def with_(base: Observations, **steps: object) -> Observations:
    return base.model_copy(update=steps)


Example = tuple[Observations, Observations | None, dict[str, object]]

EXAMPLES: dict[str, Example] = {
    "dns.no_address.down": (
        Observations(dns=[dns(rcode="NXDOMAIN")]),
        Observations(dns=[dns(rcode="NXDOMAIN")], http=[get(status=None, failure="dns_error")]),
        {},
    ),
    "dns.no_address.blocked": (Observations(dns=[dns(rcode="NXDOMAIN")]), CONTROL, {}),
    "dns.no_address.alone": (Observations(dns=[dns(rcode="SERVFAIL")]), None, {}),
    "dns.bogon": (with_(site(), dns=[dns("10.10.34.36")]), CONTROL, {}),
    "dns.fingerprint": (Observations(dns=[dns("203.82.48.86")]), CONTROL, {}),
    "dns.bogon.shared": (
        Observations(dns=[dns("127.0.0.1")]),
        Observations(dns=[dns("127.0.0.1")], http=[get(status=None, failure="unknown_error")]),
        {},
    ),
    "dns.consistent": (site(), CONTROL, {}),
    "dns.consistent.tls": (site(OTHER), CONTROL, {}),
    "dns.injection": (
        Observations(dns=[dns(OTHER)], tcp=[tcp(OTHER)], tls=[tls(OTHER, "ssl_invalid_hostname")]),
        CONTROL,
        {},
    ),
    "dns.injection.ghost": (
        Observations(dns=[dns(OTHER), dns(rcode="NXDOMAIN", transport="doh")]),
        None,
        {},
    ),
    # ooni/probe#2517: mask.icloud.com, the control's own TLS failed everywhere.
    "dns.inconsistent.down": (
        Observations(dns=[dns(OTHER)], tcp=[tcp(OTHER)], tls=[tls(OTHER, "connection_reset")]),
        Observations(
            dns=[dns(IP)],
            tcp=[tcp(IP)],
            tls=[tls(IP, "connection_reset")],
            http=[get(status=None, failure="connection_reset")],
        ),
        {},
    ),
    "dns.inconsistent.unknown": (
        Observations(
            dns=[dns(OTHER), dns(IP, transport="doh")],
            tcp=[tcp(OTHER)],
            tls=[tls(OTHER, "connection_reset")],
        ),
        None,
        {},
    ),
    "dns.reference_failed": (
        with_(site(), dns=[dns(IP), dns(rcode="SERVFAIL", transport="doh")]),
        CONTROL,
        {},
    ),
    "http.blockpage": (site(http=[get(blockpage="jalsa.pk_pta_site_restricted")]), CONTROL, {}),
    "http.redirect": (
        site(http=[get(status=301, headers={"location": "https://m.facebook.com/"})]),
        CONTROL,
        {"final_hop": False},
    ),
    "https.answered": (site(http=[get(title="Just a moment...", status=503)]), None, {}),
    "http.no_reference": (site(http=[get(HTTP)], port=80), None, {}),
    "http.status_diff": (site(http=[get(HTTP, 403)], port=80), PLAIN_CONTROL, {}),
    "http.title_match": (site(http=[get(HTTP, body_length=1)], port=80), PLAIN_CONTROL, {}),
    "http.length_match": (site(http=[get(HTTP, title="FB")], port=80), PLAIN_CONTROL, {}),
    "http.body_diff": (
        site(http=[get(HTTP, title="Blocked", body_length=300)], port=80),
        PLAIN_CONTROL,
        {},
    ),
    "http.body_unknown": (
        site(
            http=[get(HTTP, title=None, body_length=None, body_error="not valid base64")],
            port=80,
        ),
        PLAIN_CONTROL,
        {},
    ),
    "http.failure": (site(http=[get(status=None, failure="connection_reset")]), CONTROL, {}),
    "http.throttled": (site(http=[get(failure="generic_timeout_error")]), CONTROL, {}),
    "http.failure.down": (site(http=[get(status=None, failure="eof")]), FAILED_CONTROL, {}),
    "http.failure.alone": (site(http=[get(status=None, failure="eof")]), None, {}),
    "tls.sni_filter": (
        site(http=[]).model_copy(
            update={"tls": [tls(failure="reset"), tls(sni="example.org", decoy=True)]}
        ),
        CONTROL,
        {},
    ),
    "tls.unexpected": (with_(site(http=[]), tls=[tls(failure="reset")]), CONTROL, {}),
    "tls.expected": (
        with_(site(http=[]), tls=[tls(failure="ssl_invalid_certificate")]),
        with_(CONTROL, tls=[tls(failure="ssl_invalid_certificate")], http=[]),
        {},
    ),
    "tls.alone": (with_(site(http=[]), tls=[tls(failure="timeout")]), None, {}),
    "tls.unexplained": (
        with_(site(http=[]), tls=[tls(failure="reset")]),
        Observations(dns=[dns(IP)]),
        {},
    ),
    # A network without IPv6: the v6 connects fail, the v4 ones carry the page.
    "tcp.ipv6_unreachable": (
        Observations(
            dns=[dns(IP, V6)],
            tcp=[tcp(V6, failure="unreachable"), tcp(IP)],
            tls=[tls(IP)],
        ),
        CONTROL,
        {"url": HTTPS},
    ),
    "tcp.ipv6_only": (
        Observations(dns=[dns(V6)], tcp=[tcp(V6, failure="unreachable")]),
        with_(CONTROL, dns=[dns(V6)]),
        {"url": HTTPS},
    ),
    # Port 80 blocked while 443 connects: an http:// URL reads tcp.timeout, not ok.
    "tcp.unexpected": (
        Observations(dns=[dns(IP)], tcp=[tcp(IP, 443), tcp(IP, 80, "timeout")], tls=[tls(IP)]),
        Observations(dns=[dns(IP)], tcp=[tcp(IP, 443), tcp(IP, 80)], http=[get(HTTP)]),
        {"url": HTTP},
    ),
    # http://dns.google: port 80 times out from the control too.
    "tcp.expected": (
        Observations(dns=[dns(IP)], tcp=[tcp(IP, 443), tcp(IP, 80, "timeout")], tls=[tls(IP)]),
        Observations(
            dns=[dns(IP)],
            tcp=[tcp(IP, 443), tcp(IP, 80, "timeout")],
            http=[get(HTTP, status=None, failure="generic_timeout_error")],
        ),
        {"url": HTTP},
    ),
    "tcp.alone": (Observations(dns=[dns(IP)], tcp=[tcp(IP, 443, "reset")]), None, {}),
    "tcp.unexplained": (
        Observations(dns=[dns(IP)], tcp=[tcp(IP, 443, "timeout")]),
        Observations(dns=[dns(IP)]),
        {},
    ),
    "throughput.failed": (
        with_(site(), throughput=ThroughputObservation(url=HTTPS, bytes=0, seconds=3, failure="x")),
        CONTROL,
        {},
    ),
    "throughput.down": (
        with_(site(), throughput=ThroughputObservation(url=HTTPS, bytes=0, seconds=3, failure="x")),
        with_(
            CONTROL, throughput=ThroughputObservation(url=HTTPS, bytes=0, seconds=3, failure="x")
        ),
        {},
    ),
    "throughput.throttled": (
        with_(site(), throughput=ThroughputObservation(url=HTTPS, bytes=1_000, seconds=3)),
        CONTROL,
        {"reference": Reference(8e6, "the baseline")},
    ),
    "end.no_request.down": (
        Observations(dns=[dns("127.0.0.1")]),
        Observations(dns=[dns("127.0.0.1")], http=[get(status=None, failure="unknown_error")]),
        {},
    ),
    "end.no_request": (Observations(), None, {}),
}


def test_every_row_has_an_example() -> None:
    assert set(EXAMPLES) == set(BY_ID)


@pytest.mark.parametrize("row", RULES, ids=lambda r: r.id)
def test_row(row: object) -> None:
    rule = BY_ID[row.id]  # type: ignore[attr-defined]
    observed, control, kwargs = EXAMPLES[rule.id]
    verdict, decided, trace = explain(observed, control, **kwargs)  # type: ignore[arg-type]
    assert rule.id in trace, (trace, verdict)
    if rule.methods:
        assert decided is rule, (trace, verdict.reason)
        assert verdict.method in rule.methods
    else:
        assert decided is not rule and decided.methods


def test_no_request_is_not_success() -> None:
    """Connected, handshook, no request made: not ok, whatever the control says."""
    observed = with_(site(), http=[])
    for control in (CONTROL, None):
        assert explain(observed, control)[0].method == "unknown"


def test_the_last_request_of_a_chain_is_the_final_answer() -> None:
    """A 0.4 chain (no hop tags): redirects answered, then the final request failed."""
    chain = [
        get(HTTP, 301, headers={"location": HTTPS}),
        get(HTTPS, status=None, failure="connection_reset"),
    ]
    assert explain(site(http=chain), CONTROL)[0].method == "http.failure"


def test_the_probes_block_page_check_is_not_the_final_answer() -> None:
    """Our probe's plain GET on port 80 looks for a block page; the https page decides."""
    check = get(HTTP, title="Facebook", check_only=True)
    observed = with_(site(http=[]), tls=[tls(failure="reset")], http=[check])
    assert explain(observed, CONTROL)[0].method == "tls.reset"


def test_docs_table_is_generated_from_the_table() -> None:
    assert DOCS.read_text(encoding="utf-8") == table_markdown(), (
        "docs/ooni-decision-table.md is out of date: write table_markdown() into it"
    )
