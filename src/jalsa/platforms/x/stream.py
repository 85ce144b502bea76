"""The X API v2 filtered stream: its rules (kept at X: listed, added, deleted, set to exactly
a wanted set) and one long connection read line by line into the raw log `x-stream.jsonl`,
exactly as the lines arrived (truncated ones included), reconnecting as X's policy asks.

Requests (app-only Bearer token, as for the other X collectors in collect.py):
  GET {base}/tweets/search/stream?tweet.fields=..&expansions=..&user.fields=..
  GET/POST {base}/tweets/search/stream/rules[?dry_run=true]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import httpx

from jalsa.config import Settings
from jalsa.platforms.base import PollError, StreamStatus, shape_error
from jalsa.platforms.collect.base import NEEDS_A_PERSON, CollectError, CollectResult, pause
from jalsa.platforms.x.collect import (
    POST_FIELDS,
    XCollector,
    XOptions,
    XRulesApi,
    data_count,
    errors_of,
)

STREAM_PATH = "/tweets/search/stream"
RULES_PATH = "/tweets/search/stream/rules"


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


class XStreamCollector(XCollector):
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
            outcome["errors"].extend(errors_of(answer))
        if missing:
            answer = await self.add_rules(missing, dry_run=dry_run)
            data = answer.get("data")
            outcome["added"] = data if isinstance(data, list) else []
            outcome["errors"].extend(errors_of(answer))
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
            posts += data_count(message)
            result.errors.extend(errors_of(message))
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
