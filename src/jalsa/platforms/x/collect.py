"""X API v2 collectors: recent search and post counts, and what every X collector shares (the
transport, the options, reading X's pages). The filtered stream and its rules are stream.py.

Requests (app-only Bearer token; X's error bodies, rate limits and pay-per-use billing come from
`jalsa.platforms.x.connector`):
  GET {base}/tweets/search/recent?query=..&max_results=100&tweet.fields=..&expansions=..
      &user.fields=..[&since_id=..|&start_time=..][&next_token=..]
  GET {base}/tweets/counts/recent?query=..&granularity=minute&start_time=..[&next_token=..]

Raw logs: `x-search.jsonl` (one search page per line) and `x-counts.jsonl` (one counts page per
line; a later line's bucket replaces an earlier one with the same start: X revises the open
minute).

Search rounds page back from the newest post with `next_token`; the next round asks only for
posts newer than the newest one seen (`since_id`). A round cut short (page limit, rate limit)
keeps its `next_token` and the next round goes on from there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self, Unpack

import httpx

from jalsa.config import Settings
from jalsa.platforms.base import PollError, parse_retry_after, shape_error
from jalsa.platforms.collect.base import (
    Collector,
    CollectorOptions,
    CollectResult,
    PagedCollector,
    given,
    secret,
)
from jalsa.platforms.x.connector import (
    DEFAULT_USD_PER_REQUEST,
    DEFAULT_USD_PER_RESOURCE,
    XCountsConnector,
)

SEARCH_PATH = "/tweets/search/recent"
COUNTS_PATH = "/tweets/counts/recent"

TWEET_FIELDS = (
    "created_at,lang,author_id,conversation_id,entities,referenced_tweets,public_metrics,"
    "in_reply_to_user_id"
)
EXPANSIONS = "author_id,referenced_tweets.id"
USER_FIELDS = "created_at,username,name"
POST_FIELDS = {"tweet.fields": TWEET_FIELDS, "expansions": EXPANSIONS, "user.fields": USER_FIELDS}

# Recent search reaches back 7 days; stay a minute inside for clock skew.
SEARCH_WINDOW = timedelta(days=7) - timedelta(minutes=1)


class XPostsApi(XCountsConnector):
    """The X transport of the collectors: the counts connector's Bearer auth, error mapping and
    billing (one resource per item in `data`), except that any 2xx answer is kept, `errors` and
    all: a search page with a deleted referenced post still carries its posts."""

    title = "X posts"

    def platform_error(
        self, status_code: int, payload: Any, headers: httpx.Headers
    ) -> PollError | None:
        if 200 <= status_code < 300:
            return None
        error = super().platform_error(status_code, payload, headers)
        if error is not None and status_code == 400 and isinstance(payload, dict):
            # Rule errors carry a title and the rule's value rather than a message.
            said = "; ".join(
                str(e.get("message") or f"{e.get('title', 'error')}: {e.get('value', '')}")
                for e in payload.get("errors") or []
                if isinstance(e, dict)
            )
            if said:
                error.detail = f"X rejected the request: {said}"
        return error


class XRulesApi(XPostsApi):
    """Rules management requests: not billed per rule."""

    def billed_resources(self, payload: Any) -> int:
        return 0


def _x_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_x_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def _newest(*ids: Any) -> str | None:
    """The largest of X's numeric string ids (compared as numbers, not as text)."""
    valid = [str(i) for i in ids if isinstance(i, str | int) and str(i).isdigit()]
    return max(valid, key=int) if valid else None


def errors_of(page: Any) -> list[Any]:
    errors = page.get("errors") if isinstance(page, dict) else None
    return list(errors) if isinstance(errors, list) else []


def data_count(page: Any) -> int:
    data = page.get("data") if isinstance(page, dict) else None
    if isinstance(data, list):
        return len(data)
    return 1 if isinstance(data, dict) else 0


class XOptions(CollectorOptions, total=False):
    """The keyword options every X collector takes, held by `XCollector` and `Collector`."""

    source: str  # the raw log's name (default: the collector's `default_source`)
    usd_per_request: float
    usd_per_resource: float


class XCollector(Collector):
    """What the X collectors share: one transport built from a client, base URL and token."""

    api: XPostsApi
    default_source: ClassVar[str]

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        bearer_token: str | None,
        *,
        source: str | None = None,
        usd_per_request: float = DEFAULT_USD_PER_REQUEST,
        usd_per_resource: float = DEFAULT_USD_PER_RESOURCE,
        **options: Unpack[CollectorOptions],
    ) -> None:
        super().__init__(self.default_source if source is None else source, **options)
        self.api = XPostsApi(
            client,
            base_url,
            bearer_token,
            usd_per_request=usd_per_request,
            usd_per_resource=usd_per_resource,
        )

    @classmethod
    def settings_kwargs(cls, settings: Settings) -> dict[str, Any]:
        """The keyword arguments this collector takes from Settings: URL, token and prices."""
        return {
            "base_url": settings.x_base_url,
            "bearer_token": secret(settings.x_bearer_token),
            **XPostsApi.settings_options(settings),
        }

    def rate_wait(self) -> float | None:
        """Seconds until X's window resets when the last answer used up its requests."""
        headers = self.api.last_headers
        if headers is None or headers.get("x-rate-limit-remaining", "").strip() != "0":
            return None
        return parse_retry_after(headers) or 0.0


