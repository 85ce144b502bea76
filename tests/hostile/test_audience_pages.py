"""Hostile answers for the audience connectors' page readers: YouTube videos.list (views,
liveStreamingDetails.concurrentViewers), Facebook live video and video insights, X Spaces
lookup, X counts, Instagram live media. Real answers are served through httpx with hostile
JSON put anywhere in them (huge, negative, fractional, NaN and string counts, lone surrogates,
nested garbage), beside their real entries.

Properties: a poll raises nothing but PollError; every failure has a failure status and a
reason, every not-live result a reason; every reading is a catalogue metric of the connector
with a count in 0..MAX_COUNT (the samples' 64-bit column); there are no more readings than
the answer could hold; the real entries beside the damage keep their readings."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime
from typing import Any

import httpx
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jalsa.platforms.base import MAX_COUNT, PollError, PollResult, StreamStatus, Target
from jalsa.platforms.facebook.connector import FacebookConnector
from jalsa.platforms.instagram.connector import InstagramConnector
from jalsa.platforms.x.connector import XCountsConnector, XSpaceConnector
from jalsa.platforms.youtube.connector import YouTubeConnector
from testkit import MockApi, json_size, json_values, load_fixture, mutate

NOW = datetime(2023, 12, 17, 15, 5, tzinfo=UTC)
COUNTISH = st.sampled_from(
    [-1, 2**63, 10**30, 1.5, 1e300, "-3", "1e3", " 7 ", "٣", "9" * 5000, "\ud800", True]
)
JSON = json_values(
    COUNTISH,
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "LIVE", "live"]),
)


def youtube_page() -> dict[str, Any]:
    items: dict[str, Any] = {}
    for name in ("batch_some_found", "live", "upcoming", "ended", "viewers_hidden"):
        for item in load_fixture("youtube", f"{name}.json")["items"]:
            items.setdefault(item["id"], item)
    return {"kind": "youtube#videoListResponse", "items": list(items.values())}


# name: (the connector, the answers it gets in order, the index of the answer to damage and
# the member of it holding the entries, the targets)
YOUTUBE = youtube_page()
SPACES = load_fixture("x", "spaces_some_found.json")
FACEBOOK = [load_fixture("facebook", n) for n in ("live_video_live.json", "video_insights.json")]
CASES: dict[str, tuple[Any, list[Any], int, str | None, list[Target]]] = {
    "youtube": (
        YouTubeConnector,
        [YOUTUBE],
        0,
        "items",
        [Target(i["id"]) for i in YOUTUBE["items"]] + [Target("nOtThErE123")],
    ),
    "x_space": (
        XSpaceConnector,
        [SPACES],
        0,
        "data",
        [Target(s["id"]) for s in SPACES["data"]] + [Target("1YqJDqWYNQDGX"), Target("bad id!")],
    ),
    "x_counts": (
        XCountsConnector,
        [load_fixture("x", "counts_page1.json"), *[load_fixture("x", "counts_page2.json")] * 5],
        0,
        "data",
        [Target("tags", query="#jalsa")],
    ),
    "instagram": (
        InstagramConnector,
        [load_fixture("instagram", "live_media_two.json")],
        0,
        "data",
        [Target("17841400000000001")],
    ),
    "facebook-live": (
        FacebookConnector,
        FACEBOOK,
        0,
        None,
        [Target("1071398870644579")],
    ),
    "facebook-insights": (
        FacebookConnector,
        FACEBOOK,
        1,
        "data",
        [Target("1071398870644579")],
    ),
}  # fmt: skip


def poll(name: str, answers: list[Any]) -> list[PollResult | PollError]:
    """One poll of the case's targets through httpx, one outcome per target."""
    cls, _, _, _, targets = CASES[name]
    bodies = [json.dumps(a).encode() for a in answers]  # NaN and lone surrogates as JSON has them
    api = MockApi(*(httpx.Response(200, content=b) for b in bodies))
    connector = api.connector(cls)

    async def run() -> list[PollResult | PollError]:
        try:
            if cls.batch_size > 1:
                return (await connector.poll_many(targets, NOW))[0]
            try:
                return [await connector.poll(targets[0], NOW)]
            except PollError as exc:
                return [exc]
        finally:
            await connector.client.aclose()

    return asyncio.run(run())


