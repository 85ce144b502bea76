"""The measurements the OONI tests read: OONI's web_connectivity QA scenarios and measurements
shaped like those OONI publishes from real networks, written with `ooni_samples.Wc`.

Each QA scenario is what probe-cli's netem QA suite (internal/webconnectivityqa) sets up: the
censor's action at each step, what the test helper sees, and OONI's verdict for it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from watch.ooni_samples import (
    BADSSL,
    BITLY,
    BLOCK_PAGE,
    CAPTCHA_PAGE,
    CLOUDFLARE,
    EXAMPLE,
    FAKE,
    HTTPBIN,
    LARGEFILE,
    PROXY,
    YANDEX,
    Raw,
    Response,
    Wc,
    endpoint,
    page,
)


def reach(
    w: Wc,
    url: str,
    ip: str,
    *,
    depth: int = 0,
    answer: Response | None = None,
    tls: str | None = None,
    tcp: str | None = None,
    get: str | None = None,
) -> Wc:
    """Connect to `ip` as the probe does for `url` (port 80 and 443 for http:// without a port,
    to check the address with TLS), handshake, and GET unless the connection failed."""
    scheme, rest = url.split("://")
    hostport = rest.split("/")[0]
    host = hostport.split(":")[0].lower()
    ports = [int(hostport.split(":")[1])] if ":" in hostport else [80, 443]
    if scheme == "https":
        ports = [443]
    for port in ports:
        w.connect(ip, port, tcp, depth=depth)
    if tcp is None and 443 in ports:
        w.handshake(ip, host, tls, depth=depth)
    usable = tcp is None and (scheme == "http" or tls is None)
    if usable or get is not None:
        failed = get is not None and answer is None
        w.get(url, ip, None if failed else (answer or Response()), get, depth=depth)
    return w


def helper_ok(w: Wc, ips: list[str], answer: Response | None = None, *, http: bool = False) -> Wc:
    """The test helper resolved `ips`, connected, handshook and fetched the page."""
    ports = [443, 80] if http else [443]
    tcp: dict[str, str | None] = {endpoint(ip, p): None for ip in ips for p in ports}
    tls: dict[str, str | None] = {endpoint(ip, 443): None for ip in ips}
    return w.helper(ips, tcp, answer or Response(), tls=tls)


# --- the QA scenarios ------------------------------------------------------------------------


def _bad_ssl(host: str, failure: str) -> Wc:
    w = Wc(f"https://{host}/").lookup(host, [BADSSL])
    reach(w, w.url, BADSSL, tls=failure)
    w.helper([BADSSL], {f"{BADSSL}:443": None}, "unknown_error", tls={f"{BADSSL}:443": failure})
    return w.says(False, False)


def _bad_ssl_inconsistent() -> Wc:
    w = Wc("https://www.example.com/").lookup("www.example.com", [BADSSL], doh=[EXAMPLE])
    reach(w, w.url, BADSSL, tls="ssl_unknown_authority")
    reach(w, w.url, EXAMPLE)
    w.helper(
        [EXAMPLE],
        {f"{BADSSL}:443": None, f"{EXAMPLE}:443": None},
        Response(),
        tls={f"{BADSSL}:443": "ssl_unknown_authority", f"{EXAMPLE}:443": None},
    )
    return w.says("dns", False, 33, 4)


def _captcha(scheme: str) -> Wc:
    host = "www.cloudflare-cache.com"
    w = Wc(f"{scheme}://{host}/").lookup(host, [CLOUDFLARE])
    captcha = Response(503, CAPTCHA_PAGE, {"Server": "cloudflare", "Content-Type": "text/html"})
    reach(w, w.url, CLOUDFLARE, answer=captcha)
    helper_ok(w, [CLOUDFLARE], http=scheme == "http")
    return w.says("http-diff", False, 16) if scheme == "http" else w


def _control_failure(scheme: str) -> Wc:
    w = Wc(f"{scheme}://www.example.org/").lookup("www.example.org", [EXAMPLE])
    reach(w, w.url, EXAMPLE).unreachable_helper()
    return w.says(None, None, 0) if scheme == "http" else w


def _dns_system(system: list[str] | str, scheme: str = "https", **udp: list[str]) -> Wc:
    """The system resolver (and `udp` if given) lies or fails; the probe goes on with the
    addresses DNS-over-HTTPS gave and fetches the page."""
    w = Wc(f"{scheme}://www.example.com/").lookup("www.example.com", system, doh=[EXAMPLE], **udp)
    for ip in system if isinstance(system, list) else []:
        if not ip.startswith("127."):  # the probe does not connect to localhost
            w.connect(ip, 443, "generic_timeout_error")
    reach(w, w.url, EXAMPLE)
    return helper_ok(w, [EXAMPLE], http=scheme == "http")


def _proxy(scheme: str, answer: Response | None = None) -> Wc:
    """The resolver answers a transparent proxy, which passes TLS through untouched."""
    w = Wc(f"{scheme}://www.example.com/").lookup("www.example.com", [PROXY], doh=[EXAMPLE])
    reach(w, w.url, PROXY, answer=answer)
    for port in [80, 443] if scheme == "http" else [443]:
        w.connect(EXAMPLE, port)
    w.handshake(EXAMPLE, "www.example.com")
    ports = [80, 443] if scheme == "http" else [443]
    tcp: dict[str, str | None] = {f"{ip}:{p}": None for ip in (PROXY, EXAMPLE) for p in ports}
    return w.helper([EXAMPLE], tcp, Response(), tls={f"{PROXY}:443": None, f"{EXAMPLE}:443": None})


def _ghost(scheme: str) -> Wc:
    """The name does not exist, but the censor's resolver answers it anyway."""
    w = Wc(f"{scheme}://itsat.info/").lookup("itsat.info", [FAKE], doh="dns_nxdomain_error")
    if scheme == "http":
        w.connect(FAKE, 80).connect(FAKE, 443, "connection_refused")
        w.get(w.url, FAKE, Response(body=BLOCK_PAGE))
        tcp = {f"{FAKE}:443": "connection_refused_error", f"{FAKE}:80": None}
        return w.helper("dns_nxdomain_error", tcp, "dns_lookup_error").says("dns", False, 16)
    w.connect(FAKE, 443, "connection_refused")
    tcp = {f"{FAKE}:443": "connection_refused_error"}
    return w.helper("dns_nxdomain_error", tcp, "dns_lookup_error").says("dns", False, 0)


