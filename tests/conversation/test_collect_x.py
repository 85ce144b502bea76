"""X collectors against documented response shapes: recent search, counts, the filtered stream
and its rules."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jalsa.platforms.base import StreamStatus
from jalsa.platforms.collect.base import CollectError, CollectResult
from jalsa.platforms.x.collect import XCountsCollector, XSearchCollector
from jalsa.platforms.x.stream import StreamBackoff, StreamRound, XStreamCollector
from testkit import BASE_URLS, MockApi, fixture_response, load_fixture

NOW = datetime(2023, 12, 17, 15, 6, tzinfo=UTC)
BASE = BASE_URLS["x"]
QUERY = "#PTIVirtualJalsa"
PRICES = {"usd_per_request": 0.01, "usd_per_resource": 0.005}


class FakeClock:
    """Simulated time: sleeping records the wait and moves the clock, nothing really waits."""

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


def x_collector(
    kind: Callable[..., Any],
    api: MockApi,
    tmp_path: Path,
    *query: str,
    clock: FakeClock | None = None,
    token: str | None = "AAAA-bearer",
    **options: Any,
) -> Any:
    """A collector of `kind` on the mock transport, at the test prices, on a fake clock."""
    return kind(
        api.client(),
        BASE,
        token,
        *query,
        dataset_dir=tmp_path,
        clock=clock or FakeClock(),
        **{**PRICES, **options},
    )


def search(api: MockApi, tmp_path: Path, clock: FakeClock | None = None, **options: Any) -> Any:
    return x_collector(XSearchCollector, api, tmp_path, QUERY, clock=clock, **options)


def raw_lines(tmp_path: Path, source: str) -> list[bytes]:
    return (tmp_path / "raw" / f"{source}.jsonl").read_bytes().split(b"\n")[:-1]


def raw_pages(tmp_path: Path, source: str) -> list[Any]:
    return [json.loads(line) for line in raw_lines(tmp_path, source)]


def state(tmp_path: Path, source: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "raw" / f"{source}.state.json").read_text())
    return data


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


# --- recent search --------------------------------------------------------------------------


async def test_search_pages_to_the_last_page_and_logs_every_page_verbatim(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("x", "search_page1.json"), fixture_response("x", "search_page2.json")
    )
    collector = search(api, tmp_path)
    result = await collector.run_once()
    await collector.close()

    assert result.status is StreamStatus.OK
    assert (result.pages, result.items, result.more, result.errors) == (2, 5, False, [])
    assert result.usage.requests == 2 and result.usage.billed_resources == 5
    assert result.cost_usd == pytest.approx(2 * 0.01 + 5 * 0.005)
    first, second = (params(r) for r in api.requests)
    assert api.requests[0].url.path == "/2/tweets/search/recent"
    assert api.requests[0].headers["authorization"] == "Bearer AAAA-bearer"
    assert first == {
        "query": QUERY,
        "max_results": "100",
        "tweet.fields": "created_at,lang,author_id,conversation_id,entities,referenced_tweets,"
        "public_metrics,in_reply_to_user_id",
        "expansions": "author_id,referenced_tweets.id",
        "user.fields": "created_at,username,name",
    }
    assert second == {**first, "next_token": "b26v89c19zqg8o3frr3tl1ihbb1nfgx6s0x9hk2ftx6wt"}
    assert raw_pages(tmp_path, "x-search") == [
        load_fixture("x", "search_page1.json"),
        load_fixture("x", "search_page2.json"),
    ]
    newest = load_fixture("x", "search_page1.json")["meta"]["newest_id"]
    assert state(tmp_path, "x-search")["cursor"] == {"since_id": newest, "round": None}


async def test_the_next_round_asks_only_for_newer_posts(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("x", "search_page1.json"),
        fixture_response("x", "search_page2.json"),
        fixture_response("x", "search_newer.json"),
        fixture_response("x", "search_empty.json"),
    )
    collector = search(api, tmp_path)
    await collector.run_once()
    newer = await collector.run_once()
    empty = await collector.run_once()
    await collector.close()

    since = load_fixture("x", "search_page1.json")["meta"]["newest_id"]
    newest = load_fixture("x", "search_newer.json")["meta"]["newest_id"]
    assert params(api.requests[2])["since_id"] == since
    assert "next_token" not in params(api.requests[2])
    assert params(api.requests[3])["since_id"] == newest
    assert (newer.items, empty.items, empty.pages) == (1, 0, 1)
    assert collector.cursor["since_id"] == newest  # an empty page does not lose it


async def test_the_first_round_starts_at_start_time(tmp_path: Path) -> None:
    api = MockApi(fixture_response("x", "search_empty.json"))
    collector = search(api, tmp_path, start_time=datetime(2023, 12, 17, 14, 45, tzinfo=UTC))
    await collector.run_once()
    await collector.close()
    assert params(api.last)["start_time"] == "2023-12-17T14:45:00Z"
    assert "since_id" not in params(api.last)


async def test_a_restart_resumes_mid_round_without_fetching_a_page_twice(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("x", "search_page1.json"),
        httpx.Response(503, text="upstream connect error"),
    )
    collector = search(api, tmp_path)
    failed = await collector.run_once()
    await collector.close()
    assert failed.status is StreamStatus.SERVER_ERROR and failed.pages == 1
    assert failed.usage.requests == 2

    # A new process: same dataset, fresh collector.
    api = MockApi(fixture_response("x", "search_page2.json"))
    restarted = search(api, tmp_path)
    result = await restarted.run_once()
    await restarted.close()
    assert params(api.last)["next_token"] == "b26v89c19zqg8o3frr3tl1ihbb1nfgx6s0x9hk2ftx6wt"
    assert result.pages == 1 and len(api.requests) == 1
    assert raw_pages(tmp_path, "x-search") == [
        load_fixture("x", "search_page1.json"),
        load_fixture("x", "search_page2.json"),
    ]
    assert (
        restarted.cursor["since_id"] == load_fixture("x", "search_page1.json")["meta"]["newest_id"]
    )


async def test_a_crash_between_the_page_and_the_state_does_not_refetch_it(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("x", "search_page1.json"),
        httpx.Response(503, text="upstream connect error"),
    )
    collector = search(api, tmp_path)
    state_file = tmp_path / "raw" / "x-search.state.json"
    await collector.open()
    before = state_file.read_bytes()
    await collector.run_once()
    await collector.close()
    state_file.write_bytes(before)  # the state save after page 1 never happened

    api = MockApi(fixture_response("x", "search_page2.json"))
    restarted = search(api, tmp_path)
    await restarted.run_once()
    await restarted.close()
    assert [params(r).get("next_token") for r in api.requests] == [
        "b26v89c19zqg8o3frr3tl1ihbb1nfgx6s0x9hk2ftx6wt"
    ]
    assert len(raw_lines(tmp_path, "x-search")) == 2


async def test_429_waits_until_x_says_the_window_resets(tmp_path: Path) -> None:
    reset = str(int(time.time()) + 90)
    api = MockApi(
        fixture_response(
            "x",
            "too_many_requests.json",
            429,
            {
                "x-rate-limit-limit": "450",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": reset,
            },
        ),
        fixture_response("x", "search_page2.json"),
    )
    clock = FakeClock()
    stop = asyncio.Event()
    seen: list[CollectResult] = []

    def on_result(result: CollectResult) -> None:
        seen.append(result)
        if result.status is StreamStatus.OK:
            stop.set()

    collector = search(api, tmp_path, clock, on_result=on_result)
    await collector.run(stop)

    assert [r.status for r in seen] == [StreamStatus.RATE_LIMITED, StreamStatus.OK]
    assert seen[0].retry_after == pytest.approx(90, abs=2)
    assert clock.sleeps[0] == pytest.approx(90, abs=2)  # not the 60 s interval
    assert not collector.log.is_open


async def test_a_used_up_window_ends_the_round_early_and_the_next_goes_on(tmp_path: Path) -> None:
    reset = str(int(time.time()) + 300)
    api = MockApi(
        fixture_response(
            "x",
            "search_page1.json",
            headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset},
        ),
        fixture_response("x", "search_page2.json"),
    )
    collector = search(api, tmp_path)
    cut = await collector.run_once()
    assert cut.more and cut.retry_after == pytest.approx(300, abs=2) and len(api.requests) == 1
    assert collector.wait_after(cut) == pytest.approx(300, abs=2)
    rest = await collector.run_once()
    await collector.close()
    assert params(api.last)["next_token"] == "b26v89c19zqg8o3frr3tl1ihbb1nfgx6s0x9hk2ftx6wt"
    assert rest.pages == 1 and not rest.more


async def test_a_partial_response_keeps_the_posts_and_records_the_errors(tmp_path: Path) -> None:
    api = MockApi(fixture_response("x", "search_partial.json"))
    collector = search(api, tmp_path)
    result = await collector.run_once()
    await collector.close()
    assert result.status is StreamStatus.OK and result.items == 1
    assert result.errors == load_fixture("x", "search_partial.json")["errors"]
    assert "partial" in result.detail
    assert raw_pages(tmp_path, "x-search") == [load_fixture("x", "search_partial.json")]


async def test_a_rejected_token_is_a_clear_error_and_stops_the_collector(tmp_path: Path) -> None:
    api = MockApi(fixture_response("x", "unauthorized.json", 401))
    collector = search(api, tmp_path)
    with pytest.raises(CollectError, match="JALSA_X_BEARER_TOKEN") as caught:
        await collector.run(asyncio.Event())
    assert caught.value.result.status is StreamStatus.AUTH_FAILED
    assert not (tmp_path / "raw" / "x-search.jsonl").read_bytes()


async def test_no_token_fails_before_any_request(tmp_path: Path) -> None:
    api = MockApi()
    collector = search(api, tmp_path, token=None)
    result = await collector.run_once()
    await collector.close()
    assert result.status is StreamStatus.AUTH_FAILED and "JALSA_X_BEARER_TOKEN" in result.detail
    assert api.requests == []


async def test_garbled_json_is_a_failed_round_not_a_line(tmp_path: Path) -> None:
    body = (Path(__file__).parents[1] / "fixtures" / "x" / "search_page1.json").read_bytes()
    api = MockApi(
        httpx.Response(200, content=body[:200], headers={"content-type": "application/json"})
    )
    collector = search(api, tmp_path)
    result = await collector.run_once()
    await collector.close()
    assert result.status is StreamStatus.BAD_RESPONSE and result.pages == 0
    assert raw_lines(tmp_path, "x-search") == []


# --- counts ---------------------------------------------------------------------------------


async def test_counts_pages_are_logged_and_the_open_minute_is_read_again(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("x", "counts_page1.json"),
        fixture_response("x", "counts_page2.json"),
        fixture_response("x", "counts_page2.json"),
    )
    start = datetime(2023, 12, 17, 15, 0, tzinfo=UTC)
    counts = x_collector(XCountsCollector, api, tmp_path, QUERY, start_time=start)
    result = await counts.run_once()
    assert (result.pages, result.items) == (2, 5)
    assert result.usage.billed_resources == 5
    first = params(api.requests[0])
    assert first == {
        "query": QUERY,
        "granularity": "minute",
        "start_time": "2023-12-17T15:00:00Z",
    }
    assert params(api.requests[1])["next_token"] == "1jzu9lk96gu5npw2bqjdrp3ed8kspd8oowkwhw1kicsd"
    # The last bucket (15:04:00 to 15:04:31) was still open: the next round reads it again.
    assert counts.cursor["next_start"] == "2023-12-17T15:04:00Z"
    await counts.run_once()
    await counts.close()
    assert params(api.last)["start_time"] == "2023-12-17T15:04:00Z"
    pages = raw_pages(tmp_path, "x-counts")
    assert pages[0] == load_fixture("x", "counts_page1.json") and len(pages) == 3
    assert pages[1]["meta"]["total_tweet_count"] == 4283


# --- the filtered stream --------------------------------------------------------------------


def stream_collector(
    api: MockApi, tmp_path: Path, clock: FakeClock | None = None, **kw: Any
) -> Any:
    return x_collector(XStreamCollector, api, tmp_path, clock=clock, **kw)


def line(message: Any) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def streaming(*chunks: bytes, error: Exception | None = None) -> httpx.Response:
    """A 200 stream delivering `chunks`, then ending (or failing with `error`)."""

    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk
        if error is not None:
            raise error

    return httpx.Response(200, headers={"content-type": "application/json"}, content=body())


async def test_stream_lines_are_logged_as_they_arrived(tmp_path: Path) -> None:
    messages = load_fixture("x", "stream_messages.json")
    first, second = line(messages[0]), line(messages[1])
    cut = line(messages[2])[:57]
    api = MockApi(
        streaming(
            b"\r\n",  # keep-alive
            first + b"\r\n" + second[:40],  # a line split across chunks
            second[40:] + b"\r\n\r\n",
            cut,  # the connection drops in the middle of a line
            error=httpx.RemoteProtocolError("peer closed connection"),
        )
    )
    collector = stream_collector(api, tmp_path)
    result = await collector.run_once()
    await collector.close()

    assert isinstance(result, StreamRound) and result.connected
    assert result.status is StreamStatus.OK
    assert (result.items, result.lines, result.keepalives, result.truncated) == (2, 3, 2, 1)
    assert raw_lines(tmp_path, "x-stream") == [first, second, cut]
    assert result.usage.requests == 1 and result.usage.billed_resources == 2
    assert api.requests[0].url.path == "/2/tweets/search/stream"
    assert params(api.requests[0])["expansions"] == "author_id,referenced_tweets.id"
    assert state(tmp_path, "x-stream")["cursor"]["last_id"] == messages[1]["data"]["id"]


async def test_in_stream_errors_are_logged_and_reported(tmp_path: Path) -> None:
    disconnect = line(load_fixture("x", "stream_operational_disconnect.json"))
    api = MockApi(streaming(disconnect + b"\r\n"))
    collector = stream_collector(api, tmp_path)
    result = await collector.run_once()
    await collector.close()
    assert result.errors == load_fixture("x", "stream_operational_disconnect.json")["errors"]
    assert raw_lines(tmp_path, "x-stream") == [disconnect]


def test_the_documented_backoff_sequences() -> None:
    backoff = StreamBackoff()
    assert [backoff.network_error() for _ in range(3)] == [0.25, 0.5, 0.75]
    assert [backoff.network_error() for _ in range(70)][-1] == 16.0
    assert [backoff.http_error() for _ in range(8)] == [5, 10, 20, 40, 80, 160, 320, 320]
    assert [backoff.rate_limited() for _ in range(3)] == [60, 120, 240]
    assert backoff.rate_limited(retry_after=900) == 900
    backoff.reset()
    assert (backoff.network_error(), backoff.http_error(), backoff.rate_limited()) == (
        0.25,
        5,
        60,
    )


async def test_the_stream_reconnects_with_the_documented_backoff(tmp_path: Path) -> None:
    message = line(load_fixture("x", "stream_messages.json")[0]) + b"\r\n"
    too_many = fixture_response("x", "stream_too_many_connections.json", 429)
    api = MockApi(
        httpx.ConnectError("connection refused"),
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.Response(503, text="Service Unavailable"),
        httpx.Response(503, text="Service Unavailable"),
        too_many,
        fixture_response("x", "stream_too_many_connections.json", 429),
        streaming(message),  # connected, delivered, then X closed it: reconnect at once
        httpx.ConnectError("connection refused"),  # the backoff starts over
        streaming(message),
    )
    clock = FakeClock()
    stop = asyncio.Event()
    rounds: list[CollectResult] = []

    def on_result(result: CollectResult) -> None:
        rounds.append(result)
        if len(rounds) == 10:
            stop.set()

    collector = stream_collector(api, tmp_path, clock, on_result=on_result)
    await collector.run(stop)

    assert [r.status for r in rounds[:7]] == [
        StreamStatus.NETWORK_ERROR,
        StreamStatus.NETWORK_ERROR,
        StreamStatus.TIMEOUT,
        StreamStatus.SERVER_ERROR,
        StreamStatus.SERVER_ERROR,
        StreamStatus.RATE_LIMITED,
        StreamStatus.RATE_LIMITED,
    ]
    assert collector.waits == [0.25, 0.5, 0.75, 5.0, 10.0, 60.0, 120.0, 0.0, 0.25, 0.0]
    assert clock.sleeps == [0.25, 0.5, 0.75, 5.0, 10.0, 60.0, 120.0, 0.25]  # no sleep for 0
    assert len(raw_lines(tmp_path, "x-stream")) == 2
    assert sum(r.usage.requests for r in rounds) == 6  # the refused connects never answered


async def test_a_connection_that_stalls_past_the_keepalive_is_dropped(tmp_path: Path) -> None:
    message = line(load_fixture("x", "stream_messages.json")[0]) + b"\r\n"
    api = MockApi(streaming(message, error=httpx.ReadTimeout("no data")))
    collector = stream_collector(api, tmp_path)
    result = await collector.run_once()
    await collector.close()
    assert result.connected and result.items == 1 and "keep-alive" in result.detail
    assert collector.backoff.delay(result) == 0.0


async def test_a_stream_token_refusal_stops_with_a_clear_error(tmp_path: Path) -> None:
    api = MockApi(fixture_response("x", "unauthorized.json", 401))
    collector = stream_collector(api, tmp_path)
    with pytest.raises(CollectError, match="JALSA_X_BEARER_TOKEN"):
        await collector.run(asyncio.Event())
    assert collector.waits == []


async def test_a_block_page_is_not_a_stream(tmp_path: Path) -> None:
    page = "<html><body><h1>Surf safely!</h1></body></html>"
    api = MockApi(httpx.Response(200, text=page, headers={"content-type": "text/html"}))
    collector = stream_collector(api, tmp_path)
    result = await collector.run_once()
    await collector.close()
    assert result.status is StreamStatus.BAD_RESPONSE and not result.connected
    assert raw_lines(tmp_path, "x-stream") == []
    assert collector.backoff.delay(result) == 5.0


async def test_stop_ends_an_open_connection(tmp_path: Path) -> None:
    gate = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"\r\n"
        await gate.wait()  # X sends nothing more
        yield b""

    api = MockApi(httpx.Response(200, headers={"content-type": "application/json"}, content=body()))
    collector = stream_collector(api, tmp_path)
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert not collector.log.is_open


async def test_rules_are_set_to_exactly_what_is_wanted(tmp_path: Path) -> None:
    api = MockApi(
        fixture_response("x", "stream_rules.json"),
        fixture_response("x", "stream_rules_deleted.json"),
        fixture_response("x", "stream_rules_added.json", 201),
    )
    collector = stream_collector(api, tmp_path)
    outcome = await collector.set_rules(
        [("#PTIVirtualJalsa", "jalsa"), ("#InternetShutdown lang:ur", "shutdown")]
    )
    get, delete, add = api.requests
    assert (get.method, get.url.path) == ("GET", "/2/tweets/search/stream/rules")
    assert delete.method == "POST" and json.loads(delete.content) == {
        "delete": {"ids": ["1736390000000000002"]}
    }
    assert json.loads(add.content) == {
        "add": [{"value": "#InternetShutdown lang:ur", "tag": "shutdown"}]
    }
    assert outcome["deleted"] == ["1736390000000000002"] and outcome["errors"] == []
    assert outcome["added"][0]["id"] == "1736390000000000003"


async def test_rules_dry_run_and_duplicates(tmp_path: Path) -> None:
    duplicate = {
        "meta": {
            "sent": "2023-12-17T14:56:11.003Z",
            "summary": {"created": 0, "not_created": 1, "valid": 0, "invalid": 1},
        },
        "errors": [
            {
                "value": "#PTIVirtualJalsa",
                "id": "1736390000000000001",
                "title": "DuplicateRule",
                "type": "https://api.twitter.com/2/problems/duplicate-rules",
            }
        ],
    }
    api = MockApi(httpx.Response(200, json=duplicate))
    collector = stream_collector(api, tmp_path)
    answer = await collector.add_rules([("#PTIVirtualJalsa", None)], dry_run=True)
    assert params(api.last) == {"dry_run": "true"}
    assert json.loads(api.last.content) == {"add": [{"value": "#PTIVirtualJalsa"}]}
    assert answer["errors"][0]["title"] == "DuplicateRule"


def test_collectors_take_their_url_token_and_prices_from_settings(tmp_path: Path) -> None:
    from jalsa.config import Settings

    settings = Settings(
        x_bearer_token="AAAA-from-env",
        x_base_url="http://127.0.0.1:8765/x/2",
        x_usd_per_request=0.02,
        x_usd_per_resource=0.001,
        x_counts_interval=30.0,
    )
    client = httpx.AsyncClient()
    found = XSearchCollector.from_settings(client, settings, QUERY, dataset_dir=tmp_path)
    assert found.api.base_url == "http://127.0.0.1:8765/x/2"
    assert found.api.credential == "AAAA-from-env" and found.api.usd_per_request == 0.02
    counts = XCountsCollector.from_settings(client, settings, QUERY, dataset_dir=tmp_path)
    assert counts.interval == 30.0 and counts.source == "x-counts"
    stream = XStreamCollector.from_settings(client, settings, dataset_dir=tmp_path)
    assert stream.rules_api.credential == "AAAA-from-env" and stream.source == "x-stream"
