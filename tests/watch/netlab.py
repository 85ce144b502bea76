"""The censor lab: a tiny internet in network namespaces, with a censor that blocks on demand.

    vantage (10.77.1.2) --- censor (router, nftables, tc, dnsmasq, proxies) --- platform
    control (10.77.3.2) ------------------------------------------------------- platform

`platform` holds the "public" addresses: 11.0.0.10 serves every test site over HTTPS (a cert
from a CA made here) and HTTP, 11.0.0.11 serves X's other hosts (a platform's hosts have their
own addresses: dropping this one fails two of X's targets), 11.0.0.20 is an impostor with a
wrong certificate, 11.0.0.53 is the authoritative DNS (dnsmasq) and a DoH endpoint. `vantage`
reaches it through the censor; `control` reaches it directly, as the jalsa server's control
helper would. Probes run in a namespace as `ip netns exec NS python netlab.py
observe|measure|round|controls ...`, which prints JSON.

The censor's techniques are context managers (`Lab.drop()`, `Lab.dns("nxdomain")`, ...), one
at a time. This file is also the script the namespaces run: the platform's servers, the
censor's transparent proxies and the probe runner (see `main`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.server
import ipaddress
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PLATFORM_IP = "11.0.0.10"
X_IP = "11.0.0.11"
IMPOSTOR_IP = "11.0.0.20"
RESOLVER_IP = "11.0.0.53"
BOGON = "10.10.34.34"
X_HOSTS = ("twitter.test", "twimg.test")  # X's other hosts, on X_IP
NAMES = ("x.test", "facebook.test", "instagram.test", "youtube.test", "control.test", *X_HOSTS)
ADDRESSES = {name: X_IP if name in X_HOSTS else PLATFORM_IP for name in NAMES}
CONTROL_SNI = "control.test"
BLOCKED = "x.test"  # the name the censor's DNS, SNI and Host filters block
# Worded like the Pakistan Telecommunication Authority's notice.
BLOCKPAGE = (
    "<html><head><title>Surf Safely!</title></head><body><p>This site is restricted due to "
    "its content being blocked under the directives of the competent authority.</p></body></html>"
)
BIG_BYTES = 1024 * 1024
TLS_PROXY_PORT, HTTP_PROXY_PORT, CENSOR_DNS_PORT = 8443, 8080, 5353
# The TLS proxy's other modes: reset every ClientHello, or swallow it and never answer.
RESET_ALL_PORT, BLACKHOLE_PORT = 8444, 8445
SO_ORIGINAL_DST = 80


def probe_config(ca: Path) -> dict[str, Any]:
    """The probe's settings in the lab: its resolvers and short timeouts, so blocks are fast."""
    return {
        "resolvers": ["system", RESOLVER_IP, f"https://{RESOLVER_IP}/dns-query"],
        "dns_timeout": 2.0,
        "connect_timeout": 1.0,
        "tls_timeout": 1.0,
        "http_timeout": 2.0,
        "control_sni": CONTROL_SNI,
        "ca_bundle": str(ca),
        "sample_bytes": 256 * 1024,
        "sample_seconds": 2.0,
    }


class LabError(RuntimeError):
    pass