def _plain(
    url: str,
    ip: str,
    answer: Response | None = None,
    *,
    helper: Response | None = None,
    **failures: str,
) -> Wc:
    """A site at `ip` answered `answer` (default the page); the helper got `helper`."""
    host = url.split("/")[2].split(":")[0].lower()
    w = Wc(url).lookup(host, [ip])
    reach(w, url, ip, answer=answer, **failures)
    return helper_ok(w, [ip], helper, http=url.startswith("http:"))


def _idna(url: str) -> Wc:
    puny = "xn--d1acpjx3f.xn--p1ai"
    w = Wc(url).lookup(puny, [YANDEX])
    hops = [(f"http://{puny}/", "https://yandex.com/"), ("https://yandex.com/", "https://ya.ru/")]
    for depth, (here, there) in enumerate(hops):
        if depth:
            w.lookup(here.split("/")[2], [YANDEX], depth=depth)
        reach(w, here, YANDEX, depth=depth, answer=Response(308, "", {"Location": there}))
    w.lookup("ya.ru", [YANDEX], depth=2)
    reach(w, "https://ya.ru/", YANDEX, depth=2)
    tcp: dict[str, str | None] = {f"{YANDEX}:443": None, f"{YANDEX}:80": None}
    return w.helper([YANDEX], tcp, Response(), tls={f"{YANDEX}:443": None}, sni=puny)


def _large(scheme: str, failure: str | None = None) -> Wc:
    """A 16 MiB file: the probe keeps only the start of the body (or, throttled, stalls)."""
    big = Response(body="x" * 4096, truncated=True, headers={"Content-Type": "video/mp4"})
    w = _plain(f"{scheme}://largefile.com/", LARGEFILE, answer=big, helper=big)
    if failure:
        w.requests[-1]["failure"] = failure
        return w.says("http-failure", False, 8)
    return w


