from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from jalsa.config import Settings
from jalsa.platforms.base import PollError, PollResult, Reading, StreamStatus, Target, Usage
from jalsa.platforms.x.connector import XCountsConnector, XSpaceConnector
from testkit import MockApi, fixture_response

NOW = datetime(2023, 12, 17, 15, 5, tzinfo=UTC)
SPACE = Target("1YqJDqWYNQDGW")
PRICES = {"usd_per_request": 0.01, "usd_per_resource": 0.005}


async def poll_space(api: MockApi, target: Target = SPACE) -> PollResult:
    connector = api.connector(XSpaceConnector, credential="AAAA-bearer", **PRICES)
    result: PollResult = await connector.poll(target, NOW)
    return result


async def poll_spaces(
    api: MockApi, targets: list[Target]
) -> tuple[list[PollResult | PollError], Usage]:
    connector = api.connector(XSpaceConnector, credential="AAAA-bearer", **PRICES)
    outcomes: list[PollResult | PollError]
    outcomes, usage = await connector.poll_many(targets, NOW)
    return outcomes, usage


async def poll_counts(api: MockApi, target: Target, now: datetime = NOW) -> PollResult:
    connector = api.connector(XCountsConnector, credential="AAAA-bearer", **PRICES)
    result: PollResult = await connector.poll(target, now)
    return result


# --- Spaces ---------------------------------------------------------------------------------


async def test_live_space_reads_participants_and_subscribers() -> None:
    api = MockApi(fixture_response("x", "space_live.json"))
    result = await poll_space(api)

    assert result.status is StreamStatus.OK
    assert result.readings == [
        Reading("x_space.participant_count", 58730),
        Reading("x_space.subscriber_count", 4120),
    ]
    assert result.usage == Usage(requests=1, billed_resources=1, cost_usd=pytest.approx(0.015))


async def test_space_request_uses_bearer_header_and_fields() -> None:
    api = MockApi(fixture_response("x", "space_live.json"))
    await poll_space(api)

    request = api.last
    assert request.url.host == "api.x.com"
    # The multi-Space lookup, even for one id.
    assert request.url.path == "/2/spaces"
    assert dict(request.url.params) == {
        "ids": "1YqJDqWYNQDGW",
        "space.fields": "state,participant_count,subscriber_count,started_at,ended_at,title",
    }
    assert request.headers["authorization"] == "Bearer AAAA-bearer"


async def test_scheduled_space_is_not_live_with_subscribers() -> None:
    result = await poll_space(MockApi(fixture_response("x", "space_scheduled.json")))

    assert result.status is StreamStatus.NOT_LIVE
    assert result.readings == [Reading("x_space.subscriber_count", 3911)]
    assert "scheduled" in result.detail


async def test_ended_space_does_not_report_participants() -> None:
    result = await poll_space(MockApi(fixture_response("x", "space_ended.json")))

    assert result.status is StreamStatus.NOT_LIVE
    assert result.readings == [Reading("x_space.subscriber_count", 4120)]
    assert "2023-12-17T18:40:51.000Z" in result.detail


async def test_not_found_comes_as_200_with_errors() -> None:
    with pytest.raises(PollError) as caught:
        await poll_space(
            MockApi(fixture_response("x", "space_not_found.json")), Target("1YqJDqWYNQDGX")
        )

    error = caught.value
    assert error.status is StreamStatus.NOT_FOUND
    assert "Could not find space with ids: [1YqJDqWYNQDGX]." in error.detail
    assert error.http_status == 200
    # No Space came back, so no resource is billed; the request itself is.
    assert error.usage == Usage(requests=1, billed_resources=0, cost_usd=pytest.approx(0.01))


async def test_invalid_space_id_is_not_found_without_a_request() -> None:
    # X would reject the whole lookup for it, so a malformed id is never sent.
    api = MockApi()
    with pytest.raises(PollError) as caught:
        await poll_space(api, Target("https://x.com/i/spaces/1YqJDqWYNQDGW"))

    assert caught.value.status is StreamStatus.NOT_FOUND
    assert "does not match" in caught.value.detail
    assert "/i/spaces/" in caught.value.detail  # the help says which part of the URL to give
    assert api.requests == []
    assert caught.value.usage == Usage()


