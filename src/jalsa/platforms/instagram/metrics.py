"""The Instagram metrics: what each number means, its unit and the API field it is read
from (the catalogue's rules are in jalsa/metrics.py)."""

from __future__ import annotations

from jalsa.metrics import Kind, Metric

METRICS: tuple[Metric, ...] = (
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
)