def _localhost(scheme: str) -> Wc:
    w = Wc(f"{scheme}://www.example.com/").lookup("www.example.com", ["127.0.0.1"])
    return w.helper(["127.0.0.1"], {}, "unknown_error").says(False, False, 0, 1)


def _broken_location(scheme: str) -> Wc:
    url = f"{scheme}://httpbin.com/broken-redirect-{scheme}"
    w = _plain(url, HTTPBIN, answer=Response(302, "", {"Location": f"{scheme}://"}))
    w.requests[-1]["failure"] = "http_invalid_redirect_location_host"
    return w.says("http-failure", False, 8)


def _redirect_then(scheme: str, step: str, failure: str, flags: int) -> Wc:
    """bit.ly redirects to www.example.com, where `step` fails with `failure`."""
    w = _plain(
        f"https://bit.ly/{21645 if scheme == 'https' else 32447}",
        BITLY,
        answer=Response(308, "", {"Location": f"{scheme}://www.example.com/"}),
    )
    there = f"{scheme}://www.example.com/"
    if step == "dns":
        w.lookup("www.example.com", failure, depth=1)
        return w.says("dns", False, flags)
    w.lookup("www.example.com", [EXAMPLE], depth=1)
    if step == "tcp":
        reach(w, there, EXAMPLE, depth=1, tcp=failure)
    else:
        reach(w, there, EXAMPLE, depth=1, tls=failure, get=failure if scheme == "http" else None)
    return w.says("http-failure", False, flags)


def _too_many(scheme: str) -> Wc:
    w = Wc(f"{scheme}://httpbin.com/redirect/15").lookup("httpbin.com", [HTTPBIN])
    for depth in range(11):
        n = 15 - depth
        moved = Response(302, "", {"Location": f"/redirect/{n - 1}"})
        reach(w, f"{scheme}://httpbin.com/redirect/{n}", HTTPBIN, depth=depth, answer=moved)
    w.requests[-1]["failure"] = "unknown_failure: stopped after too many redirects"
    tcp = {f"{HTTPBIN}:443": None} | ({f"{HTTPBIN}:80": None} if scheme == "http" else {})
    w.helper([HTTPBIN], tcp, "unknown_error", tls={f"{HTTPBIN}:443": None})
    return w.says(False, False)


def _tls_reset_inconsistent() -> Wc:
    w = Wc("https://www.example.com/").lookup("www.example.com", [PROXY], doh=[EXAMPLE])
    reach(w, w.url, PROXY, tls="connection_reset")
    reach(w, w.url, EXAMPLE, tls="connection_reset")
    both: dict[str, str | None] = {f"{PROXY}:443": None, f"{EXAMPLE}:443": None}
    w.helper([EXAMPLE], both, Response(), tls=both)
    return w.says("dns", False, 5, 4)


def _refused_inconsistent() -> Wc:
    w = Wc("http://www.example.org/").lookup("www.example.org", [FAKE], doh=[EXAMPLE])
    reach(w, w.url, FAKE, tcp="connection_refused")
    reach(w, w.url, EXAMPLE)
    tcp = {f"{FAKE}:443": "connection_refused_error", f"{FAKE}:80": None}
    tcp |= {f"{EXAMPLE}:443": None, f"{EXAMPLE}:80": None}
    w.helper([EXAMPLE], tcp, Response(), tls={f"{EXAMPLE}:443": None})
    return w.says("dns", False, 35, 4)


def _down(kind: str) -> Wc:
    if kind == "nxdomain":
        w = Wc("http://www.example.xyz/").lookup("www.example.xyz", "dns_nxdomain_error")
        return w.helper("dns_nxdomain_error", {}, "dns_lookup_error").says(False, False)
    if kind == "noaddrs":  # a CNAME to a name without addresses
        w = Wc("http://www.example.com/")
        w.lookup("www.example.com", "dns_no_answer", cname="web01.example.com.")
        return w.helper([], {}, "dns_lookup_error").says(False, False)
    w = Wc("http://www.example.com:444/").lookup("www.example.com", [EXAMPLE])
    reach(w, w.url, EXAMPLE, tcp="connection_refused")
    tcp = {f"{EXAMPLE}:444": "connection_refused_error"}
    return w.helper([EXAMPLE], tcp, "connection_refused_error").says(False, False)