async def test_invalid_request_from_x_is_not_found() -> None:
    # Should X still reject an id (its rules may change), its reason reaches the team.
    api = MockApi(fixture_response("x", "space_invalid_id.json", status=400))
    with pytest.raises(PollError) as caught:
        await poll_space(api)

    assert caught.value.status is StreamStatus.NOT_FOUND
    assert "does not match" in caught.value.detail
    assert caught.value.http_status == 400
    assert caught.value.usage == Usage(requests=1, billed_resources=0, cost_usd=pytest.approx(0.01))


async def test_unauthorized_is_auth_failed() -> None:
    api = MockApi(fixture_response("x", "unauthorized.json", status=401))
    with pytest.raises(PollError) as caught:
        await poll_space(api)

    assert caught.value.status is StreamStatus.AUTH_FAILED
    assert "JALSA_X_BEARER_TOKEN" in caught.value.detail


async def test_client_forbidden_explains_the_project_requirement() -> None:
    api = MockApi(fixture_response("x", "client_forbidden.json", status=403))
    with pytest.raises(PollError) as caught:
        await poll_space(api)

    assert caught.value.status is StreamStatus.AUTH_FAILED
    assert "attached to a Project" in caught.value.detail


async def test_429_waits_until_x_rate_limit_reset() -> None:
    reset = int(datetime.now(UTC).timestamp()) + 600
    api = MockApi(
        fixture_response(
            "x",
            "too_many_requests.json",
            status=429,
            headers={
                "x-rate-limit-limit": "300",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
            },
        )
    )
    with pytest.raises(PollError) as caught:
        await poll_space(api)

    assert caught.value.status is StreamStatus.RATE_LIMITED
    assert caught.value.retry_after == pytest.approx(600, abs=5)


async def test_usage_cap_is_quota_exceeded() -> None:
    api = MockApi(fixture_response("x", "usage_capped.json", status=429))
    with pytest.raises(PollError) as caught:
        await poll_space(api)

    assert caught.value.status is StreamStatus.QUOTA_EXCEEDED
    assert "Monthly product cap" in caught.value.detail


async def test_the_single_space_shape_is_a_bad_response() -> None:
    # `data` as one object is the /2/spaces/{id} shape, not the lookup's list.
    body = {"data": {"id": "1YqJDqWYNQDGW", "state": "live", "participant_count": 5}}
    with pytest.raises(PollError) as caught:
        await poll_space(MockApi(httpx.Response(200, json=body)))

    assert caught.value.status is StreamStatus.BAD_RESPONSE
    assert "data list" in caught.value.detail
    assert caught.value.usage == Usage(requests=1, billed_resources=0, cost_usd=pytest.approx(0.01))


def test_prices_come_from_settings() -> None:
    settings = Settings(
        x_bearer_token="from-settings",
        x_base_url="http://127.0.0.1:9999/2/",
        x_usd_per_request=0.002,
        x_usd_per_resource=0.01,
    )
    connector = XSpaceConnector.from_settings(httpx.AsyncClient(), settings)

    assert connector.credential == "from-settings"
    assert connector.base_url == "http://127.0.0.1:9999/2"
    assert connector.expected_usage() == Usage(
        requests=1, billed_resources=1, cost_usd=pytest.approx(0.012)
    )


def test_default_prices_match_the_settings_defaults() -> None:
    connector = XSpaceConnector(httpx.AsyncClient(), "http://x", "t")
    fields = Settings.model_fields
    assert connector.usd_per_request == fields["x_usd_per_request"].default
    assert connector.usd_per_resource == fields["x_usd_per_resource"].default


# --- several Spaces in one request ---------------------------------------------------------

LIVE, SCHEDULED, GONE = Target("1YqJDqWYNQDGW"), Target("1dRJZlbLkjPGB"), Target("1YqJDqWYNQDGX")


def test_batch_size_is_the_lookup_limit() -> None:
    assert XSpaceConnector.batch_size == 100


async def test_poll_many_asks_for_every_id_in_one_request() -> None:
    api = MockApi(fixture_response("x", "spaces_some_found.json"))
    await poll_spaces(api, [GONE, SCHEDULED, LIVE])

    (request,) = api.requests
    assert request.url.path == "/2/spaces"
    assert dict(request.url.params) == {
        "ids": "1YqJDqWYNQDGX,1dRJZlbLkjPGB,1YqJDqWYNQDGW",
        "space.fields": "state,participant_count,subscriber_count,started_at,ended_at,title",
    }
    assert request.headers["authorization"] == "Bearer AAAA-bearer"


