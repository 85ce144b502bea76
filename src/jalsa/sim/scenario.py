"""Scenario files: what the simulated platforms do during a rally.

A scenario is a TOML file validated into typed models. It fixes, for every stream, an audience
curve (or, for X post counts, a posts-per-minute curve), plus the events that make a real rally
hard to track: network restrictions, rate-limit bursts, garbled responses and expiring tokens.

Every value the simulator serves is a deterministic function of (seed, stream, simulated time),
exposed here as `Scenario.expected_*` so tests and the demo can compute it independently.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from jalsa.errors import UserError
from jalsa.sim.curves import gauss, relative_level, smooth_noise, uniform

Platform = Literal["youtube", "facebook", "x_space", "x_counts", "instagram"]
Service = Literal["youtube", "facebook", "instagram", "x"]
RestrictedPlatform = Literal["youtube", "facebook", "instagram", "x", "x_space", "x_counts"]

PLATFORMS: tuple[str, ...] = ("youtube", "facebook", "x_space", "x_counts", "instagram")
AUDIENCE_PLATFORMS: tuple[str, ...] = ("youtube", "facebook", "x_space", "instagram")
# Which API (credential, rate limits) serves each stream platform.
SERVICE_OF: dict[str, str] = {
    "youtube": "youtube",
    "facebook": "facebook",
    "instagram": "instagram",
    "x_space": "x",
    "x_counts": "x",
}
GRAPH_THROTTLING_CODES = (4, 17, 32, 613)

DEFAULT_SCENARIO = "jalsa-2023-12-17"
_SCENARIO_PACKAGE = "jalsa.sim"
_SCENARIO_DIR = "scenarios"

# Cumulative counters are integrals of the noise-free audience curve (viewer-minutes), sampled
# with this step; each counter is that integral times a rate.
INTEGRAL_STEP_MINUTES = 0.5
LIKES_PER_VIEW = 0.035
COMMENTS_PER_VIEW = 0.004
UNIQUE_PER_VIEW = 0.62  # Facebook: unique 3-second viewers per 3-second view
IG_COMMENTS_PER_VIEWER_MINUTE = 0.01
IG_LIKES_PER_VIEWER_MINUTE = 0.03
SUBSCRIBERS_PER_PEAK = 0.05  # X Space reminders, when a stream does not set `subscribers`


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Stream(_Model):
    """One broadcast (or, for x_counts, one hashtag query) and its curve.

    The curve is relative to the rally start: 0 before it, rising to `ramp_level` × `peak` over
    `ramp_minutes`, reaching `peak` at `peak_at_minutes`, then losing a fraction `decay` of the
    audience per hour. `noise` is the relative standard deviation of the served values. For
    x_counts the curve is posts per minute, on top of a steady `baseline`, and it does not stop
    at the end of the rally (the conversation goes on).
    """

    platform: Platform
    id: str = Field(min_length=1)
    title: str | None = None
    ramp_minutes: float = Field(ge=0)
    ramp_level: float = Field(default=0.7, gt=0, le=1)
    peak: float = Field(ge=0)
    peak_at_minutes: float = Field(ge=0)
    decay: float = Field(default=0.3, ge=0, le=1)
    noise: float = Field(default=0.05, ge=0, le=1)
    # Views per viewer-minute, for YouTube viewCount and Facebook total_video_views.
    view_rate: float = Field(default=0.08, ge=0)
    video_id: str | None = Field(default=None, min_length=1)  # facebook only
    subscribers: int | None = Field(default=None, ge=0)  # x_space only
    query: str | None = Field(default=None, min_length=1)  # x_counts only
    baseline: float = Field(default=0.0, ge=0)  # x_counts only: posts/min outside the rally

    @field_validator("id")
    @classmethod
    def _id_is_trimmed(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("must not start or end with spaces")
        return value

    @model_validator(mode="after")
    def _check(self) -> Stream:
        if self.ramp_minutes > self.peak_at_minutes:
            raise ValueError(
                f"ramp_minutes ({self.ramp_minutes:g}) must not be after peak_at_minutes "
                f"({self.peak_at_minutes:g})"
            )
        only = {
            "video_id": ("facebook",),
            "subscribers": ("x_space",),
            "query": ("x_counts",),
            "baseline": ("x_counts",),
            "view_rate": ("youtube", "facebook"),
        }
        for name, platforms in only.items():
            if name in self.model_fields_set and self.platform not in platforms:
                raise ValueError(
                    f"{name} applies only to {' and '.join(platforms)} streams, "
                    f"not to {self.platform}"
                )
        return self

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.id}"

    @property
    def service(self) -> str:
        return SERVICE_OF[self.platform]

    @property
    def label(self) -> str:
        return self.title or f"{self.platform} {self.id}"

    @property
    def facebook_video_id(self) -> str:
        """The id of the video a Facebook live video produces (for video_insights)."""
        if self.video_id:
            return self.video_id
        return str(7 * 10**15 + int(uniform(0, "video", self.id) * 10**15))

    @property
    def x_query(self) -> str:
        return self.query or self.id


class Restriction(_Model):
    """A window in which platforms are restricted (minutes relative to the rally start).

    The audience of the affected platforms falls to `audience_factor` of what it would be (not
    to zero: people use VPNs). With `mode = "unreachable"` the simulated API also stops answering
    (requests hang until the client gives up); `mode = "reset"` closes connections at once.
    """

    start_minutes: float
    end_minutes: float
    platforms: list[RestrictedPlatform] = Field(min_length=1)
    audience_factor: float = Field(default=1.0, ge=0, le=1)
    mode: Literal["reachable", "unreachable", "reset"] = "reachable"
    # How the restriction looks to the disruption watch's probes in the demo (a blocking
    # verdict of jalsa.watch.record.METHODS); None: the probes do not see it (a window that
    # only the tracker's own network suffers).
    probe_method: str | None = None
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> Restriction:
        from jalsa.watch.record import BLOCKING

        _check_window(self.start_minutes, self.end_minutes)
        if self.probe_method is not None and self.probe_method not in BLOCKING:
            raise ValueError(
                f"probe_method {self.probe_method!r} is not a blocking method; use one of "
                + ", ".join(sorted(BLOCKING))
            )
        return self

    def covers(self, platform: str, minutes: float) -> bool:
        """True when this window affects `platform` (a stream platform) at `minutes`;
        "x" in `platforms` means both X Spaces and X post counts."""
        if not self.start_minutes <= minutes < self.end_minutes:
            return False
        return platform in self.platforms or (platform.startswith("x_") and "x" in self.platforms)


class RateLimitBurst(_Model):
    """A window in which one API throttles every request, the way that API does it: YouTube
    403 rateLimitExceeded (or quotaExceeded), Graph error code 4/17/32/613, X HTTP 429."""

    platform: Service
    start_minutes: float
    end_minutes: float
    code: int | None = None  # Graph only: the throttling code to answer with (default 4)
    reason: Literal["rateLimitExceeded", "quotaExceeded"] | None = None  # YouTube only

    @model_validator(mode="after")
    def _check(self) -> RateLimitBurst:
        _check_window(self.start_minutes, self.end_minutes)
        if self.code is not None:
            if self.platform not in ("facebook", "instagram"):
                raise ValueError("code applies only to facebook and instagram (Graph API) bursts")
            if self.code not in GRAPH_THROTTLING_CODES:
                codes = ", ".join(map(str, GRAPH_THROTTLING_CODES))
                raise ValueError(f"code must be a Graph throttling code ({codes}), not {self.code}")
        if self.reason is not None and self.platform != "youtube":
            raise ValueError("reason applies only to youtube bursts")
        return self

    def covers(self, service: str, minutes: float) -> bool:
        return self.platform == service and self.start_minutes <= minutes < self.end_minutes


class TokenExpiry(_Model):
    """From `from_minutes` (until `until_minutes`, if set) the platform rejects the credential:
    Graph code 190/463, X 401, YouTube 400 keyInvalid."""

    platform: Service
    from_minutes: float
    until_minutes: float | None = None

    @model_validator(mode="after")
    def _check(self) -> TokenExpiry:
        if self.until_minutes is not None:
            _check_window(self.from_minutes, self.until_minutes, "from_minutes", "until_minutes")
        return self

    def covers(self, service: str, minutes: float) -> bool:
        if self.platform != service or minutes < self.from_minutes:
            return False
        return self.until_minutes is None or minutes < self.until_minutes


def _check_window(
    start: float, end: float, start_name: str = "start_minutes", end_name: str = "end_minutes"
) -> None:
    if end <= start:
        raise ValueError(f"{end_name} ({end:g}) must be after {start_name} ({start:g})")


class Scenario(_Model):
    """A whole simulated rally. Times in the file are minutes relative to `start`."""

    name: str = Field(min_length=1)
    description: str = ""
    timezone: str = "Asia/Karachi"
    start: datetime  # local time in `timezone` unless it carries an offset
    duration_minutes: float = Field(gt=0)
    lead_in_minutes: float = Field(default=15.0, ge=0)
    seed: int = 0
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    streams: list[Stream] = Field(min_length=1)
    restrictions: list[Restriction] = Field(default_factory=list)
    rate_limit_bursts: list[RateLimitBurst] = Field(default_factory=list)
    token_expiry: list[TokenExpiry] = Field(default_factory=list)

    _integrals: dict[str, list[float]] = PrivateAttr(default_factory=dict)
    _index: dict[tuple[str, str], Stream] = PrivateAttr(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Asia/Karachi"
            ) from None
        return value

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        seen: dict[str, str] = {}
        for i, stream in enumerate(self.streams):
            ids = [stream.id]
            if stream.platform == "facebook":
                ids.append(stream.facebook_video_id)
            for sid in ids:
                if sid in seen:
                    raise ValueError(
                        f"streams[{i}]: id {sid!r} is already used by {seen[sid]}; "
                        "every stream (and Facebook video) id must be unique"
                    )
                seen[sid] = f"streams[{i}] ({stream.platform})"
            if stream.platform != "x_counts" and stream.peak_at_minutes > self.duration_minutes:
                raise ValueError(
                    f"streams[{i}] ({stream.platform} {stream.id!r}): peak_at_minutes "
                    f"({stream.peak_at_minutes:g}) is after the end of the rally "
                    f"(duration_minutes = {self.duration_minutes:g})"
                )
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._index = {(s.platform, s.id): s for s in self.streams}

    def __eq__(self, other: object) -> bool:
        """Equal when the files say the same thing (the caches may differ)."""
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    # --- time -------------------------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start_utc(self) -> datetime:
        start = self.start if self.start.tzinfo else self.start.replace(tzinfo=self.tz)
        return start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return self.at(self.duration_minutes)

    @property
    def clock_start(self) -> datetime:
        """Where a demo clock starts: `lead_in_minutes` before the rally."""
        return self.at(-self.lead_in_minutes)

    def at(self, minutes: float) -> datetime:
        """The UTC time `minutes` after the rally start (negative: before it)."""
        return self.start_utc + timedelta(minutes=minutes)

    def minutes(self, when: datetime) -> float:
        """Minutes from the rally start to `when` (timezone-aware)."""
        return (when - self.start_utc).total_seconds() / 60.0

    def phase(self, when: datetime) -> Literal["before", "live", "ended"]:
        minutes = self.minutes(when)
        if minutes < 0:
            return "before"
        return "live" if minutes < self.duration_minutes else "ended"

    # --- streams and events -----------------------------------------------------------------

    def stream(self, platform: str, stream_id: str) -> Stream | None:
        return self._index.get((platform, stream_id))

    def streams_of(self, platform: str) -> list[Stream]:
        return [s for s in self.streams if s.platform == platform]

    def audience_factor(self, platform: str, minutes: float) -> float:
        """The fraction of its audience `platform` keeps at `minutes`; overlapping restriction
        windows do not compound, the most severe one applies."""
        factors = [r.audience_factor for r in self.restrictions if r.covers(platform, minutes)]
        return min(factors, default=1.0)

    def blocking(self, platform: str, minutes: float) -> Literal["unreachable", "reset"] | None:
        """How the API serving `platform` fails to answer at `minutes`, if it does."""
        modes = {
            r.mode
            for r in self.restrictions
            if r.mode != "reachable" and r.covers(platform, minutes)
        }
        if "reset" in modes:
            return "reset"
        return "unreachable" if modes else None

    def burst(self, service: str, minutes: float) -> RateLimitBurst | None:
        return next((b for b in self.rate_limit_bursts if b.covers(service, minutes)), None)

    def token_expired(self, service: str, minutes: float) -> TokenExpiry | None:
        return next((t for t in self.token_expiry if t.covers(service, minutes)), None)

    # --- expected values --------------------------------------------------------------------

    def _base(self, stream: Stream, minutes: float) -> float:
        """Noise-free audience (or posts/min above the baseline) at `minutes`, before any
        restriction."""
        return stream.peak * relative_level(
            minutes, stream.ramp_minutes, stream.ramp_level, stream.peak_at_minutes, stream.decay
        )

    def expected_audience(self, stream: Stream, when: datetime) -> int:
        """The audience the simulator serves for `stream` at `when`: 0 outside the rally,
        otherwise the curve × the restriction factor × (1 + noise·z), z seeded by
        (seed, stream, time) and drifting smoothly between 30-second knots."""
        if stream.platform == "x_counts":
            raise ValueError("x_counts streams have posts, not an audience: use expected_posts")
        minutes = self.minutes(when)
        if not 0 <= minutes < self.duration_minutes:
            return 0
        level = self._base(stream, minutes) * self.audience_factor(stream.platform, minutes)
        z = smooth_noise(self.seed, stream.key, minutes * 60.0)
        return max(0, round(level * (1.0 + stream.noise * z)))

    def expected_posts(self, stream: Stream, minute: datetime) -> int:
        """Posts in the one-minute bucket that contains `minute`, for an x_counts stream:
        (baseline + curve at the bucket's middle) × restriction factor × (1 + noise·z)."""
        if stream.platform != "x_counts":
            raise ValueError(f"{stream.platform} streams have an audience: use expected_audience")
        bucket = floor_minute(minute)
        middle = self.minutes(bucket) + 0.5
        rate = stream.baseline + self._base(stream, middle)
        rate *= self.audience_factor(stream.platform, middle)
        z = gauss(self.seed, stream.key, "posts", int(bucket.timestamp() // 60))
        return max(0, round(rate * (1.0 + stream.noise * z)))

    def viewer_minutes(self, stream: Stream, when: datetime) -> float:
        """Integral of the noise-free, restricted audience from the start to `when` (capped at
        the end of the rally): the basis of every cumulative counter, so they never go down."""
        table = self._integrals.get(stream.key)
        if table is None:
            table = self._integral_table(stream)
            self._integrals[stream.key] = table
        minutes = min(max(self.minutes(when), 0.0), self.duration_minutes)
        position = minutes / INTEGRAL_STEP_MINUTES
        k = min(int(position), len(table) - 2)
        return table[k] + (table[k + 1] - table[k]) * (position - k)

    def _integral_table(self, stream: Stream) -> list[float]:
        steps = math.ceil(self.duration_minutes / INTEGRAL_STEP_MINUTES)
        table = [0.0]
        for k in range(steps):
            middle = (k + 0.5) * INTEGRAL_STEP_MINUTES
            value = self._base(stream, middle) * self.audience_factor(stream.platform, middle)
            table.append(table[-1] + value * INTEGRAL_STEP_MINUTES)
        table.append(table[-1])  # flat after the end
        return table

    def expected_views(self, stream: Stream, when: datetime) -> int:
        """Cumulative views (YouTube viewCount, Facebook total_video_views) at `when`."""
        return round(self.viewer_minutes(stream, when) * stream.view_rate)

    def expected_unique_views(self, stream: Stream, when: datetime) -> int:
        """Facebook total_video_views_unique: never more than total views."""
        return round(self.expected_views(stream, when) * UNIQUE_PER_VIEW)

    def expected_likes(self, stream: Stream, when: datetime) -> int:
        if stream.platform == "instagram":
            return round(self.viewer_minutes(stream, when) * IG_LIKES_PER_VIEWER_MINUTE)
        return round(self.expected_views(stream, when) * LIKES_PER_VIEW)

    def expected_comments(self, stream: Stream, when: datetime) -> int:
        if stream.platform == "instagram":
            return round(self.viewer_minutes(stream, when) * IG_COMMENTS_PER_VIEWER_MINUTE)
        return round(self.expected_views(stream, when) * COMMENTS_PER_VIEW)

    def expected_subscribers(self, stream: Stream) -> int:
        if stream.subscribers is not None:
            return stream.subscribers
        return round(stream.peak * SUBSCRIBERS_PER_PEAK)

    def counts_streams(self, query: str) -> list[Stream]:
        """x_counts streams whose query shares a term (hashtag, word) with `query`."""
        wanted = query_terms(query)
        return [s for s in self.streams_of("x_counts") if query_terms(s.x_query) & wanted]


def floor_minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


_QUERY_WORDS = {"or", "and"}


def query_terms(query: str) -> set[str]:
    """The positive search terms of an X query: hashtags and words, lower-cased, without
    operators (`lang:ur`, `-is:retweet`), negations and grouping."""
    terms: set[str] = set()
    for raw in query.replace("(", " ").replace(")", " ").split():
        token = raw.strip('"').lower()
        if not token or token in _QUERY_WORDS or token.startswith("-") or ":" in token:
            continue
        terms.add(token)
    return terms


# --- loading ------------------------------------------------------------------------------


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with jalsa."""
    folder = resources.files(_SCENARIO_PACKAGE).joinpath(_SCENARIO_DIR)
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_scenario(path_or_name: str | Path | None = None) -> Scenario:
    """Load a scenario: None gives the default (the 17 Dec 2023 jalsa); a path reads that file;
    a bare name picks a built-in scenario. Any problem is one UserError that says what to fix."""
    if path_or_name is None:
        path_or_name = DEFAULT_SCENARIO
    path = Path(path_or_name)
    if not path.is_file():
        name = str(path_or_name).removesuffix(".toml")
        if name in builtin_scenarios():
            resource = (
                resources.files(_SCENARIO_PACKAGE).joinpath(_SCENARIO_DIR).joinpath(f"{name}.toml")
            )
            return parse_scenario(resource.read_text(encoding="utf-8"), f"built-in scenario {name}")
        raise UserError(
            f"scenario file {path} does not exist; give a path to a .toml file or one of the "
            f"built-in scenarios: {', '.join(builtin_scenarios())}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read scenario file {path}: {exc}") from None
    return parse_scenario(text, f"scenario file {path}")


def parse_scenario(text: str, source: str = "scenario") -> Scenario:
    """Parse and validate scenario TOML; `source` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source} is not valid TOML: {exc}") from None
    return scenario_from_dict(data, source)


def scenario_from_dict(data: dict[str, Any], source: str = "scenario") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err["loc"], err["msg"], err["type"], data) for err in exc.errors()]
        raise UserError(f"invalid {source}: " + "; ".join(problems)) from None