def _http_blocked(answer: Response | None, get: str | None, flags: int, blocking: str) -> Wc:
    w = _plain("http://www.example.com/", EXAMPLE, answer=answer, **({"get": get} if get else {}))
    return w.says(blocking, False, flags)


QA: dict[str, Callable[[], Wc]] = {
    "badSSLWithExpiredCertificate": lambda: _bad_ssl(
        "expired.badssl.com", "ssl_invalid_certificate"
    ),
    "badSSLWithUnknownAuthorityWithConsistentDNS": lambda: _bad_ssl(
        "untrusted-root.badssl.com", "ssl_unknown_authority"
    ),
    "badSSLWithUnknownAuthorityWithInconsistentDNS": _bad_ssl_inconsistent,
    "badSSLWithWrongServerName": lambda: _bad_ssl("wrong.host.badssl.com", "ssl_invalid_hostname"),
    "cloudflareCAPTCHAWithHTTP": lambda: _captcha("http"),
    "cloudflareCAPTCHAWithHTTPS": lambda: _captcha("https"),
    "controlFailureWithSuccessfulHTTPSWebsite": lambda: _control_failure("https"),
    "controlFailureWithSuccessfulHTTPWebsite": lambda: _control_failure("http"),
    "dnsBlockingAndroidDNSCacheNoData": lambda: _dns_system(
        "android_dns_cache_no_data", udp=[EXAMPLE]
    ).says("dns", False, 33, 2),
    "dnsBlockingBOGON": lambda: _dns_system(["10.10.34.35"], udp=[EXAMPLE]).says(
        "dns", False, 33, 5
    ),
    "dnsBlockingNXDOMAIN": lambda: _dns_system("dns_nxdomain_error", udp=[EXAMPLE]).says(
        "dns", False, 33, 2
    ),
    "dnsHijackingToLocalhostWithHTTP": lambda: _dns_system(["127.0.0.1"], "http").says(
        "dns", False, 33, 5
    ),
    "dnsHijackingToLocalhostWithHTTPS": lambda: _dns_system(["127.0.0.1"]).says(
        "dns", False, 33, 5
    ),
    "dnsHijackingToProxyWithHTTPSURL": lambda: _proxy("https").says(False, True, 33, 4),
    "dnsHijackingToProxyWithHTTPURL": lambda: _proxy("http").says(False, True, 33, 4),
    "ghostDNSBlockingWithHTTP": lambda: _ghost("http"),
    "ghostDNSBlockingWithHTTPS": lambda: _ghost("https"),
    "httpBlockingConnectionReset": lambda: _http_blocked(
        None, "connection_reset", 8, "http-failure"
    ),
    "httpDiffWithConsistentDNS": lambda: _http_blocked(
        Response(body=BLOCK_PAGE), None, 16, "http-diff"
    ),
    "httpDiffWithInconsistentDNS": lambda: _proxy("http", Response(body=BLOCK_PAGE)).says(
        "dns", False, 17, 4
    ),
    "idnaWithoutCensorshipLowercase": lambda: _idna("http://яндекс.рф/"),
    "idnaWithoutCensorshipWithFirstLetterUppercase": lambda: _idna("http://Яндекс.рф/"),
    "largeFileWithHTTP": lambda: _large("http"),
    "largeFileWithHTTPS": lambda: _large("https"),
    "localhostWithHTTP": lambda: _localhost("http"),
    "localhostWithHTTPS": lambda: _localhost("https"),
    "redirectWithBrokenLocationForHTTP": lambda: _broken_location("http"),
    "redirectWithBrokenLocationForHTTPS": lambda: _broken_location("https"),
    "redirectWithConsistentDNSAndThenConnectionRefusedForHTTP": lambda: _redirect_then(
        "http", "tcp", "connection_refused", 2
    ),
    "redirectWithConsistentDNSAndThenConnectionRefusedForHTTPS": lambda: _redirect_then(
        "https", "tcp", "connection_refused", 2
    ),
    "redirectWithConsistentDNSAndThenConnectionResetForHTTP": lambda: _redirect_then(
        "http", "tls", "connection_reset", 12
    ),
    "redirectWithConsistentDNSAndThenConnectionResetForHTTPS": lambda: _redirect_then(
        "https", "tls", "connection_reset", 4
    ),
    "redirectWithConsistentDNSAndThenEOFForHTTP": lambda: _redirect_then(
        "http", "tls", "eof_error", 12
    ),
    "redirectWithConsistentDNSAndThenEOFForHTTPS": lambda: _redirect_then(
        "https", "tls", "eof_error", 4
    ),
    "redirectWithConsistentDNSAndThenNXDOMAIN": lambda: _redirect_then(
        "https", "dns", "dns_nxdomain_error", 1
    ),
    "redirectWithConsistentDNSAndThenTimeoutForHTTP": lambda: _redirect_then(
        "http", "tls", "generic_timeout_error", 12
    ),
    "redirectWithConsistentDNSAndThenTimeoutForHTTPS": lambda: _redirect_then(
        "https", "tls", "generic_timeout_error", 4
    ),
    "redirectWithMoreThanTenRedirectsAndHTTP": lambda: _too_many("http"),
    "redirectWithMoreThanTenRedirectsAndHTTPS": lambda: _too_many("https"),
    "successWithHTTP": lambda: _plain("http://www.example.com/", EXAMPLE),
    "successWithHTTPS": lambda: _plain("https://www.example.com/", EXAMPLE),
    "tcpBlockingConnectTimeout": lambda: _plain(
        "https://www.example.com/", EXAMPLE, tcp="generic_timeout_error"
    ).says("tcp_ip", False, 2),
    "tcpBlockingConnectionRefusedWithInconsistentDNS": _refused_inconsistent,
    "throttlingWithHTTP": lambda: _large("http", "generic_timeout_error"),
    "throttlingWithHTTPS": lambda: _large("https", "generic_timeout_error"),
    "tlsBlockingConnectionResetWithConsistentDNS": lambda: _plain(
        "https://www.example.com/", EXAMPLE, tls="connection_reset"
    ).says("http-failure", False, 4),
    "tlsBlockingConnectionResetWithInconsistentDNS": _tls_reset_inconsistent,
    "websiteDownNXDOMAIN": lambda: _down("nxdomain"),
    "websiteDownNoAddrs": lambda: _down("noaddrs"),
    "websiteDownTCPConnect": lambda: _down("tcp"),
}


