"""OONI web_connectivity measurements written by the tests themselves, in OONI's format.

OONI's own data (its QA scenarios and published measurements) is CC BY-NC-SA and stays out of
the repository (see the README's "Datasets for evaluation"). These measurements follow the
published format instead: ooni/spec nettests/ts-017-web-connectivity.md and the data formats it
names (df-002 `queries`, df-005 `tcp_connect`, df-006 `tls_handshakes`, df-001 `requests`, the
test helper's `control`), as written by ooniprobe:

- 0.5 (webconnectivitylte): the system lookup (`getaddrinfo`, tagged `classic`) beside a
  DNS-over-UDP and a DNS-over-HTTPS lookup; every entry tagged `depth=N` (redirect hop) and
  `fetch_body=true|false`; one `transaction_id` per endpoint and hop; `x_dns_flags`,
  `x_blocking_flags`, `x_null_null_flags`; `requests` newest first.
- 0.4: the system lookup only, no tags, `status.blocked` in `tcp_connect`, the `x_*_runtime` keys.
- 0.3 and older (Measurement Kit): no engine, no TLS handshakes, and often no `requests` at all,
  only `http_experiment_failure`.

`ooni_scenarios.qa_scenarios()` builds one measurement per scenario of OONI's web_connectivity
QA suite (probe-cli internal/webconnectivityqa, the names in `QA_EXPECTED`), each with OONI's
own verdict as its probe gives it; `ooni_scenarios.field_samples()` builds measurements shaped
like those OONI publishes from real networks (old and new probes). The addresses are
documentation, test or well-known ones; the pages are written here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

Raw = dict[str, Any]
Answer = list[str] | str  # the addresses resolved, or OONI's failure string

EXAMPLE = "93.184.216.34"  # www.example.com / www.example.org
PROXY = "130.192.182.17"  # a transparent proxy that passes TLS through
BADSSL = "104.154.89.105"
CLOUDFLARE = "104.16.132.229"
HTTPBIN = "172.67.144.64"
BITLY = "67.199.248.11"
YANDEX = "5.255.255.80"
LARGEFILE = "52.35.36.75"
FAKE = "83.224.65.41"  # an unrelated host the censor's resolver answers
QA_START = "2024-02-12 20:33:47"

UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/[scrubbed] Safari/537.3"
)
ORGS = {
    EXAMPLE: (15133, "Edgecast Inc."),
    CLOUDFLARE: (13335, "Cloudflare, Inc."),
    HTTPBIN: (13335, "Cloudflare, Inc."),
    BITLY: (396982, "Google LLC"),
    BADSSL: (396982, "Google LLC"),
    YANDEX: (13238, "YANDEX LLC"),
    LARGEFILE: (16509, "Amazon.com, Inc."),
    PROXY: (137, "Consortium GARR"),
    FAKE: (30722, "Vodafone Italia S.p.A."),
}


def page(title: str, paragraphs: int) -> str:
    """An HTML page with `title`, about 230 bytes per paragraph."""
    text = (
        "\t<p>This page stands in for a website in a test of jalsa's disruption watch. It is "
        "written by the tests, so that the verdicts can be checked on any machine, with no "
        "third-party data at hand.</p>\n"
    )
    return (
        f"<!doctype html>\n<html>\n<head>\n\t<title>{title}</title>\n</head>\n<body>\n"
        f"<div>\n\t<h1>{title}</h1>\n{text * paragraphs}</div>\n</body>\n</html>\n"
    )


DEFAULT_PAGE = page("Default Web Page", 6)
BLOCK_PAGE = "<!doctype html>\n<html>\n<head>\n\t<title>Access Denied</title>\n</head>\n</html>\n"
CAPTCHA_PAGE = page("Just a moment...", 30).replace(
    "<div>", '<div id="challenge-running">Checking if the site connection is secure</div><div>'
)
PAGE_HEADERS = {"Content-Type": "text/html; charset=utf-8", "Date": "Mon, 12 Feb 2024 20:33:47 GMT"}


@dataclass
class Response:
    """What an HTTP server answered (probe side) or the test helper fetched (control side)."""

    code: int = 200
    body: str = DEFAULT_PAGE
    headers: dict[str, str] = field(default_factory=lambda: dict(PAGE_HEADERS))
    truncated: bool = False
    title: str | None = None  # the control's title; None: read from the body

    def control(self) -> Raw:
        title = self.title
        if title is None:
            start = self.body.find("<title>")
            title = self.body[start + 7 : self.body.find("</title>")] if start >= 0 else ""
        return {
            "body_length": len(self.body.encode()) if not self.truncated else 16777216,
            "discovered_h3_endpoint": "",
            "failure": None,
            "title": title,
            "headers": self.headers,
            "status_code": self.code,
        }


def failed_control_request(failure: str) -> Raw:
    return {
        "body_length": -1,
        "discovered_h3_endpoint": "",
        "failure": failure,
        "title": "",
        "headers": {},
        "status_code": -1,
    }


@dataclass
class OoniVerdict:
    """OONI's own analysis, as its probe writes it into test_keys."""

    blocking: str | bool | None
    accessible: bool | None
    flags: int = 0  # x_blocking_flags (0.5)
    dns_flags: int = 0  # x_dns_flags (0.5)


