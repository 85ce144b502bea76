from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from jalsa.platforms.base import PollError, PollResult, Reading, StreamStatus, Target, Usage
from jalsa.platforms.youtube.connector import YouTubeConnector, seconds_until_quota_reset
from testkit import MockApi, fixture_response

NOW = datetime(2023, 12, 17, 15, 5, tzinfo=UTC)
TARGET = Target("jLs4Dc17Lhr")


async def poll(api: MockApi, now: datetime = NOW, target: Target = TARGET) -> PollResult:
    connector = api.connector(YouTubeConnector, credential="AIza-test-key")
    result: PollResult = await connector.poll(target, now)
    return result


async def poll_many(
    api: MockApi, targets: list[Target], now: datetime = NOW
) -> tuple[list[PollResult | PollError], Usage]:
    connector = api.connector(YouTubeConnector, credential="AIza-test-key")
    outcomes: list[PollResult | PollError]
    outcomes, usage = await connector.poll_many(targets, now)
    return outcomes, usage


async def test_live_reads_concurrent_viewers_and_views() -> None:
    api = MockApi(fixture_response("youtube", "live.json"))
    result = await poll(api)

    assert result.status is StreamStatus.OK
    assert result.readings == [
        Reading("youtube.concurrent_viewers", 48213),
        Reading("youtube.view_count", 184230),
    ]
    assert result.usage == Usage(requests=1, quota_units=1)


async def test_request_is_videos_list_with_key_param() -> None:
    api = MockApi(fixture_response("youtube", "live.json"))
    await poll(api)

    request = api.last
    assert request.method == "GET"
    assert request.url.host == "www.googleapis.com"
    assert request.url.path == "/youtube/v3/videos"
    assert dict(request.url.params) == {
        "part": "liveStreamingDetails,statistics",
        "id": "jLs4Dc17Lhr",
        "key": "AIza-test-key",
    }
    assert "authorization" not in request.headers


@pytest.mark.parametrize(
    ("fixture", "video_id", "views", "why"),
    [
        ("ended.json", "jLs4Dc17Lhr", 1210554, "ended at 2023-12-17T18:31:40Z"),
        ("upcoming.json", "jLs4Dc17Lhr", 0, "not started (scheduled for 2023-12-17T15:00:00Z)"),
        ("viewers_hidden.json", "jLs4Dc17Lhr", 52011, "no concurrent viewer count"),
        # An ordinary upload, asked for by its own id.
        ("not_live_video.json", "aB3dE5gH7jK", 9032, "not a live broadcast"),
    ],
)
async def test_not_live_keeps_only_the_view_count(
    fixture: str, video_id: str, views: int, why: str
) -> None:
    result = await poll(MockApi(fixture_response("youtube", fixture)), target=Target(video_id))

    assert result.status is StreamStatus.NOT_LIVE
    assert result.readings == [Reading("youtube.view_count", views)]
    assert why in result.detail
    assert result.usage.quota_units == 1


async def test_empty_items_is_not_found_and_still_costs_a_unit() -> None:
    with pytest.raises(PollError) as caught:
        await poll(MockApi(fixture_response("youtube", "not_found.json")))

    assert caught.value.status is StreamStatus.NOT_FOUND
    assert "jLs4Dc17Lhr" in caught.value.detail
    assert caught.value.usage == Usage(requests=1, quota_units=1)


async def test_quota_exceeded_waits_until_midnight_pacific() -> None:
    api = MockApi(fixture_response("youtube", "quota_exceeded.json", status=403))
    with pytest.raises(PollError) as caught:
        await poll(api)

    error = caught.value
    assert error.status is StreamStatus.QUOTA_EXCEEDED
    # 15:05 UTC on 17 Dec is 07:05 PST; the quota resets at 08:00 UTC on 18 Dec.
    assert error.retry_after == pytest.approx(16 * 3600 + 55 * 60)
    assert error.usage == Usage(requests=1, quota_units=1)
    assert error.http_status == 403
    assert "<a" not in error.detail


