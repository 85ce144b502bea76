"""The verdict rules, one hand-built case per rule, plus precedence and the no-control cases."""

from __future__ import annotations

import pytest

from jalsa.watch.classify import Reference, classify
from jalsa.watch.fingerprints import BUILTIN, match_blockpage
from jalsa.watch.record import (
    METHODS,
    DnsObservation,
    HttpObservation,
    Observations,
    TcpObservation,
    ThroughputObservation,
    TlsObservation,
)

IP = "157.240.1.35"
HOST = "www.facebook.com"


def dns(*answers: str, rcode: str | None = "NOERROR", transport: str = "system") -> DnsObservation:
    return DnsObservation(
        resolver="system" if transport == "system" else "1.1.1.1",
        transport=transport,  # type: ignore[arg-type]
        answers=list(answers),
        rcode=rcode,
    )


def tcp(ip: str = IP, failure: str | None = None, port: int = 443) -> TcpObservation:
    return TcpObservation(ip=ip, port=port, ok=failure is None, failure=failure, seconds=0.012)


def tls(
    ip: str = IP, failure: str | None = None, sni: str = HOST, decoy: bool = False
) -> TlsObservation:
    ok = failure is None
    return TlsObservation(
        ip=ip,
        port=443,
        sni=sni,
        control_sni=decoy,
        ok=ok,
        cert_valid=ok or None,
        failure=failure,
        seconds=0.012,
    )


def http(
    status: int | None = 200,
    failure: str | None = None,
    title: str | None = "Facebook",
    length: int | None = 60_000,
    url: str = f"https://{HOST}/",
    blockpage: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpObservation:
    return HttpObservation(
        url=url,
        ip=IP,
        status=status,
        failure=failure,
        title=title,
        body_length=length,
        blockpage=blockpage,
        headers=headers or {},
    )


def good(**changes: object) -> Observations:
    """A vantage that got through every step; `changes` replace steps."""
    base: dict[str, object] = {
        "dns": [dns(IP)],
        "tcp": [tcp()],
        "tls": [tls()],
        "http": [http()],
    }
    base.update(changes)
    return Observations.model_validate(base)


CONTROL = good()


def test_every_step_succeeding_is_ok() -> None:
    verdict = classify(good(), CONTROL)
    assert (verdict.method, verdict.control) == ("ok", "measured")
    assert not verdict.blocked


# --- DNS -------------------------------------------------------------------------------------


def test_nxdomain_where_the_control_resolves() -> None:
    verdict = classify(good(dns=[dns(rcode="NXDOMAIN")], tcp=[], tls=[], http=[]), CONTROL)
    assert verdict.method == "dns.nxdomain"
    assert "NXDOMAIN" in verdict.reason and IP in verdict.reason


def test_nxdomain_at_the_control_too_is_down() -> None:
    control = Observations(dns=[dns(rcode="NXDOMAIN")])
    verdict = classify(Observations(dns=[dns(rcode="NXDOMAIN")]), control)
    assert verdict.method == "down"


@pytest.mark.parametrize("bogon", ["10.10.34.36", "127.0.0.1", "169.254.1.1", "0.0.0.0", "::1"])
def test_bogon_answers(bogon: str) -> None:
    observed = good(dns=[dns(bogon)], tcp=[tcp(bogon, "timeout")], tls=[], http=[])
    verdict = classify(observed, CONTROL)
    assert verdict.method == "dns.bogon"
    assert bogon in verdict.reason


def test_a_bogon_the_control_also_gets_is_not_blocking() -> None:
    """A name that really points at 127.0.0.1 (OONI's localhost scenario)."""
    control = Observations(dns=[dns("127.0.0.1")], http=[http(None, "unknown_error")])
    verdict = classify(Observations(dns=[dns("127.0.0.1")]), control)
    assert verdict.method == "down"


def test_injection_needs_disjoint_answers_and_failing_tls() -> None:
    observed = good(
        dns=[dns("83.224.65.41"), dns(IP, transport="doh")],
        tcp=[tcp("83.224.65.41")],
        tls=[tls("83.224.65.41", "reset")],
        http=[],
    )
    verdict = classify(observed, CONTROL)
    assert verdict.method == "dns.injection"
    assert "83.224.65.41" in verdict.reason


def test_other_answers_with_valid_tls_are_a_cdn_not_injection() -> None:
    cdn = "31.13.64.35"
    observed = good(dns=[dns(cdn)], tcp=[tcp(cdn)], tls=[tls(cdn)], http=[http()])
    assert classify(observed, CONTROL).method == "ok"


def test_overlapping_answers_are_consistent() -> None:
    observed = good(dns=[dns(IP, "157.240.2.35")], tcp=[tcp(IP)], tls=[tls(IP)])
    assert classify(observed, CONTROL).method == "ok"


def test_a_known_block_page_address_is_injection() -> None:
    observed = good(dns=[dns("203.82.48.86")], tcp=[], tls=[], http=[])
    verdict = classify(observed, None)
    assert verdict.method == "dns.injection"
    assert "nayatel" in verdict.reason


def test_answers_for_a_name_the_references_say_does_not_exist() -> None:
    observed = good(
        dns=[dns("83.224.65.42"), dns(rcode="NXDOMAIN", transport="doh")],
        tcp=[tcp("83.224.65.42", "reset")],
        tls=[],
        http=[],
    )
    control = Observations(dns=[dns(rcode="NXDOMAIN")])
    assert classify(observed, control).method == "dns.injection"


# --- TCP -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "method"),
    [
        ("timeout", "tcp.timeout"),
        ("refused", "tcp.refused"),
        ("unreachable", "tcp.refused"),
        ("reset", "tcp.reset"),
    ],
)
def test_tcp_failing_on_every_address(failure: str, method: str) -> None:
    other = "157.240.1.36"
    observed = good(tcp=[tcp(IP, failure), tcp(other, failure)], tls=[], http=[])
    observed.dns[0].answers.append(other)
    verdict = classify(observed, CONTROL)
    assert verdict.method == method
    assert "control connected" in verdict.reason


