"""Every simulated endpoint: its shape, its phases, its errors, through an in-process client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from simkit import CALM, RESTRICTED, ManualClock, Sim, make_scenario

from jalsa.sim.server import sim_base_urls


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    scenario = make_scenario()
    s = Sim(scenario, ManualClock(scenario.at(CALM)))
    yield s
    await s.client.aclose()


YT = "/youtube/v3/videos"
GRAPH = "/graph/v21.0"
PARTS = "liveStreamingDetails,statistics"


async def youtube(sim: Sim, ids: str = "vid00000001", **extra: str) -> httpx.Response:
    return await sim.get(YT, part=PARTS, id=ids, key="test-key", **extra)


# --- YouTube --------------------------------------------------------------------------------


async def test_youtube_live_video_shape(sim: Sim) -> None:
    now = sim.at(CALM)
    response = await youtube(sim)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["kind"] == "youtube#videoListResponse"
    assert isinstance(body["etag"], str) and body["etag"]
    assert body["pageInfo"] == {"totalResults": 1, "resultsPerPage": 1}
    [item] = body["items"]
    assert item["kind"] == "youtube#video" and item["id"] == "vid00000001" and item["etag"]
    stats = item["statistics"]
    assert set(stats) == {"viewCount", "likeCount", "favoriteCount", "commentCount"}
    assert all(isinstance(v, str) and v.isdigit() for v in stats.values())
    stream = sim.scenario.stream("youtube", "vid00000001")
    assert stream is not None
    live = item["liveStreamingDetails"]
    assert live["concurrentViewers"] == str(sim.scenario.expected_audience(stream, now))
    assert int(live["concurrentViewers"]) > 1000
    assert stats["viewCount"] == str(sim.scenario.expected_views(stream, now))
    assert live["actualStartTime"] == live["scheduledStartTime"] == "2023-12-17T15:00:00Z"
    assert "actualEndTime" not in live and live["activeLiveChatId"]


async def test_youtube_before_start_and_after_end(sim: Sim) -> None:
    sim.at(-5)
    live = (await youtube(sim)).json()["items"][0]["liveStreamingDetails"]
    assert "concurrentViewers" not in live and "actualStartTime" not in live
    assert live["scheduledStartTime"] == "2023-12-17T15:00:00Z"
    sim.at(125)
    item = (await youtube(sim)).json()["items"][0]
    live = item["liveStreamingDetails"]
    assert "concurrentViewers" not in live
    assert live["actualEndTime"] == "2023-12-17T17:00:00Z"
    assert int(item["statistics"]["viewCount"]) > 0


async def test_youtube_counts_are_what_the_scenario_says_over_time(sim: Sim) -> None:
    stream = sim.scenario.stream("youtube", "vid00000001")
    assert stream is not None
    views = []
    for minute in (5, 17.5, 44, 90):
        now = sim.at(minute)
        item = (await youtube(sim)).json()["items"][0]
        viewers = int(item["liveStreamingDetails"]["concurrentViewers"])
        assert viewers == sim.scenario.expected_audience(stream, now)
        views.append(int(item["statistics"]["viewCount"]))
    assert views == sorted(views) and views[0] < views[-1]


async def test_youtube_unknown_id_gives_no_items_and_batches_work(sim: Sim) -> None:
    body = (await youtube(sim, "nope0000000")).json()
    assert body["items"] == [] and body["pageInfo"]["totalResults"] == 0
    body = (await youtube(sim, "nope0000000,vid00000001")).json()
    assert [i["id"] for i in body["items"]] == ["vid00000001"]


async def test_youtube_parts_are_honoured(sim: Sim) -> None:
    response = await sim.get(YT, part="statistics", id="vid00000001", key="k")
    item = response.json()["items"][0]
    assert "statistics" in item and "liveStreamingDetails" not in item
    response = await sim.get(YT, part="snippet", id="vid00000001", key="k")
    assert response.json()["items"][0]["snippet"]["liveBroadcastContent"] == "live"


async def test_youtube_missing_key_is_403_in_youtubes_shape(sim: Sim) -> None:
    response = await sim.get(YT, part=PARTS, id="vid00000001")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == 403 and error["errors"][0]["reason"] == "forbidden"
    assert "API Key" in error["message"]


async def test_youtube_missing_part_is_a_bad_request(sim: Sim) -> None:
    response = await sim.get(YT, id="vid00000001", key="k")
    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["reason"] == "required"


# --- Facebook -------------------------------------------------------------------------------


async def live_video(sim: Sim, node: str = "111", **params: str) -> httpx.Response:
    params = {"fields": "status,live_views,video", "access_token": "T", **params}
    return await sim.get(f"{GRAPH}/{node}", **params)


async def test_facebook_live_video_shape(sim: Sim) -> None:
    now = sim.at(CALM)
    response = await live_video(sim)
    assert response.status_code == 200
    body = response.json()
    stream = sim.scenario.stream("facebook", "111")
    assert stream is not None
    assert body == {
        "status": "LIVE",
        "live_views": sim.scenario.expected_audience(stream, now),
        "video": {"id": "222"},
        "id": "111",
    }
    assert isinstance(body["live_views"], int) and body["live_views"] > 1000


@pytest.mark.parametrize(
    ("minute", "status"),
    [(-1, "SCHEDULED_UNPUBLISHED"), (0, "LIVE"), (121, "LIVE_STOPPED"), (140, "VOD")],
)
async def test_facebook_status_follows_the_rally(sim: Sim, minute: float, status: str) -> None:
    sim.at(minute)
    body = (await live_video(sim)).json()
    assert body["status"] == status
    if status != "LIVE":
        assert body["live_views"] == 0


async def test_facebook_video_insights_shape_and_consistency(sim: Sim) -> None:
    totals = []
    for minute in (10, CALM, 50, 119, 130):
        sim.at(minute)
        response = await sim.get(
            f"{GRAPH}/222/video_insights",
            metric="total_video_views,total_video_views_unique",
            access_token="T",
        )
        assert response.status_code == 200
        data = response.json()["data"]
        assert [d["name"] for d in data] == ["total_video_views", "total_video_views_unique"]
        for entry in data:
            assert entry["period"] == "lifetime"
            assert entry["id"] == f"222/video_insights/{entry['name']}/lifetime"
            assert entry["title"] and entry["description"]
            assert isinstance(entry["values"][0]["value"], int)
        total, unique = (d["values"][0]["value"] for d in data)
        assert 0 < unique <= total
        totals.append(total)
    assert totals == sorted(totals) and totals[0] < totals[-1]


async def test_facebook_unknown_metric_and_wrong_node(sim: Sim) -> None:
    response = await sim.get(f"{GRAPH}/222/video_insights", metric="bogus", access_token="T")
    assert response.status_code == 400 and response.json()["error"]["code"] == 100
    # video_insights belongs to the Video, not the LiveVideo
    response = await sim.get(f"{GRAPH}/111/video_insights", access_token="T")
    error = response.json()["error"]
    assert error["code"] == 100 and "LiveVideo" in error["message"]


async def test_graph_unknown_id_is_graphs_error(sim: Sim) -> None:
    response = await live_video(sim, "999")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100 and error["error_subcode"] == 33
    assert error["type"] == "GraphMethodException"
    assert "Object with ID '999' does not exist" in error["message"]
    assert error["fbtrace_id"]


async def test_graph_missing_token(sim: Sim) -> None:
    response = await sim.get(f"{GRAPH}/111", fields="status")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "OAuthException"


# --- Instagram ------------------------------------------------------------------------------


async def test_instagram_live_media_while_live(sim: Sim) -> None:
    now = sim.at(CALM)
    response = await sim.get(
        f"{GRAPH}/178/live_media",
        fields="id,media_type,media_product_type,timestamp,comments_count",
        access_token="T",
    )
    assert response.status_code == 200
    [item] = response.json()["data"]
    assert set(item) == {"id", "media_type", "media_product_type", "timestamp", "comments_count"}
    assert item["media_type"] == "BROADCAST" and item["media_product_type"] == "LIVE"
    assert item["timestamp"] == "2023-12-17T15:00:00+0000"
    stream = sim.scenario.stream("instagram", "178")
    assert stream is not None
    assert item["comments_count"] == sim.scenario.expected_comments(stream, now) > 0


@pytest.mark.parametrize("minute", [-3, 120, 200])
async def test_instagram_live_media_empty_when_not_live(sim: Sim, minute: float) -> None:
    sim.at(minute)
    response = await sim.get(f"{GRAPH}/178/live_media", fields="id", access_token="T")
    assert response.json() == {"data": []}


async def test_instagram_unknown_user(sim: Sim) -> None:
    response = await sim.get(f"{GRAPH}/404/live_media", access_token="T")
    assert response.json()["error"]["error_subcode"] == 33


# --- X Spaces -------------------------------------------------------------------------------

SPACE_FIELDS = "state,participant_count,subscriber_count,started_at,ended_at,title"


async def test_x_space_live_shape(sim: Sim) -> None:
    now = sim.at(CALM)
    response = await sim.x("/x/2/spaces/1space", **{"space.fields": SPACE_FIELDS})
    assert response.status_code == 200
    data = response.json()["data"]
    stream = sim.scenario.stream("x_space", "1space")
    assert stream is not None
    assert data == {
        "id": "1space",
        "state": "live",
        "title": "Test Space",
        "participant_count": sim.scenario.expected_audience(stream, now),
        "subscriber_count": 900,
        "started_at": "2023-12-17T15:00:00.000Z",
    }
    for name in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
        assert response.headers[name].isdigit()


async def test_x_space_states_and_rate_headers_count_down(sim: Sim) -> None:
    sim.at(-2)
    first = await sim.x("/x/2/spaces/1space", **{"space.fields": SPACE_FIELDS})
    assert first.json()["data"]["state"] == "scheduled"
    assert "started_at" not in first.json()["data"]
    sim.at(121)
    second = await sim.x("/x/2/spaces/1space", **{"space.fields": SPACE_FIELDS})
    data = second.json()["data"]
    assert data["state"] == "ended" and data["ended_at"] == "2023-12-17T17:00:00.000Z"
    remaining = [int(r.headers["x-rate-limit-remaining"]) for r in (first, second)]
    assert remaining[1] < remaining[0] or remaining[1] == 299  # a new 15-minute window


async def test_x_space_without_fields_has_id_and_state_only(sim: Sim) -> None:
    response = await sim.x("/x/2/spaces/1space")
    assert response.json() == {"data": {"id": "1space", "state": "live"}}


async def test_x_unknown_space_is_200_with_errors(sim: Sim) -> None:
    response = await sim.x("/x/2/spaces/nope")
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "value": "nope",
                "detail": "Could not find space with id: [nope].",
                "title": "Not Found Error",
                "resource_type": "space",
                "parameter": "id",
                "resource_id": "nope",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }


async def test_x_needs_a_bearer_token(sim: Sim) -> None:
    response = await sim.get("/x/2/spaces/1space")
    assert response.status_code == 401
    assert response.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }


async def test_x_spaces_batch_lookup(sim: Sim) -> None:
    body = (await sim.x("/x/2/spaces", ids="1space,nope")).json()
    assert [d["id"] for d in body["data"]] == ["1space"]
    assert body["errors"] == [
        {
            "value": "nope",
            "detail": "Could not find space with ids: [nope].",
            "title": "Not Found Error",
            "resource_type": "space",
            "parameter": "ids",
            "resource_id": "nope",
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }
    ]


async def test_x_spaces_batch_lookup_with_nothing_found_has_only_errors(sim: Sim) -> None:
    response = await sim.x("/x/2/spaces", ids="nope,gone")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["errors"]
    assert [e["value"] for e in body["errors"]] == ["nope", "gone"]


# --- X counts -------------------------------------------------------------------------------


async def test_x_counts_minute_buckets(sim: Sim) -> None:
    now = sim.at(CALM + 0.5)  # 15:20:30
    start = sim.scenario.at(CALM - 5)  # 15:15:00
    response = await sim.x(
        "/x/2/tweets/counts/recent",
        query="#TestJalsa -is:retweet",
        granularity="minute",
        start_time=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    assert response.status_code == 200
    body = response.json()
    data = body["data"]
    assert len(data) == 5  # 15:15 .. 15:19; the 15:20 bucket is not complete yet
    assert data[0] == {
        "end": "2023-12-17T15:16:00.000Z",
        "start": "2023-12-17T15:15:00.000Z",
        "tweet_count": data[0]["tweet_count"],
    }
    assert data[-1]["end"] == "2023-12-17T15:20:00.000Z"
    stream = sim.scenario.streams_of("x_counts")[0]
    for bucket in data:
        begins = datetime.fromisoformat(bucket["start"])
        assert bucket["tweet_count"] == sim.scenario.expected_posts(stream, begins)
        assert datetime.fromisoformat(bucket["end"]) <= now
    assert body["meta"]["total_tweet_count"] == sum(b["tweet_count"] for b in data) > 0


async def test_x_counts_only_count_matching_queries(sim: Sim) -> None:
    start = sim.scenario.at(CALM - 3).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = (
        await sim.x(
            "/x/2/tweets/counts/recent", query="#Other", granularity="minute", start_time=start
        )
    ).json()
    assert len(body["data"]) == 3 and body["meta"]["total_tweet_count"] == 0


async def test_x_counts_hour_buckets_sum_the_minutes(sim: Sim) -> None:
    sim.at(90)  # 16:30
    start = sim.scenario.at(-60).strftime("%Y-%m-%dT%H:%M:%SZ")  # 14:00
    body = (
        await sim.x(
            "/x/2/tweets/counts/recent", query="#testjalsa", granularity="hour", start_time=start
        )
    ).json()
    assert [b["start"] for b in body["data"]] == [
        "2023-12-17T14:00:00.000Z",
        "2023-12-17T15:00:00.000Z",
    ]
    stream = sim.scenario.streams_of("x_counts")[0]
    expected = sum(sim.scenario.expected_posts(stream, sim.scenario.at(m)) for m in range(0, 60))
    assert body["data"][1]["tweet_count"] == expected


async def test_x_counts_refuses_bad_requests(sim: Sim) -> None:
    response = await sim.x("/x/2/tweets/counts/recent", granularity="minute")
    assert response.status_code == 400
    assert response.json()["type"] == "https://api.twitter.com/2/problems/invalid-request"
    too_old = (sim.clock.now() - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = await sim.x("/x/2/tweets/counts/recent", query="#TestJalsa", start_time=too_old)
    assert response.status_code == 400
    assert "must be on or after" in response.json()["errors"][0]["message"]


# --- restrictions, bursts, token expiry -----------------------------------------------------


async def test_restriction_lowers_served_audiences(sim: Sim) -> None:
    stream = sim.scenario.stream("youtube", "vid00000001")
    assert stream is not None
    now = sim.at(RESTRICTED)
    viewers = int(
        (await youtube(sim)).json()["items"][0]["liveStreamingDetails"]["concurrentViewers"]
    )
    assert viewers == sim.scenario.expected_audience(stream, now)
    assert sim.scenario.audience_factor("youtube", RESTRICTED) == 0.2
    status = (await sim.get("/_sim/status")).json()
    entry = next(s for s in status["streams"] if s["platform"] == "youtube")
    assert entry["audience_factor"] == 0.2 and entry["expected_audience"] == viewers


async def test_x_burst_is_429_with_reset_header(sim: Sim) -> None:
    sim.at(70.5)
    before = time.time()
    response = await sim.x("/x/2/spaces/1space")
    assert response.status_code == 429
    assert response.json()["status"] == 429
    assert response.headers["x-rate-limit-remaining"] == "0"
    # the burst ends 1.5 (clock) minutes later
    wait = int(response.headers["x-rate-limit-reset"]) - before
    assert 85 <= wait <= 95
    counts = await sim.x("/x/2/tweets/counts/recent", query="#TestJalsa")
    assert counts.status_code == 429
    sim.at(72)
    assert (await sim.x("/x/2/spaces/1space")).status_code == 200


async def test_youtube_burst_is_403_rate_limit_exceeded(sim: Sim) -> None:
    sim.at(73)
    response = await youtube(sim)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["errors"][0]["reason"] == "rateLimitExceeded"
    assert error["errors"][0]["domain"] == "usageLimits"


async def test_graph_burst_uses_the_configured_code_and_usage_headers(sim: Sim) -> None:
    sim.at(74.5)
    response = await live_video(sim)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 613 and error["is_transient"] is True
    assert json.loads(response.headers["x-app-usage"])["call_count"] == 100
    buc = json.loads(response.headers["x-business-use-case-usage"])
    [[usage]] = buc.values()
    assert usage["estimated_time_to_regain_access"] == 2
    # Instagram's burst is separate and uses code 4 by default
    assert (await sim.get(f"{GRAPH}/178/live_media", access_token="T")).status_code == 200
    sim.at(77)
    response = await sim.get(f"{GRAPH}/178/live_media", access_token="T")
    assert response.json()["error"]["code"] == 4


async def test_graph_token_expiry_is_190_463_until_renewed(sim: Sim) -> None:
    sim.at(81)
    response = await live_video(sim)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (190, 463, "OAuthException")
    assert "Session has expired on Sunday, 17-Dec-23 08:20:00 PST" in error["message"]
    # Instagram's token is a different one
    assert (await sim.get(f"{GRAPH}/178/live_media", access_token="T")).status_code == 200
    sim.at(85)
    assert (await live_video(sim)).status_code == 200
    sim.at(91)
    response = await sim.get(f"{GRAPH}/178/live_media", access_token="T")
    assert response.json()["error"]["error_subcode"] == 463


async def test_x_token_expiry_is_401(sim: Sim) -> None:
    sim.at(86)
    response = await sim.x("/x/2/spaces/1space")
    assert response.status_code == 401 and response.json()["title"] == "Unauthorized"


async def test_youtube_token_expiry_is_400_key_invalid(sim: Sim) -> None:
    sim.at(89)
    response = await youtube(sim)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["errors"][0]["reason"] == "keyInvalid"
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


async def test_unreachable_platform_never_answers(sim: Sim) -> None:
    sim.at(101)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sim.x("/x/2/spaces/1space"), 0.3)
    # other platforms still answer
    assert (await youtube(sim)).status_code == 200
    status = (await sim.get("/_sim/status")).json()
    entry = next(s for s in status["streams"] if s["platform"] == "x_space")
    assert entry["blocking"] == "unreachable" and status["blocked"] == 1


# --- garbled responses ----------------------------------------------------------------------


def is_json(response: httpx.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True


async def garbled_pattern(rate: float, n: int, seed: int = 7) -> list[bool]:
    scenario = make_scenario(malformed_rate=rate, seed=seed)
    sim = Sim(scenario, ManualClock(scenario.at(CALM)))
    pattern = []
    async with sim.client:
        for i in range(n):
            if i % 2:
                response = await youtube(sim)
            else:
                response = await live_video(sim)
            bad = not is_json(response)
            if bad:
                assert response.status_code in (200, 502)
                if "html" in response.headers["content-type"]:
                    assert response.text.lstrip().startswith("<")
            pattern.append(bad)
    return pattern


async def test_malformed_responses_occur_at_about_the_configured_rate() -> None:
    pattern = await garbled_pattern(0.1, 1500)
    assert 0.075 <= sum(pattern) / len(pattern) <= 0.125
    assert not any(await garbled_pattern(0.0, 200))


async def test_malformed_responses_are_chosen_by_the_seed() -> None:
    assert await garbled_pattern(0.2, 100) == await garbled_pattern(0.2, 100)
    assert await garbled_pattern(0.2, 100) != await garbled_pattern(0.2, 100, seed=8)


# --- status and base URLs -------------------------------------------------------------------


async def test_status_reports_the_simulated_now(sim: Sim) -> None:
    now = sim.at(CALM)
    body = (await sim.get("/_sim/status")).json()
    assert body["scenario"] == "test rally"
    assert datetime.fromisoformat(body["now"]) == now
    assert body["now_local"].startswith("2023-12-17T20:20:00+05:00")
    assert body["speed"] == 1.0 and body["phase"] == "live"
    assert body["minutes_from_start"] == CALM
    by_platform = {s["platform"]: s for s in body["streams"]}
    assert set(by_platform) == {"youtube", "facebook", "x_space", "instagram", "x_counts"}
    stream = sim.scenario.stream("facebook", "111")
    assert stream is not None
    assert by_platform["facebook"]["expected_audience"] == sim.scenario.expected_audience(
        stream, now
    )
    assert by_platform["x_counts"]["expected_audience"] is None
    assert by_platform["x_counts"]["expected_posts_last_minute"] > 0


def test_sim_base_urls_match_the_settings_names() -> None:
    from jalsa.config import Settings

    urls = sim_base_urls("http://127.0.0.1:8765/")
    assert urls == {
        "youtube_base_url": "http://127.0.0.1:8765/youtube/v3",
        "facebook_base_url": "http://127.0.0.1:8765/graph/v21.0",
        "instagram_base_url": "http://127.0.0.1:8765/graph/v21.0",
        "x_base_url": "http://127.0.0.1:8765/x/2",
    }
    assert set(urls) <= set(Settings.model_fields)


def test_times_are_utc() -> None:
    assert make_scenario().start_utc.tzinfo == UTC
