"""A small audience section with one figure of each kind, for the claim checker's tests
(importable as `reportkit`)."""

from __future__ import annotations

from jalsa.report.audience import AudienceSection, StreamAudience
from jalsa.report.figures import Figure, Source, measured, not_measured


def sample_source() -> Source:
    return Source(data="test samples", rule="by hand", count=1)


def sample_audience() -> AudienceSection:
    def fig(key: str, value: float, unit: str = "viewers") -> Figure:
        return measured(key, key, value, unit, f"definition of {key}", sample_source())

    return AudienceSection(
        streams=[
            StreamAudience(
                stream_id=1,
                label="YT",
                platform="youtube",
                kind="youtube",
                figures=[fig("audience.1.peak", 1000), fig("audience.1.youtube.view_count", 9000)],
            ),
            StreamAudience(
                stream_id=2,
                label="FB",
                platform="facebook",
                kind="facebook",
                figures=[
                    fig("audience.2.peak", 500),
                    fig("audience.2.facebook.total_video_views", 4000),
                    fig("audience.2.facebook.total_video_views_unique", 3000, "people"),
                ],
            ),
            StreamAudience(
                stream_id=3,
                label="Space",
                platform="x",
                kind="x_space",
                figures=[fig("audience.3.peak", 200, "participants")],
            ),
            StreamAudience(
                stream_id=4,
                label="IG",
                platform="instagram",
                kind="instagram",
                figures=[
                    not_measured(
                        "audience.4.peak",
                        "peak",
                        "viewers",
                        "d",
                        sample_source(),
                        "no viewer count",
                    )
                ],
            ),
        ],
        combined=[fig("combined.sum_of_peaks", 1700)],
        reach=[fig("reach.lower_bound", 3000, "people")],
        timeline=[],
    )
