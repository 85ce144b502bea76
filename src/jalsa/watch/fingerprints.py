"""Block-page fingerprints: how to recognise a censor's answer when we see one.

We ship a handful of our own (mostly for Pakistani networks, each checked against what OONI has
observed). OONI's much larger database (github.com/ooni/blocking-fingerprints) is licensed
CC BY-NC-SA, so it is not copied here: a user who wants it downloads it and passes its path to
`load_ooni_fingerprints`, and the probe or the OONI import uses it at run time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

PatternKind = Literal["contains", "prefix", "full", "regexp"]


class FingerprintError(ValueError):
    """A fingerprint file that cannot be used; the message says what is wrong with it."""


@dataclass(frozen=True)
class HttpFingerprint:
    """A block page, recognised by its body or by one header."""

    name: str
    location: str  # "body" or "header.<lower-case name>"
    pattern: str
    kind: PatternKind = "contains"
    countries: tuple[str, ...] = ()
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind == "regexp":
            object.__setattr__(self, "_regex", re.compile(self.pattern, re.IGNORECASE))

    def matches(self, body: str | None, headers: Mapping[str, str]) -> bool:
        if self.location == "body":
            text = body
        else:
            wanted = self.location.removeprefix("header.").lower()
            text = next((v for k, v in headers.items() if k.lower() == wanted), None)
        if text is None:
            return False
        if self._regex is not None:
            return self._regex.search(text) is not None
        if self.kind == "prefix":
            return text.startswith(self.pattern)
        if self.kind == "full":
            return text == self.pattern
        return self.pattern in text


@dataclass(frozen=True)
class DnsFingerprint:
    """An address that a censor's resolver answers instead of the real one."""

    name: str
    ip: str
    countries: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fingerprints:
    http: tuple[HttpFingerprint, ...] = ()
    dns: tuple[DnsFingerprint, ...] = ()

    def __add__(self, other: Fingerprints) -> Fingerprints:
        return Fingerprints(http=self.http + other.http, dns=self.dns + other.dns)

    def match_http(self, body: str | None, headers: Mapping[str, str]) -> HttpFingerprint | None:
        return next((f for f in self.http if f.matches(body, headers)), None)

    def match_dns(self, ips: Iterable[str]) -> DnsFingerprint | None:
        wanted = set(ips)
        return next((f for f in self.dns if f.ip in wanted), None)


# Our own list, written here. Each entry names where the text was seen.
BUILTIN = Fingerprints(
    http=(
        # Pakistan Telecommunication Authority's notice as users report it (not in OONI's DB).
        HttpFingerprint(
            "jalsa.pk_pta_surfing_restricted",
            "body",
            r"surfing\s+this\s+(?:web)?site\s+is\s+restricted",
            "regexp",
            ("PK",),
        ),
        HttpFingerprint(
            "jalsa.pk_pta_site_restricted",
            "body",
            r"<(?:title|h1|h2|p)[^>]*>\s*this\s+(?:web)?site\s+is\s+restricted",
            "regexp",
            ("PK",),
        ),
        # The common block page of Pakistani ISPs (OONI: cp.b_nat_pak_isp_common_blockpage).
        HttpFingerprint(
            "jalsa.pk_prohibited_viewership",
            "body",
            "prohibited for viewership from within Pakistan",
            "contains",
            ("PK",),
        ),
        # Mobilink/Jazz forwards blocked requests to this page (OONI: ooni.pk_1).
        HttpFingerprint(
            "jalsa.pk_mobilink_redirect",
            "body",
            "119.73.65.87:8080/redirect.html",
            "contains",
            ("PK",),
        ),
        HttpFingerprint(
            "jalsa.pk_mobilink_redirect_location",
            "header.location",
            "http://119.73.65.87:8080/redirect.html",
            "prefix",
            ("PK",),
        ),
        # Indonesia's "Internet Positif" block site, reached by a redirect (OONI: ID fingerprints).
        HttpFingerprint(
            "jalsa.id_aduankonten",
            "header.location",
            "http://lamanlabuh.aduankonten.id",
            "prefix",
            ("ID",),
        ),
    ),
    dns=(
        # Nayatel's filtering resolvers answer these (OONI: ooni.pk_3, ooni.pk_4).
        DnsFingerprint("jalsa.pk_nayatel_surfsafely", "203.82.48.83", ("PK",)),
        DnsFingerprint("jalsa.pk_nayatel_safeweb", "203.82.48.86", ("PK",)),
        # Iran's national block page addresses (private addresses: also caught as bogons).
        DnsFingerprint("jalsa.ir_peyvandha_34", "10.10.34.34", ("IR",)),
        DnsFingerprint("jalsa.ir_peyvandha_35", "10.10.34.35", ("IR",)),
        DnsFingerprint("jalsa.ir_peyvandha_36", "10.10.34.36", ("IR",)),
    ),
)


def _countries(entry: Mapping[str, object]) -> tuple[str, ...]:
    text = str(entry.get("expected_countries") or "")
    return tuple(c.strip() for c in text.split(",") if c.strip())


def _from_ooni_entry(entry: Mapping[str, object]) -> HttpFingerprint | DnsFingerprint:
    name, location = str(entry["name"]), str(entry["location_found"])
    pattern, kind = str(entry["pattern"]), str(entry["pattern_type"])
    if location == "dns":
        return DnsFingerprint(name, pattern, _countries(entry))
    if kind not in ("contains", "prefix", "full", "regexp"):
        raise FingerprintError(f"fingerprint {name}: unknown pattern_type {kind!r}")
    return HttpFingerprint(name, location, pattern, kind, _countries(entry))  # type: ignore[arg-type]


def load_ooni_fingerprints(path: str | Path) -> Fingerprints:
    """Read OONI's fingerprint database (fingerprints_http.json / fingerprints_dns.json, or a
    folder holding them) as the user downloaded it; nothing of it is stored in jalsa."""
    path = Path(path)
    files = sorted(path.glob("fingerprints_*.json")) if path.is_dir() else [path]
    if not files:
        raise FingerprintError(f"{path}: no fingerprints_*.json file in this folder")
    found = Fingerprints()
    for file in files:
        try:
            entries = json.loads(file.read_text(encoding="utf-8"))
            if not isinstance(entries, list):
                raise FingerprintError(f"{file}: expected a JSON list of fingerprints")
            parsed = [_from_ooni_entry(e) for e in entries]
        except FileNotFoundError as exc:
            raise FingerprintError(f"{file}: no such file") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FingerprintError(f"{file}: not a JSON file ({exc})") from exc
        except (KeyError, TypeError, AttributeError, re.error) as exc:
            raise FingerprintError(
                f"{file}: not OONI's fingerprint format (each entry needs name, "
                f"location_found, pattern, pattern_type): {exc}"
            ) from exc
        found = found + Fingerprints(
            http=tuple(p for p in parsed if isinstance(p, HttpFingerprint)),
            dns=tuple(p for p in parsed if isinstance(p, DnsFingerprint)),
        )
    return found


def match_blockpage(
    status: int | None,
    headers: Mapping[str, str],
    body: bytes | str | None,
    fingerprints: Fingerprints = BUILTIN,
) -> str | None:
    """The name of the fingerprint an HTTP answer matches, if any (what probes and the OONI
    import store in HttpObservation.blockpage). `status` is accepted for callers' convenience;
    fingerprints look at the body and headers only."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    found = fingerprints.match_http(text, headers)
    return found.name if found else None
