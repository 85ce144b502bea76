"""X (Twitter) API v2: live listeners of a Space, and posts per minute matching the event's
hashtags.

Requests (app-only Bearer token in the Authorization header):
  GET {base}/spaces?ids={id1},{id2},..&space.fields=state,participant_count,subscriber_count,
      started_at,ended_at,title            (up to 100 Spaces in one request)
  GET {base}/tweets/counts/recent?query={q}&granularity=minute&start_time={iso}[&next_token=..]

X bills pay-per-use: a price per request plus a price per resource returned (a Space looked up,
a count bucket); both prices come from Settings so the spend forecast matches the team's plan.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from jalsa.config import Settings
from jalsa.platforms.base import (
    BatchConnector,
    Connector,
    Dated,
    PollError,
    PollResult,
    Reading,
    StreamStatus,
    Target,
    Usage,
    as_count,
    charge_errors,
    entries_by_id,
    first_readable,
    parse_retry_after,
    shape_error,
)

_PRICE_FIELDS = Settings.model_fields
DEFAULT_USD_PER_REQUEST: float = _PRICE_FIELDS["x_usd_per_request"].default
DEFAULT_USD_PER_RESOURCE: float = _PRICE_FIELDS["x_usd_per_resource"].default

# What X accepts as a Space id; one id that does not match fails the whole lookup with a 400.
SPACE_ID = re.compile(r"[a-zA-Z0-9]{1,13}")


def price(requests: int, resources: int, usd_per_request: float, usd_per_resource: float) -> Usage:
    """The spend of `requests` requests returning `resources` billed resources at these prices."""
    return Usage(
        requests=requests,
        billed_resources=resources,
        cost_usd=requests * usd_per_request + resources * usd_per_resource,
    )


class XConnector(Connector):
    """Base of the X connectors: Bearer auth, X's error bodies and pay-per-use billing."""

    platform = "x"
    credential_setting = "x_bearer_token"
    base_url_setting = "x_base_url"
    spend = ("cost_usd", "US$")
    # What a 400 "invalid-request" means for this connector's only user input.
    invalid_request_status = StreamStatus.BAD_RESPONSE

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        credential: str | None,
        *,
        usd_per_request: float = DEFAULT_USD_PER_REQUEST,
        usd_per_resource: float = DEFAULT_USD_PER_RESOURCE,
    ) -> None:
        super().__init__(client, base_url, credential)
        self.usd_per_request = usd_per_request
        self.usd_per_resource = usd_per_resource

    @classmethod
    def settings_options(cls, settings: Settings) -> dict[str, Any]:
        return {
            "usd_per_request": settings.x_usd_per_request,
            "usd_per_resource": settings.x_usd_per_resource,
        }

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {"Authorization": f"Bearer {self.credential}"}, {}

    @abstractmethod
    def billed_resources(self, payload: Any) -> int:
        """Resources X bills for one successful answer."""

    def priced(self, requests: int, resources: int) -> Usage:
        return price(requests, resources, self.usd_per_request, self.usd_per_resource)

    def expected_usage(self, batch: int = 1) -> Usage:
        units = self.expected_units(batch)
        return self.priced(units.requests, units.billed_resources)

    @classmethod
    def planned_usage(cls, settings: Settings, batch: int = 1) -> Usage:
        units = cls.expected_units(batch)
        return price(
            units.requests,
            units.billed_resources,
            settings.x_usd_per_request,
            settings.x_usd_per_resource,
        )

    def request_usage(self, payload: Any) -> Usage:
        resources = self.billed_resources(payload) if payload is not None else 0
        return self.priced(1, resources)

    def platform_error(
        self, status_code: int, payload: Any, headers: httpx.Headers
    ) -> PollError | None:
        if not isinstance(payload, dict):
            return None
        errors = [e for e in payload.get("errors") or [] if isinstance(e, dict)]
        first = errors[0] if errors else {}
        problem = str(payload.get("type") or first.get("type") or "")
        said = str(
            payload.get("detail") or first.get("detail") or first.get("message") or ""
        ).strip()
        env = f"JALSA_{self.credential_setting.upper()}"
        if status_code == 200:
            if "data" in payload or not errors:
                return None
            return self.missing_resource(first)
        if status_code == 401:
            return PollError(
                StreamStatus.AUTH_FAILED,
                f"X rejected the bearer token (401 {said or 'Unauthorized'}): "
                f"set {env} to your X app's bearer token",
            )
        if status_code == 403:
            return PollError(
                StreamStatus.AUTH_FAILED,
                f"X refused access (403 {payload.get('title') or 'Forbidden'}): {said} "
                "Check that the app is in a project and its plan includes this endpoint.",
            )
        if problem.endswith("/usage-capped"):
            return PollError(
                StreamStatus.QUOTA_EXCEEDED,
                f"X usage cap reached: {said}",
                retry_after=parse_retry_after(headers),
            )
        if status_code == 400 and errors:
            # The top-level detail is generic; each error names the parameter at fault.
            why = "; ".join(str(e.get("message") or e.get("detail") or "") for e in errors)
            return PollError(self.invalid_request_status, f"X rejected the request: {why}")
        return None

    def missing_resource(self, error: dict[str, Any]) -> PollError:
        """HTTP 200 with `errors` and no `data`: what was asked for is not there."""
        said = error.get("detail") or error.get("title") or "not found"
        return PollError(StreamStatus.NOT_FOUND, f"X: {said}")


