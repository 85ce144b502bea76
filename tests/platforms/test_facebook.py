from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from jalsa.platforms.base import PollError, PollResult, Reading, StreamStatus, Target, Usage
from jalsa.platforms.facebook.connector import FacebookConnector
from testkit import MockApi, fixture_response

NOW = datetime(2023, 12, 17, 15, 5, tzinfo=UTC)
LIVE_ID = "1071398870644579"
VIDEO_ID = "1071398877311245"


async def poll(api: MockApi) -> PollResult:
    connector = api.connector(FacebookConnector, credential="EAAB-page-token")
    result: PollResult = await connector.poll(Target(LIVE_ID), NOW)
    return result


async def test_live_reads_live_views_then_video_insights() -> None:
    api = MockApi(
        fixture_response("facebook", "live_video_live.json"),
        fixture_response("facebook", "video_insights.json"),
    )
    result = await poll(api)

    assert result.status is StreamStatus.OK
    assert result.readings == [
        Reading("facebook.live_views", 31877),
        Reading("facebook.total_video_views", 402115),
        Reading("facebook.total_video_views_unique", 250937),
    ]
    assert result.usage == Usage(requests=2)
    assert result.detail == ""


async def test_requests_carry_fields_metrics_and_token() -> None:
    api = MockApi(
        fixture_response("facebook", "live_video_live.json"),
        fixture_response("facebook", "video_insights.json"),
    )
    await poll(api)

    first, second = api.requests
    assert first.url.host == "graph.facebook.com"
    assert first.url.path == f"/v21.0/{LIVE_ID}"
    assert dict(first.url.params) == {
        "fields": "status,live_views,video",
        "access_token": "EAAB-page-token",
    }
    assert second.url.path == f"/v21.0/{VIDEO_ID}/video_insights"
    assert dict(second.url.params) == {
        "metric": "total_video_views,total_video_views_unique",
        "access_token": "EAAB-page-token",
    }


async def test_stopped_broadcast_is_not_live_but_keeps_insights() -> None:
    api = MockApi(
        fixture_response("facebook", "live_video_stopped.json"),
        fixture_response("facebook", "video_insights.json"),
    )
    result = await poll(api)

    assert result.status is StreamStatus.NOT_LIVE
    assert [r.metric for r in result.readings] == [
        "facebook.total_video_views",
        "facebook.total_video_views_unique",
    ]
    assert "LIVE_STOPPED" in result.detail


async def test_scheduled_without_video_makes_one_request() -> None:
    api = MockApi(fixture_response("facebook", "live_video_scheduled.json"))
    result = await poll(api)

    assert result.status is StreamStatus.NOT_LIVE
    assert result.readings == []
    assert len(api.requests) == 1
    assert "SCHEDULED_UNPUBLISHED" in result.detail


async def test_insights_permission_error_keeps_live_views() -> None:
    api = MockApi(
        fixture_response("facebook", "live_video_live.json"),
        fixture_response("facebook", "error_insights_permission.json", status=403),
    )
    result = await poll(api)

    assert result.status is StreamStatus.OK
    assert result.readings == [Reading("facebook.live_views", 31877)]
    assert "video insights unavailable" in result.detail
    assert "pages_read_engagement" in result.detail
    assert result.usage.requests == 2


async def test_expired_token_is_auth_failed_with_a_clear_message() -> None:
    api = MockApi(fixture_response("facebook", "error_token_expired.json", status=400))
    with pytest.raises(PollError) as caught:
        await poll(api)

    error = caught.value
    assert error.status is StreamStatus.AUTH_FAILED
    assert "access token has expired" in error.detail
    assert "JALSA_FACEBOOK_ACCESS_TOKEN" in error.detail
    assert error.usage == Usage(requests=1)
    assert len(api.requests) == 1


async def test_invalid_token_without_subcode_is_auth_failed() -> None:
    api = MockApi(fixture_response("facebook", "error_token_invalid.json", status=400))
    with pytest.raises(PollError) as caught:
        await poll(api)

    assert caught.value.status is StreamStatus.AUTH_FAILED
    assert "invalid or has expired" in caught.value.detail


async def test_throttled_waits_as_the_business_use_case_header_says() -> None:
    usage = {
        "1071398870644579": [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 12,
                "total_time": 9,
                "estimated_time_to_regain_access": 7,
            }
        ]
    }
    api = MockApi(
        fixture_response(
            "facebook",
            "error_throttled_page.json",
            status=400,
            headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
        )
    )
    with pytest.raises(PollError) as caught:
        await poll(api)

    assert caught.value.status is StreamStatus.RATE_LIMITED
    assert caught.value.retry_after == 7 * 60


async def test_throttled_without_estimate_uses_the_default_backoff() -> None:
    api = MockApi(
        fixture_response(
            "facebook",
            "error_throttled_app.json",
            status=403,
            headers={"X-App-Usage": '{"call_count":100,"total_cputime":20,"total_time":25}'},
        )
    )
    with pytest.raises(PollError) as caught:
        await poll(api)

    assert caught.value.status is StreamStatus.RATE_LIMITED
    assert caught.value.retry_after == FacebookConnector.throttle_backoff


async def test_missing_object_is_not_found() -> None:
    api = MockApi(fixture_response("facebook", "error_not_found.json", status=400))
    with pytest.raises(PollError) as caught:
        await poll(api)

    assert caught.value.status is StreamStatus.NOT_FOUND
    assert "LiveVideo id" in caught.value.detail


async def test_wrong_kind_of_id_is_reported_with_graphs_message() -> None:
    api = MockApi(fixture_response("facebook", "error_nonexisting_field.json", status=400))
    with pytest.raises(PollError) as caught:
        await poll(api)

    assert caught.value.status is StreamStatus.BAD_RESPONSE
    assert "nonexisting field (live_views)" in caught.value.detail


async def test_temporary_graph_error_is_a_server_error() -> None:
    api = MockApi(fixture_response("facebook", "error_temporary.json", status=500))
    with pytest.raises(PollError) as caught:
        await poll(api)

    assert caught.value.status is StreamStatus.SERVER_ERROR
    assert caught.value.retry_after == FacebookConnector.temporary_backoff


async def test_live_without_live_views_is_a_bad_shape() -> None:
    api = MockApi(httpx.Response(200, json={"status": "LIVE", "id": LIVE_ID}))
    with pytest.raises(PollError) as caught:
        await poll(api)

    assert caught.value.status is StreamStatus.BAD_RESPONSE
    assert "live_views" in caught.value.detail
    assert caught.value.usage == Usage(requests=1)


async def test_insights_missing_a_metric_says_so() -> None:
    insights = json.loads(fixture_response("facebook", "video_insights.json").content)
    insights["data"] = insights["data"][:1]
    api = MockApi(
        fixture_response("facebook", "live_video_live.json"),
        httpx.Response(200, json=insights),
    )
    result = await poll(api)

    assert [r.metric for r in result.readings] == [
        "facebook.live_views",
        "facebook.total_video_views",
    ]
    assert "total_video_views_unique" in result.detail


async def test_path_escapes_a_mistyped_id() -> None:
    api = MockApi(fixture_response("facebook", "error_not_found.json", status=400))
    connector = api.connector(FacebookConnector)
    with pytest.raises(PollError):
        await connector.poll(Target("123/video_insights?x=1"), NOW)

    assert api.last.url.raw_path.split(b"?")[0] == b"/v21.0/123%2Fvideo_insights%3Fx%3D1"
