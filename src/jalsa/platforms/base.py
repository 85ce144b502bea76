"""What every platform connector is: one class per platform API, its capabilities declared as
class attributes, one `poll` that turns an API response into readings of catalogue metrics.

Transport faults that look the same on every platform (timeouts, 5xx, 429, HTML instead of JSON,
truncated JSON) are handled once here; each platform only maps its own error bodies.
"""

from __future__ import annotations

import email.utils
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

import httpx

from jalsa import redact

if TYPE_CHECKING:
    from jalsa.config import Settings


class StreamStatus(StrEnum):
    """What the team sees for a stream; each value is one clear situation."""

    PENDING = "pending"  # not polled yet
    OK = "ok"  # live, readings stored
    NOT_LIVE = "not_live"  # the platform answered, but the broadcast is not live (yet/any more)
    RATE_LIMITED = "rate_limited"  # 429 or a throttling code; waiting as the platform asked
    QUOTA_EXCEEDED = "quota_exceeded"  # YouTube daily quota used up
    AUTH_FAILED = "auth_failed"  # missing, invalid or expired token / key
    NOT_FOUND = "not_found"  # the id does not exist or is not visible to this token
    BAD_RESPONSE = "bad_response"  # malformed/truncated JSON, HTML error page, unexpected shape
    SERVER_ERROR = "server_error"  # 5xx
    TIMEOUT = "timeout"
    NETWORK_ERROR = "network_error"  # connection refused/reset, DNS failure

    @property
    def is_failure(self) -> bool:
        return self not in (StreamStatus.PENDING, StreamStatus.OK, StreamStatus.NOT_LIVE)


@dataclass
class Usage:
    """API spend of one poll: requests made, YouTube quota units, X billed resources and money."""

    requests: int = 0
    quota_units: int = 0
    billed_resources: int = 0
    cost_usd: float = 0.0

    def add(self, other: Usage) -> None:
        self.requests += other.requests
        self.quota_units += other.quota_units
        self.billed_resources += other.billed_resources
        self.cost_usd += other.cost_usd

    def share(self, n: int) -> list[Usage]:
        """Split the spend of a poll that served `n` streams, so that the parts add up exactly
        to the whole (counts are spread as evenly as integers allow)."""

        def spread(total: int) -> list[int]:
            base, extra = divmod(total, n)
            return [base + (1 if i < extra else 0) for i in range(n)]

        parts = zip(
            spread(self.requests),
            spread(self.quota_units),
            spread(self.billed_resources),
            strict=True,
        )
        return [Usage(r, q, b, self.cost_usd / n) for r, q, b in parts]


@dataclass(frozen=True)
class Reading:
    """One value of one catalogue metric. `observed_at` is set only when the platform itself
    dates the value (X count buckets); otherwise the poll's scheduled time is used."""

    metric: str
    value: int
    observed_at: datetime | None = None


@dataclass(frozen=True)
class Target:
    """What to poll: the stream's platform id, and for query-based streams the query."""

    external_id: str
    query: str | None = None
    since: datetime | None = None


class Dated(Protocol):
    """Something read at a time: the live figures' latest reading of a metric."""

    @property
    def at(self) -> datetime: ...


@dataclass
class PollResult:
    status: StreamStatus
    readings: list[Reading] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    detail: str = ""


