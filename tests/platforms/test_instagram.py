from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from jalsa.platforms.base import PollError, PollResult, Reading, StreamStatus, Target, Usage
from jalsa.platforms.graph import GraphConnector
from jalsa.platforms.instagram.connector import InstagramConnector
from testkit import MockApi, fixture_response

NOW = datetime(2023, 12, 17, 15, 5, tzinfo=UTC)
IG_USER = "17841405822304914"


async def poll(api: MockApi) -> PollResult:
    connector = api.connector(InstagramConnector, credential="IGQV-token")
    result: PollResult = await connector.poll(Target(IG_USER), NOW)
    return result


async def test_live_counts_broadcasts_and_comments() -> None:
    api = MockApi(fixture_response("instagram", "live_media_live.json"))
    result = await poll(api)

    assert result.status is StreamStatus.OK
    assert result.readings == [
        Reading("instagram.live_media", 1),
        Reading("instagram.live_comments", 1841),
    ]
    assert result.usage == Usage(requests=1)


async def test_request_asks_live_media_fields_with_token() -> None:
    api = MockApi(fixture_response("instagram", "live_media_live.json"))
    await poll(api)

    assert api.last.url.path == f"/v21.0/{IG_USER}/live_media"
    assert dict(api.last.url.params) == {
        "fields": "id,media_type,media_product_type,timestamp,comments_count",
        "access_token": "IGQV-token",
    }


async def test_two_broadcasts_sum_their_comments() -> None:
    result = await poll(MockApi(fixture_response("instagram", "live_media_two.json")))

    assert result.readings == [
        Reading("instagram.live_media", 2),
        Reading("instagram.live_comments", 1853),
    ]


async def test_no_live_media_is_not_live_and_stores_zero() -> None:
    result = await poll(MockApi(fixture_response("instagram", "live_media_empty.json")))

    assert result.status is StreamStatus.NOT_LIVE
    assert result.readings == [Reading("instagram.live_media", 0)]


async def test_missing_comments_count_keeps_the_broadcast_count() -> None:
    body = {"data": [{"id": "1", "media_type": "BROADCAST", "media_product_type": "LIVE"}]}
    result = await poll(MockApi(httpx.Response(200, json=body)))

    assert result.status is StreamStatus.OK
    assert result.readings == [Reading("instagram.live_media", 1)]
    assert "comments unknown" in result.detail


def test_graph_errors_are_mapped_in_one_shared_place() -> None:
    from jalsa.platforms.facebook.connector import FacebookConnector

    assert issubclass(InstagramConnector, GraphConnector)
    assert issubclass(FacebookConnector, GraphConnector)
    assert "platform_error" not in vars(InstagramConnector)
    assert "platform_error" not in vars(FacebookConnector)


@pytest.mark.parametrize(
    ("fixture", "http", "status", "words"),
    [
        ("error_token_expired.json", 400, StreamStatus.AUTH_FAILED, "JALSA_INSTAGRAM_ACCESS_TOKEN"),
        ("error_throttled_buc.json", 400, StreamStatus.RATE_LIMITED, "too many calls"),
        ("error_not_found.json", 400, StreamStatus.NOT_FOUND, "IG User id"),
    ],
)
async def test_graph_errors(fixture: str, http: int, status: StreamStatus, words: str) -> None:
    with pytest.raises(PollError) as caught:
        await poll(MockApi(fixture_response("instagram", fixture, status=http)))

    assert caught.value.status is status
    assert words in caught.value.detail
    assert caught.value.usage == Usage(requests=1)
