"""X API v2 collectors: recent search, the filtered stream (and its rules), and post counts.

Requests (app-only Bearer token; X's error bodies, rate limits and pay-per-use billing come from
`jalsa.platforms.x.connector`):
  GET {base}/tweets/search/recent?query=..&max_results=100&tweet.fields=..&expansions=..
      &user.fields=..[&since_id=..|&start_time=..][&next_token=..]
  GET {base}/tweets/search/stream?tweet.fields=..&expansions=..&user.fields=..
  GET/POST {base}/tweets/search/stream/rules[?dry_run=true]
  GET {base}/tweets/counts/recent?query=..&granularity=minute&start_time=..[&next_token=..]

Raw logs: `x-search.jsonl` (one search page per line), `x-stream.jsonl` (one stream line per
line, exactly as it arrived, truncated ones included) and `x-counts.jsonl` (one counts page per
line; a later line's bucket replaces an earlier one with the same start: X revises the open
minute).

Search rounds page back from the newest post with `next_token`; the next round asks only for
posts newer than the newest one seen (`since_id`). A round cut short (page limit, rate limit)
keeps its `next_token` and the next round goes on from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self, Unpack

import httpx

from jalsa.config import Settings
from jalsa.platforms.base import PollError, StreamStatus, parse_retry_after, shape_error
from jalsa.platforms.collect.base import (
    NEEDS_A_PERSON,
    CollectError,
    Collector,
    CollectorOptions,
    CollectResult,
    PagedCollector,
    given,
    pause,
    secret,
)
from jalsa.platforms.x.connector import (
    DEFAULT_USD_PER_REQUEST,
    DEFAULT_USD_PER_RESOURCE,
    XCountsConnector,
)

SEARCH_PATH = "/tweets/search/recent"
STREAM_PATH = "/tweets/search/stream"
RULES_PATH = "/tweets/search/stream/rules"
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


def _errors_of(page: Any) -> list[Any]:
    errors = page.get("errors") if isinstance(page, dict) else None
    return list(errors) if isinstance(errors, list) else []


def _data_count(page: Any) -> int:
    data = page.get("data") if isinstance(page, dict) else None
    if isinstance(data, list):
        return len(data)
    return 1 if isinstance(data, dict) else 0


class XOptions(CollectorOptions, total=False):
    """The keyword options every X collector takes, held by `_XCollector` and `Collector`."""

    source: str  # the raw log's name (default: the collector's `default_source`)
    usd_per_request: float
    usd_per_resource: float


class _XCollector(Collector):
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


class _XQueryCollector(_XCollector, PagedCollector):
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
        result.items += _data_count(page)
        result.errors.extend(_errors_of(page))


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


# --- the filtered stream ----------------------------------------------------------------------


@dataclass
class StreamRound(CollectResult):
    """One connection to the filtered stream."""

    connected: bool = False  # X answered 200 with a JSON stream
    lines: int = 0  # lines that arrived (keep-alives not counted)
    keepalives: int = 0
    truncated: int = 0  # lines cut by the disconnection, recorded as they arrived

    @property
    def delivered(self) -> bool:
        return self.lines > 0 or self.keepalives > 0


class StreamBackoff:
    """X's documented reconnection policy for streams: reconnect at once when an established
    connection drops; back off linearly by 250 ms up to 16 s after network errors;
    exponentially from 5 s up to 320 s after HTTP errors; exponentially from one minute after
    HTTP 429 (or longer, if X's reset header says so). A connection that delivers anything
    resets all three."""

    network_step = 0.25
    network_max = 16.0
    http_first = 5.0
    http_max = 320.0
    rate_first = 60.0

    def __init__(self) -> None:
        self.network = 0
        self.http = 0
        self.rate = 0

    def reset(self) -> None:
        self.network = self.http = self.rate = 0

    def network_error(self) -> float:
        self.network += 1
        return min(self.network * self.network_step, self.network_max)

    def http_error(self) -> float:
        self.http += 1
        return min(self.http_first * 2 ** (self.http - 1), self.http_max)

    def rate_limited(self, retry_after: float | None = None) -> float:
        self.rate += 1
        return max(self.rate_first * 2 ** (self.rate - 1), retry_after or 0.0)

    def delay(self, result: StreamRound) -> float:
        """Seconds to wait before reconnecting after `result`."""
        if result.connected and result.delivered:
            self.reset()
            return 0.0
        if result.status in (StreamStatus.RATE_LIMITED, StreamStatus.QUOTA_EXCEEDED):
            return self.rate_limited(result.retry_after)
        if result.status in (StreamStatus.NETWORK_ERROR, StreamStatus.TIMEOUT) or (
            result.connected
        ):
            return self.network_error()
        return self.http_error()


class XStreamCollector(_XCollector):
    """The filtered stream: every line into `x-stream.jsonl` as it arrived (keep-alive blank
    lines skipped, a line cut by a disconnection kept as it is). The stream matches the rules
    set with `set_rules` / `add_rules`; they live at X, not here."""

    replays = False
    # X sends a keep-alive every 20 s; a second more, then the connection counts as stalled.
    read_timeout = 21.0
    connect_timeout = 10.0

    default_source = "x-stream"

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        bearer_token: str | None,
        *,
        backfill_minutes: int | None = None,
        **options: Unpack[XOptions],
    ) -> None:
        super().__init__(client, base_url, bearer_token, **options)
        self.rules_api = XRulesApi(client, base_url, bearer_token)
        self.backfill_minutes = backfill_minutes
        self.backoff = StreamBackoff()
        self.waits: list[float] = []  # every reconnect wait, for the team and the tests

    @classmethod
    def from_settings(
        cls, client: httpx.AsyncClient, settings: Settings, **options: Any
    ) -> XStreamCollector:
        return cls(client, **{**cls.settings_kwargs(settings), **options})

    # -- rules --

    async def rules(self) -> list[dict[str, Any]]:
        """The rules the stream matches now: [{"id", "value", "tag"?}]."""
        payload = await self.rules_api.get_json(RULES_PATH)
        data = payload.get("data", []) if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise shape_error("rules answer has no data list")
        return [r for r in data if isinstance(r, dict)]

    async def add_rules(
        self, rules: Iterable[tuple[str, str | None]], *, dry_run: bool = False
    ) -> dict[str, Any]:
        """Add (value, tag) rules; X's answer (data, meta.summary, errors) as it is."""
        add = [{"value": value, **({"tag": tag} if tag else {})} for value, tag in rules]
        return await self._post_rules({"add": add}, dry_run)

    async def delete_rules(self, ids: Sequence[str], *, dry_run: bool = False) -> dict[str, Any]:
        return await self._post_rules({"delete": {"ids": list(ids)}}, dry_run)

    async def set_rules(
        self, wanted: Iterable[tuple[str, str | None]], *, dry_run: bool = False
    ) -> dict[str, Any]:
        """Make the rule set exactly `wanted` (value, tag): delete the others, add the missing.
        Returns {"added": [...], "deleted": [...], "errors": [...]}; with `dry_run`, X checks
        the rules without changing anything."""
        wanted = list(dict.fromkeys(wanted))
        current = await self.rules()
        keep = {(r.get("value"), r.get("tag") or None) for r in current}
        stale = [r for r in current if (r.get("value"), r.get("tag") or None) not in wanted]
        missing = [rule for rule in wanted if rule not in keep]
        outcome: dict[str, Any] = {"added": [], "deleted": [], "errors": []}
        if stale:
            answer = await self.delete_rules([str(r["id"]) for r in stale], dry_run=dry_run)
            outcome["deleted"] = [r["id"] for r in stale]
            outcome["errors"].extend(_errors_of(answer))
        if missing:
            answer = await self.add_rules(missing, dry_run=dry_run)
            data = answer.get("data")
            outcome["added"] = data if isinstance(data, list) else []
            outcome["errors"].extend(_errors_of(answer))
        return outcome

    async def _post_rules(self, body: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        params = {"dry_run": "true"} if dry_run else None
        payload = await self.rules_api.post_json(RULES_PATH, body, params)
        if not isinstance(payload, dict):
            raise shape_error("rules answer is not an object")
        return payload

    # -- the connection --

    def stream_params(self) -> dict[str, str]:
        params = dict(POST_FIELDS)
        if self.backfill_minutes:
            params["backfill_minutes"] = str(self.backfill_minutes)
        return params

    async def run_once(self) -> StreamRound:
        """One connection, read until X or the network ends it."""
        await self.open()
        result = StreamRound(self.source)
        try:
            self.api.require_credential()
        except PollError as exc:
            result.fail(exc)
            return result
        headers, auth_params = self.api.auth()
        timeout = httpx.Timeout(self.connect_timeout, read=self.read_timeout)
        buffer = b""
        try:
            if self.api.client is None:
                raise RuntimeError("the X stream collector was built without an HTTP client")
            async with self.api.client.stream(
                "GET",
                self.api.url(STREAM_PATH),
                params={**self.stream_params(), **auth_params},
                headers=headers,
                timeout=timeout,
            ) as response:
                result.usage.add(self.api.priced(1, 0))
                self.api.last_headers = response.headers
                kind = response.headers.get("content-type", "")
                if response.status_code != 200 or "json" not in kind:
                    await response.aread()
                    self._refused(response, result)
                    return result
                result.connected = True
                async for chunk in response.aiter_bytes():
                    buffer += chunk
                    *complete, buffer = buffer.split(b"\n")
                    await self._record(complete, result)
        except PollError as exc:
            result.fail(exc)
        except httpx.ReadTimeout:
            result.detail = f"nothing from X for {self.read_timeout:g} s (no keep-alive)"
        except httpx.TimeoutException:
            result.fail(PollError(StreamStatus.TIMEOUT, "no answer in time"))
        except httpx.TransportError as exc:
            if result.connected:
                result.detail = f"the connection dropped ({type(exc).__name__})"
            else:
                result.fail(
                    PollError(
                        StreamStatus.NETWORK_ERROR,
                        f"cannot reach {self.api.base_url}: {type(exc).__name__}",
                    )
                )
        finally:
            if buffer.strip():
                # Cut by the disconnection: kept as it arrived, ingestion quarantines it.
                self.log.append_bytes(buffer.rstrip(b"\r"))
                result.pages += 1
                result.lines += 1
                result.truncated += 1
                result.errors.append({"truncated_line": len(buffer)})
            if result.connected:
                self.log.save_state(self.cursor)
        if result.connected and not result.detail:
            result.detail = "X closed the connection"
        return result

    def _refused(self, response: httpx.Response, result: StreamRound) -> None:
        """A connection X (or something on the way) refused: map it as for any X request."""
        try:
            self.api.read_response(response)
        except PollError as exc:
            result.fail(exc)
            return
        result.fail(
            PollError(
                StreamStatus.BAD_RESPONSE,
                f"the stream answered HTTP {response.status_code} with "
                f"{response.headers.get('content-type', 'no content type')}, not a JSON stream",
            )
        )

    async def _record(self, lines: list[bytes], result: StreamRound) -> None:
        kept: list[bytes] = []
        posts = 0
        for raw in lines:
            line = raw.rstrip(b"\r")
            if not line.strip():
                result.keepalives += 1
                continue
            kept.append(line)
            try:
                message = json.loads(line)
            except ValueError:
                result.errors.append({"unparsable_line": len(line)})
                continue
            posts += _data_count(message)
            result.errors.extend(_errors_of(message))
            post = message.get("data") if isinstance(message, dict) else None
            if isinstance(post, dict) and post.get("id"):
                self.log.cursor = {**self.log.cursor, "last_id": str(post["id"])}
        if not kept:
            return
        await asyncio.to_thread(self.log.append_many, kept)
        result.pages += len(kept)
        result.lines += len(kept)
        result.items += posts
        result.usage.add(self.api.priced(0, posts))

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, read, reconnect as X asks, until `stop` is set. Raises CollectError when
        the token or the request is refused (reconnecting would not help)."""
        await self.open()
        try:
            while not stop.is_set():
                connection = asyncio.ensure_future(self.run_once())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({connection, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if not connection.done():
                    connection.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await connection
                    return
                stopper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stopper
                result = connection.result()
                if self.on_result is not None:
                    self.on_result(result)
                if result.status in NEEDS_A_PERSON or (
                    result.status is StreamStatus.BAD_RESPONSE and _is_client_error(result)
                ):
                    raise CollectError(result)
                wait = self.backoff.delay(result)
                self.waits.append(wait)
                if await pause(self.clock, wait, stop):
                    return
        finally:
            await self.close()


def _is_client_error(result: StreamRound) -> bool:
    """X refused the request itself (400 invalid parameters): the same request fails again."""
    return result.detail.startswith("X rejected the request")
