from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from jalsa.platforms.base import PollError, PollResult, Reading, StreamStatus, Target, Usage
from jalsa.platforms.youtube import YouTubeConnector, seconds_until_quota_reset
from testkit import MockApi, fixture_response

NOW = datetime(2023, 12, 17, 15, 5, tzinfo=UTC)
TARGET = Target("jLs4Dc17Lhr")


async def poll(api: MockApi, now: datetime = NOW) -> PollResult:
    connector = api.connector(YouTubeConnector, credential="AIza-test-key")
    result: PollResult = await connector.poll(TARGET, now)
    return result


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
    ("fixture", "views", "why"),
    [
        ("ended.json", 1210554, "ended at 2023-12-17T18:31:40Z"),
        ("upcoming.json", 0, "not started (scheduled for 2023-12-17T15:00:00Z)"),
        ("viewers_hidden.json", 52011, "no concurrent viewer count"),
        ("not_live_video.json", 9032, "not a live broadcast"),
    ],
)
async def test_not_live_keeps_only_the_view_count(fixture: str, views: int, why: str) -> None:
    result = await poll(MockApi(fixture_response("youtube", fixture)))

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
