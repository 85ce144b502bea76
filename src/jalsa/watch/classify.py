"""The verdict rules: from what a vantage observed, and what the control observed, to one method.

This is the one place the rules live; the probes, the server and the OONI import all call
`classify`. The rules are the rows of the decision table (`verdict_table.py`, written out in
docs/ooni-decision-table.md), after OONI's web_connectivity analysis (probe-cli minipipeline and
webconnectivitylte's classic analysis): DNS first; then the final answer, when a page came back;
else TLS and TCP per endpoint (address and port) on the URL's port, each failure compared with
the control's result for the same endpoint: shared -> `down`, the control's alone succeeded ->
blocking, the control has nothing to say -> `unknown`. A step that did not run is not a success.

Choices worth knowing:
- The resolver under test is the system resolver (what browsers and apps use); plain UDP/TCP
  resolvers stand in when no system lookup was recorded. Encrypted resolvers (DoH/DoT) and the
  control are the references for its answers; a failing encrypted resolver says nothing about
  the target.
- Answers are consistent when they overlap the references' or when TLS for the real name
  completed with a valid certificate on one of them (a CDN node or a transparent proxy). Answers
  that are neither are `dns.injection` only when the control reached the site: when its own
  handshakes and request failed, the site is `down` (ooni/probe#2517, mask.icloud.com).
- `http.diff` compares only answers that TLS did not authenticate (plain http:// URLs), as OONI
  does; a body that cannot be read (not valid base64, truncated) is `unknown`, not empty.
- Without a control, a failing step keeps its method, marked unconfirmed (control "none");
  nothing is called `down` without one, and a plain-HTTP page or a step that never ran is
  `unknown`.
"""

from __future__ import annotations

from jalsa.watch.classify_base import (
    Case,
    Reference,
    answers,
    is_bogon,
    names,
    no_address,
    tls_ok,
)
from jalsa.watch.classify_steps import BODY_PROPORTION, THROTTLE_RATIO, after_dns
from jalsa.watch.fingerprints import BUILTIN, Fingerprints
from jalsa.watch.record import DnsObservation, Observations, Verdict
from jalsa.watch.verdict_table import BY_ID, Rule

__all__ = ["BODY_PROPORTION", "THROTTLE_RATIO", "Reference", "classify", "explain"]

PLAIN_DNS = ("udp", "tcp")
ENCRYPTED_DNS = ("doh", "dot")


def classify(
    observed: Observations,
    control: Observations | None,
    reference: Reference | None = None,
    *,
    throttle_ratio: float = THROTTLE_RATIO,
    fingerprints: Fingerprints = BUILTIN,
    url: str | None = None,
    final_hop: bool = True,
) -> Verdict:
    """The verdict for one target from one vantage. `url`: the URL fetched, when known (its
    port is the one that carries the page); `final_hop`: False when a later redirect hop
    follows (a redirect is then this hop's answer)."""
    return explain(
        observed,
        control,
        reference,
        throttle_ratio=throttle_ratio,
        fingerprints=fingerprints,
        url=url,
        final_hop=final_hop,
    )[0]


def explain(
    observed: Observations,
    control: Observations | None,
    reference: Reference | None = None,
    *,
    throttle_ratio: float = THROTTLE_RATIO,
    fingerprints: Fingerprints = BUILTIN,
    url: str | None = None,
    final_hop: bool = True,
) -> tuple[Verdict, Rule, list[str]]:
    """The verdict, the row of the decision table that gave it, and every row passed on the
    way (their ids, the deciding one last)."""
    case = Case(observed, control, reference, throttle_ratio, fingerprints, url, final_hop)
    verdict = _dns(case) or after_dns(case)
    return verdict, BY_ID[case.trace[-1]], case.trace


# --- DNS -------------------------------------------------------------------------------------


