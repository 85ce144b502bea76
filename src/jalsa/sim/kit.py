"""What every simulated platform uses to shape its answers: the reply an endpoint returns, the
platforms' timestamp formats, etags, field selection, credentials in a request, evenly spread
items and their cursors, seeded names and texts, and comment threads under a broadcast.

Everything here is a deterministic function of its arguments (and the scenario's seed), so a
test can recompute any value a platform's simulator serves.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request

from jalsa.sim.curves import uniform
from jalsa.sim.scenario import Scenario, Stream


@dataclass
class Reply:
    """What an endpoint answers, before the simulator possibly garbles it."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request, datetime], Reply]
BodyHandler = Callable[[Request, datetime, bytes], Reply]


# --- formatting -----------------------------------------------------------------------------


def iso_z(when: datetime) -> str:
    """YouTube's timestamps: `2023-12-17T15:00:00Z`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms_z(when: datetime) -> str:
    """X's timestamps: `2023-12-17T15:00:00.000Z`."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def iso_graph(when: datetime) -> str:
    """Graph's timestamps: `2023-12-17T15:00:00+0000`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_iso(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def etag(*parts: object) -> str:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=20).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:27]


def requested(value: str | None) -> set[str]:
    """Field names from a `fields`/`space.fields` list; nested selections are reduced to their
    name (`video{id}` → `video`)."""
    if not value:
        return set()
    names: set[str] = set()
    depth = 0
    current = ""
    for char in value:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            names.add(current.strip())
            current = ""
        elif depth == 0:
            current += char
    names.add(current.strip())
    names.discard("")
    return names


def pick(
    full: dict[str, Any], wanted: set[str], always: tuple[str, ...] = ("id",)
) -> dict[str, Any]:
    """The fields a client asked for (plus `always`), in the platform's order; unknown names
    are ignored rather than refused, so connectors asking for extra fields still work."""
    return {k: v for k, v in full.items() if k in wanted or k in always}


# --- requests -------------------------------------------------------------------------------

READONLY_PREFIX = "readonly"  # a token without the moderation permission


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def token_of(request: Request) -> str:
    """The request's credential, wherever the platform takes it (header, token or key)."""
    params = request.query_params
    return bearer(request) or params.get("access_token") or params.get("key") or ""


def json_body(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body or b"null")
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


# --- items spread over minutes, and cursors naming a position -------------------------------


def minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def spread_ms(minute: int, k: int, n: int) -> int:
    """When item `k` of the `n` in a minute happens (ms since the epoch): evenly spread."""
    return minute * 60_000 + ((2 * k + 1) * 60_000) // (2 * n)


def encode_position(kind: str, minute: int, k: int) -> str:
    raw = f"{kind}:{minute}:{k}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(token: str, kind: str) -> tuple[int, int] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        name, minute, k = raw.split(":")
        if name != kind:
            return None
        return int(minute), int(k)
    except (ValueError, UnicodeDecodeError):
        return None


# --- people and what they write ---------------------------------------------------------------

CHAT_AUTHOR_POOL = 3000  # people commenting or chatting under one broadcast
SPAM_RANK = 2  # one busy account posts the same promotion again and again
SPAM_MESSAGE = "Subscribe karo mera channel!!! free mobile package 👉 bit.ly/free-pkg-pk"
CHAT_PHRASES = (
    "Pakistan Zindabad! 🇵🇰",
    "VPN se dekh rahe hain, internet band hai",
    "Lahore se salaam",
    "Karachi se dekh rahe hain",
    "خوش آمدید، جلسہ شروع ہو گیا ہے",
    "آواز نہیں آ رہی",
    "Sound is breaking, please fix",
    "Khan sahab ki taqreer kab hai?",
    "Islamabad mein X band hai",
    "Great turnout, mashallah",
)
FIRST_NAMES = (
    "Ayesha",
    "Bilal",
    "Sana",
    "Usman",
    "Hina",
    "Kashif",
    "Fatima",
    "Ali",
    "Zara",
    "Omar",
)
LAST_NAMES = ("Khan", "Ahmed", "Malik", "Raza", "Tariq", "Qureshi", "Butt", "Shah", "Iqbal", "Ali")