def endpoint(ip: str, port: int) -> str:
    """OONI's "address:port", with an IPv6 address in brackets."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


class Wc:
    """One web_connectivity measurement, built step by step and rendered in a probe's format."""

    def __init__(self, url: str, version: str = "0.5.28", **meta: Any) -> None:
        self.url, self.version = url, version
        self.meta: Raw = {
            "probe_asn": "AS137",
            "probe_cc": "IT",
            "probe_network_name": "Consortium GARR",
            "measurement_start_time": QA_START,
            "report_id": "",
            "software_name": "ooniprobe",
            "software_version": "3.22.0-alpha",
            "resolver_ip": "130.192.3.21",
            **meta,
        }
        self.queries: list[Raw] = []
        self.tcp: list[Raw] = []
        self.tls: list[Raw] = []
        self.requests: list[Raw] = []  # in the order they happened; rendered newest first
        self.control: Raw | None = None
        self.control_failure: str | None = None
        self.http_failure: str | None = None  # an old probe's failure without a request
        self.ooni = OoniVerdict(False, True, 32)
        self._ids: dict[tuple[int, str], int] = {}

    @property
    def modern(self) -> bool:
        return self.version.startswith("0.5")

    def _tags(self, depth: int, *extra: str) -> list[str] | None:
        return [*extra, f"depth={depth}"] if self.modern else None

    def _tid(self, depth: int, endpoint: str) -> int:
        return self._ids.setdefault((depth, endpoint), 50001 + len(self._ids))

    # --- steps of the probe ------------------------------------------------------------------

    def lookup(
        self,
        host: str,
        system: Answer,
        *,
        udp: Answer | None = None,
        doh: Answer | None = None,
        depth: int = 0,
        cname: str | None = None,
    ) -> Wc:
        """The system resolver's answer; 0.5 also asks 1.1.1.1 over UDP (`udp`, default the
        system's answer) and dns.google over HTTPS (`doh`, default the same; none after a
        redirect)."""
        udp = system if udp is None else udp
        doh = (udp if depth == 0 else None) if doh is None else doh
        if not self.modern:
            self.queries.append(self._query(host, "system", "A", system, 0, None, cname))
            return self
        tid = 10001 + depth
        self.queries.append(self._query(host, "getaddrinfo", "ANY", system, depth, tid, cname))
        for engine, answer, base in (("udp", udp, 20001), ("doh", doh, 30001)):
            if answer is None:
                continue
            for qtype in ("A", "AAAA"):
                self.queries.append(self._query(host, engine, qtype, answer, depth, base, cname))
        return self

    def _query(
        self,
        host: str,
        engine: str,
        qtype: str,
        answer: Answer,
        depth: int,
        tid: int | None,
        cname: str | None,
    ) -> Raw:
        failure = answer if isinstance(answer, str) else None
        addrs = [] if isinstance(answer, str) else answer
        wanted = [a for a in addrs if qtype == "ANY" or (":" in a) == (qtype == "AAAA")]
        entries: list[Raw] = [{"answer_type": "CNAME", "hostname": cname, "ttl": None}] * bool(
            cname and (wanted or failure == "dns_no_answer")
        )
        for a in wanted:
            asn, org = ORGS.get(a, (0, ""))
            kind = "ipv6" if ":" in a else "ipv4"
            entries.append(
                {"asn": asn, "as_org_name": org, "answer_type": "AAAA" if kind == "ipv6" else "A"}
                | {kind: a, "ttl": None}
            )
        if not wanted and failure is None:
            failure = "dns_no_answer"
        resolver = {"udp": "1.1.1.1:53", "doh": "https://dns.google/dns-query"}.get(engine, "")
        query: Raw = {
            "answers": entries or None,
            "engine": engine,
            "failure": failure,
            "hostname": host,
            "query_type": qtype,
            "resolver_hostname": None,
            "resolver_port": None,
            "resolver_address": resolver,
            "t": 0.0123,
        }
        if self.modern:
            extra = ("classic",) if engine == "getaddrinfo" else ()
            query |= {"tags": self._tags(depth, *extra), "transaction_id": tid}
        return query

    def connect(self, ip: str, port: int, failure: str | None = None, *, depth: int = 0) -> Wc:
        status: Raw = {"failure": failure, "success": failure is None}
        entry: Raw = {"ip": ip, "port": port, "status": status, "t": 0.0456}
        if self.modern:
            fetch = port == 443 if self.url.startswith("https") else port == 80
            entry["tags"] = self._tags(
                depth, "classic", "tcptls_experiment", f"fetch_body={fetch}".lower()
            )
            entry["transaction_id"] = self._tid(depth, endpoint(ip, port))
        else:
            status["blocked"] = failure is not None
        self.tcp.append(entry)
        return self

    def handshake(self, ip: str, sni: str, failure: str | None = None, *, depth: int = 0) -> Wc:
        ok = failure is None
        entry: Raw = {
            "network": "tcp",
            "address": endpoint(ip, 443),
            "cipher_suite": "TLS_AES_128_GCM_SHA256" if ok else "",
            "failure": failure,
            "negotiated_protocol": "http/1.1" if ok else "",
            "no_tls_verify": False,
            "peer_certificates": None,
            "server_name": sni,
            "t": 0.0789,
            "tls_version": "TLSv1.3" if ok else "",
        }
        if self.modern:
            fetch = str(self.url.startswith("https")).lower()
            entry["tags"] = self._tags(depth, "classic", "tcptls_experiment", f"fetch_body={fetch}")
            entry["transaction_id"] = self._tid(depth, endpoint(ip, 443))
        self.tls.append(entry)
        return self

    def get(
        self,
        url: str,
        ip: str,
        answer: Response | None = None,
        failure: str | None = None,
        *,
        depth: int = 0,
    ) -> Wc:
        """A GET of `url` over the connection to `ip`; no answer (code 0) when `answer` is None."""
        host = url.split("/")[2].split(":")[0]
        port = 443 if url.startswith("https") else int((url.split("/")[2] + ":80").split(":")[1])
        sent = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
        sent |= {"Accept-Language": "en-US,en;q=0.9", "Host": host, "User-Agent": UA}
        response: Raw = {"body": "", "body_is_truncated": False, "code": 0, "headers_list": None}
        response["headers"] = None
        if answer is not None:
            response = {
                "body": answer.body if not answer.truncated else "",
                "body_is_truncated": answer.truncated,
                "code": answer.code,
                "headers_list": [[k, v] for k, v in answer.headers.items()],
                "headers": answer.headers,
            }
        request: Raw = {
            "body": "",
            "body_is_truncated": False,
            "headers_list": [[k, v] for k, v in sent.items()],
            "headers": sent,
            "method": "GET",
            "tor": {"exit_ip": None, "exit_name": None, "is_tor": False},
            "x_transport": "tcp",
            "url": url,
        }
        entry: Raw = {
            "network": "tcp",
            "address": endpoint(ip, port),
            "alpn": "http/1.1",
            "failure": failure,
            "request": request,
            "response": response,
            "t": 0.1234,
        }
        if self.modern:
            entry["tags"] = self._tags(depth, "classic", "fetch_body=true")
            entry["transaction_id"] = self._tid(depth, f"{ip}:{port}")
        self.requests.append(entry)
        return self

    # --- the test helper and OONI's analysis ---------------------------------------------------

    def helper(
        self,
        dns: Answer,
        tcp: dict[str, str | None],
        answer: Response | str,
        tls: dict[str, str | None] | None = None,
        sni: str | None = None,
    ) -> Wc:
        """The test helper's answer: its lookup, its connects and handshakes ({"ip:port":
        failure or None}) and its GET (a Response, or the failure string)."""
        sni = sni or self.host
        addrs = [] if isinstance(dns, str) else dns
        self.control = {
            "tcp_connect": {k: {"status": v is None, "failure": v} for k, v in tcp.items()},
            "tls_handshake": None
            if tls is None
            else {
                k: {"server_name": sni, "status": v is None, "failure": v} for k, v in tls.items()
            },
            "quic_handshake": {},
            "http_request": answer.control()
            if isinstance(answer, Response)
            else failed_control_request(answer),
            "http3_request": None,
            "dns": {
                "failure": "dns_name_error" if dns == "dns_nxdomain_error" else None,
                "addrs": addrs,
            },
        }
        if addrs:
            self.control["ip_info"] = {
                a: {"asn": ORGS.get(a, (0, ""))[0], "flags": 11} for a in addrs
            }
        return self

    def unreachable_helper(self, failure: str = "connection_reset") -> Wc:
        self.control, self.control_failure = None, failure
        return self

    def says(
        self,
        blocking: str | bool | None,
        accessible: bool | None,
        flags: int = 0,
        dns_flags: int = 0,
    ) -> Wc:
        self.ooni = OoniVerdict(blocking, accessible, flags, dns_flags)
        return self

    @property
    def host(self) -> str:
        return self.url.split("/")[2].split(":")[0].lower()

    def _experiment_failures(self) -> tuple[str | None, str | None]:
        """dns_experiment_failure and http_experiment_failure, as the probe sums them up."""
        system = next((q for q in self.queries if q["engine"] in ("getaddrinfo", "system")), None)
        dns = system["failure"] if system and system["failure"] != "dns_no_answer" else None
        if self.http_failure or self.requests:
            return dns, self.http_failure or self.requests[-1]["failure"]
        for entry in reversed(self.tls + self.tcp):
            failure = entry.get("failure") or (entry.get("status") or {}).get("failure")
            if failure:
                return dns, failure
        return dns, dns

    def build(self) -> Raw:
        dns_failure, http_failure = self._experiment_failures()
        queries, tcp, tls = copy.deepcopy((self.queries, self.tcp, self.tls))
        keys: Raw = {
            "agent": "redirect",
            "client_resolver": self.meta["resolver_ip"],
            "retries": None,
            "socksproxy": None,
            "network_events": None,
            "queries": queries,
            "tcp_connect": tcp,
            "tls_handshakes": tls,
            "requests": copy.deepcopy(self.requests[::-1]),
            "control_failure": self.control_failure,
            "control": copy.deepcopy(self.control),
            "dns_experiment_failure": dns_failure,
            "dns_consistency": "inconsistent"
            if self.ooni.dns_flags or self.ooni.blocking == "dns"
            else "consistent",
            "http_experiment_failure": http_failure,
            "body_length_match": None,
            "body_proportion": 0,
            "headers_match": None,
            "status_code_match": None,
            "title_match": None,
            "blocking": self.ooni.blocking,
            "accessible": self.ooni.accessible,
        }
        if self.modern:
            keys |= {
                "x_dns_flags": self.ooni.dns_flags,
                "x_blocking_flags": self.ooni.flags,
                "x_null_null_flags": 0,
                "x_control_request": {
                    "http_request": self.url,
                    "tcp_connect": sorted(
                        {f"{t['ip']}:{t['port']}" for t in self.tcp if "depth=0" in t["tags"]}
                    ),
                    "x_quic_enabled": False,
                },
            }
        elif self.version.startswith("0.4"):
            keys |= {
                "x_status": 0,
                "x_dns_runtime": 12,
                "x_th_runtime": 310,
                "x_tcptls_runtime": 40,
                "x_http_runtime": 120,
            }
        else:  # Measurement Kit: no TLS handshakes, no engine, often no request recorded
            keys.pop("tls_handshakes")
            keys.pop("network_events")
            for query in queries:
                query.pop("engine")
                query.pop("t")
        return {
            "annotations": {"platform": "linux", "engine_name": "ooniprobe-engine"},
            "data_format_version": "0.2.0",
            "input": self.url,
            "measurement_start_time": self.meta["measurement_start_time"],
            "probe_asn": self.meta["probe_asn"],
            "probe_cc": self.meta["probe_cc"],
            "probe_ip": "127.0.0.1",
            "probe_network_name": self.meta["probe_network_name"],
            "report_id": self.meta["report_id"],
            "resolver_asn": self.meta["probe_asn"],
            "resolver_ip": self.meta["resolver_ip"],
            "software_name": self.meta["software_name"],
            "software_version": self.meta["software_version"],
            "test_helpers": {"backend": {"address": "https://0.th.ooni.org/", "type": "https"}},
            "test_keys": keys,
            "test_name": "web_connectivity",
            "test_runtime": 0.8,
            "test_start_time": self.meta["measurement_start_time"],
            "test_version": self.version,
        } | (
            {"measurement_uid": self.meta["measurement_uid"]}
            if "measurement_uid" in self.meta
            else {}
        )