async def test_poll_many_gives_each_target_its_own_outcome_in_target_order() -> None:
    # X lists the found Spaces in `data` and the unknown id in `errors`.
    api = MockApi(fixture_response("x", "spaces_some_found.json"))
    outcomes, usage = await poll_spaces(api, [GONE, SCHEDULED, LIVE])

    gone, scheduled, live = outcomes
    assert isinstance(gone, PollError)
    assert gone.status is StreamStatus.NOT_FOUND
    assert "Could not find space with ids: [1YqJDqWYNQDGX]." in gone.detail
    assert gone.http_status == 200
    assert isinstance(scheduled, PollResult)
    assert scheduled.status is StreamStatus.NOT_LIVE
    assert scheduled.readings == [Reading("x_space.subscriber_count", 1877)]
    assert isinstance(live, PollResult)
    assert live.status is StreamStatus.OK
    assert live.readings == [
        Reading("x_space.participant_count", 58730),
        Reading("x_space.subscriber_count", 4120),
    ]
    # One request, and the two Spaces X returned: 0.01 + 2 x 0.005.
    assert usage == Usage(requests=1, billed_resources=2, cost_usd=pytest.approx(0.02))


async def test_poll_many_with_no_space_found_names_each_id() -> None:
    # X answers 200 with only `errors`, one per id.
    body = {
        "errors": [
            {
                "value": space_id,
                "detail": f"Could not find space with ids: [{space_id}].",
                "title": "Not Found Error",
                "resource_type": "space",
                "parameter": "ids",
                "resource_id": space_id,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            for space_id in ("1YqJDqWYNQDGX", "1dRJZlbLkjPGB")
        ]
    }
    api = MockApi(httpx.Response(200, json=body))
    outcomes, usage = await poll_spaces(api, [SCHEDULED, GONE])

    assert len(api.requests) == 1
    assert [o.status for o in outcomes] == [StreamStatus.NOT_FOUND, StreamStatus.NOT_FOUND]
    assert "[1dRJZlbLkjPGB]" in outcomes[0].detail
    assert "[1YqJDqWYNQDGX]" in outcomes[1].detail
    assert usage == Usage(requests=1, billed_resources=0, cost_usd=pytest.approx(0.01))


async def test_a_malformed_id_is_left_out_of_the_request_and_fails_alone() -> None:
    api = MockApi(fixture_response("x", "space_live.json"))
    url = Target("https://x.com/i/spaces/1YqJDqWYNQDGW")
    outcomes, usage = await poll_spaces(api, [url, LIVE])

    (request,) = api.requests
    assert request.url.params["ids"] == "1YqJDqWYNQDGW"
    bad, live = outcomes
    assert isinstance(bad, PollError)
    assert bad.status is StreamStatus.NOT_FOUND
    assert "does not match" in bad.detail
    assert isinstance(live, PollResult)
    assert live.status is StreamStatus.OK
    assert usage == Usage(requests=1, billed_resources=1, cost_usd=pytest.approx(0.015))


async def test_a_repeated_id_is_asked_for_once() -> None:
    api = MockApi(fixture_response("x", "space_live.json"))
    outcomes, _ = await poll_spaces(api, [LIVE, LIVE])

    assert api.last.url.params["ids"] == "1YqJDqWYNQDGW"
    assert [o.status for o in outcomes] == [StreamStatus.OK, StreamStatus.OK]


async def test_a_bad_space_fails_only_its_own_target() -> None:
    body = {
        "data": [
            {"id": "1YqJDqWYNQDGW", "title": "no state"},
            {"id": "1dRJZlbLkjPGB", "state": "scheduled", "subscriber_count": 1877},
        ]
    }
    outcomes, usage = await poll_spaces(MockApi(httpx.Response(200, json=body)), [LIVE, SCHEDULED])

    bad, good = outcomes
    assert isinstance(bad, PollError)
    assert bad.status is StreamStatus.BAD_RESPONSE
    assert "state" in bad.detail
    assert isinstance(good, PollResult)
    assert good.status is StreamStatus.NOT_LIVE
    assert usage == Usage(requests=1, billed_resources=2, cost_usd=pytest.approx(0.02))


def _garbled() -> httpx.Response:
    return httpx.Response(
        200, content=b'{"data": [{"id": "1YqJ', headers={"content-type": "application/json"}
    )


REQUEST_FAILURES: dict[str, tuple[Callable[[], httpx.Response], StreamStatus]] = {
    "usage-cap": (
        lambda: fixture_response("x", "usage_capped.json", status=429),
        StreamStatus.QUOTA_EXCEEDED,
    ),
    "401": (
        lambda: fixture_response("x", "unauthorized.json", status=401),
        StreamStatus.AUTH_FAILED,
    ),
    "403": (
        lambda: fixture_response("x", "client_forbidden.json", status=403),
        StreamStatus.AUTH_FAILED,
    ),
    "429": (
        lambda: fixture_response("x", "too_many_requests.json", status=429),
        StreamStatus.RATE_LIMITED,
    ),
    "invalid-request": (
        lambda: fixture_response("x", "space_invalid_id.json", status=400),
        StreamStatus.NOT_FOUND,
    ),
    "garbled": (_garbled, StreamStatus.BAD_RESPONSE),
    "no-data": (lambda: httpx.Response(200, json={"meta": {}}), StreamStatus.BAD_RESPONSE),
    "503": (lambda: httpx.Response(503, text="Service Unavailable"), StreamStatus.SERVER_ERROR),
}


@pytest.mark.parametrize("failure", sorted(REQUEST_FAILURES))
async def test_a_failed_request_is_every_targets_outcome_and_costs_one_request(
    failure: str,
) -> None:
    make, status = REQUEST_FAILURES[failure]
    api = MockApi(make())
    outcomes, usage = await poll_spaces(api, [LIVE, SCHEDULED, GONE])

    assert len(api.requests) == 1
    assert len(outcomes) == 3
    assert all(isinstance(o, PollError) and o.status is status for o in outcomes)
    # Counted once for the batch: the request, and no Space returned.
    assert usage == Usage(requests=1, billed_resources=0, cost_usd=pytest.approx(0.01))


async def test_a_failed_request_keeps_a_malformed_ids_own_reason() -> None:
    api = MockApi(fixture_response("x", "unauthorized.json", status=401))
    url = Target("https://x.com/i/spaces/1YqJDqWYNQDGW")
    outcomes, _ = await poll_spaces(api, [LIVE, url])

    assert [o.status for o in outcomes] == [StreamStatus.AUTH_FAILED, StreamStatus.NOT_FOUND]
    assert "does not match" in outcomes[1].detail


async def test_only_malformed_ids_make_no_request() -> None:
    api = MockApi()
    outcomes, usage = await poll_spaces(api, [Target("not a space!"), Target("")])

    assert api.requests == []
    assert [o.status for o in outcomes] == [StreamStatus.NOT_FOUND, StreamStatus.NOT_FOUND]
    assert usage == Usage()


@pytest.mark.parametrize("batch", [1, 2, 50, 100])
def test_expected_usage_grows_with_the_batch(batch: int) -> None:
    connector = XSpaceConnector(httpx.AsyncClient(), "http://x", "t", **PRICES)
    assert connector.expected_usage(batch) == Usage(
        requests=1, billed_resources=batch, cost_usd=pytest.approx(0.01 + batch * 0.005)
    )


def test_expected_usage_of_a_bigger_batch_costs_more() -> None:
    connector = XSpaceConnector(httpx.AsyncClient(), "http://x", "t", **PRICES)
    assert connector.expected_usage() == connector.expected_usage(1)
    one, many = connector.expected_usage(1), connector.expected_usage(20)
    assert many.requests == one.requests == 1
    assert many.billed_resources > one.billed_resources
    assert many.cost_usd > one.cost_usd


# --- Counts ---------------------------------------------------------------------------------

QUERY = "#VirtualJalsa OR #جلسہ"


async def test_counts_follow_pagination_and_date_every_bucket() -> None:
    api = MockApi(
        fixture_response("x", "counts_page1.json"),
        fixture_response("x", "counts_page2.json"),
    )
    since = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)
    result = await poll_counts(api, Target("tags", query=QUERY, since=since))

    assert result.status is StreamStatus.OK
    at = [datetime(2023, 12, 17, 15, m, tzinfo=UTC) for m in range(5)]
    assert result.readings == [
        Reading("x.posts_per_minute", 42, at[0]),
        Reading("x.posts_per_minute", 318, at[1]),
        Reading("x.posts_per_minute", 1207, at[2]),
        Reading("x.posts_per_minute", 2950, at[3]),
        Reading("x.posts_per_minute", 1333, at[4]),
    ]
    assert all(r.observed_at and r.observed_at.utcoffset() == timedelta(0) for r in result.readings)
    assert result.usage == Usage(requests=2, billed_resources=5, cost_usd=pytest.approx(0.045))

    first, second = api.requests
    assert first.url.path == "/2/tweets/counts/recent"
    assert dict(first.url.params) == {
        "query": QUERY,
        "granularity": "minute",
        "start_time": "2023-12-17T15:00:00Z",
    }
    assert first.headers["authorization"] == "Bearer AAAA-bearer"
    assert second.url.params["next_token"] == "1jzu9lk96gu5npw2bqjdrp3ed8kspd8oowkwhw1kicsd"
    assert second.url.params["start_time"] == "2023-12-17T15:00:00Z"


