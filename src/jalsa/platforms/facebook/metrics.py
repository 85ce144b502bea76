"""The Facebook metrics: what each number means, its unit and the API field it is read
from (the catalogue's rules are in jalsa/metrics.py)."""

from __future__ import annotations

from jalsa.metrics import Kind, Metric

METRICS: tuple[Metric, ...] = (
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
)