def _dns(case: Case) -> Verdict | None:
    dns = case.observed.dns
    tested = [d for d in dns if d.transport == "system"] or [
        d for d in dns if d.transport in PLAIN_DNS
    ]
    encrypted = [d for d in dns if d.transport in ENCRYPTED_DNS]
    if encrypted and not answers(encrypted):
        case.note("dns.reference_failed")
    if not tested:
        return None
    who = "system" if tested[0].transport == "system" else tested[0].resolver
    references = encrypted + (case.control.dns if case.control else [])
    found = answers(tested)
    if not found:
        return _dns_no_address(case, who, tested, encrypted)
    return _dns_addresses(case, who, found, references)


def _dns_no_address(
    case: Case, who: str, tested: list[DnsObservation], encrypted: list[DnsObservation]
) -> Verdict:
    said = f"the {who} resolver answered {no_address(tested[0])}"
    control = case.control
    if control is not None and (control.dns or case.control_fetched() is not None):
        resolved = answers(control.dns)
        if resolved:
            return case.rule(
                "dns.no_address.blocked", f"{said}; the control resolved {names(resolved)}"
            )
        if case.control_fetched():
            return case.rule("dns.no_address.blocked", f"{said}; the control fetched the page")
        return case.rule("dns.no_address.down", f"{said} and the control found no address")
    resolved = answers(encrypted)
    if resolved:
        return case.rule(
            "dns.no_address.blocked",
            f"{said}; an encrypted resolver resolved {names(resolved)}",
            basis="reference",
        )
    return case.rule("dns.no_address.alone", said)


def _elsewhere(case: Case, references: list[DnsObservation]) -> str:
    """What the control, else an encrypted resolver, answered instead, in words."""
    control = answers(case.control.dns) if case.control else set()
    if control:
        return f"; the control resolved {names(control)}"
    other = answers(references)
    return f"; an encrypted resolver resolved {names(other)}" if other else ""


def _tls_on(observed: Observations, addresses: set[str]) -> tuple[bool, str]:
    """Whether TLS for the real name completed with a valid certificate on one of `addresses`,
    and what happened there in words."""
    tried = [t for t in observed.tls if t.ip in addresses and not t.control_sni]
    if any(tls_ok(t) for t in tried):
        return True, "completed"
    if not tried:
        return False, "could not be tried"
    t = tried[0]
    return False, "gave an invalid certificate" if t.ok else f"failed ({t.failure or 'error'})"


def _dns_addresses(
    case: Case, who: str, found: set[str], references: list[DnsObservation]
) -> Verdict | None:
    known = answers(references)
    bogons = {a for a in found if is_bogon(a)}
    if bogons - known:
        return case.rule(
            "dns.bogon",
            f"the {who} resolver answered {names(bogons - known)}, a private or reserved address"
            + _elsewhere(case, references),
        )
    listed = case.fingerprints.match_dns(found)
    if listed is not None:
        return case.rule(
            "dns.fingerprint",
            f"the {who} resolver answered {listed.ip}, a known block-page address ({listed.name})",
        )
    if bogons:
        case.note("dns.bogon.shared")
    if found & known:
        case.note("dns.consistent")
        return None
    valid, tls = _tls_on(case.observed, found)
    if valid:
        case.note("dns.consistent.tls")
        return None
    said = f"the {who} resolver answered {names(found)}"
    if known:
        why = f"neither the control nor an encrypted resolver answered that ({names(known)})"
        reached = case.control_reached()
        if reached:
            return case.rule(
                "dns.injection",
                f"{said}: {why}, TLS for the name {tls} there, and the control reached the site",
            )
        if reached is False:
            return case.rule(
                "dns.inconsistent.down",
                f"{said}: {why} and TLS for the name {tls} there, but the control's own "
                "handshakes and request failed too",
            )
        case.note("dns.inconsistent.unknown")
        return None
    if any(no_address(d) == "NXDOMAIN" for d in references):
        return case.rule(
            "dns.injection.ghost",
            f"{said}: the control or an encrypted resolver says the name does not exist, and "
            f"TLS for the name {tls} there",
        )
    return None