async def test_counts_stop_after_max_pages() -> None:
    pages = [fixture_response("x", "counts_page1.json") for _ in range(XCountsConnector.max_pages)]
    api = MockApi(*pages)
    result = await poll_counts(api, Target("tags", query=QUERY, since=NOW - timedelta(hours=1)))

    assert len(api.requests) == XCountsConnector.max_pages
    assert "stopped after" in result.detail


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        # older than X's 7-day window: clamped inside it
        (NOW - timedelta(days=30), "2023-12-10T15:06:00Z"),
        # in the future or too recent: moved at least a minute back
        (NOW + timedelta(minutes=5), "2023-12-17T15:04:00Z"),
        (NOW - timedelta(seconds=5), "2023-12-17T15:04:00Z"),
        # ordinary: sent as is, at second precision
        (NOW - timedelta(minutes=3, microseconds=250), "2023-12-17T15:01:59Z"),
        # unknown: the default look-back
        (None, "2023-12-17T14:50:00Z"),
    ],
)
async def test_start_time_is_clamped(since: datetime | None, expected: str) -> None:
    api = MockApi(fixture_response("x", "counts_page2.json"))
    await poll_counts(api, Target("tags", query=QUERY, since=since))

    assert api.last.url.params["start_time"] == expected


async def test_counts_without_query_make_no_request() -> None:
    api = MockApi()
    with pytest.raises(PollError) as caught:
        await poll_counts(api, Target("tags", query="  "))

    assert caught.value.status is StreamStatus.NOT_FOUND
    assert "hashtags" in caught.value.detail
    assert api.requests == []