class PollError(Exception):
    """A poll that produced no readings, with the status the team should see."""

    def __init__(
        self,
        status: StreamStatus,
        detail: str,
        *,
        retry_after: float | None = None,
        usage: Usage | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after
        self.usage = usage or Usage()
        self.http_status = http_status


redact.install()


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) or X's `x-rate-limit-reset`
    (epoch seconds). None when neither header is usable."""
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isascii() and value.isdigit():  # not '¹', which float() refuses
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - now)
        except (TypeError, ValueError):
            pass
    reset = headers.get("x-rate-limit-reset")
    if reset and reset.strip().isascii() and reset.strip().isdigit():
        return max(0.0, float(reset) - now)
    return None


class Connector(ABC):
    """Base of every platform connector. Subclasses declare their capabilities and implement
    `poll`; they call `get_json` for every request so faults are handled the same way."""

    kind: ClassVar[str]  # stream kind stored in the database, e.g. "youtube"
    platform: ClassVar[str]  # platform name used to group streams, e.g. "x"
    title: ClassVar[str]  # human name, e.g. "YouTube Live"
    id_help: ClassVar[str]  # what `external_id` is, for CLI help and errors
    metrics: ClassVar[tuple[str, ...]]  # catalogue names this connector produces
    base_url_setting: ClassVar[str]  # Settings attribute holding the API base URL
    credential_setting: ClassVar[str]  # Settings attribute holding the token or key
    interval_setting: ClassVar[str]  # Settings attribute holding the poll interval (s)
    batch_size: ClassVar[int] = 1  # targets one poll can cover (one request for several ids)
    # The spend that matters for the platform, as the dashboard and `jalsa track` show it: the
    # `Usage` field and its unit (YouTube counts quota units, X bills money, the Graph API
    # platforms only rate-limit requests).
    spend: ClassVar[tuple[str, str]] = ("requests", "requests")

    def __init__(
        self, client: httpx.AsyncClient | None, base_url: str, credential: str | None
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.last_headers: httpx.Headers | None = None  # of the latest answer

    @classmethod
    def from_settings(cls, client: httpx.AsyncClient | None, settings: Settings) -> Self:
        """Build the connector from Settings through its declared setting names, so callers
        never need to know which URL or token a platform uses."""
        base_url = getattr(settings, cls.base_url_setting)
        secret = getattr(settings, cls.credential_setting)
        credential = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
        return cls(client, str(base_url), credential, **cls.settings_options(settings))

    @classmethod
    def settings_options(cls, settings: Settings) -> dict[str, Any]:
        """Extra keyword arguments this connector takes from Settings (X reads its prices)."""
        return {}

    @abstractmethod
    async def poll(self, target: Target, now: datetime) -> PollResult:
        """Fetch the current readings for `target`. Raises PollError on any failure."""

    async def poll_many(
        self, targets: Sequence[Target], now: datetime
    ) -> tuple[list[PollResult | PollError], Usage]:
        """Poll up to `batch_size` targets: one outcome per target, and the spend of the whole
        poll (shared by the targets). Connectors that batch override this."""
        if len(targets) != 1:
            raise ValueError(f"{type(self).__name__} polls one target at a time")
        try:
            result = await self.poll(targets[0], now)
        except PollError as exc:
            return [exc], exc.usage
        return [result], result.usage

    @classmethod
    def expected_units(cls, batch: int = 1) -> Usage:
        """Requests, quota units and billed resources of one successful poll of `batch`
        targets, before any price: class data, so a stream's spend is planned without a
        connector. Every connector that polls streams declares it."""
        raise NotImplementedError(
            f"{cls.__name__} does not say what a poll spends: declare `expected_units`"
        )

    def expected_usage(self, batch: int = 1) -> Usage:
        """Usage of one successful poll of `batch` targets, for the spend forecast."""
        return self.expected_units(batch)

    @classmethod
    def planned_usage(cls, settings: Settings, batch: int = 1) -> Usage:
        """What `expected_usage` of a connector built from `settings` says, from the class and
        Settings alone: the live figures plan each stream's spend without building a
        connector (or an HTTP client). Platforms that price their units (X) override it."""
        return cls.expected_units(batch)

    @classmethod
    def target(
        cls,
        external_id: str,
        *,
        query: str | None,
        starts_at: datetime,
        latest: Mapping[str, Dated],
    ) -> Target:
        """What to poll for a stream of this kind: its platform id. A connector that reads the
        event's query rather than one broadcast (X posts per minute) overrides this to add the
        query and where to start reading, from the stream's `latest` reading per metric and
        the event's `starts_at`; the tracker asks every connector the same way."""
        return Target(external_id)

    def request_usage(self, payload: Any) -> Usage:
        """Usage of one request given its parsed body (None when the request failed).
        The default counts the request; platforms that bill per unit override it."""
        return Usage(requests=1)

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, query params) carrying the credential; overridden per platform."""
        return {}, {}

    def platform_error(
        self, status_code: int, payload: Any, headers: httpx.Headers
    ) -> PollError | None:
        """Map a platform's own error body to a PollError; None when it is not one of them."""
        return None

    async def get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET base_url+path and return parsed JSON, or raise PollError with a clear status."""
        return await self.request_json("GET", path, params)

    async def post_json(self, path: str, body: Any, params: dict[str, str] | None = None) -> Any:
        """POST a JSON body to base_url+path (X stream rules); answers are read as for GET."""
        return await self.request_json("POST", path, params, json_body=body)

    def require_credential(self) -> None:
        """Raise AUTH_FAILED, naming the variable to set, when there is no credential."""
        if not self.credential:
            raise PollError(
                StreamStatus.AUTH_FAILED,
                f"no credential: set JALSA_{self.credential_setting.upper()}",
            )

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def request_json(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        *,
        json_body: Any = None,
    ) -> Any:
        """Send one request with the credential and return its parsed JSON answer, or raise
        PollError with a clear status (transport faults here, answers in `read_response`)."""
        self.require_credential()
        headers, auth_params = self.auth()
        query = {**(params or {}), **auth_params}
        try:
            if self.client is None:
                raise RuntimeError("this connector was built without an HTTP client")
            response = await self.client.request(
                method, self.url(path), params=query, headers=headers, json=json_body
            )
        except httpx.TimeoutException:
            raise PollError(
                StreamStatus.TIMEOUT, "no answer in time", usage=Usage(requests=1)
            ) from None
        except httpx.TransportError as exc:
            raise PollError(
                StreamStatus.NETWORK_ERROR, f"cannot reach {self.base_url}: {type(exc).__name__}"
            ) from None
        return self.read_response(response)

    def read_response(self, response: httpx.Response) -> Any:
        """The parsed JSON of a complete answer, or the PollError it means: the platform's own
        error bodies first, then the faults every platform shares. Its headers are kept in
        `last_headers` (X's rate-limit headers say when the next request may go)."""
        self.last_headers = response.headers
        payload = _parse_json(response.content)
        parsed = None if payload is _NOT_JSON else payload
        usage = self.request_usage(parsed if response.is_success else None)
        error = self.platform_error(response.status_code, parsed, response.headers)
        if error is not None:
            error.usage = usage
            error.http_status = response.status_code
            raise error
        if response.status_code == 429:
            raise PollError(
                StreamStatus.RATE_LIMITED,
                "HTTP 429 Too Many Requests",
                retry_after=parse_retry_after(response.headers),
                usage=usage,
                http_status=429,
            )
        if response.status_code in (401, 403):
            raise PollError(
                StreamStatus.AUTH_FAILED,
                f"HTTP {response.status_code}: check the token",
                usage=usage,
                http_status=response.status_code,
            )
        if response.status_code == 404:
            raise PollError(StreamStatus.NOT_FOUND, "HTTP 404", usage=usage, http_status=404)
        if response.status_code >= 500:
            raise PollError(
                StreamStatus.SERVER_ERROR,
                f"HTTP {response.status_code} from the platform",
                retry_after=parse_retry_after(response.headers),
                usage=usage,
                http_status=response.status_code,
            )
        if not response.is_success:
            raise PollError(
                StreamStatus.BAD_RESPONSE,
                f"unexpected HTTP {response.status_code}",
                usage=usage,
                http_status=response.status_code,
            )
        if payload is _NOT_JSON:
            kind = response.headers.get("content-type", "unknown content type")
            raise PollError(
                StreamStatus.BAD_RESPONSE,
                f"response is not valid JSON ({kind}, {len(response.content)} bytes)",
                usage=usage,
                http_status=response.status_code,
            )
        return payload

    async def fetch(self, usage: Usage, path: str, params: dict[str, str] | None = None) -> Any:
        """`get_json`, adding the request's spend to `usage` (the running total of one poll).
        A failure carries the whole poll's spend so far, not only its own request's."""
        try:
            payload = await self.get_json(path, params)
        except PollError as exc:
            _charge(exc, usage)
            raise
        usage.add(self.request_usage(payload))
        return payload


def _charge(exc: PollError, usage: Usage) -> None:
    if exc.usage is not usage:
        usage.add(exc.usage)
        exc.usage = usage


@contextmanager
def charge_errors(usage: Usage) -> Iterator[None]:
    """Make any PollError raised inside (a bad shape found after the request succeeded, say)
    carry the poll's spend, so quota and money are counted even for failed polls."""
    try:
        yield
    except PollError as exc:
        _charge(exc, usage)
        raise


_NOT_JSON: Any = object()


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


class BatchConnector(Connector):
    """A connector whose API reads many ids in one request (YouTube videos.list, X Spaces
    lookup): it implements `poll_many`, and `poll` is a batch of one."""

    async def poll(self, target: Target, now: datetime) -> PollResult:
        outcomes, usage = await self.poll_many([target], now)
        outcome = outcomes[0]
        outcome.usage = usage
        if isinstance(outcome, PollError):
            raise outcome
        return outcome

    @abstractmethod
    async def poll_many(
        self, targets: Sequence[Target], now: datetime
    ) -> tuple[list[PollResult | PollError], Usage]:
        """One request for all `targets`; a failure of the request is every target's outcome."""


def entries_by_id(entries: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
    """The objects of a batch answer grouped by their `id` (a string); others are left out."""
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            found.setdefault(entry["id"], []).append(entry)
    return found


def first_readable(
    entries: Sequence[dict[str, Any]], read: Callable[[dict[str, Any]], PollResult]
) -> PollResult | PollError:
    """The outcome for an id a batch answer holds (at least once): the first of its entries
    that reads, so a malformed duplicate cannot hide a good one; else the first one's error."""
    failures: list[PollError] = []
    for entry in entries:
        try:
            return read(entry)
        except PollError as exc:
            failures.append(exc)
    return failures[0]


def shape_error(what: str) -> PollError:
    """The response parsed but lacks a field the documented shape promises."""
    return PollError(StreamStatus.BAD_RESPONSE, f"unexpected response shape: {what}")


# The largest count a reading may hold: the samples' value column is a signed 64-bit integer.
MAX_COUNT = 2**63 - 1


def as_count(value: Any, what: str) -> int:
    """A non-negative integer from an API field that may be a number or a numeric string
    (YouTube sends counts as strings), at most MAX_COUNT."""
    if isinstance(value, bool):
        raise shape_error(f"{what} is a boolean")
    if isinstance(value, str) and len(value.strip()) > len(str(MAX_COUNT)):
        raise shape_error(f"{what} is too long to be a count")  # int() may refuse it
    if isinstance(value, int):
        count = value
    elif (isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()) or (
        isinstance(value, float) and value.is_integer()
    ):
        count = int(value)
    else:
        raise shape_error(f"{what} is not a count: {value!r:.80}")
    if count < 0:
        raise shape_error(f"{what} is negative")
    if count > MAX_COUNT:
        raise shape_error(f"{what} is too large to be a count")
    return count


def utc_now() -> datetime:
    return datetime.now(UTC)
