"""YouTube live chat collector against documented response shapes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jalsa.platforms.base import StreamStatus, Usage
from jalsa.platforms.collect.base import CollectError, CollectResult
from jalsa.platforms.youtube.chat import YouTubeChatCollector, active_live_chat_id
from testkit import BASE_URLS, MockApi, fixture_response, load_fixture

NOW = datetime(2023, 12, 17, 15, 5, tzinfo=UTC)
BASE = BASE_URLS["youtube"]
CHAT = load_fixture("youtube", "chat_page1.json")["items"][0]["snippet"]["liveChatId"]
SOURCE = f"youtube-chat-{CHAT}"


class FakeClock:
    speed = 1.0

    def __init__(self, now: datetime = NOW) -> None:
        self.current = now
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def chat(api: MockApi, tmp_path: Path, clock: FakeClock | None = None, **options: Any) -> Any:
    return YouTubeChatCollector(
        api.client(),
        BASE,
        options.pop("key", "test-key"),
        CHAT,
        dataset_dir=tmp_path,
        clock=clock or FakeClock(),
        **options,
    )


def raw_pages(tmp_path: Path) -> list[Any]:
    text = (tmp_path / "raw" / f"{SOURCE}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


async def test_each_call_is_one_page_with_its_token_and_costs_five_units(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("youtube", "chat_page1.json"),
        fixture_response("youtube", "chat_page2.json"),
    )
    collector = chat(api, tmp_path)
    first = await collector.run_once()
    second = await collector.run_once()
    await collector.close()

    assert (first.pages, first.items, second.items) == (1, 3, 1)
    assert first.usage == Usage(requests=1, quota_units=5)
    assert api.requests[0].url.path == "/youtube/v3/liveChat/messages"
    assert params(api.requests[0]) == {
        "liveChatId": CHAT,
        "part": "snippet,authorDetails",
        "maxResults": "2000",
        "key": "test-key",
    }
    assert params(api.requests[1])["pageToken"] == "GLCJsPX_5YIDIMmo9Pz55YID"
    assert raw_pages(tmp_path) == [
        load_fixture("youtube", "chat_page1.json"),
        load_fixture("youtube", "chat_page2.json"),
    ]
    assert collector.cursor["page_token"] == "GKyb3qX_5YIDILGs4f355YID"


async def test_run_waits_polling_interval_millis_and_stops_when_offline(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("youtube", "chat_page1.json"),  # pollingIntervalMillis 3000
        fixture_response("youtube", "chat_page2.json"),  # 4500
        fixture_response("youtube", "chat_empty.json"),  # 6000
        fixture_response("youtube", "chat_offline.json"),  # offlineAt
    )
    clock = FakeClock()
    seen: list[CollectResult] = []
    collector = chat(api, tmp_path, clock, on_result=seen.append)
    await asyncio.wait_for(collector.run(asyncio.Event()), 5)

    assert clock.sleeps == [3.0, 4.5, 6.0]
    assert seen[-1].finished and "2023-12-17T17:00:02.123Z" in seen[-1].detail
    assert sum(r.quota_units for r in seen) == 20
    assert len(raw_pages(tmp_path)) == 4  # the last page's messages are kept

    # Restarted after the end, it knows the chat is over and asks nothing.
    again = chat(MockApi(), tmp_path)
    result = await again.run_once()
    await again.close()
    assert result.finished and result.requests == 0


@pytest.mark.parametrize(
    ("fixture", "status", "words"),
    [
        ("chat_ended.json", StreamStatus.NOT_LIVE, "has ended"),
        ("chat_disabled.json", StreamStatus.NOT_LIVE, "disabled"),
        ("chat_not_found.json", StreamStatus.NOT_FOUND, "no live chat"),
    ],
)
async def test_the_chat_ending_stops_the_collector_cleanly(
    tmp_path: Path, fixture: str, status: StreamStatus, words: str
) -> None:
    code = load_fixture("youtube", fixture)["error"]["code"]
    api = MockApi(
        fixture_response("youtube", "chat_page1.json"),
        fixture_response("youtube", fixture, code),
    )
    clock = FakeClock()
    seen: list[CollectResult] = []
    collector = chat(api, tmp_path, clock, on_result=seen.append)
    await asyncio.wait_for(collector.run(asyncio.Event()), 5)  # returns, does not raise

    assert seen[-1].status is status and seen[-1].finished and words in seen[-1].detail
    assert seen[-1].quota_units == 5  # YouTube charges failed calls too
    assert clock.sleeps == [3.0]
    assert len(raw_pages(tmp_path)) == 1
    state = json.loads((tmp_path / "raw" / f"{SOURCE}.state.json").read_text())
    assert state["cursor"]["finished"] is True


async def test_a_restart_goes_on_from_the_saved_page_token(tmp_path: Path) -> None:
    api = MockApi(fixture_response("youtube", "chat_page1.json"))
    collector = chat(api, tmp_path)
    await collector.run_once()
    await collector.close()

    api = MockApi(fixture_response("youtube", "chat_page2.json"))
    restarted = chat(api, tmp_path)
    await restarted.run_once()
    await restarted.close()
    assert params(api.last)["pageToken"] == "GLCJsPX_5YIDIMmo9Pz55YID"
    assert [p["etag"] for p in raw_pages(tmp_path)] == [
        load_fixture("youtube", "chat_page1.json")["etag"],
        load_fixture("youtube", "chat_page2.json")["etag"],
    ]


async def test_polling_too_soon_and_quota_are_waits_not_failures_of_the_chat(
    tmp_path: Path,
) -> None:
    api = MockApi(
        fixture_response("youtube", "chat_rate_limited.json", 403),
        fixture_response("youtube", "quota_exceeded.json", 403),
    )
    collector = chat(api, tmp_path)
    limited = await collector.run_once()
    quota = await collector.run_once()
    await collector.close()
    assert limited.status is StreamStatus.RATE_LIMITED and not limited.finished
    assert limited.retry_after == 60.0
    assert quota.status is StreamStatus.QUOTA_EXCEEDED and quota.retry_after
    assert collector.wait_after(limited) >= 60.0


async def test_a_rejected_key_is_a_clear_error(tmp_path: Path) -> None:
    api = MockApi(fixture_response("youtube", "key_invalid.json", 400))
    collector = chat(api, tmp_path)
    with pytest.raises(CollectError, match="JALSA_YOUTUBE_API_KEY"):
        await collector.run(asyncio.Event())


async def test_the_active_chat_of_a_video(tmp_path: Path) -> None:
    api = MockApi(fixture_response("youtube", "video_active_chat.json"))
    usage = Usage()
    found = await active_live_chat_id(api.client(), BASE, "test-key", "jalsaSIM001", usage)
    assert found == CHAT and usage == Usage(requests=1, quota_units=1)
    assert params(api.last) == {
        "part": "liveStreamingDetails",
        "id": "jalsaSIM001",
        "key": "test-key",
    }

    api = MockApi(fixture_response("youtube", "video_active_chat.json"))
    collector = await YouTubeChatCollector.for_video(
        api.client(), BASE, "test-key", "jalsaSIM001", dataset_dir=tmp_path
    )
    assert collector.live_chat_id == CHAT and collector.source == SOURCE

    ended = MockApi(fixture_response("youtube", "ended.json"))
    video = load_fixture("youtube", "ended.json")["items"][0]["id"]
    with pytest.raises(CollectError, match="no active live chat"):
        await YouTubeChatCollector.for_video(
            ended.client(), BASE, "test-key", video, dataset_dir=tmp_path
        )
    unknown = MockApi(httpx.Response(200, json={"items": []}))
    with pytest.raises(CollectError, match="no video"):
        await YouTubeChatCollector.for_video(
            unknown.client(), BASE, "test-key", "nope", dataset_dir=tmp_path
        )


def test_the_collector_takes_its_url_and_key_from_settings(tmp_path: Path) -> None:
    from jalsa.config import Settings

    settings = Settings(youtube_api_key="key-from-env", youtube_base_url="http://sim/youtube/v3")
    collector = YouTubeChatCollector.from_settings(
        httpx.AsyncClient(), settings, CHAT, dataset_dir=tmp_path
    )
    assert collector.api.credential == "key-from-env"
    assert collector.api.base_url == "http://sim/youtube/v3"
    assert collector.log.path == tmp_path / "raw" / f"{SOURCE}.jsonl"