# What people write under a rally's video, post or live, for the inbox: (text, category). The
# category is the simulator's ground truth for demos; it is never sent. English, Urdu script
# and Roman Urdu, with some abuse, personal data (fake phone and CNIC numbers) and spam, for the
# classifier and the personal-data rules to find.
INBOX_PHRASES: tuple[tuple[str, str], ...] = (
    ("Pakistan Zindabad! Great jalsa", "ok"),
    ("Khan sahab ki taqreer bohat achi thi", "ok"),
    ("عوام کا جلسہ، عوام کی آواز", "ok"),
    ("Lahore se dekh rahe hain, VPN ke sath", "ok"),
    ("When is the next jalsa? Please share the schedule", "ok"),
    ("آواز نہیں آ رہی، براہ کرم ٹھیک کریں", "ok"),
    ("Sound is breaking again, fix it please", "ok"),
    ("Internet band hai Karachi mein, kya karein?", "ok"),
    ("Tum log sab chor ho, besharam", "abuse"),
    ("You are all idiots and liars", "abuse"),
    ("تم سب غدار ہو، شرم کرو", "abuse"),
    ("Isko ghar se utha lo, pata hai kahan rehta hai", "harassment"),
    ("Mera number 0300-1234567 hai, WhatsApp karo", "personal_data"),
    ("Iska CNIC 35202-1234567-1 hai, sab ko bhejo", "personal_data"),
    ("Call me on +92 321 7654321 for passes", "personal_data"),
    ("Free mobile package!!! 👉 bit.ly/free-pkg-pk", "spam"),
    ("Earn 50000 daily from home, DM now", "spam"),
    ("Cricket score kya hai?", "off_topic"),
)


def zipf_rank(u: float, size: int) -> int:
    """A rank in [0, size) for a uniform `u`, with P(rank < r) = log(r + 1) / log(size + 1):
    a few accounts (or hashtags) take most of the volume, as on real platforms."""
    return min(size - 1, int((size + 1) ** u) - 1)


def person_name(seed: int, population: str, rank: int) -> tuple[str, str]:
    first = FIRST_NAMES[int(uniform(seed, population, "first", rank) * len(FIRST_NAMES))]
    last = LAST_NAMES[int(uniform(seed, population, "last", rank) * len(LAST_NAMES))]
    return first, last


def phrase(seed: int, *key: object) -> str:
    """An inbox text (INBOX_PHRASES) fixed by `seed` and `key`."""
    return INBOX_PHRASES[int(uniform(seed, "inbox-phrase", *key) * len(INBOX_PHRASES))][0]


# --- comment threads under a broadcast ------------------------------------------------------


class CommentThreads:
    """Comments under one platform's broadcasts for the inbox (`key` names the platform in the
    seeds: "yt", "ig"): a minute holds a share of the audience's comments, spread evenly; some
    reply to the first comment of the minute before."""

    def __init__(
        self, scenario: Scenario, key: str, per_viewer_minute: float, reply_share: float = 0.2
    ) -> None:
        self.scenario = scenario
        self.key = key
        self.per_viewer_minute = per_viewer_minute
        self.reply_share = reply_share

    def count(self, stream: Stream, minute: int) -> int:
        middle = minute_start(minute) + timedelta(seconds=30)
        audience = self.scenario.expected_audience(stream, middle)
        return round(audience * self.per_viewer_minute)

    def parent(self, stream: Stream, minute: int, k: int) -> tuple[int, int] | None:
        """The comment the k-th of a minute replies to (the first of the minute before)."""
        seed = self.scenario.seed
        if k == 0 or uniform(seed, f"{self.key}-reply", stream.id, minute, k) >= self.reply_share:
            return None
        return (minute - 1, 0) if self.count(stream, minute - 1) > 0 else None

    def top_level_page(
        self,
        stream: Stream,
        start: tuple[int, int] | None,
        cutoff: int,
        last: int,
        limit: int,
        skip: Callable[[int, int], bool] = lambda minute, k: False,
    ) -> tuple[list[tuple[int, int]], bool]:
        """Up to `limit` top-level comments posted by `cutoff` (ms), newest first, from the
        minute `last` down and before `start` (a page token's position); and whether more
        follow."""
        first = int(self.scenario.start_utc.timestamp() // 60)
        found: list[tuple[int, int]] = []
        for minute in range(last, first - 1, -1):
            if start is not None and minute > start[0]:
                continue
            n = self.count(stream, minute)
            for k in range(n - 1, -1, -1):
                if start is not None and (minute, k) >= start:
                    continue
                if spread_ms(minute, k, n) > cutoff or self.parent(stream, minute, k):
                    continue
                if skip(minute, k):
                    continue
                found.append((minute, k))
            if len(found) > limit:
                break
        return found[:limit], len(found) > limit

    def replies_of(self, stream: Stream, minute: int, k: int, cutoff: int) -> list[int]:
        """The positions in the next minute of the replies to a comment, posted by `cutoff`."""
        after = self.count(stream, minute + 1)
        return [
            j
            for j in range(after)
            if self.parent(stream, minute + 1, j) == (minute, k)
            and spread_ms(minute + 1, j, after) <= cutoff
        ]
