"""What a metric is, and the metrics jalsa derives itself. Every number jalsa shows has exactly
one catalogue entry: each platform declares its own in its package (`platforms/<name>/metrics.py`)
and the platform registry gathers them with these (`jalsa.platforms.registry.metric(name)`).

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


DERIVED: tuple[Metric, ...] = (
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
