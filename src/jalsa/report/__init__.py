"""The post-event report: every figure with its definition and its source, reproducible from the
store and the posts dataset (see `build.build_report`)."""

from jalsa.report.build import Report, build_report
from jalsa.report.figures import Figure, Source

__all__ = [
    "Figure",
    "Report",
    "Source",
    "build_report",
]