def _describe(loc: Iterable[Any], msg: str, kind: str, data: dict[str, Any]) -> str:
    """`streams[2] (youtube 'abc').peak: ...` from a pydantic error location."""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
            node = node[item] if isinstance(node, list) and item < len(node) else None
            if isinstance(node, dict) and "platform" in node and "id" in node:
                parts.append(f" ({node['platform']} {node['id']!r})")
        else:
            parts.append(f".{item}" if parts else str(item))
            node = node.get(item) if isinstance(node, dict) else None
    where = "".join(parts)
    if kind == "extra_forbidden":
        msg = "unknown field (check the spelling)"
    elif kind == "missing":
        msg = "required field is missing"
    msg = msg.removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def scenario_with_streams(n: int, base: Scenario | None = None, *, faults: bool = True) -> Scenario:
    """`base` (default: the built-in scenario) with its audience streams replaced by `n`
    synthetic ones, cycling YouTube, Facebook, X Space and Instagram and shaped like the base's
    stream of the same platform; x_counts streams are kept. `faults=False` also drops
    restrictions, rate-limit bursts, token expiry and malformed responses (for benchmarks)."""
    if n < 0:
        raise ValueError("n must not be negative")
    base = base or load_scenario(None)
    templates: dict[str, Stream] = {s.platform: s for s in reversed(base.streams)}
    data = base.model_dump(exclude_unset=True)
    streams: list[dict[str, Any]] = []
    for i in range(n):
        platform = AUDIENCE_PLATFORMS[i % len(AUDIENCE_PLATFORMS)]
        template = templates.get(platform)
        shape = (
            template.model_dump(exclude_unset=True, exclude={"id", "title", "video_id"})
            if template
            else {"platform": platform, "ramp_minutes": 10, "peak": 10_000, "peak_at_minutes": 60}
        )
        streams.append(
            {
                **shape,
                "id": synthetic_id(platform, i),
                "title": f"synthetic {platform} stream {i}",
            }
        )
    data["streams"] = streams + [
        s.model_dump(exclude_unset=True) for s in base.streams if s.platform == "x_counts"
    ]
    data["name"] = f"{base.name} with {n} synthetic streams"
    if not faults:
        data.update(restrictions=[], rate_limit_bursts=[], token_expiry=[], malformed_rate=0.0)
    return scenario_from_dict(data, "synthetic scenario")


def synthetic_id(platform: str, i: int) -> str:
    """Platform-looking ids for synthetic stream number `i`."""
    if platform == "youtube":
        return f"sim{i:08d}"  # 11 characters, like a video id
    if platform == "facebook":
        return f"9{i:014d}"
    if platform == "instagram":
        return f"178{i:014d}"
    return f"1sim{i:09d}"