def test_quota_reset_follows_daylight_saving_time() -> None:
    # In July Los Angeles is on PDT (UTC-7): midnight is 07:00 UTC.
    summer = datetime(2024, 7, 1, 6, 0, tzinfo=UTC)
    assert seconds_until_quota_reset(summer) == 3600
    winter = datetime(2024, 1, 1, 7, 0, tzinfo=UTC)
    assert seconds_until_quota_reset(winter) == 3600


async def test_rate_limit_exceeded_is_rate_limited() -> None:
    api = MockApi(fixture_response("youtube", "rate_limit_exceeded.json", status=403))
    with pytest.raises(PollError) as caught:
        await poll(api)

    assert caught.value.status is StreamStatus.RATE_LIMITED
    assert caught.value.retry_after == 60.0


@pytest.mark.parametrize(
    ("fixture", "status", "hint"),
    [
        ("key_invalid.json", 400, "check the API key in JALSA_YOUTUBE_API_KEY"),
        ("key_invalid_legacy.json", 400, "check the API key"),
        ("key_expired.json", 400, "has expired"),
        ("auth_error.json", 401, "check the API key"),
        ("access_not_configured.json", 403, "enable the YouTube Data API v3"),
    ],
)
async def test_key_problems_are_auth_failed(fixture: str, status: int, hint: str) -> None:
    api = MockApi(fixture_response("youtube", fixture, status=status))
    with pytest.raises(PollError) as caught:
        await poll(api)

    assert caught.value.status is StreamStatus.AUTH_FAILED
    assert hint in caught.value.detail
    assert caught.value.usage.quota_units == 1


async def test_an_ordinary_bad_request_is_not_blamed_on_the_key() -> None:
    body = {
        "error": {
            "code": 400,
            "message": "The request specifies an invalid filter parameter.",
            "errors": [{"domain": "youtube.parameter", "reason": "invalidFilters"}],
        }
    }
    with pytest.raises(PollError) as caught:
        await poll(MockApi(httpx.Response(400, json=body)))

    assert caught.value.status is StreamStatus.BAD_RESPONSE


async def test_view_count_must_be_a_count() -> None:
    body = {"items": [{"id": "jLs4Dc17Lhr", "statistics": {"viewCount": "many"}}]}
    with pytest.raises(PollError) as caught:
        await poll(MockApi(httpx.Response(200, json=body)))

    assert caught.value.status is StreamStatus.BAD_RESPONSE
    assert "viewCount" in caught.value.detail
    assert caught.value.usage.quota_units == 1


async def test_an_item_for_another_id_is_not_taken_for_the_target() -> None:
    # The answer holds a video, but not the one asked for: the target is not found.
    with pytest.raises(PollError) as caught:
        await poll(MockApi(fixture_response("youtube", "not_live_video.json")))

    assert caught.value.status is StreamStatus.NOT_FOUND
    assert "jLs4Dc17Lhr" in caught.value.detail


# --- several videos in one request ----------------------------------------------------------

LIVE, UPLOAD, MISSING = Target("jLs4Dc17Lhr"), Target("aB3dE5gH7jK"), Target("zZ9yY8xX7wV")


def test_batch_size_is_the_videos_list_limit() -> None:
    assert YouTubeConnector.batch_size == 50


async def test_poll_many_asks_for_every_id_in_one_request() -> None:
    api = MockApi(fixture_response("youtube", "batch_some_found.json"))
    await poll_many(api, [MISSING, LIVE, UPLOAD])

    (request,) = api.requests
    assert request.url.path == "/youtube/v3/videos"
    assert dict(request.url.params) == {
        "part": "liveStreamingDetails,statistics",
        "id": "zZ9yY8xX7wV,jLs4Dc17Lhr,aB3dE5gH7jK",
        "key": "AIza-test-key",
    }


async def test_poll_many_gives_each_target_its_own_outcome_in_target_order() -> None:
    # YouTube lists the upload before the live video and leaves out the unknown id.
    api = MockApi(fixture_response("youtube", "batch_some_found.json"))
    outcomes, usage = await poll_many(api, [MISSING, LIVE, UPLOAD])

    missing, live, upload = outcomes
    assert isinstance(missing, PollError)
    assert missing.status is StreamStatus.NOT_FOUND
    assert "zZ9yY8xX7wV" in missing.detail
    assert isinstance(live, PollResult)
    assert live.status is StreamStatus.OK
    assert live.readings == [
        Reading("youtube.concurrent_viewers", 48213),
        Reading("youtube.view_count", 184230),
    ]
    assert isinstance(upload, PollResult)
    assert upload.status is StreamStatus.NOT_LIVE
    assert upload.readings == [Reading("youtube.view_count", 9032)]
    assert "not a live broadcast" in upload.detail
    # One request, one quota unit, however many ids it carried.
    assert usage == Usage(requests=1, quota_units=1)