class _XQueryCollector(XCollector, PagedCollector):
    """What search and counts share: one `query`, from `start_time` (default: X's own, the
    last 7 days), a round every `interval` seconds of at most `max_pages` pages (the rest
    follows in the next round)."""

    what: ClassVar[str]  # the endpoint, for messages
    page_token = "next_token"

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        bearer_token: str | None,
        query: str,
        *,
        start_time: datetime | None = None,
        interval: float = 60.0,
        max_pages: int | None = None,
        **options: Unpack[XOptions],
    ) -> None:
        super().__init__(client, base_url, bearer_token, **options)
        self.query = given(query, f"{self.what} query")
        self.start_time = start_time
        self.interval = interval
        if max_pages is not None:
            self.max_pages = max_pages

    @classmethod
    def from_settings(
        cls, client: httpx.AsyncClient, settings: Settings, query: str, **options: Any
    ) -> Self:
        return cls(client, query=query, **{**cls.settings_kwargs(settings), **options})

    def tally(self, result: CollectResult, page: dict[str, Any]) -> None:
        result.items += data_count(page)
        result.errors.extend(errors_of(page))


class XQueryOptions(XOptions, total=False):
    """The keyword options of both query collectors (search and counts)."""

    start_time: datetime | None
    interval: float
    max_pages: int | None  # default: the collector's own


class XSearchCollector(_XQueryCollector):
    """Recent search for `query`: every page into `x-search.jsonl`.

    `start_time` bounds the first round; later rounds use `since_id`. `max_pages` bounds one
    round's spend."""

    default_source = "x-search"
    what = "search"
    max_pages = 20

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        bearer_token: str | None,
        query: str,
        *,
        max_results: int = 100,
        **options: Unpack[XQueryOptions],
    ) -> None:
        super().__init__(client, base_url, bearer_token, query, **options)
        if not 10 <= max_results <= 100:
            raise ValueError("max_results must be between 10 and 100 (X's limits)")
        self.max_results = max_results

    def round_params(self, cursor: dict[str, Any]) -> dict[str, str]:
        """The bounds of a new round: after the newest post seen, or from `start_time`."""
        since_id = cursor.get("since_id")
        if since_id:
            return {"since_id": str(since_id)}
        if self.start_time is not None:
            start = self.start_time
            if start.tzinfo is None:
                start = start.replace(tzinfo=UTC)
            start = max(start, self.clock.now() - SEARCH_WINDOW)
            return {"start_time": _x_time(start)}
        return {}

    def advance(self, cursor: dict[str, Any], page: Any) -> dict[str, Any]:
        meta = page.get("meta") if isinstance(page, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        current = cursor.get("round") or {"params": {}}
        round_ = {**current, "newest_id": _newest(current.get("newest_id"), meta.get("newest_id"))}
        token = meta.get("next_token")
        if token:
            return {**cursor, "round": {**round_, "next_token": str(token)}}
        newest = _newest(round_["newest_id"], cursor.get("since_id"))
        return {**cursor, "since_id": newest, "round": None}

    def page_params(self) -> dict[str, str]:
        return {"query": self.query, "max_results": str(self.max_results), **POST_FIELDS}

    async def fetch_page(self, result: CollectResult, params: dict[str, str]) -> dict[str, Any]:
        page = await self.api.fetch(result.usage, SEARCH_PATH, params)
        if not isinstance(page, dict):
            raise shape_error("search answer is not an object")
        return page

    def cut_short(self, result: CollectResult) -> bool:
        wait = self.rate_wait()
        if wait is None:
            return False
        result.more, result.retry_after = True, wait
        result.detail = "X's rate window is used up; the round goes on after it resets"
        return True

    async def run_once(self) -> CollectResult:
        result = await super().run_once()
        if result.errors and not result.detail:
            result.detail = f"X sent {len(result.errors)} partial error(s) beside the posts"
        return result


class XCountsCollector(_XQueryCollector):
    """Posts per minute for `query`: every counts page into `x-counts.jsonl`. Each round starts
    at the last bucket read when it was still open (X revises it), else where the last ended."""

    default_source = "x-counts"
    what = "counts"
    max_pages = 10
    granularity = "minute"

    @classmethod
    def settings_kwargs(cls, settings: Settings) -> dict[str, Any]:
        return {**super().settings_kwargs(settings), "interval": settings.x_counts_interval}

    def round_params(self, cursor: dict[str, Any]) -> dict[str, str]:
        since = parse_x_time(cursor.get("next_start")) or self.start_time
        start = self.api.start_time(since, self.clock.now())
        return {"start_time": _x_time(start)}

    def advance(self, cursor: dict[str, Any], page: Any) -> dict[str, Any]:
        current = dict(cursor.get("round") or {"params": {}})
        data = page.get("data") if isinstance(page, dict) else None
        for bucket in data if isinstance(data, list) else []:
            if not isinstance(bucket, dict):
                continue
            start, end = parse_x_time(bucket.get("start")), parse_x_time(bucket.get("end"))
            latest = parse_x_time(current.get("latest_start"))
            if start is None or end is None or (latest is not None and start <= latest):
                continue
            current["latest_start"], current["latest_end"] = _x_time(start), _x_time(end)
        meta = page.get("meta") if isinstance(page, dict) else None
        token = meta.get("next_token") if isinstance(meta, dict) else None
        if token:
            return {**cursor, "round": {**current, "next_token": str(token)}}
        start = parse_x_time(current.get("latest_start"))
        end = parse_x_time(current.get("latest_end"))
        if start is None or end is None:
            return {**cursor, "round": None}
        complete = end - start >= timedelta(minutes=1)
        return {**cursor, "next_start": _x_time(end if complete else start), "round": None}

    def page_params(self) -> dict[str, str]:
        return {"query": self.query, "granularity": self.granularity}

    async def fetch_page(self, result: CollectResult, params: dict[str, str]) -> dict[str, Any]:
        page = await self.api.fetch(result.usage, COUNTS_PATH, params)
        if not isinstance(page, dict) or not isinstance(page.get("data", []), list):
            raise shape_error("counts answer has no data list")
        return page