class Lab:
    """Builds the namespaces and servers, applies censorship, runs probes; `close` undoes all."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        tag = f"jl{os.getpid()}"
        roles = {"vantage": "v", "censor": "c", "platform": "p", "control": "k"}
        self.ns = {role: f"{tag}{letter}" for role, letter in roles.items()}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ca = workdir / "ca.pem"
        self.config = probe_config(self.ca)

    # --- building and tearing down ---------------------------------------------------------

    def start(self) -> Lab:
        _remove_stale_labs()
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _build(self) -> None:
        v, c, p, k = (self.ns[r] for r in ("vantage", "censor", "platform", "control"))
        for ns in (v, c, p, k):
            _run("ip", "netns", "add", ns)
            self.ip(ns, "link", "set", "lo", "up")
        for ns in (v, k):  # their stub resolver (ip netns exec mounts it on /etc/resolv.conf)
            folder = Path("/etc/netns") / ns
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "resolv.conf").write_text(f"nameserver {RESOLVER_IP}\n")
        links = [(v, "v0", "10.77.1.2", c, "c0", "10.77.1.1"),
                 (c, "c1", "10.77.2.1", p, "p0", "10.77.2.2"),
                 (k, "k0", "10.77.3.2", p, "p1", "10.77.3.1")]  # fmt: skip
        for ns_a, a, ip_a, ns_b, b, ip_b in links:
            _run("ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", b, "netns", ns_b)
            for ns, dev, addr in ((ns_a, a, ip_a), (ns_b, b, ip_b)):
                self.ip(ns, "addr", "add", f"{addr}/24", "dev", dev)
                self.ip(ns, "link", "set", dev, "up")
        self.ip(v, "route", "add", "default", "via", "10.77.1.1")
        self.ip(k, "route", "add", "default", "via", "10.77.3.1")
        self.ip(c, "route", "add", "11.0.0.0/24", "via", "10.77.2.2")
        self.ip(p, "route", "add", "10.77.1.0/24", "via", "10.77.2.1")
        self.exec(c, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for addr in (PLATFORM_IP, X_IP, IMPOSTOR_IP, RESOLVER_IP):
            self.ip(p, "addr", "add", f"{addr}/32", "dev", "lo")
        self.exec(c, "nft", "-f", "-", stdin=_CENSOR_TABLE)
        make_certificates(self.workdir)
        records = [f"--host-record={name},{ip}" for name, ip in ADDRESSES.items()]
        self.spawn(p, "dnsmasq", f"--listen-address={RESOLVER_IP}", "--local=/test/", *records)
        self.spawn(p, sys.executable, __file__, "platform", str(self.workdir), ready=True)
        self.spawn(c, sys.executable, __file__, "proxy", BLOCKED, ready=True)

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
            shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)

    # --- helpers -----------------------------------------------------------------------------

    def ip(self, ns: str, *args: str) -> None:
        _run("ip", "-n", ns, *args)

    def exec(self, ns: str, *argv: str, stdin: str | None = None) -> str:
        return _run("ip", "netns", "exec", ns, *argv, stdin=stdin)

    def spawn(self, ns: str, *argv: str, ready: bool = False) -> subprocess.Popen[bytes]:
        """Start a long-running process in `ns`; with `ready`, wait for its "ready" line."""
        if argv[0] == "dnsmasq":
            argv = (*argv, "--keep-in-foreground", "--conf-file=/dev/null", "--no-hosts",
                    "--no-resolv", "--bind-interfaces", "--pid-file=", "--user=root",
                    "--log-facility=-")  # fmt: skip
            ready = True
        log = (self.workdir / f"{ns}-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdout=subprocess.PIPE if ready else log,
            stderr=subprocess.STDOUT if argv[0] == "dnsmasq" else log,
        )
        self.procs.append(proc)
        if ready:
            word = b"started" if argv[0] == "dnsmasq" else b"ready"
            _wait_for_line(proc, word, 10.0, " ".join(argv[:3]))
        return proc

    # --- probing -----------------------------------------------------------------------------

    def observe(self, target: dict[str, Any], where: str = "vantage") -> dict[str, Any]:
        """Observations of `target` (a Target as a dict) from `where`, as a dict."""
        out = self.exec(
            self.ns[where], sys.executable, __file__, "observe", json.dumps(self.config),
            json.dumps(target),
        )  # fmt: skip
        return dict(json.loads(out))

    def measure(
        self,
        target: dict[str, Any],
        control: dict[str, Any] | None,
        reference: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A Measurement (as a dict) of `target` from the vantage."""
        out = self.exec(
            self.ns["vantage"], sys.executable, __file__, "measure", json.dumps(self.config),
            json.dumps(target), json.dumps(control), json.dumps(reference),
        )  # fmt: skip
        return dict(json.loads(out))

    def probe_round(
        self,
        targets: list[dict[str, Any]],
        controls: dict[str, Any],
        round_at: str,
        **config: Any,
    ) -> list[dict[str, Any]]:
        """One round from the vantage, as an agent runs it: every target at once against the
        controls (keyed by host), Measurements (as dicts) of the round starting at `round_at`.
        `config` overrides the probe's settings."""
        out = self.exec(
            self.ns["vantage"], sys.executable, __file__, "round",
            json.dumps({**self.config, **config}), json.dumps(targets), json.dumps(controls),
            round_at,
        )  # fmt: skip
        return list(json.loads(out))

    def controls(self, targets: list[dict[str, Any]]) -> dict[str, Any]:
        """What the jalsa server's control helper answers: the targets' observations from the
        control namespace, keyed by host."""
        out = self.exec(
            self.ns["control"], sys.executable, __file__, "controls", json.dumps(self.config),
            json.dumps(targets),
        )  # fmt: skip
        return dict(json.loads(out))

    # --- the censor's techniques -------------------------------------------------------------

    @contextlib.contextmanager
    def _rules(self, chain: str, *rules: str) -> Iterator[None]:
        censor = self.ns["censor"]
        try:
            for rule in rules:
                self.exec(censor, "nft", f"add rule inet lab {chain} {rule}")
            yield
        finally:
            self.exec(censor, "nft", f"flush chain inet lab {chain}")

    def drop(self, address: str = PLATFORM_IP) -> contextlib.AbstractContextManager[None]:
        """Silently drop TCP to the platform (or another address): connects time out."""
        return self._rules("filt", f"ip daddr {address} tcp dport {{ 80, 443 }} drop")

    def tcp_reset(self) -> contextlib.AbstractContextManager[None]:
        """Answer every SYN to the platform with a RST."""
        syn = "tcp flags & (syn | ack) == syn"
        return self._rules("filt", f"ip daddr {PLATFORM_IP} {syn} reject with tcp reset")

    def icmp_prohibited(self) -> contextlib.AbstractContextManager[None]:
        """Answer TCP to the platform with ICMP administratively prohibited."""
        return self._rules(
            "filt", f"ip daddr {PLATFORM_IP} meta l4proto tcp reject with icmpx admin-prohibited"
        )

    @contextlib.contextmanager
    def dns(self, answer: str) -> Iterator[None]:
        """Intercept all plain DNS and answer `answer` ("nxdomain" or an address) for BLOCKED;
        other names are forwarded to the real resolver. DoH passes untouched."""
        value = "" if answer == "nxdomain" else answer
        proc = self.spawn(
            self.ns["censor"], "dnsmasq", "--listen-address=10.77.1.1",
            f"--port={CENSOR_DNS_PORT}", f"--server={RESOLVER_IP}", "--cache-size=0",
            f"--address=/{BLOCKED}/{value}",
        )  # fmt: skip
        try:
            with self._rules(
                "nat_pre",
                f'iifname "c0" udp dport 53 redirect to :{CENSOR_DNS_PORT}',
                f'iifname "c0" tcp dport 53 redirect to :{CENSOR_DNS_PORT}',
            ):
                yield
        finally:
            proc.terminate()
            proc.wait(5)
            self.procs.remove(proc)

    def _tls_proxy(self, port: int) -> contextlib.AbstractContextManager[None]:
        return self._rules(
            "nat_pre", f'iifname "c0" ip daddr {PLATFORM_IP} tcp dport 443 redirect to :{port}'
        )

    def sni_reset(self) -> contextlib.AbstractContextManager[None]:
        """Send TLS to the platform through the proxy that resets a ClientHello naming BLOCKED."""
        return self._tls_proxy(TLS_PROXY_PORT)

    def tls_reset(self) -> contextlib.AbstractContextManager[None]:
        """Reset every TLS handshake to the platform, whatever its SNI."""
        return self._tls_proxy(RESET_ALL_PORT)

    def tls_blackhole(self) -> contextlib.AbstractContextManager[None]:
        """Swallow every ClientHello to the platform: the handshake never gets an answer."""
        return self._tls_proxy(BLACKHOLE_PORT)

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """The platform itself stops serving (it resets every connection), seen from the
        control too: the site is down, not blocked."""
        platform = self.ns["platform"]
        self.exec(platform, "nft", "-f", "-", stdin=_OUTAGE_TABLE)
        try:
            yield
        finally:
            self.exec(platform, "nft", "delete table inet outage")

    def blockpage(self) -> contextlib.AbstractContextManager[None]:
        """Send HTTP to the platform through the proxy that serves a block page for BLOCKED."""
        return self._rules(
            "nat_pre",
            f'iifname "c0" ip daddr {PLATFORM_IP} tcp dport 80 redirect to :{HTTP_PROXY_PORT}',
        )

    @contextlib.contextmanager
    def throttle(self, rate: str = "2mbit") -> Iterator[None]:
        """A token bucket on the censor's link toward the vantage (the download direction)."""
        censor = self.ns["censor"]
        tbf = ("rate", rate, "burst", "16kb", "latency", "200ms")
        self.exec(censor, "tc", "qdisc", "add", "dev", "c0", "root", "tbf", *tbf)
        try:
            yield
        finally:
            self.exec(censor, "tc", "qdisc", "del", "dev", "c0", "root")