def qa_scenario(name: str, version: str = "0.5.28") -> Raw:
    """One QA scenario as OONI's probe writes it (`version` 0.4.x drops the 0.5 extras)."""
    w = QA[name]()
    if version.startswith("0.4"):
        w.version = version
        return _as_04(w)
    return w.build()


def _as_04(w: Wc) -> Raw:
    """The same observations written by a 0.4 probe: the system lookup only (engine "system"),
    no tags or transaction ids, `blocked` in each connect's status."""
    w.queries = [
        {k: v for k, v in q.items() if k not in ("tags", "transaction_id")}
        | {"engine": "system", "query_type": "A"}
        for q in w.queries
        if q["engine"] == "getaddrinfo"
    ]
    for entry in w.tcp + w.tls + w.requests:
        entry.pop("tags", None)
        entry.pop("transaction_id", None)
        if "status" in entry:
            entry["status"]["blocked"] = not entry["status"]["success"]
    return w.build()


def qa_scenarios() -> dict[str, Raw]:
    return {name: qa_scenario(name) for name in QA}


# --- measurements shaped like OONI's published ones -------------------------------------------


FACEBOOK = ["157.240.227.35", "2a03:2880:f137:182:face:b00c:0:25de"]
YOUTUBE_V4 = ["142.250.181.14", "142.250.181.46", "172.217.19.78", "216.58.208.110"]
YOUTUBE_V6 = ["2a00:1450:4019:80b::200e", "2a00:1450:4019:80c::200e"]
MOBILINK_BLOCK = "http://119.73.65.87:8080/redirect.html?accessurl=d3d3LmV4YW1wbGUubmV0"