class XSpaceConnector(XConnector, BatchConnector):
    kind = "x_space"
    title = "X Space"
    id_help = "the Space id: the part after /i/spaces/ in its URL, e.g. 1YqJDqWYNQDGW"
    metrics = ("x_space.participant_count", "x_space.subscriber_count")
    interval_setting = "x_space_interval"
    batch_size = 100  # GET /2/spaces takes up to 100 ids
    invalid_request_status = StreamStatus.NOT_FOUND
    fields = "state,participant_count,subscriber_count,started_at,ended_at,title"

    def billed_resources(self, payload: Any) -> int:
        data = payload.get("data") if isinstance(payload, dict) else None
        return len(data) if isinstance(data, list) else 0

    def platform_error(
        self, status_code: int, payload: Any, headers: httpx.Headers
    ) -> PollError | None:
        # A 200 with `errors` names the ids X does not know, one error each (and has no `data`
        # when it knows none of them): per-id outcomes, read in `poll_many`, not a failure of
        # the whole request that would tell every stream about the first unknown id.
        if status_code == 200:
            return None
        return super().platform_error(status_code, payload, headers)

    def missing_resource(self, error: dict[str, Any]) -> PollError:
        said = error.get("detail") or error.get("title") or "not found"
        return PollError(
            StreamStatus.NOT_FOUND,
            f"X: {said} Check the id; X removes a Space from the API soon after it ends.",
            http_status=200,
        )

    def malformed_id(self, space_id: str) -> PollError:
        return PollError(
            StreamStatus.NOT_FOUND,
            f"{space_id!r} does not match X's Space id pattern (1 to 13 letters and digits), "
            f"so it was not sent to X: give {self.id_help}",
        )

    @classmethod
    def expected_units(cls, batch: int = 1) -> Usage:
        return Usage(requests=1, billed_resources=batch)

    async def poll_many(
        self, targets: Sequence[Target], now: datetime
    ) -> tuple[list[PollResult | PollError], Usage]:
        """One Spaces lookup for up to 100 ids; ids X does not know come back in `errors`.
        Ids X would reject are kept out of the request, so they cannot fail the others."""
        usage = Usage()
        ids = [t.external_id.strip() for t in targets]
        sent = [i for i in dict.fromkeys(ids) if SPACE_ID.fullmatch(i)]
        spaces: list[Any] = []
        errors: list[Any] = []
        if sent:
            try:
                with charge_errors(usage):
                    payload = await self.fetch(
                        usage, "/spaces", {"ids": ",".join(sent), "space.fields": self.fields}
                    )
                    spaces, errors = self._lookup(payload)
            except PollError as exc:
                wanted = set(sent)
                failed: list[PollResult | PollError] = [
                    exc if i in wanted else self.malformed_id(i) for i in ids
                ]
                return failed, exc.usage
        by_id = entries_by_id(spaces)
        missing = {
            str(e.get("value") or e.get("resource_id")): e for e in errors if isinstance(e, dict)
        }
        outcomes: list[PollResult | PollError] = []
        for space_id in ids:
            if not SPACE_ID.fullmatch(space_id):
                outcomes.append(self.malformed_id(space_id))
                continue
            found = by_id.get(space_id)
            if not found:
                outcomes.append(self.missing_resource(missing.get(space_id, {})))
                continue
            outcomes.append(first_readable(found, self._read))
        return outcomes, usage

    @staticmethod
    def _lookup(payload: Any) -> tuple[list[Any], list[Any]]:
        """(data, errors) of a Spaces lookup; `data` is absent when no id was found."""
        if not isinstance(payload, dict):
            raise shape_error("Spaces lookup answer is not an object")
        errors = payload.get("errors")
        spaces = payload.get("data", [] if errors else None)
        if not isinstance(spaces, list):
            raise shape_error("Spaces lookup has no data list")
        # Malformed `errors` cost only the reasons of unknown ids, not the Spaces found.
        return spaces, errors if isinstance(errors, list) else []

    def _read(self, space: dict[str, Any]) -> PollResult:
        state = space.get("state")
        if not isinstance(state, str):
            raise shape_error("Space has no state")
        readings: list[Reading] = []
        if state == "live":
            count = as_count(space.get("participant_count"), "participant_count")
            readings.append(Reading("x_space.participant_count", count))
        if "subscriber_count" in space:
            subscribers = as_count(space["subscriber_count"], "subscriber_count")
            readings.append(Reading("x_space.subscriber_count", subscribers))
        if state == "live":
            return PollResult(StreamStatus.OK, readings)
        when = space.get("ended_at") if state == "ended" else None
        detail = f"the Space is {state}" + (f" (ended at {when})" if when else "")
        return PollResult(StreamStatus.NOT_LIVE, readings, detail=detail)


