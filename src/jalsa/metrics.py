"""The metric catalogue: every number jalsa shows has exactly one entry here.

Each entry says what the number means, its unit, and the API field it is read from. Different kinds
of number (people watching now, cumulative views, posts per minute) are never added together; only
metrics whose `kind` is CONCURRENT feed the combined "watching now" figure, and that figure is a sum
of concurrent audiences, not a count of unique people.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    CONCURRENT = "concurrent"  # an instantaneous audience reading
    CUMULATIVE = "cumulative"  # a running total that only grows
    PER_MINUTE = "per_minute"  # a count per one-minute bucket
    STATE = "state"  # a count of things in a state (e.g. live broadcasts)
    DERIVED = "derived"  # computed by jalsa from its own samples


@dataclass(frozen=True)
class Metric:
    name: str
    platform: str
    label: str
    unit: str
    kind: Kind
    definition: str
    source: str

    @property
    def is_audience(self) -> bool:
        """True for readings that may be summed into the combined concurrent figure."""
        return self.kind is Kind.CONCURRENT


CATALOGUE: tuple[Metric, ...] = (
    Metric(
        name="youtube.concurrent_viewers",
        platform="youtube",
        label="YouTube concurrent viewers",
        unit="viewers",
        kind=Kind.CONCURRENT,
        definition=(
            "Number of people watching the live broadcast at the time of the request, as estimated "
            "by YouTube. Present only while the broadcast is live and only if the owner has not "
            "hidden it; YouTube returns it as a string."
        ),
        source="GET /youtube/v3/videos?part=liveStreamingDetails "
        "-> items[].liveStreamingDetails.concurrentViewers",
    ),
    Metric(
        name="youtube.view_count",
        platform="youtube",
        label="YouTube views",
        unit="views",
        kind=Kind.CUMULATIVE,
        definition=(
            "Number of times the video has been viewed, by YouTube's own definition of a view "
            "(cumulative since publication; not people, not concurrent)."
        ),
        source="GET /youtube/v3/videos?part=statistics -> items[].statistics.viewCount",
    ),
    Metric(
        name="facebook.live_views",
        platform="facebook",
        label="Facebook live viewers",
        unit="viewers",
        kind=Kind.CONCURRENT,
        definition=(
            "Number of people watching the live video at the time of the request. Instantaneous, "
            "not cumulative: it falls when people leave."
        ),
        source="GET /{live-video-id}?fields=live_views -> live_views",
    ),
    Metric(
        name="facebook.total_video_views",
        platform="facebook",
        label="Facebook 3-second views",
        unit="views",
        kind=Kind.CUMULATIVE,
        definition=(
            "Number of times the video was watched for at least 3 seconds (or nearly its whole "
            "length if shorter), counting replays; lifetime total."
        ),
        source="GET /{video-id}/video_insights?metric=total_video_views "
        "-> data[name=total_video_views].values[0].value",
    ),
    Metric(
        name="facebook.total_video_views_unique",
        platform="facebook",
        label="Facebook unique 3-second viewers",
        unit="people",
        kind=Kind.CUMULATIVE,
        definition=(
            "Number of distinct people who watched the video for at least 3 seconds; lifetime, "
            "as counted by Facebook."
        ),
        source="GET /{video-id}/video_insights?metric=total_video_views_unique "
        "-> data[name=total_video_views_unique].values[0].value",
    ),
    Metric(
        name="x_space.participant_count",
        platform="x",
        label="X Space listeners",
        unit="participants",
        kind=Kind.CONCURRENT,
        definition=(
            "Current number of users in the Space, including hosts and speakers, at the time of "
            "the request."
        ),
        source="GET /2/spaces/:id?space.fields=participant_count -> data.participant_count",
    ),
    Metric(
        name="x_space.subscriber_count",
        platform="x",
        label="X Space reminder subscribers",
        unit="people",
        kind=Kind.CUMULATIVE,
        definition="Number of people who set a reminder for the scheduled Space.",
        source="GET /2/spaces/:id?space.fields=subscriber_count -> data.subscriber_count",
    ),
    Metric(
        name="x.posts_per_minute",
        platform="x",
        label="X posts per minute matching the event query",
        unit="posts/min",
        kind=Kind.PER_MINUTE,
        definition=(
            "Number of public posts in each one-minute bucket that match the event's query "
            "(its hashtags), as counted by X; the bucket starts at the sample time."
        ),
        source="GET /2/tweets/counts/recent?granularity=minute -> data[].tweet_count (per start)",
    ),
    Metric(
        name="instagram.live_media",
        platform="instagram",
        label="Instagram live broadcasts",
        unit="broadcasts",
        kind=Kind.STATE,
        definition=(
            "Number of live videos the account is broadcasting at the time of the request. "
            "Instagram's API gives no viewer count for a live video, so the Instagram audience "
            "is unknown and is never included in the combined figure."
        ),
        source="GET /{ig-user-id}/live_media -> len(data)",
    ),
    Metric(
        name="instagram.live_comments",
        platform="instagram",
        label="Instagram live comments",
        unit="comments",
        kind=Kind.CUMULATIVE,
        definition="Number of comments on the account's current live video(s).",
        source="GET /{ig-user-id}/live_media?fields=comments_count -> sum(data[].comments_count)",
    ),
    Metric(
        name="peak",
        platform="jalsa",
        label="Peak (from our samples)",
        unit="same as the metric",
        kind=Kind.DERIVED,
        definition=(
            "Highest value among jalsa's own samples of a concurrent metric, with the time of that "
            "sample. No platform reports a peak: the true peak may lie between two samples, so "
            "this is a lower bound of the true peak."
        ),
        source="max(samples.value) per stream and metric",
    ),
    Metric(
        name="combined.concurrent_now",
        platform="jalsa",
        label="Combined concurrent audience (sum)",
        unit="viewers (summed across platforms)",
        kind=Kind.DERIVED,
        definition=(
            "Sum, across streams, of the latest concurrent-audience sample of each stream that "
            "is fresh (newer than three poll intervals). It is a sum of concurrent audiences: a "
            "person watching on two platforms counts twice, so it is not a count of unique "
            "people. Platforms without a concurrent-audience metric (Instagram) are not included."
        ),
        source="sum of latest samples of metrics with kind=concurrent",
    ),
    Metric(
        name="combined.peak_of_sum",
        platform="jalsa",
        label="Peak of the combined concurrent audience",
        unit="viewers (summed across platforms)",
        kind=Kind.DERIVED,
        definition=(
            "Highest value the combined concurrent audience took at any of our sample times. "
            "Like the combined figure it counts a person once per platform."
        ),
        source="max over time of combined.concurrent_now",
    ),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in CATALOGUE}


def get(name: str) -> Metric:
    """The catalogue entry for `name`; an unknown name is a programming error."""
    return BY_NAME[name]