def check(name: str, outcomes: list[PollResult | PollError], answers: list[Any]) -> None:
    cls, _, _, _, targets = CASES[name]
    assert len(outcomes) == len(targets)
    for outcome in outcomes:
        if isinstance(outcome, PollError):
            assert outcome.status.is_failure and outcome.detail.strip()
            continue
        assert isinstance(outcome, PollResult)
        assert outcome.status in (StreamStatus.OK, StreamStatus.NOT_LIVE)
        assert outcome.status is StreamStatus.OK or outcome.detail.strip()
        for reading in outcome.readings:
            assert reading.metric in cls.metrics
            assert type(reading.value) is int and 0 <= reading.value <= MAX_COUNT
        bound = sum(json_size(a) for a in answers) if name == "x_counts" else len(cls.metrics)
        assert len(outcome.readings) <= bound


REAL = {name: poll(name, case[1]) for name, case in CASES.items()}
# The buckets of the first counts page alone (damage to its `meta` may end the paging there).
REAL["x_counts"] = poll("x_counts", [{"data": CASES["x_counts"][1][0]["data"]}])
assert all(isinstance(o, PollResult) and o.readings for o in REAL["x_counts"])


def kept(name: str, real: PollResult | PollError, now: PollResult | PollError) -> bool:
    """Whether a real entry's outcome survived the damage beside it."""
    if isinstance(real, PollError):
        return True
    if name == "x_counts":  # every real bucket is still read (hostile copies may add more)
        return isinstance(now, PollResult) and set(real.readings) <= set(now.readings)
    if name == "facebook-insights":  # damaged insights never cost the live viewers
        live = [r for r in real.readings if r.metric == "facebook.live_views"]
        return isinstance(now, PollResult) and set(live) <= set(now.readings)
    return isinstance(now, PollResult)


def place(name: str, page: Any, key: str | None, value: Any) -> None:
    """Where each failure the search found was (a duplicate insight needs no place: the
    damaged copy of the page beside the real one repeats every metric)."""
    assert key is not None
    first = page[key][0]
    if name == "youtube" and isinstance(value, str):
        first["statistics"]["viewCount"] = value
    elif name == "x_space" and isinstance(value, str):
        page["errors"] = value
    elif name in ("youtube", "x_space"):
        first["id"] = value
    elif name == "x_counts":
        first["start"] = value
    elif name == "instagram":
        first["comments_count"] = value


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(CASES)), st.lists(JSON, min_size=1, max_size=3), st.data())
@example("youtube", [[1]], None).via("an unhashable items[].id crashed videos.list reading")
@example("x_space", [[1]], None).via("an unhashable data[].id crashed the Spaces lookup")
@example("youtube", ["9" * 5000], None).via("a 5000-digit viewCount: int() refused it")
@example("x_counts", ["0001-01-01T00:00:00+01:00"], None).via("a bucket start before year 1")
@example("instagram", [2**63], None).via("a count beyond the samples' 64-bit column")
@example("facebook-insights", [None], None).via("a metric listed twice gave two readings")
@example("x_space", ["oops"], None).via("malformed `errors` lost the Spaces found beside them")
def test_hostile_values_beside_real_entries(
    name: str, values: list[Any], data: st.DataObject | None
) -> None:
    _, answers, at, key, _ = CASES[name]
    answers = copy.deepcopy(answers)
    real_page = answers[at]
    hostile = copy.deepcopy(real_page)
    if data is None:  # the explicit examples: the value where the search found the failure
        place(name, hostile, key, values[0])
    else:
        for value in values:
            mutate(data, hostile, value)
    if key is None:  # one object: the damaged copy is the answer
        answers[at] = hostile
    else:
        damaged = hostile.get(key)
        mixed = [*real_page[key], *(damaged if isinstance(damaged, list) else [])]
        if name != "instagram":  # a non-object there fails the count of the whole list
            mixed += values
        if name != "instagram" and data is not None:  # its count is of the whole list
            mixed = [mixed[i] for i in data.draw(st.permutations(range(len(mixed))))]
        answers[at] = {**hostile, key: mixed}
    outcomes = poll(name, answers)
    check(name, outcomes, answers)
    if key is not None and name != "instagram":
        assert all(kept(name, r, o) for r, o in zip(REAL[name], outcomes, strict=True))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(CASES)), JSON)
def test_any_json_as_the_answer(name: str, page: Any) -> None:
    _, answers, at, key, _ = CASES[name]
    for candidate in (page, {key or "status": page}, {key or "status": [page]}):
        answers = [*answers[:at], candidate, *answers[at + 1 :]]
        check(name, poll(name, answers), answers)