def test_one_address_connecting_is_enough() -> None:
    observed = good(tcp=[tcp("157.240.1.36", "timeout"), tcp(IP)])
    assert classify(observed, CONTROL).method == "ok"


def test_tcp_failing_at_the_control_too_is_down() -> None:
    control = good(tcp=[tcp(IP, "timeout")], tls=[], http=[])
    observed = good(tcp=[tcp(IP, "timeout")], tls=[], http=[])
    assert classify(observed, control).method == "down"


# --- TLS -------------------------------------------------------------------------------------


def test_sni_filter() -> None:
    observed = good(tls=[tls(failure="reset"), tls(sni="example.org", decoy=True)], http=[])
    verdict = classify(observed, CONTROL)
    assert verdict.method == "tls.sni_filter"
    assert "example.org" in verdict.reason and "completed" in verdict.reason


@pytest.mark.parametrize(
    ("failure", "method"), [("reset", "tls.reset"), ("timeout", "tls.timeout")]
)
def test_tls_failing_with_any_name(failure: str, method: str) -> None:
    observed = good(
        tls=[tls(failure=failure), tls(failure=failure, sni="example.org", decoy=True)], http=[]
    )
    verdict = classify(observed, CONTROL)
    assert verdict.method == method
    assert "failed too" in verdict.reason


def test_tls_failing_at_the_control_too_is_down() -> None:
    control = good(tls=[tls(failure="alert")], http=[])
    assert classify(good(tls=[tls(failure="alert")], http=[]), control).method == "down"


def test_an_invalid_certificate_on_consistent_addresses_is_interference() -> None:
    bad = TlsObservation(ip=IP, port=443, sni=HOST, ok=True, cert_valid=False)
    assert classify(good(tls=[bad], http=[]), CONTROL).method == "tls.reset"


# --- HTTP ------------------------------------------------------------------------------------


def test_request_failing_after_tls() -> None:
    verdict = classify(good(http=[http(None, "reset")]), CONTROL)
    assert verdict.method == "http.failure"


def test_request_failing_at_the_control_too_is_down() -> None:
    control = good(http=[http(None, "timeout")])
    assert classify(good(http=[http(None, "reset")]), control).method == "down"


def test_block_page_named_by_the_probe() -> None:
    verdict = classify(good(http=[http(blockpage="jalsa.pk_prohibited_viewership")]), CONTROL)
    assert verdict.method == "http.blockpage"
    assert "jalsa.pk_prohibited_viewership" in verdict.reason


def test_block_page_recognised_by_a_header() -> None:
    moved = http(302, headers={"location": "http://119.73.65.87:8080/redirect.html?accessurl=x"})
    assert classify(good(http=[moved]), CONTROL).method == "http.blockpage"


def test_block_page_counts_without_a_control() -> None:
    verdict = classify(good(http=[http(blockpage="x")]), None)
    assert (verdict.method, verdict.control) == ("http.blockpage", "none")


def test_status_differing_over_plain_http() -> None:
    plain = f"http://{HOST}/"
    control = good(http=[http(url=plain)])
    verdict = classify(good(http=[http(451, url=plain)]), control)
    assert verdict.method == "http.diff"
    assert "451" in verdict.reason


def test_title_and_size_differing_over_plain_http() -> None:
    plain = f"http://{HOST}/"
    control = good(http=[http(url=plain)])
    page = http(title="Access Denied", length=188, url=plain)
    assert classify(good(http=[page]), control).method == "http.diff"


def test_same_title_or_close_size_is_not_a_diff() -> None:
    plain = f"http://{HOST}/"
    control = good(http=[http(url=plain)])
    same_title = http(length=100, url=plain)
    close_size = http(title="Facebook - log in", length=50_000, url=plain)
    assert classify(good(http=[same_title]), control).method == "ok"
    assert classify(good(http=[close_size]), control).method == "ok"


def test_authenticated_answers_are_not_compared() -> None:
    """Over HTTPS a different page (a CAPTCHA, another language) comes from the server."""
    assert classify(good(http=[http(503, title="Just a moment")]), CONTROL).method == "ok"


