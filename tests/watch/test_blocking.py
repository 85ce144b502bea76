"""Every blocking method, reproduced by a real censor in network namespaces and measured by the
real probe (see netlab.py): the verdict and the observations that decided it."""

from __future__ import annotations

from typing import Any

import pytest

from watch.netlab import BOGON, CONTROL_SNI, IMPOSTOR_IP, PLATFORM_IP, Lab

pytestmark = pytest.mark.integration

BLOCKED = {"host": "x.test", "platform": "x", "sample_url": "https://x.test/big"}
FREE = {"host": "facebook.test", "platform": "facebook"}

Json = dict[str, Any]


@pytest.fixture(scope="module")
def control(lab: Lab) -> Json:
    """What the jalsa server's control helper sees: the platform without the censor."""
    return lab.observe(BLOCKED, "control")


def measure(lab: Lab, control: Json, reference: Json | None = None) -> tuple[str, Json]:
    measured = lab.measure(BLOCKED, control, reference)
    return measured["verdict"]["method"], measured["observations"]


def system_dns(observed: Json) -> Json:
    return next(d for d in observed["dns"] if d["transport"] == "system")


def doh(observed: Json) -> Json:
    return next(d for d in observed["dns"] if d["transport"] == "doh")


def test_ok_without_censorship(lab: Lab, control: Json) -> None:
    measured = lab.measure(BLOCKED, control, None)
    assert measured["verdict"]["method"] == "ok", measured["verdict"]
    observed = measured["observations"]
    assert {a for d in observed["dns"] for a in d["answers"]} == {PLATFORM_IP}
    assert [(t["sni"], t["ok"], t["cert_valid"]) for t in observed["tls"]] == [
        ("x.test", True, True),
        (CONTROL_SNI, True, True),
    ]
    assert [(h["url"], h["status"], h["title"]) for h in observed["http"]] == [
        ("https://x.test/", 200, "x.test home"),
        ("http://x.test/", 200, "x.test home"),
    ]
    assert observed["throughput"]["bytes"] == 256 * 1024
    assert measured["latency_ms"] > 0
    assert control["http"] and control["throughput"]["bytes"] == 256 * 1024


def test_tcp_timeout_when_the_censor_drops(lab: Lab, control: Json) -> None:
    with lab.drop():
        method, observed = measure(lab, control)
    assert method == "tcp.timeout"
    assert [(t["ip"], t["failure"]) for t in observed["tcp"]] == [(PLATFORM_IP, "timeout")]


def test_tcp_reset_when_the_censor_answers_syn_with_rst(lab: Lab, control: Json) -> None:
    with lab.tcp_reset():
        method, observed = measure(lab, control)
    assert method == "tcp.reset"
    assert [t["failure"] for t in observed["tcp"]] == ["reset"]


def test_tcp_refused_by_icmp_admin_prohibited(lab: Lab, control: Json) -> None:
    with lab.icmp_prohibited():
        method, observed = measure(lab, control)
    assert method == "tcp.refused"
    assert [t["failure"] for t in observed["tcp"]] == ["refused"]


def test_dns_nxdomain_while_doh_still_answers(lab: Lab, control: Json) -> None:
    with lab.dns("nxdomain"):
        method, observed = measure(lab, control)
        other = lab.observe(FREE)
    assert method == "dns.nxdomain"
    assert system_dns(observed)["rcode"] == "NXDOMAIN"
    assert doh(observed)["answers"] == [PLATFORM_IP]
    assert system_dns(other)["answers"] == [PLATFORM_IP]  # other names pass


def test_dns_bogon(lab: Lab, control: Json) -> None:
    with lab.dns(BOGON):
        method, observed = measure(lab, control)
    assert method == "dns.bogon"
    assert system_dns(observed)["answers"] == [BOGON]


def test_dns_injection_of_a_server_with_a_wrong_certificate(lab: Lab, control: Json) -> None:
    with lab.dns(IMPOSTOR_IP):
        method, observed = measure(lab, control)
    assert method == "dns.injection"
    assert system_dns(observed)["answers"] == [IMPOSTOR_IP]
    assert doh(observed)["answers"] == [PLATFORM_IP]
    on_impostor = [t for t in observed["tls"] if t["ip"] == IMPOSTOR_IP and not t["control_sni"]]
    assert [(t["ok"], t["cert_valid"]) for t in on_impostor] == [(True, False)]


def test_tls_sni_filter_resets_the_blocked_name_only(lab: Lab, control: Json) -> None:
    with lab.sni_reset():
        method, observed = measure(lab, control)
        other = lab.observe(FREE)
    assert method == "tls.sni_filter"
    assert [(t["sni"], t["ok"], t["failure"]) for t in observed["tls"]] == [
        ("x.test", False, "reset"),
        (CONTROL_SNI, True, None),
    ]
    assert all(t["ok"] for t in other["tls"])


def test_tls_reset_whatever_the_name(lab: Lab, control: Json) -> None:
    with lab.tls_reset():
        method, observed = measure(lab, control)
    assert method == "tls.reset"
    assert [(t["ok"], t["failure"]) for t in observed["tls"]] == [(False, "reset")] * 2


def test_tls_timeout_when_the_hello_is_swallowed(lab: Lab, control: Json) -> None:
    with lab.tls_blackhole():
        method, observed = measure(lab, control)
    assert method == "tls.timeout"
    assert [(t["ok"], t["failure"]) for t in observed["tls"]] == [(False, "timeout")] * 2


def test_down_when_the_control_fails_too(lab: Lab) -> None:
    with lab.outage():
        control = lab.observe(BLOCKED, "control")
        method, observed = measure(lab, control)
    assert method == "down"
    assert [t["failure"] for t in observed["tcp"] + control["tcp"]] == ["reset", "reset"]


def test_http_blockpage_on_port_80(lab: Lab, control: Json) -> None:
    with lab.blockpage():
        method, observed = measure(lab, control)
    assert method == "http.blockpage"
    plain = observed["http"][-1]
    assert plain["url"] == "http://x.test/"
    assert plain["blockpage"] is not None
    assert plain["title"] == "Surf Safely!"


def test_throttled_against_the_unthrottled_rate(lab: Lab, control: Json) -> None:
    before = lab.observe(BLOCKED)["throughput"]
    baseline = before["bytes"] * 8 / before["seconds"]
    reference = {"bits_per_second": baseline, "source": "the unthrottled sample"}
    with lab.throttle("2mbit"):
        method, observed = measure(lab, control, reference)
    assert method == "throttled"
    sample = observed["throughput"]
    assert sample["bytes"] * 8 / sample["seconds"] < 3_000_000