def _field(url: str, version: str, cc: str, asn: str, when: str, report: str, **meta: str) -> Wc:
    return Wc(
        url,
        version,
        probe_cc=cc,
        probe_asn=asn,
        measurement_start_time=when,
        report_id=report,
        software_name=meta.pop("software", "ooniprobe-android"),
        software_version=meta.pop("software_version", "3.21.0"),
        **meta,
    )


def _ir_bogon() -> Wc:
    """Iran (0.4): the national block page's private address for facebook.com."""
    w = _field(
        "https://www.facebook.com/",
        "0.4.1",
        "IR",
        "AS44244",
        "2024-05-11 16:20:05",
        "20240511T161955Z_webconnectivity_IR_44244_n1_Qm2d9cWv0XtZpLkA",
        probe_network_name="Iran Cell Service and Communication Company",
    )
    w.lookup("www.facebook.com", ["10.10.34.36"])
    w.connect("10.10.34.36", 443, "generic_timeout_error")
    w.get(w.url, "10.10.34.36", None, "generic_timeout_error")
    w.helper(
        FACEBOOK, {"10.10.34.36:443": "generic_timeout_error"}, Response(body=page("Facebook", 300))
    )
    return w.says("dns", False)


def _pk_nayatel() -> Wc:
    """Pakistan (0.4): Nayatel's filtering resolver answers its SafeWeb address for x.com."""
    w = _field(
        "https://x.com/",
        "0.4.3",
        "PK",
        "AS23674",
        "2024-02-20 09:41:12",
        "20240220T094102Z_webconnectivity_PK_23674_n1_a8Rk3JvPq0TnWcYe",
        probe_network_name="Nayatel (Pvt) Ltd",
        measurement_uid="20240220094112.553201_PK_webconnectivity_3f0c9a1e27d4b865",
    )
    w.lookup("x.com", ["203.82.48.86"])
    reach(w, w.url, "203.82.48.86", tls="ssl_invalid_hostname")
    w.helper(
        ["104.244.42.1", "104.244.42.65"],
        {"104.244.42.1:443": None, "203.82.48.86:443": None},
        Response(body=page("X. It's what's happening", 60)),
        tls={"104.244.42.1:443": None},
    )
    return w.says("dns", False)


def _mk_http_failure() -> Wc:
    """An old Measurement Kit probe (0.3): no request recorded, only the failure."""
    w = _field(
        "https://www.dawn.com/",
        "0.3.0",
        "PK",
        "AS17557",
        "2019-11-08 07:12:40",
        "20191108T071238Z_AS17557_Hk9cJ1nV0qPzX3wR7sTbLmDe2aYfUgOiKjNhWq4xZc6vB8Ep",
        software="ooniprobe",
        software_version="2.2.0",
    )
    w.lookup("www.dawn.com", ["104.18.30.71"], cname="www.dawn.com.cdn.cloudflare.net")
    w.connect("104.18.30.71", 443)
    w.helper(
        ["www.dawn.com.cdn.cloudflare.net", "104.18.30.71"],
        {"104.18.30.71:443": None},
        Response(body=page("DAWN.COM", 200)),
    )
    w.control["tls_handshake"] = None  # type: ignore[index]
    w.http_failure = "generic_timeout_error"  # recorded without the request
    return w.says("http-failure", False)


def _down_cname_only() -> Wc:
    """An early 3.x probe: the name no longer resolves, and the helper found only a CNAME."""
    w = _field(
        "http://www.geocities.com/",
        "0.1.0",
        "SK",
        "AS6855",
        "2021-01-20 19:57:49",
        "20210120T185357Z_webconnectivity_SK_6855_n1_Lp3sWq7eRt1yUi9o",
        software="ooniprobe-desktop",
        software_version="3.1.1",
    )
    w.lookup("www.geocities.com", "dns_nxdomain_error")
    return w.helper(["geocities.com"], {}, "dns_lookup_error").says("dns", False)


