"""The YouTube metrics: what each number means, its unit and the API field it is read
from (the catalogue's rules are in jalsa/metrics.py)."""

from __future__ import annotations

from jalsa.metrics import Kind, Metric

METRICS: tuple[Metric, ...] = (
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
)