class XCountsConnector(XConnector):
    kind = "x_counts"
    title = "X posts per minute"
    id_help = "a name for the query stream; the query itself is the event's hashtags"
    metrics = ("x.posts_per_minute",)
    interval_setting = "x_counts_interval"

    path = "/tweets/counts/recent"
    max_pages = 5
    # X's recent endpoint covers the last 7 days; stay a minute inside for clock skew.
    window = timedelta(days=7) - timedelta(minutes=1)
    # X wants end_time at least 10 s before the request and defaults it to 30 s before; the
    # start must precede it, so keep the start a minute back, which also absorbs clock skew.
    min_age = timedelta(seconds=60)
    # Without `target.since`, count this far back.
    default_lookback = timedelta(minutes=15)
    # Where a poll starts (`target`): two minutes before the latest bucket read, since X
    # revises a bucket while it is open; the first poll, this long before the event starts.
    reread = timedelta(minutes=2)
    first_lookback = timedelta(minutes=30)
    # Forecast: re-reading from two minutes before the latest bucket, a poll returns about
    # three buckets.
    expected_buckets = 3

    def billed_resources(self, payload: Any) -> int:
        data = payload.get("data") if isinstance(payload, dict) else None
        return len(data) if isinstance(data, list) else 0

    @classmethod
    def expected_units(cls, batch: int = 1) -> Usage:
        return Usage(requests=1, billed_resources=cls.expected_buckets)

    @classmethod
    def target(
        cls,
        external_id: str,
        *,
        query: str | None,
        starts_at: datetime,
        latest: Mapping[str, Dated],
    ) -> Target:
        """The event's query, counted from two minutes before the latest bucket read (X
        revises a bucket while it is still open), or from `first_lookback` before the event
        starts when none was read yet."""
        last = latest.get(cls.metrics[0])
        since = last.at - cls.reread if last else starts_at - cls.first_lookback
        return Target(external_id, query=query, since=since)

    def start_time(self, since: datetime | None, now: datetime) -> datetime:
        """The start_time to send: `since`, kept inside X's recent window and in the past."""
        start = since if since is not None else now - self.default_lookback
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        start = min(max(start, now - self.window), now - self.min_age)
        return start.astimezone(UTC).replace(microsecond=0)

    async def poll(self, target: Target, now: datetime) -> PollResult:
        if not target.query or not target.query.strip():
            raise PollError(
                StreamStatus.NOT_FOUND,
                "this X posts-per-minute stream has no query: give the event its hashtags",
            )
        start = self.start_time(target.since, now)
        params = {
            "query": target.query.strip(),
            "granularity": "minute",
            "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        usage = Usage()
        readings: list[Reading] = []
        bad: list[PollError] = []
        notes: list[str] = []
        with charge_errors(usage):
            for _ in range(self.max_pages):
                payload = await self.fetch(usage, self.path, params)
                if not isinstance(payload, dict):
                    raise shape_error("counts answer is not an object")
                found, failed = self._buckets(payload.get("data", []))
                readings.extend(found)
                bad.extend(failed)
                meta = payload.get("meta")
                token = meta.get("next_token") if isinstance(meta, dict) else None
                if not token or not isinstance(token, str | int) or isinstance(token, bool):
                    break
                params = {**params, "next_token": str(token)}
            else:
                notes.append(f"stopped after {self.max_pages} pages; older buckets not fetched")
            if bad and not readings:
                raise bad[0]
        if bad:
            notes.append(f"{len(bad)} malformed bucket(s) skipped, e.g. {bad[0].detail}")
        return PollResult(StreamStatus.OK, readings, usage, "; ".join(notes))

    @staticmethod
    def _buckets(data: Any) -> tuple[list[Reading], list[PollError]]:
        """The readings of a page's count buckets, and why each malformed one was skipped (a
        bad bucket beside good ones costs only itself)."""
        if not isinstance(data, list):
            raise shape_error("counts data is not a list")
        readings = []
        bad = []
        for i, bucket in enumerate(data):
            try:
                if not isinstance(bucket, dict):
                    raise shape_error(f"counts data[{i}] is not an object")
                readings.append(
                    Reading(
                        "x.posts_per_minute",
                        as_count(bucket.get("tweet_count"), f"data[{i}].tweet_count"),
                        observed_at=_parse_time(bucket.get("start"), f"data[{i}].start"),
                    )
                )
            except PollError as exc:
                bad.append(exc)
        return readings, bad


def _parse_time(value: Any, what: str) -> datetime:
    """An aware UTC datetime from X's `2023-12-17T15:00:00.000Z`."""
    if not isinstance(value, str):
        raise shape_error(f"{what} is not a timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise shape_error(f"{what} is not a timestamp: {value!r:.80}") from None
    if parsed.tzinfo is None:
        raise shape_error(f"{what} has no time zone: {value!r:.80}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, or year 9999 west of it
        raise shape_error(f"{what} is out of range: {value!r:.80}") from None