async def test_poll_many_with_no_id_found_is_not_found_for_each() -> None:
    api = MockApi(fixture_response("youtube", "not_found.json"))
    outcomes, usage = await poll_many(api, [LIVE, MISSING])

    assert [o.status for o in outcomes] == [StreamStatus.NOT_FOUND, StreamStatus.NOT_FOUND]
    assert "jLs4Dc17Lhr" in outcomes[0].detail
    assert "zZ9yY8xX7wV" in outcomes[1].detail
    assert usage == Usage(requests=1, quota_units=1)
    assert len(api.requests) == 1


async def test_a_bad_item_fails_only_its_own_target() -> None:
    body = {
        "items": [
            {"id": "jLs4Dc17Lhr", "statistics": {"viewCount": "many"}},
            {"id": "aB3dE5gH7jK", "statistics": {"viewCount": "9032"}},
        ]
    }
    outcomes, usage = await poll_many(MockApi(httpx.Response(200, json=body)), [LIVE, UPLOAD])

    bad, good = outcomes
    assert isinstance(bad, PollError)
    assert bad.status is StreamStatus.BAD_RESPONSE
    assert "viewCount" in bad.detail
    assert isinstance(good, PollResult)
    assert good.readings == [Reading("youtube.view_count", 9032)]
    assert usage == Usage(requests=1, quota_units=1)


def _garbled() -> httpx.Response:
    return httpx.Response(
        200, content=b'{"items": [{"id": "jLs4', headers={"content-type": "application/json"}
    )


REQUEST_FAILURES: dict[str, tuple[Callable[[], httpx.Response], StreamStatus]] = {
    "quota": (
        lambda: fixture_response("youtube", "quota_exceeded.json", status=403),
        StreamStatus.QUOTA_EXCEEDED,
    ),
    "key": (
        lambda: fixture_response("youtube", "key_invalid.json", status=400),
        StreamStatus.AUTH_FAILED,
    ),
    "401": (
        lambda: fixture_response("youtube", "auth_error.json", status=401),
        StreamStatus.AUTH_FAILED,
    ),
    "garbled": (_garbled, StreamStatus.BAD_RESPONSE),
    "no-items": (lambda: httpx.Response(200, json={"kind": "x"}), StreamStatus.BAD_RESPONSE),
    "503": (lambda: httpx.Response(503, text="Service Unavailable"), StreamStatus.SERVER_ERROR),
}


@pytest.mark.parametrize("failure", sorted(REQUEST_FAILURES))
async def test_a_failed_request_is_every_targets_outcome_and_costs_one_unit(
    failure: str,
) -> None:
    make, status = REQUEST_FAILURES[failure]
    api = MockApi(make())
    outcomes, usage = await poll_many(api, [LIVE, UPLOAD, MISSING])

    assert len(api.requests) == 1
    assert len(outcomes) == 3
    assert all(isinstance(o, PollError) and o.status is status for o in outcomes)
    assert usage == Usage(requests=1, quota_units=1)


async def test_quota_exceeded_in_a_batch_waits_until_midnight_pacific_for_each() -> None:
    api = MockApi(fixture_response("youtube", "quota_exceeded.json", status=403))
    outcomes, _ = await poll_many(api, [LIVE, UPLOAD])

    for outcome in outcomes:
        assert isinstance(outcome, PollError)
        assert outcome.retry_after == pytest.approx(16 * 3600 + 55 * 60)
        assert outcome.http_status == 403


def test_expected_usage_is_one_unit_whatever_the_batch() -> None:
    connector = YouTubeConnector(httpx.AsyncClient(), "http://yt", "k")
    assert connector.expected_usage() == Usage(requests=1, quota_units=1)
    assert connector.expected_usage(50) == Usage(requests=1, quota_units=1)
