"""The decision table: from what the probe saw and what the control saw, per step, to a verdict.

This is data. `classify.py` walks the steps and, at each, names the row that applies; the row
gives the method (a row whose method is None passes to the next step). docs/ooni-decision-table.md
is generated from this table (`table_markdown`) and a test keeps them equal; another test checks
every row with an example of its own (tests/watch/test_decision_table.py).

The model is OONI's (probe-cli internal/minipipeline, webconnectivitylte's classic analysis):
each failure is compared with the control's result for the same endpoint (address and port) and
step. A failure the control shared is *expected* (the site is down), one the control did not have
is *unexpected* (blocking), and one the control has nothing to say about is *unexplained*
(unknown). A step that was never reached is not a success: "no request made" is not "ok".
"""

from __future__ import annotations

from dataclasses import dataclass

from jalsa.watch.record import METHODS

# What "the control" means in the table: OONI's test helper, or jalsa's server for our probes.
# "Reference": the control's answers and, for DNS, an encrypted resolver (DoH/DoT) the vantage
# asked itself. "Fetch port": the port of the URL (443 for https://, 80 for http://); OONI also
# connects the other port to check the addresses with TLS, and a failure there says nothing
# about the page.


@dataclass(frozen=True)
class Rule:
    id: str
    step: str  # DNS, TCP, TLS, HTTP, throughput, end
    probe: str  # what the probe saw
    control: str  # what the control (or a reference) saw
    methods: tuple[str, ...]  # the verdicts it gives; () passes to the next step
    why: str

    @property
    def verdict(self) -> str:
        return " / ".join(self.methods) if self.methods else "next step"


def _r(id: str, step: str, probe: str, control: str, methods: str, why: str) -> Rule:
    return Rule(id, step, probe, control, tuple(m for m in methods.split() if m), why)


TCP_METHODS = "tcp.timeout tcp.reset tcp.refused"
TLS_METHODS = "tls.timeout tls.reset"