_CENSOR_TABLE = """
table inet lab {
  chain filt { type filter hook forward priority filter; }
  chain nat_pre { type nat hook prerouting priority dstnat; }
}
"""


_OUTAGE_TABLE = f"""
table inet outage {{
  chain input {{ type filter hook input priority filter;
    ip daddr {PLATFORM_IP} tcp dport {{ 80, 443 }} reject with tcp reset
  }}
}}
"""


def _remove_stale_labs() -> None:
    """Namespaces left by a lab whose test process was killed before it could clean up."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    for line in listed.stdout.splitlines():
        found = re.fullmatch(r"(jl(\d+)[vcpk])\b.*", line.strip())
        if not found or Path(f"/proc/{found.group(2)}").exists():
            continue
        ns = found.group(1)
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        for pid in pids.stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)


def _run(*argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    if done.returncode:
        raise LabError(f"{' '.join(argv)[:300]} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def _wait_for_line(proc: subprocess.Popen[bytes], word: bytes, timeout: float, name: str) -> None:
    assert proc.stdout is not None
    deadline = dt.datetime.now() + dt.timedelta(seconds=timeout)
    seen = b""
    while dt.datetime.now() < deadline:
        readable, _, _ = select.select([proc.stdout], [], [], 0.1)
        if readable:
            line = proc.stdout.readline()
            seen += line
            if word in line:
                return
            if not line:
                break
    raise LabError(f"{name} did not start: {seen.decode(errors='replace')[-2000:]}")


# --- certificates ------------------------------------------------------------------------------


def make_certificates(folder: Path) -> None:
    """A test CA and a site certificate for every lab name (and the resolver's IP, for DoH);
    an impostor certificate from another CA, as an injected server would show."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    from watch.certs import certificate, write_key, write_pem

    def sans(name: str) -> list[x509.GeneralName]:
        # (localhost and 127.0.0.1 for the loopback tests in test_probe.py)
        found: list[x509.GeneralName] = [x509.DNSName(n) for n in (*NAMES, name, "localhost")]
        return found + [x509.IPAddress(ipaddress.ip_address(a)) for a in (RESOLVER_IP, "127.0.0.1")]

    def write(stem: str, cert: Any, key: ec.EllipticCurvePrivateKey) -> None:
        write_pem(folder / f"{stem}.pem", cert)
        write_key(folder / f"{stem}.key", key)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("jalsa lab CA", ca_key, ca=True, days=30)
    site_key = ec.generate_private_key(ec.SECP256R1())
    write("ca", ca, ca_key)
    site = certificate("x.test", site_key, ca.subject, ca_key, sans=sans("x.test"), days=30)
    write("site", site, site_key)
    other_key = ec.generate_private_key(ec.SECP256R1())
    impostor = certificate("impostor.test", other_key, sans=sans("impostor.test"), days=30)
    write("impostor", impostor, other_key)


# --- the platform's servers (run inside the platform namespace) --------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    """Every site: `/` a small page titled after the host, `/big` 1 MB; on the resolver's
    address, DoH (RFC 8484 POST) answering the lab's names with the platform address."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        host = (self.headers.get("host") or "").split(":")[0]
        if self.server.server_address[0] == IMPOSTOR_IP:
            body = b"<html><head><title>Parked domain</title></head><body>ads</body></html>"
        elif self.path.startswith("/big"):
            body = b"x" * BIG_BYTES
        else:
            body = f"<html><head><title>{host} home</title></head><body>{host}".encode()
            body += b" welcome " * 200 + b"</body></html>"
        self._send(200, "text/html", body)

    def do_POST(self) -> None:
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        query = dns.message.from_wire(self.rfile.read(int(self.headers["content-length"])))
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True)
        if name not in NAMES:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.A:
            address = ADDRESSES[name]
            response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", address))
        self._send(200, "application/dns-message", response.to_wire())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    """An HTTP(S) server whose TLS handshake runs in the request's thread, so that a client
    that stalls or aborts a handshake does not hold up the others."""

    daemon_threads = True
    # A round probes every target at once: with the default backlog of 5, SYNs are dropped
    # and connects time out as if a censor dropped them.
    request_queue_size = 128
    context: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.context is not None:
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        try:
            super().finish_request(request, client_address)
        finally:
            request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def serve_platform(folder: Path) -> None:
    def context(stem: str) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(folder / f"{stem}.pem", folder / f"{stem}.key")
        return ctx

    servers = []
    for ip, port, stem in (
        (PLATFORM_IP, 443, "site"),
        (PLATFORM_IP, 80, None),
        (X_IP, 443, "site"),
        (X_IP, 80, None),
        (IMPOSTOR_IP, 443, "impostor"),
        (IMPOSTOR_IP, 80, None),
        (RESOLVER_IP, 443, "site"),
    ):
        server = _Server((ip, port), _Handler)
        server.context = context(stem) if stem else None
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


