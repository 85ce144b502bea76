"""Facebook comments collector against documented Graph response shapes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jalsa.platforms.base import StreamStatus
from jalsa.platforms.collect.base import CollectError
from jalsa.platforms.facebook.comments import FacebookCommentsCollector
from testkit import BASE_URLS, MockApi, fixture_response, load_fixture

NOW = datetime(2023, 12, 17, 15, 6, tzinfo=UTC)
BASE = BASE_URLS["facebook"]
LIVE = "1817000000000001"
SOURCE = f"facebook-comments-{LIVE}"
FIXTURE_TOKEN = "EAAGm0PX4ZCpsBAKZCZCZAbcdefTESTTOKEN"
FIELDS = (
    "id,message,created_time,from{id,name},parent{id},like_count,comment_count,"
    "attachment{type,url},permalink_url"
)


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


def comments(api: MockApi, tmp_path: Path, **options: Any) -> Any:
    return FacebookCommentsCollector(
        api.client(),
        BASE,
        options.pop("token", "test-token"),
        LIVE,
        dataset_dir=tmp_path,
        clock=options.pop("clock", None) or FakeClock(),
        **options,
    )


def raw_text(tmp_path: Path) -> str:
    return (tmp_path / "raw" / f"{SOURCE}.jsonl").read_text(encoding="utf-8")


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


async def test_cursor_pagination_to_the_last_page(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("facebook", "comments_page1.json"),
        fixture_response("facebook", "comments_page2.json"),
    )
    collector = comments(api, tmp_path)
    result = await collector.run_once()
    await collector.close()

    assert result.status is StreamStatus.OK
    assert (result.pages, result.items, result.requests, result.more) == (2, 5, 2, False)
    first, second = (params(r) for r in api.requests)
    assert api.requests[0].url.path == f"/v21.0/{LIVE}/comments"
    assert first == {
        "fields": FIELDS,
        "order": "reverse_chronological",
        "filter": "stream",
        "live_filter": "no_filter",
        "limit": "100",
        "access_token": "test-token",
    }
    after = load_fixture("facebook", "comments_page1.json")["paging"]["cursors"]["after"]
    assert second == {**first, "after": after}
    # The newest comment seen bounds the next round.
    newest = int(datetime(2023, 12, 17, 15, 5, 7, tzinfo=UTC).timestamp())
    assert collector.cursor == {"since": newest, "round": None}


async def test_pages_are_logged_as_sent_but_without_the_token(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("facebook", "comments_page1.json"),
        fixture_response("facebook", "comments_page2.json"),
    )
    collector = comments(api, tmp_path)
    await collector.run_once()
    await collector.close()

    text = raw_text(tmp_path)
    assert FIXTURE_TOKEN not in text
    pages = [json.loads(line) for line in text.splitlines()]
    expected = load_fixture("facebook", "comments_page1.json")
    assert pages[0]["data"] == expected["data"]
    assert pages[0]["paging"]["cursors"] == expected["paging"]["cursors"]
    assert pages[0]["paging"]["next"] == expected["paging"]["next"].replace(FIXTURE_TOKEN, "***")
    assert pages[1]["data"][0]["comment_count"] == 1
    assert "parent" in pages[0]["data"][1]


async def test_the_next_round_starts_at_the_newest_comment_seen(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("facebook", "comments_page1.json"),
        fixture_response("facebook", "comments_page2.json"),
        fixture_response("facebook", "comments_newer.json"),
        fixture_response("facebook", "comments_empty.json"),
    )
    collector = comments(api, tmp_path)
    await collector.run_once()
    newer = await collector.run_once()
    empty = await collector.run_once()
    await collector.close()

    since = str(int(datetime(2023, 12, 17, 15, 5, 7, tzinfo=UTC).timestamp()))
    assert params(api.requests[2])["since"] == since and "after" not in params(api.requests[2])
    newest = int(datetime(2023, 12, 17, 15, 5, 31, tzinfo=UTC).timestamp())
    assert params(api.requests[3])["since"] == str(newest)
    assert (newer.items, empty.items) == (3, 0)
    assert collector.cursor["since"] == newest


async def test_the_first_round_can_start_at_a_time(tmp_path: Path) -> None:
    api = MockApi(fixture_response("facebook", "comments_empty.json"))
    collector = comments(api, tmp_path, since=datetime(2023, 12, 17, 15, 0, tzinfo=UTC))
    await collector.run_once()
    await collector.close()
    assert params(api.last)["since"] == str(int(datetime(2023, 12, 17, 15, tzinfo=UTC).timestamp()))


async def test_a_restart_goes_on_with_the_saved_cursor(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("facebook", "comments_page1.json"),
        fixture_response("facebook", "error_temporary.json", 500),
    )
    collector = comments(api, tmp_path)
    failed = await collector.run_once()
    await collector.close()
    assert failed.status is StreamStatus.SERVER_ERROR and failed.pages == 1

    api = MockApi(fixture_response("facebook", "comments_page2.json"))
    restarted = comments(api, tmp_path)
    result = await restarted.run_once()
    await restarted.close()
    after = load_fixture("facebook", "comments_page1.json")["paging"]["cursors"]["after"]
    assert params(api.last)["after"] == after and len(api.requests) == 1
    assert result.pages == 1 and len(raw_text(tmp_path).splitlines()) == 2


async def test_an_expired_token_is_a_clear_error(tmp_path: Path) -> None:
    api = MockApi(fixture_response("facebook", "error_token_expired.json", 400))
    collector = comments(api, tmp_path)
    with pytest.raises(CollectError, match="JALSA_FACEBOOK_ACCESS_TOKEN") as caught:
        await collector.run(asyncio.Event())
    assert "expired" in str(caught.value)
    assert caught.value.result.status is StreamStatus.AUTH_FAILED


async def test_throttling_waits_as_long_as_meta_says(tmp_path: Path) -> None:
    regain = json.dumps(
        {"1817": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    )
    api = MockApi(
        fixture_response(
            "facebook", "error_throttled_page.json", 400, {"x-business-use-case-usage": regain}
        ),
        fixture_response("facebook", "comments_empty.json"),
    )
    clock = FakeClock()
    stop = asyncio.Event()
    collector = comments(api, tmp_path, clock=clock, on_result=lambda r: r.pages and stop.set())
    await collector.run(stop)
    assert clock.sleeps == [420.0]


async def test_a_page_cap_leaves_the_rest_for_the_next_round(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("facebook", "comments_page1.json"),
        fixture_response("facebook", "comments_page2.json"),
    )
    collector = comments(api, tmp_path, max_pages=1)
    cut = await collector.run_once()
    assert cut.more and collector.wait_after(cut) == 0.0
    rest = await collector.run_once()
    await collector.close()
    assert not rest.more and "after" in params(api.last)


def test_the_collector_takes_its_url_token_and_interval_from_settings(tmp_path: Path) -> None:
    from jalsa.config import Settings

    settings = Settings(
        facebook_access_token="token-from-env",
        facebook_base_url="http://sim/graph/v21.0",
        facebook_interval=20.0,
    )
    collector = FacebookCommentsCollector.from_settings(
        httpx.AsyncClient(), settings, LIVE, dataset_dir=tmp_path
    )
    assert collector.api.credential == "token-from-env" and collector.interval == 20.0
    assert collector.log.path == tmp_path / "raw" / f"{SOURCE}.jsonl"
