"""Disruption watch: probes of the platforms from volunteer vantage points, incident detection
and OONI import (issue 5)."""

from jalsa.watch.agent import Agent
from jalsa.watch.ooni import import_and_compare, read_ooni
from jalsa.watch.record import Measurement, Target, Vantage
from jalsa.watch.service import WatchService

__all__ = [
    "Agent",
    "Measurement",
    "Target",
    "Vantage",
    "WatchService",
    "import_and_compare",
    "read_ooni",
]