def _pk_redirect_blockpage() -> Wc:
    """Pakistan (0.4): Mobilink/Jazz redirects a blocked site to its own notice."""
    w = _field(
        "http://www.example.net/",
        "0.4.3",
        "PK",
        "AS45669",
        "2025-03-02 18:05:33",
        "20250302T180529Z_webconnectivity_PK_45669_n1_Zx81QwErTy5uIoP0",
        probe_network_name="Mobilink",
    )
    w.lookup("www.example.net", ["93.184.215.14"])
    w.connect("93.184.215.14", 80)
    w.get(
        w.url,
        "93.184.215.14",
        Response(302, "", {"Location": MOBILINK_BLOCK, "Content-Length": "0"}),
    )
    notice = page("Access Restricted", 1).replace("This page", "The site you requested")
    w.get(MOBILINK_BLOCK, "119.73.65.87", Response(body=notice))
    w.helper(
        ["93.184.215.14"], {"93.184.215.14:80": None}, Response(body=page("Example Domain", 40))
    )
    return w.says("http-diff", False)


def _youtube_ok() -> Wc:
    """A 0.5 probe on PTCL: every address of www.youtube.com, v4 and v6, works."""
    w = _field(
        "https://www.youtube.com/",
        "0.5.26",
        "PK",
        "AS17557",
        "2024-06-03 11:02:17",
        "20240603T110214Z_webconnectivity_PK_17557_n1_Ty6uHn4bGv2cFx8d",
        software="miniooni",
        software_version="3.22.0",
    )
    addrs = YOUTUBE_V4 + YOUTUBE_V6
    w.lookup("www.youtube.com", addrs, cname="youtube-ui.l.google.com.")
    for ip in addrs:
        w.connect(ip, 443).handshake(ip, "www.youtube.com")
    w.get(w.url, addrs[0], Response(body=page("YouTube", 400)))
    return helper_ok(w, addrs, Response(body=page("YouTube", 410)))


DNS_GOOGLE = ["8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844"]


def _port80(control_port80: str | None) -> Wc:
    """http://dns.google (0.5): every connect to port 80 times out, 443 connects and
    handshakes, so no request is made. `control_port80`: the control's connects to port 80
    (None: they worked and it fetched the page; else their failure, and its request's)."""
    w = _field(
        "http://dns.google",
        "0.5.26",
        "IT",
        "AS30722",
        "2023-11-24 10:18:32",
        "20231124T101829Z_webconnectivity_IT_30722_n1_Wq2ePz7RtYuI0oPa",
        software="miniooni",
        software_version="3.20.0-alpha",
    )
    w.lookup("dns.google", DNS_GOOGLE)
    for ip in DNS_GOOGLE:
        w.connect(ip, 443).handshake(ip, "dns.google")
    for ip in DNS_GOOGLE:
        w.connect(ip, 80, "generic_timeout_error")
    tcp: dict[str, str | None] = {endpoint(ip, 443): None for ip in DNS_GOOGLE}
    tcp |= {endpoint(ip, 80): control_port80 for ip in DNS_GOOGLE}
    tls: dict[str, str | None] = {endpoint(ip, 443): None for ip in DNS_GOOGLE}
    if control_port80 is None:
        w.helper(DNS_GOOGLE, tcp, Response(body=page("Google Public DNS", 20)), tls=tls)
        return w.says("tcp_ip", False, 2)
    w.helper(DNS_GOOGLE, tcp, control_port80, tls=tls)
    return w.says(None, None, 0)  # OONI: unknown


MASK_PK = ["172.224.77.10", "172.224.77.11"]  # what the Pakistani resolver answered
MASK_CONTROL = [f"17.248.{n}.{m}" for n in (240, 241) for m in range(1, 19)] + ["17.248.242.1"]


def _pk_mask_icloud() -> Wc:
    """Pakistan, 2023-07-06 (ooni/probe#2517): mask.icloud.com resolves to other addresses
    in Pakistan than at the control, and TLS fails there: but the control's own handshakes
    failed on all 37 of its endpoints. OONI said dns; the site does not serve TLS to a
    browser at all (it is iCloud Private Relay's QUIC ingress)."""
    w = _field(
        "https://mask.icloud.com/",
        "0.5.24",
        "PK",
        "AS45595",
        "2023-07-06 08:12:55",
        "20230706T081249Z_webconnectivity_PK_45595_n1_Mk4sIcL0uDr7eLaY",
        probe_network_name="Pakistan Telecom Mobile Ltd",
    )
    w.lookup("mask.icloud.com", MASK_PK, udp=MASK_PK, doh=MASK_CONTROL[:4])
    for ip in MASK_PK:
        w.connect(ip, 443).handshake(ip, "mask.icloud.com", "connection_reset")
    both = {endpoint(ip, 443): None for ip in MASK_CONTROL}
    failed: dict[str, str | None] = {endpoint(ip, 443): "connection_reset" for ip in MASK_CONTROL}
    w.helper(MASK_CONTROL, both, "connection_reset", tls=failed)
    return w.says("dns", False, 1, 4)