async def test_invalid_query_is_a_bad_request() -> None:
    api = MockApi(fixture_response("x", "counts_invalid_query.json", status=400))
    with pytest.raises(PollError) as caught:
        await poll_counts(api, Target("tags", query="#"))

    assert caught.value.status is StreamStatus.BAD_RESPONSE
    assert "invalid field" in caught.value.detail


async def test_failure_on_a_later_page_carries_the_whole_spend() -> None:
    api = MockApi(
        fixture_response("x", "counts_page1.json"),
        httpx.Response(503, text="Service Unavailable"),
    )
    with pytest.raises(PollError) as caught:
        await poll_counts(api, Target("tags", query=QUERY, since=NOW - timedelta(minutes=5)))

    assert caught.value.status is StreamStatus.SERVER_ERROR
    assert caught.value.usage == Usage(
        requests=2, billed_resources=3, cost_usd=pytest.approx(0.035)
    )


async def test_bucket_without_a_start_is_a_bad_shape() -> None:
    body = {"data": [{"end": "2023-12-17T15:01:00.000Z", "tweet_count": 4}], "meta": {}}
    with pytest.raises(PollError) as caught:
        await poll_counts(MockApi(httpx.Response(200, json=body)), Target("t", query=QUERY))

    assert caught.value.status is StreamStatus.BAD_RESPONSE
    assert "data[0].start" in caught.value.detail


async def test_bucket_times_are_converted_to_utc() -> None:
    body = {"data": [{"start": "2023-12-17T20:00:00.000+05:00", "tweet_count": 9}], "meta": {}}
    result = await poll_counts(MockApi(httpx.Response(200, json=body)), Target("t", query=QUERY))

    (reading,) = result.readings
    assert reading.observed_at == datetime(2023, 12, 17, 15, 0, tzinfo=UTC)
    assert reading.observed_at is not None and reading.observed_at.tzinfo is UTC
