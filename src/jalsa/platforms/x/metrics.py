"""The X metrics: what each number means, its unit and the API field it is read
from (the catalogue's rules are in jalsa/metrics.py)."""

from __future__ import annotations

from jalsa.metrics import Kind, Metric

METRICS: tuple[Metric, ...] = (
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
)