RULES: tuple[Rule, ...] = (
    # --- DNS: the resolver under test is the system's (else plain UDP/TCP) --------------------
    _r(
        "dns.no_address.down",
        "DNS",
        "no address (NXDOMAIN, no data, SERVFAIL, timeout)",
        "no address either",
        "down",
        "the name does not resolve from outside: the site is gone, not blocked",
    ),
    _r(
        "dns.no_address.blocked",
        "DNS",
        "no address",
        "resolved it (control), or an encrypted resolver did",
        "dns.nxdomain",
        "the network's resolver denies a name that exists",
    ),
    _r(
        "dns.no_address.alone",
        "DNS",
        "no address",
        "no control, no encrypted answer",
        "dns.nxdomain",
        "kept as measured but unconfirmed (control=none): nothing says the name exists; "
        "the detector does not count it as a censor's signature",
    ),
    _r(
        "dns.bogon",
        "DNS",
        "private, loopback or reserved addresses",
        "did not answer them",
        "dns.bogon",
        "a public name does not live at a private address",
    ),
    _r(
        "dns.fingerprint",
        "DNS",
        "an address on a block-page fingerprint list",
        "anything",
        "dns.injection",
        "the address is a known block page: its own proof",
    ),
    _r(
        "dns.bogon.shared",
        "DNS",
        "private or loopback addresses",
        "answered the same addresses",
        "",
        "the name itself points there (e.g. localhost): not the network's doing",
    ),
    _r(
        "dns.consistent",
        "DNS",
        "addresses",
        "overlap the control's or an encrypted resolver's",
        "",
        "the same servers: nothing to say about DNS",
    ),
    _r(
        "dns.consistent.tls",
        "DNS",
        "addresses unlike the references, but TLS for the name completed with a valid "
        "certificate on one",
        "anything",
        "",
        "a CDN node or a transparent proxy that passes TLS through: the address is genuine",
    ),
    _r(
        "dns.injection",
        "DNS",
        "addresses unlike every reference; TLS for the name fails there (or was not tried)",
        "reached the site (its TLS or its page succeeded)",
        "dns.injection",
        "the answers are not the site's: the site works from outside, not at these addresses",
    ),
    _r(
        "dns.injection.ghost",
        "DNS",
        "addresses",
        "the control or an encrypted resolver says the name does not exist",
        "dns.injection",
        "the network's resolver invents an answer for a name that does not exist",
    ),
    _r(
        "dns.inconsistent.down",
        "DNS",
        "addresses unlike the control's; TLS fails there",
        "its own TLS and page failed on every address",
        "down",
        "the control could not reach the site either, so a TLS failure proves nothing about "
        "the answers (OONI's false positive on mask.icloud.com, ooni/probe#2517)",
    ),
    _r(
        "dns.inconsistent.unknown",
        "DNS",
        "addresses unlike the references; TLS fails there",
        "nothing about the site itself (no control; an encrypted resolver answered otherwise)",
        "",
        "different answers alone are normal for CDNs: later steps decide",
    ),
    _r(
        "dns.reference_failed",
        "DNS",
        "the encrypted resolver (DNS over HTTPS/TLS) failed or was blocked",
        "anything",
        "",
        "DoH/DoT is only a reference, not the resolver under test: no verdict on the target "
        "(its blocking is a finding about DoH, not about the site)",
    ),
    # --- the final answer first: a page that came back decides (OONI's order) -----------------
    _r(
        "http.blockpage",
        "HTTP",
        "an answer of the chain (a redirect or the page) matches a block-page fingerprint",
        "anything",
        "http.blockpage",
        "a known block page is its own proof",
    ),
    _r(
        "http.redirect",
        "HTTP",
        "the last request of this hop was answered with a redirect; a later hop follows",
        "anything",
        "ok",
        "this hop worked; the next hop is judged on its own",
    ),
    _r(
        "https.answered",
        "HTTP",
        "the final request over HTTPS was answered (TLS authenticated the server)",
        "anything, or no control",
        "ok",
        "an authenticated answer comes from the real server: another page is the site's "
        "choice (a CAPTCHA, a language), not the network's",
    ),
    _r(
        "http.no_reference",
        "HTTP",
        "the final plain-HTTP request was answered",
        "no page to compare (no control, or its request failed)",
        "unknown",
        "an unauthenticated page may be a block page not on any list",
    ),
    _r(
        "http.status_diff",
        "HTTP",
        "plain HTTP, a status unlike the control's",
        "another status",
        "http.diff",
        "the network answered instead of the site",
    ),
    _r(
        "http.title_match",
        "HTTP",
        "plain HTTP, the control's status and title",
        "same status and title",
        "ok",
        "the same page (OONI: status and title match)",
    ),
    _r(
        "http.length_match",
        "HTTP",
        "plain HTTP, the control's status, a body of similar length (at least 70% of the "
        "longer), or the probe's own body_length_match",
        "same status",
        "ok",
        "the same page, in another edition (OONI: status and body length match)",
    ),
    _r(
        "http.body_diff",
        "HTTP",
        "plain HTTP, the control's status, another title, a body under 70% of the other's",
        "same status",
        "http.diff",
        "another page: the network's",
    ),
    _r(
        "http.body_unknown",
        "HTTP",
        "plain HTTP, the control's status, a body that cannot be compared (not valid base64, "
        "truncated, or not recorded) and no match recorded by the probe",
        "same status",
        "unknown",
        "an unreadable body is not an empty page: nothing to compare",
    ),
    _r(
        "http.failure",
        "HTTP",
        "the final request (the last of the chain) failed",
        "fetched the page",
        "http.failure",
        "the network broke the request the control completed",
    ),
    _r(
        "http.throttled",
        "HTTP",
        "the final request began (a status arrived) and stalled until a timeout",
        "fetched the page",
        "throttled",
        "OONI's throttling: HTTP 200, a truncated body, generic_timeout_error",
    ),
    _r(
        "http.failure.down",
        "HTTP",
        "the final request failed",
        "its request failed too",
        "down",
        "the site fails from outside as well",
    ),
    _r(
        "http.failure.alone",
        "HTTP",
        "the final request failed",
        "no control",
        "http.failure throttled",
        "kept as measured but unconfirmed (control=none)",
    ),
    # --- no final answer: TLS, then TCP, per endpoint on the fetch port -----------------------
    _r(
        "tls.sni_filter",
        "TLS",
        "a handshake failed with the real name",
        "on the same address with a control name it completed",
        "tls.sni_filter",
        "only the name differs: the network filters on SNI",
    ),
    _r(
        "tls.unexpected",
        "TLS",
        "a handshake failed (reset, EOF, alert, bad certificate / timeout)",
        "completed it on the same endpoint, or fetched the page",
        TLS_METHODS,
        "the network broke a handshake the control completed",
    ),
    _r(
        "tls.expected",
        "TLS",
        "handshakes failed",
        "its handshakes on the same endpoints failed too",
        "down",
        "the site's TLS is broken for everyone (expired, wrong name, down)",
    ),
    _r(
        "tls.alone",
        "TLS",
        "handshakes failed",
        "no control",
        TLS_METHODS,
        "kept as measured but unconfirmed (control=none)",
    ),
    _r(
        "tls.unexplained",
        "TLS",
        "handshakes failed",
        "reached, but neither tried these endpoints nor fetched the page",
        "unknown",
        "OONI's unexplained failure: nothing to compare with",
    ),
    _r(
        "tcp.ipv6_unreachable",
        "TCP",
        "a connect to an IPv6 address failed with network/host unreachable",
        "anything",
        "",
        "the vantage has no IPv6 route (a local misconfiguration, not blocking); ignored",
    ),
    _r(
        "tcp.ipv6_only",
        "TCP",
        "every connect on the fetch port was to IPv6 and unreachable",
        "anything",
        "unknown",
        "an IPv6-only host from a network without IPv6: nothing was tested",
    ),
    _r(
        "tcp.unexpected",
        "TCP",
        "a connect on the fetch port failed (timeout / reset or refused / ICMP unreachable)",
        "connected to the same endpoint, or fetched the page",
        TCP_METHODS,
        "the network stopped a connection the control made; a block of one port alone "
        "(80 while 443 connects) shows here",
    ),
    _r(
        "tcp.expected",
        "TCP",
        "connects on the fetch port failed",
        "its connects to the same endpoints failed too",
        "down",
        "the port is closed or filtered for everyone (e.g. http://dns.google: port 80 times out "
        "from the control too)",
    ),
    _r(
        "tcp.alone",
        "TCP",
        "connects on the fetch port failed",
        "no control",
        TCP_METHODS,
        "kept as measured but unconfirmed (control=none)",
    ),
    _r(
        "tcp.unexplained",
        "TCP",
        "connects on the fetch port failed",
        "reached, but neither tried these endpoints nor fetched the page",
        "unknown",
        "OONI's unexplained failure: nothing to compare with",
    ),
    # --- throughput (our probes; after the page was fetched) ----------------------------------
    _r(
        "throughput.failed",
        "throughput",
        "the sample download failed",
        "its download succeeded, or no control",
        "http.failure",
        "the page came but the content did not",
    ),
    _r(
        "throughput.down",
        "throughput",
        "the sample download failed",
        "failed too",
        "down",
        "the content fails from outside as well",
    ),
    _r(
        "throughput.throttled",
        "throughput",
        "a rate under 10% of the reference",
        "the vantage's baseline, else the control's rate",
        "throttled",
        "a lossy link varies about 5x a day; 10x less is a throttle",
    ),
    # --- the end ------------------------------------------------------------------------------
    _r(
        "end.no_request.down",
        "end",
        "no request was made and no step failed (e.g. only loopback addresses)",
        "could not fetch the page",
        "down",
        "nothing to reach from outside either",
    ),
    _r(
        "end.no_request",
        "end",
        "no request was made and no step failed, or nothing was observed at all",
        "fetched the page, or no control",
        "unknown",
        "a step that did not run is not a success",
    ),
)

BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
assert len(BY_ID) == len(RULES), "rule ids are unique"
assert all(m in METHODS for r in RULES for m in r.methods), "every method is in the vocabulary"


def table_markdown() -> str:
    """The table as Markdown (docs/ooni-decision-table.md)."""
    lines = [
        "# The OONI decision table",
        "",
        "Generated from `src/jalsa/watch/verdict_table.py`; a test keeps this file equal to it,",
        "and `tests/watch/test_decision_table.py` checks every row with an example of its own.",
        "",
        "The steps are read in this order: DNS; then the final answer, if a page came back; then,",
        "when none did, TLS and TCP per endpoint (address and port) on the URL's port; then the",
        "end. The first row that gives a verdict decides; *next step* rows pass on. Each failure",
        "is compared with the control's result for the same endpoint and step: shared with the",
        "control, the site is `down`; the control's alone succeeded, it is blocking; the control",
        "has nothing to say, it is `unknown`. A redirect chain is judged hop by hop (the first",
        "hop that is not `ok` decides); the last request of a chain is its final answer.",
        "",
        "| row | step | the probe saw | the control saw | verdict | why |",
        "|---|---|---|---|---|---|",
    ]
    for r in RULES:
        verdict = " / ".join(f"`{m}`" for m in r.methods) if r.methods else "*next step*"
        cells = (f"`{r.id}`", r.step, r.probe, r.control, verdict, r.why)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += [
        "",
        "Verdicts: " + "; ".join(f"`{m}`: {d}" for m, d in METHODS.items()) + ".",
        "",
    ]
    return "\n".join(lines)