def _chain_04_failed() -> Wc:
    """A 0.4 probe follows a redirect (no hop tags): the redirect is answered, the request
    to its target is reset."""
    w = _field(
        "http://www.example.net/",
        "0.4.3",
        "PK",
        "AS17557",
        "2024-03-01 16:40:02",
        "20240301T163958Z_webconnectivity_PK_17557_n1_Rq0pLm3NbVc8XzAs",
    )
    w.lookup("www.example.net", ["93.184.215.14"])
    w.connect("93.184.215.14", 80)
    moved = Response(301, "", {"Location": "https://www.example.org/"})
    w.get(w.url, "93.184.215.14", moved)
    w.get("https://www.example.org/", EXAMPLE, None, "connection_reset")
    w.helper(
        ["93.184.215.14"], {"93.184.215.14:80": None}, Response(body=page("Example Domain", 6))
    )
    return w.says("http-failure", False)


YOUTUBE_V6_ONLY = ["2a00:1450:4002:414::200e", "2a00:1450:4002:415::200e"]


def _no_ipv6(v4: bool) -> Wc:
    """A network without IPv6 (0.5): the IPv6 connects fail with host_unreachable. With `v4`
    the IPv4 addresses carry the page; without, the host has only IPv6 addresses."""
    host = "www.youtube.com" if v4 else "ipv6.example.com"
    w = _field(
        f"https://{host}/",
        "0.5.26",
        "IT",
        "AS30722",
        "2023-11-30 14:05:11",
        "20231130T140508Z_webconnectivity_IT_30722_n1_Nv6pQz1XcVb7TrEw",
        software="miniooni",
        software_version="3.20.0-alpha",
    )
    v4_addrs = YOUTUBE_V4[:2] if v4 else []
    w.lookup(host, YOUTUBE_V6_ONLY + v4_addrs)
    for ip in YOUTUBE_V6_ONLY:
        w.connect(ip, 443, "host_unreachable")
    for ip in v4_addrs:
        w.connect(ip, 443).handshake(ip, host)
    if v4:
        w.get(w.url, v4_addrs[0], Response(body=page("YouTube", 400)))
    helper_ok(w, YOUTUBE_V6_ONLY + v4_addrs, Response(body=page("YouTube", 410)))
    return w.says(False, True, 32) if v4 else w.says(None, None, 0)


FIELD: dict[str, Callable[[], Wc]] = {
    "ir_facebook_bogon": _ir_bogon,
    "pk_nayatel_dns": _pk_nayatel,
    "mk_http_failure": _mk_http_failure,
    "down_cname_only": _down_cname_only,
    "pk_redirect_blockpage": _pk_redirect_blockpage,
    "youtube_ok": _youtube_ok,
    "dns_google_port80": lambda: _port80("generic_timeout_error"),
    "port80_blocked": lambda: _port80(None),
    "pk_mask_icloud": _pk_mask_icloud,
    "chain_04_failed": _chain_04_failed,
    "no_ipv6_youtube": lambda: _no_ipv6(True),
    "ipv6_only_host": lambda: _no_ipv6(False),
}


def field_sample(name: str) -> Raw:
    built = FIELD[name]().build()
    if name == "down_cname_only":  # this probe wrote null, not [], when nothing was measured
        built["test_keys"]["requests"] = built["test_keys"]["tcp_connect"] = None
    return built


def field_samples() -> dict[str, Raw]:
    return {name: field_sample(name) for name in FIELD}


def write(folder: Path, name: str, raw: Raw) -> Path:
    """`raw` as OONI's API gives one measurement: a JSON file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(raw, ensure_ascii=False, indent=1))
    return path