# --- the censor's transparent proxies (run inside the censor namespace) ------------------------


def _original_dst(writer: asyncio.StreamWriter) -> tuple[str, int]:
    """Where the client meant to go, before nftables' redirect (SO_ORIGINAL_DST)."""
    raw = writer.get_extra_info("socket").getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return socket.inet_ntoa(packed), port


def client_hello_sni(hello: bytes) -> str | None:
    """The server name in a TLS ClientHello record (None: no SNI or not a ClientHello)."""
    try:
        if hello[0] != 22 or hello[5] != 1:
            return None
        pos = 5 + 4 + 2 + 32  # record header, handshake header, version, random
        pos += 1 + hello[pos]  # session id
        pos += 2 + int.from_bytes(hello[pos : pos + 2])  # cipher suites
        pos += 1 + hello[pos]  # compression methods
        end = pos + 2 + int.from_bytes(hello[pos : pos + 2])
        pos += 2
        while pos + 4 <= end:
            kind, size = struct.unpack_from("!HH", hello, pos)
            pos += 4
            if kind == 0:  # server_name: list length, type, name length, name
                length = int.from_bytes(hello[pos + 3 : pos + 5])
                return hello[pos + 5 : pos + 5 + length].decode("ascii")
            pos += size
    except (IndexError, UnicodeDecodeError, struct.error):
        return None
    return None