# --- throughput ------------------------------------------------------------------------------


def sample(bits_per_second: float) -> ThroughputObservation:
    return ThroughputObservation(
        url="https://video.twimg.com/x.mp4", bytes=int(bits_per_second / 8 * 10), seconds=10
    )


def test_throttled_against_the_reference() -> None:
    observed = good(throughput=sample(40_000))
    verdict = classify(observed, CONTROL, Reference(2_000_000, "the vantage's last day"))
    assert (verdict.method, verdict.control) == ("throttled", "reference")
    assert "last day" in verdict.reason


def test_a_rate_above_the_ratio_is_ok() -> None:
    observed = good(throughput=sample(400_000))
    assert classify(observed, CONTROL, Reference(2_000_000, "baseline")).method == "ok"
    looser = classify(observed, CONTROL, Reference(2_000_000, "baseline"), throttle_ratio=0.5)
    assert looser.method == "throttled"


def test_throttled_against_the_controls_rate() -> None:
    observed = good(throughput=sample(40_000))
    control = good(throughput=sample(8_000_000))
    verdict = classify(observed, control)
    assert (verdict.method, verdict.control) == ("throttled", "measured")


def test_no_reference_no_throttling_verdict() -> None:
    assert classify(good(throughput=sample(1_000)), CONTROL).method == "ok"


def test_an_answer_that_stalls_is_throttled() -> None:
    """OONI's throttlingWithHTTPS: HTTP 200 arrived, then the body timed out."""
    control = good(http=[http(length=16_777_216, title=None)])
    verdict = classify(good(http=[http(200, "generic_timeout_error", length=0)]), control)
    assert verdict.method == "throttled"
    assert "16777216" in verdict.reason


# --- precedence and no control ---------------------------------------------------------------


def test_dns_first_then_the_final_answer_then_tls_then_tcp() -> None:
    """OONI's order: DNS; then the request that carried the page, when one was made; else the
    handshake; else the connect (docs/ooni-decision-table.md)."""
    observed = Observations(
        dns=[dns("10.10.34.36")],
        tcp=[tcp("10.10.34.36", "timeout")],
        tls=[tls("10.10.34.36", "reset")],
        http=[http(None, "reset")],
    )
    assert classify(observed, CONTROL).method == "dns.bogon"
    observed.dns[0].answers = [IP]
    for t in observed.tcp + observed.tls:
        t.ip = IP
    assert classify(observed, CONTROL).method == "http.failure"
    observed.http = []
    assert classify(observed, CONTROL).method == "tls.reset"
    observed.tls = []
    assert classify(observed, CONTROL).method == "tcp.timeout"


def test_throughput_is_judged_only_when_the_page_was_fetched() -> None:
    observed = good(http=[http(None, "reset")], throughput=sample(1_000))
    assert classify(observed, CONTROL, Reference(1e6, "baseline")).method == "http.failure"


@pytest.mark.parametrize(
    ("observed", "method"),
    [
        (Observations(dns=[dns(rcode="NXDOMAIN")]), "dns.nxdomain"),
        (Observations(dns=[dns("10.0.0.1")]), "dns.bogon"),
        (good(tcp=[tcp(failure="reset")], tls=[], http=[]), "tcp.reset"),
        (good(tls=[tls(failure="reset"), tls(sni="a.org", decoy=True)]), "tls.sni_filter"),
        (good(tls=[tls(failure="reset")], http=[]), "tls.reset"),
        (good(tcp=[tcp(failure="timeout")], tls=[], http=[]), "tcp.timeout"),
        (good(), "ok"),
    ],
)
def test_without_a_control(observed: Observations, method: str) -> None:
    verdict = classify(observed, None)
    assert (verdict.method, verdict.control) == (method, "none")
    assert "no control was reached" in verdict.reason


def test_nothing_is_down_without_a_control() -> None:
    failing = [
        Observations(dns=[dns(rcode="NXDOMAIN")]),
        good(tcp=[tcp(failure="timeout")], tls=[], http=[]),
        good(http=[http(None, "timeout")]),
        Observations(dns=[dns("127.0.0.1")]),
    ]
    assert all(classify(o, None).method != "down" for o in failing)


def test_every_verdict_is_in_the_vocabulary() -> None:
    cases = [good(), Observations(dns=[dns(rcode="NXDOMAIN")]), good(http=[http(None, "x")])]
    for observed in cases:
        assert classify(observed, CONTROL).method in METHODS


def test_builtin_fingerprints_match_pakistani_pages() -> None:
    assert match_blockpage(200, {}, b"<html><h1>Surfing this site is restricted</h1>") == (
        "jalsa.pk_pta_surfing_restricted"
    )
    page = "<title>This site is restricted</title>"
    assert match_blockpage(200, {}, page) == "jalsa.pk_pta_site_restricted"
    assert match_blockpage(200, {}, b"<html>Welcome to Facebook</html>") is None
    assert BUILTIN.match_dns(["203.82.48.83"]) is not None