async def _splice(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: bytes, dst: tuple[str, int]
) -> None:
    try:
        up_reader, up_writer = await asyncio.open_connection(*dst)
    except OSError:
        writer.close()
        return
    up_writer.write(first)

    async def pipe(src: asyncio.StreamReader, dst_writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while chunk := await src.read(65536):
                dst_writer.write(chunk)
                await dst_writer.drain()
        dst_writer.close()

    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a RST (SO_LINGER 0), as an SNI filter does."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def serve_proxies(blocked: str) -> None:
    def handle_tls(mode: str) -> Any:
        async def tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                header = await reader.readexactly(5)
                hello = header + await reader.readexactly(int.from_bytes(header[3:5]))
            except (asyncio.IncompleteReadError, OSError):
                writer.close()
                return
            if mode == "blackhole":
                await reader.read()  # until the client gives up
                writer.close()
            elif mode == "reset" or client_hello_sni(hello) == blocked:
                _reset(writer)
            else:
                await _splice(reader, writer, hello, _original_dst(writer))

        return tls

    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        hosts = [x.split(":", 1)[1].strip() for x in lines if x.lower().startswith("host:")]
        if hosts and hosts[0].split(":")[0] == blocked:
            body = BLOCKPAGE.encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            with contextlib.suppress(OSError):
                await writer.drain()
            writer.close()
        else:
            await _splice(reader, writer, head, _original_dst(writer))

    await asyncio.start_server(handle_tls("sni"), "0.0.0.0", TLS_PROXY_PORT)
    await asyncio.start_server(handle_tls("reset"), "0.0.0.0", RESET_ALL_PORT)
    await asyncio.start_server(handle_tls("blackhole"), "0.0.0.0", BLACKHOLE_PORT)
    await asyncio.start_server(plain, "0.0.0.0", HTTP_PROXY_PORT)
    print("ready", flush=True)
    await asyncio.Event().wait()


# --- the probe runner (run inside the vantage or control namespace) ----------------------------


def run_probe(command: str, args: list[str]) -> str:
    from jalsa.watch import probe
    from jalsa.watch.record import Observations, Target, Vantage

    config = probe.ProbeConfig.model_validate_json(args[0])
    if command in ("round", "controls"):
        targets = [Target.model_validate(t) for t in json.loads(args[1])]
        config.concurrency = len(targets)
        if command == "controls":
            observed = asyncio.run(probe.observe_all(targets, config))
            return json.dumps(
                {t.host: o.model_dump(mode="json") for t, o in zip(targets, observed, strict=True)}
            )
        controls = {h: Observations.model_validate(o) for h, o in json.loads(args[2]).items()}
        measurements = asyncio.run(
            probe.measure_all(
                targets,
                Vantage(name="lab", city="Lahore", network="censored"),
                config,
                controls=controls,
                round_at=dt.datetime.fromisoformat(args[3]),
            )
        )
        return json.dumps([m.model_dump(mode="json") for m in measurements])
    target = Target.model_validate_json(args[1])
    if command == "observe":
        return asyncio.run(probe.observe(target, config)).model_dump_json()
    from jalsa.watch.classify import Reference

    control = json.loads(args[2])
    ref = json.loads(args[3])
    measurement = asyncio.run(
        probe.measure(
            target,
            Vantage(name="lab", city="Lahore", network="censored"),
            config,
            control=Observations.model_validate(control) if control else None,
            reference=Reference(**ref) if ref else None,
        )
    )
    return measurement.model_dump_json()


def main(argv: list[str]) -> None:
    command, args = argv[0], argv[1:]
    if command == "platform":
        serve_platform(Path(args[0]))
    elif command == "proxy":
        asyncio.run(serve_proxies(args[0]))
    elif command in ("observe", "measure", "round", "controls"):
        print(run_probe(command, args))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
